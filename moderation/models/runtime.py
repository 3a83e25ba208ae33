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
- ``auto``: on CPU, the fastest of the modes that agree with fp32 here: int8 when ONNX Runtime is
  installed and bf16 where the CPU has bf16 units, each kept only when a probe stays within
  :data:`AUTO_MIN_COSINE` of fp32, timed against fp32 on a short batch at first load and the result
  cached per machine. On CUDA: bf16 autocast where the GPU supports it (Ampere and later), else fp32.

A runtime maps padded ``int64`` inputs (``input_ids``, ``attention_mask``, where the tokenizer makes
them ``token_type_ids``, and optionally ``target_side``) to the last hidden state as a float32
``(batch, tokens, hidden)`` array. ``target_side`` marks a pair's target and the specials after it:
those tokens attend to the whole pair, every other token only to the comment's side
(:func:`pair_attention_bias`), so the comment's states never depend on the target.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
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
RECIPE = "onnx-opset17-eager-fused-int8-per-token-pair-mask-v4"
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


class Runtime(Protocol):
    """Runs one padded batch through the encoder."""

    mode: str

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray: ...

    def submit(self, inputs: Mapping[str, np.ndarray], sequence: np.ndarray) -> Callable[[], Pooled]:
        """Start the batch; calling the result gives its pooled vectors. Only (rows, hidden) arrays
        leave the runtime's device, and a GPU runtime returns before they do."""
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


#: The input that marks a pair's target side (see the module docstring); absent or all zero: no pair.
TARGET_SIDE = "target_side"


def pair_attention_bias(attention_mask: Any, target_side: Any, dtype: Any) -> Any:
    """The additive ``(batch, 1, tokens, tokens)`` attention mask of one-way pairs.

    A query token sees a valid key token when the key is on the comment's side or the query is on the
    target's side: the comment reads only itself, the target reads both. Padding queries see the
    comment's side, so no row is all masked. Works on torch tensors when traced for ONNX too.
    """
    import torch

    valid = attention_mask.bool()
    side = target_side.bool()
    allowed = valid[:, None, :] & (side[:, :, None] | ~side[:, None, :])
    blocked = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )
    return blocked[:, None]


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


class TorchRuntime:
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

        tensors = {name: self._to_device(array) for name, array in inputs.items() if name != TARGET_SIDE}
        side = inputs.get(TARGET_SIDE)
        if side is not None:
            # A 4-D mask goes to the attention layers as it is (the model's own 2-D path is skipped). Lone
            # comments take it too, so a comment runs the same kernels with or without a target.
            tensors["attention_mask"] = pair_attention_bias(
                tensors["attention_mask"], self._to_device(side), torch.float32
            )
        autocast = (
            torch.autocast(device_type=torch.device(self.device).type, dtype=torch.bfloat16)
            if self.mode == "bf16"
            else contextlib.nullcontext()
        )
        with autocast:
            states = self.model(**tensors).last_hidden_state
        return states.float()


class OnnxRuntime:
    """An exported (int8) model run by ONNX Runtime on CPU.

    Activations are quantized per token, so a comment scores the same whatever else shares its
    call. The windows of a batch that have the same length run together, with no padding; the
    groups are spread over one single-threaded call per core, which on small inputs beats one call
    using every core (measured: 1.9x on 2 busy cores).
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
        if TARGET_SIDE not in inputs:
            inputs = {**inputs, TARGET_SIDE: np.zeros_like(inputs["attention_mask"])}
        lengths = inputs["attention_mask"].sum(axis=1)
        # Largest groups first, so the cores finish together.
        groups = sorted(
            (np.flatnonzero(lengths == length) for length in np.unique(lengths)),
            key=lambda rows: -len(rows) * int(lengths[rows[0]]),
        )
        feeds = [
            {name: array[rows, : int(lengths[rows[0]])] for name, array in inputs.items() if name in self.input_names}
            for rows in groups
        ]
        if self.threads > 1 and len(feeds) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx-encoder")
            states = list(self._pool.map(self._run, feeds))
        else:
            states = [self._run(feed) for feed in feeds]
        batch, tokens = inputs["attention_mask"].shape
        out = np.zeros((batch, tokens, states[0].shape[-1]), dtype=np.float32)
        for rows, state in zip(groups, states, strict=True):
            out[rows, : state.shape[1]] = state
        return out

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)

    def submit(self, inputs: Mapping[str, np.ndarray], sequence: np.ndarray) -> Callable[[], Pooled]:
        pooled = pool_states(self(inputs), sequence)
        return lambda: pooled


def settle_loaded_model() -> None:
    """Take every object loaded so far out of the cyclic garbage collector's reach, for a process that
    only scores from now on (the service, the CLI, a Ray actor): freezing is process-wide.

    A loaded model is a great many Python objects that live as long as the process, and each full
    collection (set off by the lists that every tokenized chunk allocates) walks them all. Frozen,
    after one last collection so no garbage is kept, they are skipped: on an H200, 23,423 against
    28,136 comments/s end to end (benchmarks/results/gpu.md); under 32 clients the service's p99 fell
    likewise (benchmarks/results/load.md).
    """
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class Selection:
    """The runtime a mode resolved to, and why (``auto``'s reasons end up in benchmark reports)."""

    runtime: Runtime
    requested: str
    reason: str

    @property
    def mode(self) -> str:
        return self.runtime.mode


def select_runtime(
    model: PreTrainedModel,
    tokenizer: Any,
    mode: str,
    *,
    device: str = "cpu",
    cache_dir: Path | None = None,
) -> Selection:
    """The runtime for ``mode`` (one of :data:`MODES`) over ``model`` as its weights are now."""
    if mode not in MODES:
        raise ModelError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    if mode == "fp32":
        return Selection(TorchRuntime(model, device), mode, "asked for")
    if mode == "bf16":
        return Selection(TorchRuntime(model, device, bf16=True), mode, "asked for")
    if mode == "int8":
        if device != "cpu":
            raise ModelError(f"int8 runs on CPU through ONNX Runtime; use mode='fp32' or 'bf16' on {device}")
        return Selection(OnnxRuntime(export_int8(model, tokenizer, cache_dir=cache_dir)), mode, "asked for")
    return _auto(model, tokenizer, device, cache_dir)


def _auto(model: PreTrainedModel, tokenizer: Any, device: str, cache_dir: Path | None) -> Selection:
    if device != "cpu":
        import torch

        if torch.device(device).type == "cuda" and torch.cuda.is_bf16_supported():
            return Selection(TorchRuntime(model, device, bf16=True), "auto", f"bf16 autocast on {device}")
        return Selection(TorchRuntime(model, device), "auto", f"fp32 on {device}")
    reference = TorchRuntime(model, device)
    agreeing: list[Runtime] = []
    notes: list[str] = []
    candidates: list[Callable[[], Runtime]] = []
    if has_onnxruntime():
        candidates.append(lambda: OnnxRuntime(export_int8(model, tokenizer, cache_dir=cache_dir)))
    else:
        notes.append(f"onnxruntime is not installed ({INSTALL_HINT})")
    if has_native_bf16():
        candidates.append(lambda: TorchRuntime(model, device, bf16=True))
    for build in candidates:
        runtime = build()
        cosine = probe_cosine(tokenizer, reference, runtime)
        if cosine >= AUTO_MIN_COSINE:
            agreeing.append(runtime)
            notes.append(f"{runtime.mode} probe cosine {cosine:.4f} to fp32")
        else:
            notes.append(f"{runtime.mode} drifts on this CPU (probe cosine {cosine:.4f} < {AUTO_MIN_COSINE})")
    if not agreeing:
        return Selection(reference, "auto", "; ".join(notes) or "fp32: no faster mode on this CPU")
    runtimes = [*agreeing, reference]
    timings = _measured_speeds(model, tokenizer, runtimes, Path(cache_dir or default_cache_dir()))
    chosen = min(runtimes, key=lambda runtime: timings[runtime.mode])
    speeds = ", ".join(f"{mode} {seconds * 1000:.1f} ms" for mode, seconds in sorted(timings.items()))
    return Selection(chosen, "auto", f"fastest that agrees with fp32 on this CPU ({speeds}); {'; '.join(notes)}")


#: Rows of the batch ``auto`` times each agreeing mode on: the scorer's batch of comment-length texts
#: (three probe texts each, about 45 tokens).
SPEED_ROWS = 32
SPEED_ROUNDS = 3


def _measured_speeds(model: PreTrainedModel, tokenizer: Any, runtimes: list[Runtime], cache: Path) -> dict[str, float]:
    """Seconds per batch of :data:`SPEED_ROWS` comments for each runtime, best of a few interleaved rounds,
    measured once per machine, model shape and set of modes and kept in the cache: the fastest mode
    differs between CPUs (int8 on AVX2, bf16 where AMX multiplies bf16 many times faster than fp32)."""
    key = _machine_key(model, sorted(runtime.mode for runtime in runtimes))
    path = cache / "auto" / f"{key}.json"
    with contextlib.suppress(OSError, ValueError):
        stored = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(stored, dict) and {runtime.mode for runtime in runtimes} <= stored.keys():
            return {mode: float(stored[mode]) for mode in (runtime.mode for runtime in runtimes)}
    timings = time_runtimes(tokenizer, runtimes)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(timings, handle)
        os.replace(handle.name, path)
    return timings


def time_runtimes(tokenizer: Any, runtimes: list[Runtime]) -> dict[str, float]:
    """Best seconds per batch of each runtime on the probe texts, rounds interleaved against noise."""
    count = len(PROBE_TEXTS)
    texts = [" ".join(PROBE_TEXTS[(i + k) % count] for k in range(3)) for i in range(SPEED_ROWS)]
    inputs = dict(tokenizer(texts, padding=True, return_tensors="np"))
    inputs = {name: np.asarray(array, dtype=np.int64) for name, array in inputs.items()}
    for runtime in runtimes:
        runtime(inputs)  # warm-up: first calls allocate and compile
    best = {runtime.mode: float("inf") for runtime in runtimes}
    for _ in range(SPEED_ROUNDS):
        for runtime in runtimes:
            started = time.perf_counter()
            runtime(inputs)
            best[runtime.mode] = min(best[runtime.mode], time.perf_counter() - started)
    return best


def _machine_key(model: PreTrainedModel, modes: list[str]) -> str:
    """What the fastest mode depends on: the CPU, the cores this process has, the library versions, the
    model's shape (not its weights) and the modes in the running."""
    import torch

    parts = [
        platform.machine(),
        _cpu_model(),
        str(cpu_count()),
        torch.__version__,
        _version("onnxruntime"),
        model.config.to_json_string(use_diff=True),
        ",".join(modes),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("model name", "flags")):
                return line
    return platform.processor()


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def probe_cosine(tokenizer: Any, reference: Runtime, candidate: Runtime) -> float:
    """Mean cosine between the two runtimes' mean-pooled vectors of :data:`PROBE_TEXTS`."""
    inputs = dict(tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="np"))
    inputs = {name: np.asarray(array, dtype=np.int64) for name, array in inputs.items()}
    mask = inputs["attention_mask"][..., None].astype(np.float32)
    a, b = ((runtime(inputs) * mask).sum(axis=1) for runtime in (reference, candidate))
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
    """``model`` taking its inputs positionally, in ``names`` order then ``target_side``, and returning
    only ``last_hidden_state``, with the pair's one-way attention built in the graph."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *arrays: torch.Tensor) -> torch.Tensor:
            inputs = dict(zip(names, arrays[:-1], strict=True))
            inputs["attention_mask"] = pair_attention_bias(inputs["attention_mask"], arrays[-1], torch.float32)
            return self.model(**inputs).last_hidden_state

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
    side = torch.zeros_like(ids)
    side[0, 12:] = 1
    example = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids), TARGET_SIDE: side}
    inputs = (*names, TARGET_SIDE)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*inputs, "last_hidden_state")}
    try:
        # Eager attention exports as plain MatMul/Softmax nodes that take the pair mask as it is built.
        if attention is not None:
            model.set_attn_implementation("eager")
        with _quiet(), torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                _last_hidden_state(model.eval(), names),
                tuple(example[name] for name in inputs),
                str(path),
                input_names=list(inputs),
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
    """LayerNorm and GELU fused into ONNX Runtime's transformer kernels (BERT-like graphs; others pass
    through with fewer fusions). Attention under the one-way pair mask matches none of its attention
    fusions and stays MatMul and Softmax nodes (docs/speed.md); either way the query, key and value
    projections stay MatMuls for :func:`_quantize`. ``source`` when the optimizer is unavailable."""
    try:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:  # pragma: no cover - trimmed onnxruntime builds
        return source
    heads, hidden = int(getattr(config, "num_attention_heads", 0)), int(getattr(config, "hidden_size", 0))
    options = FusionOptions("bert")
    options.use_multi_head_attention = True
    with _quiet():
        fused = optimize_model(
            str(source),
            model_type="bert",
            num_heads=heads,
            hidden_size=hidden,
            opt_level=0,
            optimization_options=options,
        )
        fused.save_model_to_file(str(target))
    return target


def _quantize(source: Path, target: Path) -> None:
    """Each MatMul with a constant 2-D weight becomes ``MatMulInteger``: int8 weights with one scale
    per output channel, and activations quantized on the fly with one scale per token (row).

    ONNX Runtime's dynamic quantization takes one activation scale per call: a comment's scores then
    depended on what shared its call, and with one window per call it still flipped 10 of 860
    offensive-test labels of the bundled model against fp32, where per-token scales flip 3
    (docs/speed.md). Its block-wise MatMulNBits is as close to fp32 but slower than fp32 on AVX2.
    Tokens are handled as rows of a 2-D view, where ``QuantizeLinear`` and ``DequantizeLinear``
    take one scale per row; inputs shared by several MatMuls (query, key, value) are quantized once.
    """
    import onnx
    from onnx import helper, numpy_helper

    def constant(name: str, value: np.ndarray) -> str:
        constants[name] = numpy_helper.from_array(value, name)
        return name

    model = onnx.load(str(source))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    constants: dict[str, Any] = {}
    inverse_127 = constant("int8_inverse_127", np.array(1 / 127, np.float32))
    tiny = constant("int8_tiny", np.array(1e-10, np.float32))
    zero_point = constant("int8_zero_point", np.array(128, np.uint8))
    zero_points = constant("int8_zero_points", np.array([128], np.uint8))
    # Every activation is (batch, tokens, features): the leading shape comes from the first input.
    nodes: list[Any] = [helper.make_node("Shape", [graph.input[0].name], ["int8_batch_tokens"])]
    quantized: dict[str, tuple[str, str]] = {}
    shapes: set[str] = set()
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        features, columns = w.shape
        w_scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0).astype(np.float32)
        w_int8 = constant(f"{weight.name}_int8", np.round(w / w_scale).astype(np.int8))
        x = node.input[0]
        if x not in quantized:
            p = f"{x}_int8"
            rows_shape = constant(f"int8_rows_of_{features}", np.array([-1, features], np.int64))
            nodes += [
                helper.make_node("Reshape", [x, rows_shape], [f"{p}_rows"]),
                helper.make_node("ReduceMax", [f"{p}_rows"], [f"{p}_high"], axes=[1], keepdims=0),
                helper.make_node("ReduceMin", [f"{p}_rows"], [f"{p}_low"], axes=[1], keepdims=0),
                helper.make_node("Neg", [f"{p}_low"], [f"{p}_minus_low"]),
                helper.make_node("Max", [f"{p}_high", f"{p}_minus_low"], [f"{p}_absmax"]),
                # scale = max|row| / 127 (never 0); zero point 128 for every row, uint8 for the fast kernels.
                helper.make_node("Mul", [f"{p}_absmax", inverse_127], [f"{p}_s"]),
                helper.make_node("Max", [f"{p}_s", tiny], [f"{p}_scale"]),
                helper.make_node("Shape", [f"{p}_scale"], [f"{p}_rows_count"]),
                helper.make_node("Expand", [zero_points, f"{p}_rows_count"], [f"{p}_zero"]),
                helper.make_node("QuantizeLinear", [f"{p}_rows", f"{p}_scale", f"{p}_zero"], [p], axis=0),
            ]
            quantized[x] = (p, f"{p}_scale")
        q, scale = quantized[x]
        out = node.output[0]
        out_shape = f"int8_shape_of_{columns}"
        if out_shape not in shapes:
            shapes.add(out_shape)
            width = constant(f"int8_{columns}", np.array([columns], np.int64))
            nodes.append(helper.make_node("Concat", ["int8_batch_tokens", width], [out_shape], axis=0))
        nodes += [
            helper.make_node("MatMulInteger", [q, w_int8, zero_point], [f"{out}_int32"]),
            helper.make_node("DequantizeLinear", [f"{out}_int32", scale], [f"{out}_rows"], axis=0),
            helper.make_node("Mul", [f"{out}_rows", constant(f"{w_int8}_scale", w_scale)], [f"{out}_scaled"]),
            helper.make_node("Reshape", [f"{out}_scaled", out_shape], [out]),
        ]
    used = {name for node in nodes for name in node.input}
    kept = [init for init in [*graph.initializer, *constants.values()] if init.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(target))


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
