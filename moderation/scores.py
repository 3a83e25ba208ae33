"""What a scorer says about a comment: label names, each head's answer, per-sentence spans.

The shared vocabulary of scores lives here, on the ground floor, so that storage, decisions, reports and the
service can read and write scores without importing the models that compute them (and the encoder with them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

__all__ = [
    "ATTRIBUTES",
    "PERSPECTIVE_ATTRIBUTE",
    "TASK_LABELS",
    "CommentScorer",
    "CommentScores",
    "LabelScores",
    "Progress",
    "SpanScore",
]

#: Public label names of every head, in the order their probabilities are stored.
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "sentiment": ("negative", "neutral", "positive"),
    "stance": ("against", "neutral", "favor"),
    "toxicity": ("not_toxic", "toxic"),
}

#: Perspective's attribute name for each binary head's positive class.
PERSPECTIVE_ATTRIBUTE = {"toxicity": "TOXICITY"}

#: Perspective's production attributes that our models answer, in a fixed order.
ATTRIBUTES = ("TOXICITY", "SEVERE_TOXICITY", "INSULT", "PROFANITY", "THREAT", "IDENTITY_ATTACK")

#: Called after each batch with (windows done, windows in all; inputs not tokenized yet count one each).
Progress = Callable[[int, int], object]


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
    model: str | None = Field(default=None, description="The model that scored this comment.")
    language: str | None = Field(
        default=None,
        description="The language (ISO 639-1) the comment was scored as, given or detected; None: unknown.",
    )
    unmeasured_language: bool = Field(
        default=False,
        description="No test split measures the model in this comment's language (or it is unknown): its "
        "published figures do not vouch for these scores.",
    )


class CommentScorer(Protocol):
    """What the layers that only call a scorer need of one (:class:`moderation.models.Scorer` is the one), so
    that they type it without importing the models."""

    name: str

    @property
    def modes(self) -> dict[str, str]:
        """Each task's encoder numerics, where its backend has a mode."""
        ...

    def measured_in(self, name: str, language: str) -> bool:
        """Whether a test split measures task or attribute ``name`` in ``language`` for this scorer."""
        ...

    def predict(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        languages: Sequence[str | None] | None = None,
        batch_size: int = 32,
        progress: Progress | None = None,
        spans: bool = False,
    ) -> list[CommentScores]:
        """Score each text, toward its target where one is given; a list in gives a list out, in order."""
        ...
