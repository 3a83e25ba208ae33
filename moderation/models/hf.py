"""Any Hugging Face sequence-classification checkpoint as the backend of one task.

The checkpoint comes from a local folder or a hub id resolved from the local cache only
(``local_files_only``): nothing is downloaded. Its labels are mapped onto ours through its
``config.id2label`` (:mod:`moderation.models.label_map`).

Long texts are never truncated: the tokenizer splits them into overlapping windows
(``return_overflowing_tokens`` with a ``stride`` of overlap, as the encoder does), every window
is classified, and a text's probabilities are the mean of its windows' probabilities (after
softmax, or after the per-label sigmoid of a multi-label checkpoint). Windows run in
length-sorted batches under ``torch.inference_mode``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import ModelError
from moderation.models.backends import BackendOutput
from moderation.models.encoder import WINDOW_STRIDE
from moderation.models.heads import softmax
from moderation.models.label_map import attribute_columns, label_matrix
from moderation.models.windows import Window, clip_target, load_offline, model_inputs
from moderation.scores import Progress

#: Longest window: the position limit of BERT-size models.
MAX_WINDOW_TOKENS = 512


def mean_by_index(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Average the rows of ``values`` that share an ``index``; rows no value reached are NaN."""
    sums = np.zeros((n, values.shape[1]))
    np.add.at(sums, index, values)
    counts = np.bincount(index, minlength=n).astype(float)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


class Classifier:
    """A sequence-classification checkpoint with its fast tokenizer: texts in, window logits out."""

    def __init__(self, tokenizer: Any, model: Any, device: str, source: str, window_tokens: int | None) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.device = device
        self.source = source
        limits = [MAX_WINDOW_TOKENS, tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 0)]
        longest = min(limit for limit in limits if limit > 0)
        if window_tokens is not None and window_tokens > longest:
            raise ModelError(f"{source}: windows of {window_tokens} tokens exceed the model's {longest}")
        self.window_tokens = window_tokens or longest
        self.id2label: dict[int, str] = {int(i): str(name) for i, name in model.config.id2label.items()}

    @classmethod
    def load(cls, checkpoint: str | Path, *, device: str = "cpu", window_tokens: int | None = None) -> Classifier:
        """Load from a folder or a cached hub id; a checkpoint that is not local is a ModelError."""
        from transformers import AutoModelForSequenceClassification

        source = str(checkpoint)
        tokenizer, model = load_offline(source, AutoModelForSequenceClassification, kind="checkpoint", device=device)
        return cls(tokenizer, model, device, source, window_tokens)

    def clip(self, text: str) -> str:
        """A target cut so it never crowds the comment out of a window."""
        return clip_target(self.tokenizer, text)

    def windows(
        self, indices: Sequence[int], firsts: Sequence[str], seconds: Sequence[str] | None, *, overflow: bool
    ) -> list[Window]:
        """Tokenize (first, second) pairs; with ``overflow``, a long first text gives several windows."""
        if not firsts:
            return []
        encoding = self.tokenizer(
            list(firsts),
            list(seconds) if seconds is not None else None,
            truncation="only_first" if seconds is not None else True,
            max_length=self.window_tokens,
            stride=min(WINDOW_STRIDE, self.window_tokens // 4),
            return_overflowing_tokens=overflow,
            padding=False,
        )
        mapping = encoding["overflow_to_sample_mapping"] if overflow else range(len(firsts))
        type_ids = encoding.get("token_type_ids")
        return [
            Window(indices[mapping[k]], encoding["input_ids"][k], type_ids[k] if type_ids is not None else None)
            for k in range(len(encoding["input_ids"]))
        ]

    def logits(self, windows: Sequence[Window], *, batch_size: int, progress: Progress | None) -> np.ndarray:
        """``(len(windows), n_labels)`` logits in window order; batches are length-sorted inside."""
        order = sorted(range(len(windows)), key=lambda k: len(windows[k].input_ids))
        logits = np.zeros((len(windows), len(self.id2label)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            logits[chunk] = self._forward([windows[k] for k in chunk])
            if progress is not None:
                progress(min(start + batch_size, len(order)), len(order))
        return logits

    def _forward(self, batch: list[Window]) -> np.ndarray:
        import torch

        inputs = model_inputs(batch, self.tokenizer.pad_token_id or 0, self.device)
        with torch.inference_mode():
            output = self.model(**inputs)
        return output.logits.float().cpu().numpy()


class SequenceClassifierBackend:
    """One task from a sequence-classification checkpoint.

    Single-label checkpoints are read by softmax, their labels mapped (and summed) onto ours.
    A ``multi_label_classification`` checkpoint (toxic-bert and kin) is read by a sigmoid per
    label: each label that names a Perspective attribute becomes that attribute, and
    ``TOXICITY`` becomes the toxicity task's ``toxic`` probability. For stance the target is
    the second sequence of the pair unless ``pair_with_target`` is off (single-topic models).
    """

    def __init__(
        self,
        classifier: Classifier,
        task: str,
        *,
        labels: Mapping[str, str] | None = None,
        multi_label: bool | None = None,
        pair_with_target: bool = True,
    ) -> None:
        self.classifier = classifier
        self.tasks: tuple[str, ...] = (task,)
        self.name = classifier.source
        self.pair_with_target = pair_with_target
        if multi_label is None:
            multi_label = classifier.model.config.problem_type == "multi_label_classification"
        explicit = dict(labels or {})
        if multi_label and task != "toxicity":
            raise ModelError(f"{classifier.source}: a multi-label checkpoint can only serve toxicity, not {task}")
        # Exactly one of the two readings applies: attribute columns (multi-label) or a label matrix.
        self.attributes = attribute_columns(classifier.id2label, explicit, classifier.source) if multi_label else {}
        self.matrix = None if multi_label else label_matrix(task, classifier.id2label, explicit, classifier.source)

    def predict_proba(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        tasks: Sequence[str],
        *,
        batch_size: int,
        progress: Progress | None,
        spans: bool = False,
    ) -> BackendOutput:
        [task] = self.tasks
        # Stance toward nothing is not asked: those rows stay NaN and the scorer reports None.
        indices = [i for i, t in enumerate(targets) if t] if task == "stance" else list(range(len(texts)))
        firsts = [texts[i] for i in indices]
        pair = task == "stance" and self.pair_with_target
        seconds = [self.classifier.clip(str(targets[i])) for i in indices] if pair else None
        windows = self.classifier.windows(indices, firsts, seconds, overflow=True)
        logits = self.classifier.logits(windows, batch_size=batch_size, progress=progress).astype(np.float64)
        index = np.array([w.index for w in windows], dtype=int)
        if self.matrix is not None:
            per_text = mean_by_index(softmax(logits), index, len(texts))
            return BackendOutput({task: per_text @ self.matrix})
        # The sigmoid as tanh: no overflow for very negative logits.
        per_text = mean_by_index(0.5 * (1.0 + np.tanh(logits / 2.0)), index, len(texts))
        attributes = {name: per_text[:, column] for name, column in self.attributes.items()}
        toxic = attributes["TOXICITY"]
        return BackendOutput({task: np.stack([1.0 - toxic, toxic], axis=1)}, attributes)
