"""Task backends: whatever answers one or more tasks for a :class:`~moderation.models.Scorer`.

A backend turns texts (with optional targets) into probabilities in our public label order
(``TASK_LABELS``). The scorer composes backends per task, so the bundled encoder and heads can
answer stance and toxicity while, say, a newsroom's own checkpoint answers sentiment. Each
backend is asked once per ``predict`` call, for every task it was assigned, so a model that
serves several tasks still runs one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from moderation.errors import ModelError
from moderation.models.encoder import Encoder, PairFeatures
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet, feature_matrices
from moderation.models.runtime import default_mode
from moderation.scores import ATTRIBUTES, TASK_LABELS, Progress

BUNDLED_HEADS = Path(__file__).parent / "bundled"


@dataclass(frozen=True)
class BackendOutput:
    """What a backend answers, one row per text in input order.

    ``probabilities`` holds one ``(n, len(TASK_LABELS[task]))`` array per task asked for. Rows of
    stance for texts without a target may be NaN: the scorer reports no stance for them anyway.
    ``attributes`` holds extra Perspective attributes (``(n,)`` arrays), only from a backend
    asked for toxicity; the scorer derives ``TOXICITY`` itself from the toxicity task.
    """

    probabilities: dict[str, np.ndarray]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    #: Per text, each sentence's ``(begin, end, {attribute: probability})``; only from a backend
    #: asked for toxicity that scores sentences (None when it does not).
    spans: list[list[Span]] | None = None
    #: Attributes among ``attributes`` that no data measures (Perspective's "experimental").
    experimental: tuple[str, ...] = ()


Span = tuple[int, int, dict[str, float]]


class TaskBackend(Protocol):
    """Anything that answers some tasks; ``name`` identifies it in stored scores."""

    name: str
    tasks: tuple[str, ...]

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
        """Probabilities for ``tasks`` (a subset of ``self.tasks``), in public label order; with
        ``spans``, also per-sentence toxicity where the backend can score sentences."""
        ...


class EncoderHeadsBackend:
    """The bundled design: one encoder pass per comment (paired with its target) feeds every linear head.

    Heads named after a Perspective attribute (``INSULT``...) answer with the toxicity task; the
    manifest marks those that no data measures as ``experimental``.
    """

    def __init__(self, encoder: Encoder, heads: HeadSet) -> None:
        for task, head in heads.heads.items():
            if task in TASK_LABELS and sorted(head.labels) != sorted(TASK_LABELS[task]):
                raise ModelError(f"head {task!r} has labels {head.labels}, expected {TASK_LABELS[task]}")
        self.encoder = encoder
        self.heads = heads
        self.tasks = tuple(task for task in TASK_LABELS if task in heads.heads)
        self.attribute_heads = {name: head for name, head in heads.heads.items() if name in ATTRIBUTES}
        specs = heads.manifest.get("heads", {})
        self.experimental = tuple(name for name in self.attribute_heads if specs.get(name, {}).get("experimental"))
        self.name = self.name_of(heads, encoder.name)

    @staticmethod
    def name_of(heads: HeadSet, encoder_name: str) -> str:
        """The backend's name, known before its encoder loads. Stored scores are keyed by it: it stays the
        same for a given set of weights."""
        return f"{heads.manifest.get('name', encoder_name)} [{heads.digest}]"

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        *,
        heads: str | Path | None = None,
        device: str = "cpu",
        mode: str | None = None,
    ) -> EncoderHeadsBackend:
        """An encoder (default: the bundled one) with its heads (default: the bundled ones), and the
        encoder layers fine-tuned with those heads when the heads' folder has them, run in ``mode``
        (:mod:`moderation.models.runtime`; default ``MODERATION_MODE`` or ``auto``; chosen after the
        fine-tuned layers are in)."""
        folder = Path(heads or BUNDLED_HEADS)
        encoder = Encoder.load(name_or_path, device=device)
        if (folder / ENCODER_WEIGHTS).exists():
            encoder.load_weights(folder / ENCODER_WEIGHTS)
        heads_set = HeadSet.load(folder)
        encoder.set_mode(mode or default_mode())
        return cls(encoder, heads_set)

    @property
    def mode(self) -> str:
        """The encoder's numerics: ``fp32``, ``int8`` or ``bf16``."""
        return self.encoder.mode

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
        scored_spans = spans and "toxicity" in tasks
        features = self.encoder.encode(texts, targets, batch_size=batch_size, progress=progress, sentences=scored_spans)
        matrices = feature_matrices(features)
        probabilities = {task: self._proba(task, matrices) for task in tasks}
        attributes = self._attributes(matrices) if "toxicity" in tasks else {}
        return BackendOutput(
            probabilities,
            attributes=attributes,
            spans=self._sentence_spans(features) if scored_spans else None,
            experimental=self.experimental if attributes else (),
        )

    def _proba(self, task: str, matrices: Callable[[str], np.ndarray]) -> np.ndarray:
        head = self.heads.heads[task]
        # Heads store their labels: reorder to the public order whatever order they were trained in.
        order = [head.labels.index(label) for label in TASK_LABELS[task]]
        return head.proba(matrices(head.features))[:, order]

    def _attributes(self, matrices: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
        """Each attribute head's probability that its attribute is present."""
        return {
            name: head.proba(matrices(head.features))[:, head.labels.index("present")]
            for name, head in self.attribute_heads.items()
        }

    def _sentence_spans(self, features: PairFeatures) -> list[list[Span]]:
        """Every attribute of each sentence, read by the same heads from the same pass's sentence vectors."""
        n = len(features.comment)
        spans: list[list[Span]] = [[] for _ in range(n)]
        if not len(features.sentence_vectors):
            return spans
        count = len(features.sentence_vectors)
        sentences = PairFeatures(
            features.sentence_vectors, np.zeros_like(features.sentence_vectors), np.zeros(count, bool), np.ones(count)
        )
        matrices = feature_matrices(sentences)
        scores = {"TOXICITY": self._proba("toxicity", matrices)[:, -1], **self._attributes(matrices)}
        row = 0
        for i, offsets in enumerate(features.sentences):
            for begin, end in offsets:
                spans[i].append((begin, end, {name: round(float(values[row]), 6) for name, values in scores.items()}))
                row += 1
        return spans
