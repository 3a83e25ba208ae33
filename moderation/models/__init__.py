"""Scoring models behind one :class:`Scorer` interface."""

from moderation.models.labels import TASK_LABELS
from moderation.models.scorer import CommentScores, EncoderHeadsScorer, LabelScores, Scorer

__all__ = ["TASK_LABELS", "CommentScores", "EncoderHeadsScorer", "LabelScores", "Scorer"]
