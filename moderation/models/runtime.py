"""How the encoder's forward pass runs: the numerics mode, chosen once when a model loads.

Modes (``Scorer.load(..., mode=...)``; docs/speed.md has the measured table):

- ``fp32``: the PyTorch model as loaded, the reference every other mode is measured against.
- ``int8``: the model exported to ONNX and its matrix weights quantized to int8 per output
  channel (activations quantized on the fly), run by ONNX Runtime on CPU. Needs the ``fast`` extra
  (``pip install 'moderation-desk[fast]'``). The exported model is built on first use and cached
  under ``~/.cache/moderation-desk/onnx/<digest>/``, keyed by a digest of every weight the encoder
  holds (fine-tuned layers included), so retrained weights never reuse a stale export.
- ``bf16``: PyTorch under bfloat16 autocast. Fast only on CPUs with bf16 matrix units (AMX,
  AVX512-BF16); on AVX2-only CPUs it is emulated and several times slower than fp32.
- ``auto``: int8 on CPU when ONNX Runtime is installed and a probe on this CPU stays within
  :data:`AUTO_MIN_COSINE` of fp32, else bf16 where the CPU has bf16 units, else fp32. On CUDA: bf16
  autocast where the GPU supports it (Ampere and later), else fp32.

An engine maps padded ``int64`` inputs (``input_ids``, ``attention_mask`` and, where the tokenizer
makes them, ``token_type_ids``) to the last hidden state as a float32 ``(batch, tokens, hidden)`` array.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from moderation.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

MODES = ("auto", "fp32", "int8", "bf16")
#: Bump when the export or quantization recipe changes: cached exports are keyed by it too.
RECIPE = "onnx-opset17-eager-fused-int8-per-channel-v1"
INT8_FILE = "encoder.int8.onnx"
INSTALL_HINT = "pip install 'moderation-desk[fast]'  (or: pip install onnxruntime onnx)"
#: ``auto`` keeps int8 only when the probe's mean cosine to fp32 reaches this (MiniLM measures ~0.99).
AUTO_MIN_COSINE = 0.98
#: Varied comments run through fp32 and int8 when ``auto`` decides.
PROBE_TEXTS = (
    "You are a stupid idiot and a disgrace to this paper.",
    "I respectfully disagree with the author's conclusion about the treaty.",
    "Great reporting, thank you!",
    "The council meets on Tuesday to vote on the new tax, and nobody seems to have read the budget.",
    "lol no",
    "They will never give the islands back, whatever the minister promises during the visit.",
)


class Engine(Protocol):
    """Runs one padded batch through the encoder."""

    mode: str

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray: ...

    def submit(self, inputs: Mapping[str, np.ndarray], sequence: np.ndarray) -> Callable[[], Pooled]:
        """Start the batch; calling the result gives its pooled vectors. Only (rows, hidden) arrays
        leave the engine's device, and a GPU engine returns before they do."""
        ...


@dataclass(frozen=True)
class Pooled:
    """Per row of a batch: the sum and count of its comment-token vectors, and the mean of its
    target-token vectors (zeros where the row has no target)."""

    comment_sum: np.ndarray  # (rows, hidden)
    comment_count: np.ndarray  # (rows,)
    target_mean: np.ndarray  # (rows, hidden)
    has_target: np.ndarray  # (rows,) bool


def pool_states(states: np.ndarray, sequence: np.ndarray) -> Pooled:
    """Pool ``states`` (rows, tokens, hidden) by ``sequence`` ids (0 comment, 1 target, -1 other)."""
    comment = (sequence == 0).astype(states.dtype)
    target = (sequence == 1).astype(states.dtype)
    counts = target.sum(axis=1)
    target_mean = np.einsum("rt,rth->rh", target, states) / np.maximum(counts, 1.0)[:, None]
    return Pooled(np.einsum("rt,rth->rh", comment, states), comment.sum(axis=1), target_mean, counts > 0)


#: The environment variable that overrides ``auto`` wherever a model loads (CLI, service, notebooks).
MODE_VARIABLE = "MODERATION_MODE"


def default_mode() -> str:
    """``auto`` unless ``MODERATION_MODE`` names another mode."""
    return os.environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_cache_dir() -> Path:
    """Where exported models live: a per-user cache, never the package or the repository."""
    return Path.home() / ".cache" / "moderation-desk" / "onnx"


def has_native_bf16() -> bool:
    """True where the CPU has bf16 matrix instructions (AMX tiles or AVX512-BF16)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class TorchEngine:
    """The PyTorch model itself, in fp32 or under bf16 autocast, under ``torch.inference_mode``."""

    def __init__(self, model: PreTrainedModel, device: str, *, bf16: bool = False) -> None:
        self.model = model
        self.device = device
        self.mode = "bf16" if bf16 else "fp32"

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return np.asarray(self._states(inputs).cpu().numpy())

    def submit(self, inputs: Mapping[str, np.ndarray], sequence: np.ndarray) -> Callable[[], Pooled]:
        """Pooled on the model's device. On a GPU the vectors are copied back without waiting: the
        caller can queue the next batch before it reads this one, so the GPU never idles in between."""
        import torch

        with torch.inference_mode():
            states = self._states(inputs)
            ids = self._to_device(sequence)
            comment = (ids == 0).to(states.dtype)
            target = (ids == 1).to(states.dtype)
            counts = target.sum(dim=1)
            comment_sum = torch.einsum("rt,rth->rh", comment, states)
            target_mean = torch.einsum("rt,rth->rh", target, states) / counts.clamp(min=1.0)[:, None]
            pooled = (comment_sum, comment.sum(dim=1), target_mean, counts)
            if states.device.type != "cuda":
                host = [t.numpy() for t in pooled]
                return lambda: Pooled(host[0], host[1], host[2], host[3] > 0)
            # Into pinned host memory, asynchronously; the event marks when the copies have landed.
            copies = [t.to("cpu", non_blocking=True) for t in pooled]
            landed = torch.cuda.Event()
            landed.record()

        def result() -> Pooled:
            landed.synchronize()
            host = [t.numpy() for t in copies]
            return Pooled(host[0], host[1], host[2], host[3] > 0)

        return result

    def _to_device(self, array: np.ndarray) -> Any:
        import torch

        tensor = torch.from_numpy(array)
        if torch.device(self.device).type == "cuda":
            tensor = tensor.pin_memory()  # so the copy to the GPU does not block the host
        return tensor.to(self.device, non_blocking=True)

    def _states(self, inputs: Mapping[str, np.ndarray]) -> Any:
        """The last hidden state in float32 on the model's device (call under ``inference_mode``)."""
        import torch

        tensors = {name: self._to_device(array) for name, array in inputs.items()}
        autocast = (
            torch.autocast(device_type=torch.device(self.device).type, dtype=torch.bfloat16)
            if self.mode == "bf16"
            else contextlib.nullcontext()
        )
        with autocast:
            states = self.model(**tensors).last_hidden_state
        return states.float()


class OnnxEngine:
    """An exported (int8) model run by ONNX Runtime on CPU, one window per call.

    Each window runs alone, cut to its own length: activations are quantized with scales taken
    from that window only, so a comment scores the same whatever else shares its batch (one scale
    per batch moved probabilities by up to 0.11), and no padding is computed. Windows are spread
    over one single-threaded call per core, which on small inputs beats one call using every core
    (measured: 1.9x on 2 busy cores).
    """

    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"cannot load the exported encoder {path}: {exc}") from exc
        self.input_names = {node.name for node in self.session.get_inputs()}
        self.path = path
        self.mode = "int8"
        self.threads = threads or cpu_count()
        self._pool: ThreadPoolExecutor | None = None

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        lengths = inputs["attention_mask"].sum(axis=1)
        feeds = [
            {name: array[row : row + 1, :length] for name, array in inputs.items() if name in self.input_names}
            for row, length in enumerate(lengths)
        ]
        if self.threads > 1 and len(feeds) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx-encoder")
            states = list(self._pool.map(self._run, feeds))
        else:
            states = [self._run(feed) for feed in feeds]
        batch, tokens = inputs["attention_mask"].shape
        out = np.zeros((batch, tokens, states[0].shape[-1]), dtype=np.float32)
        for row, (length, state) in enumerate(zip(lengths, states, strict=True)):
            out[row, :length] = state
        return out

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.session.run(None, feed)[0][0], dtype=np.float32)

    def submit(self, inputs: Mapping[str, np.ndarray], sequence: np.ndarray) -> Callable[[], Pooled]:
        pooled = pool_states(self(inputs), sequence)
        return lambda: pooled


@dataclass(frozen=True)
class Selection:
    """The engine a mode resolved to, and why (``auto``'s reasons end up in benchmark reports)."""

    engine: Engine
    requested: str
    reason: str

    @property
    def mode(self) -> str:
        return self.engine.mode


def select_engine(
    model: PreTrainedModel,
    tokenizer: Any,
    mode: str,
    *,
    device: str = "cpu",
    cache_dir: Path | None = None,
) -> Selection:
    """The engine for ``mode`` (one of :data:`MODES`) over ``model`` as its weights are now."""
    if mode not in MODES:
        raise ModelError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    if mode == "fp32":
        return Selection(TorchEngine(model, device), mode, "asked for")
    if mode == "bf16":
        return Selection(TorchEngine(model, device, bf16=True), mode, "asked for")
    if mode == "int8":
        if device != "cpu":
            raise ModelError(f"int8 runs on CPU through ONNX Runtime; use mode='fp32' or 'bf16' on {device}")
        return Selection(OnnxEngine(export_int8(model, tokenizer, cache_dir=cache_dir)), mode, "asked for")
    return _auto(model, tokenizer, device, cache_dir)


def _auto(model: PreTrainedModel, tokenizer: Any, device: str, cache_dir: Path | None) -> Selection:
    if device != "cpu":
        import torch

        if torch.device(device).type == "cuda" and torch.cuda.is_bf16_supported():
            return Selection(TorchEngine(model, device, bf16=True), "auto", f"bf16 autocast on {device}")
        return Selection(TorchEngine(model, device), "auto", f"fp32 on {device}")
    fallback = TorchEngine(model, device, bf16=has_native_bf16())
    if not has_onnxruntime():
        return Selection(fallback, "auto", f"onnxruntime is not installed ({INSTALL_HINT})")
    engine = OnnxEngine(export_int8(model, tokenizer, cache_dir=cache_dir))
    cosine = probe_cosine(tokenizer, TorchEngine(model, device), engine)
    if cosine < AUTO_MIN_COSINE:
        reason = f"int8 drifts on this CPU (probe cosine {cosine:.4f} < {AUTO_MIN_COSINE})"
        return Selection(fallback, "auto", reason)
    return Selection(engine, "auto", f"int8 probe cosine {cosine:.4f} to fp32")


def probe_cosine(tokenizer: Any, reference: Engine, candidate: Engine) -> float:
    """Mean cosine between the two engines' mean-pooled vectors of :data:`PROBE_TEXTS`."""
    inputs = dict(tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="np"))
    inputs = {name: np.asarray(array, dtype=np.int64) for name, array in inputs.items()}
    mask = inputs["attention_mask"][..., None].astype(np.float32)
    a, b = ((engine(inputs) * mask).sum(axis=1) for engine in (reference, candidate))
    cosine = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return float(cosine.mean())


def weights_digest(model: PreTrainedModel, input_names: tuple[str, ...]) -> str:
    """A hash of the architecture, every weight (fine-tuned ones included) and the export recipe."""
    sha = hashlib.sha256(RECIPE.encode())
    sha.update(type(model).__name__.encode())
    sha.update(model.config.to_json_string(use_diff=False).encode())
    sha.update(",".join(input_names).encode())
    import torch

    for name, tensor in sorted(model.state_dict().items()):
        sha.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        sha.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()[:24]


def model_input_names(tokenizer: Any) -> tuple[str, ...]:
    names = getattr(tokenizer, "model_input_names", ["input_ids", "attention_mask"])
    return tuple(name for name in ("input_ids", "attention_mask", "token_type_ids") if name in names)


def export_int8(model: PreTrainedModel, tokenizer: Any, *, cache_dir: Path | None = None) -> Path:
    """The int8 ONNX file of ``model``'s current weights: from the cache, or exported and quantized now."""
    _import_onnxruntime()
    names = model_input_names(tokenizer)
    folder = Path(cache_dir or default_cache_dir()) / weights_digest(model, names)
    target = folder / INT8_FILE
    if target.exists():
        return target
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"exporting the int8 encoder needs onnx: {INSTALL_HINT}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    # Build in a private folder and move into place: concurrent loaders never see a partial file.
    with tempfile.TemporaryDirectory(dir=folder) as work:
        fp32 = Path(work) / "encoder.fp32.onnx"
        _export(model, names, fp32)
        _quantize(_fuse(fp32, Path(work) / "encoder.fused.onnx", model.config), Path(work) / INT8_FILE)
        os.replace(Path(work) / INT8_FILE, target)
    meta = {"recipe": RECIPE, "model": getattr(model.config, "_name_or_path", ""), "inputs": list(names)}
    (folder / "export.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return target


def _last_hidden_state(model: PreTrainedModel, names: tuple[str, ...]) -> Any:
    """``model`` taking its inputs positionally, in ``names`` order, and returning only ``last_hidden_state``."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *arrays: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, arrays, strict=True))).last_hidden_state

    return LastHiddenState().eval()


def _export(model: PreTrainedModel, names: tuple[str, ...], path: Path) -> None:
    import torch

    was_training = model.training
    attention = getattr(model.config, "_attn_implementation", None)
    # Traced with a padded row, so the attention-mask path is recorded for every input.
    vocab = int(model.config.vocab_size)
    ids = torch.randint(5, max(6, vocab), (2, 16), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    example = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    axes = {name: {0: "batch", 1: "tokens"} for name in (*names, "last_hidden_state")}
    try:
        # Eager attention exports as the MatMul/Softmax pattern that ONNX Runtime fuses.
        if attention is not None:
            model.set_attn_implementation("eager")
        with _quiet(), torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                _last_hidden_state(model.eval(), names),
                tuple(example[name] for name in names),
                str(path),
                input_names=list(names),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    except Exception as exc:  # the exporter raises many kinds; all mean "this model does not export"
        raise ModelError(f"cannot export {type(model).__name__} to ONNX: {exc}") from exc
    finally:
        if attention is not None:
            model.set_attn_implementation(attention)
        # The exporter puts modules back in training mode when it restores state: undo it.
        model.train(was_training)


def _fuse(source: Path, target: Path, config: Any) -> Path:
    """Attention, LayerNorm and GELU fused into ONNX Runtime's transformer kernels (BERT-like
    graphs; others pass through with fewer fusions). ``source`` when the optimizer is unavailable."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:  # pragma: no cover - trimmed onnxruntime builds
        return source
    heads, hidden = int(getattr(config, "num_attention_heads", 0)), int(getattr(config, "hidden_size", 0))
    with _quiet():
        fused = optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0)
        fused.save_model_to_file(str(target))
    return target


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel int8 weights of every MatMul and fused Attention (embeddings stay fp32): per-tensor
    # scales drift to cosine 0.91-0.94 against fp32 on MiniLM; per-channel stays near 0.99.
    with _quiet():
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracer warnings and the optimizer's and quantizer's log advice
    (their modules log warnings under several logger names) while a model is built."""
    disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(disabled)


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"int8 mode needs ONNX Runtime: {INSTALL_HINT}") from exc
    return onnxruntime
