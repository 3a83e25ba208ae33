"""Scoring models behind one :class:`Scorer` interface, each task from the backend the config names."""

from moderation.models.backends import BackendOutput, EncoderHeadsBackend, TaskBackend
from moderation.models.config import ModelConfig, SequenceClassificationModel, ZeroShotNliModel
from moderation.models.hf import SequenceClassifierBackend
from moderation.models.labels import TASK_LABELS
from moderation.models.nli import ZeroShotNliBackend
from moderation.models.scorer import CommentScores, LabelScores, Scorer

__all__ = [
    "TASK_LABELS",
    "BackendOutput",
    "CommentScores",
    "EncoderHeadsBackend",
    "LabelScores",
    "ModelConfig",
    "Scorer",
    "SequenceClassificationModel",
    "SequenceClassifierBackend",
    "TaskBackend",
    "ZeroShotNliBackend",
    "ZeroShotNliModel",
]
