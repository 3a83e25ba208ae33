"""Scoring models behind one :class:`Scorer` interface, each task from the backend the config names.

What a score says (:class:`~moderation.scores.CommentScores`, the label names) lives in
:mod:`moderation.scores`, below this package, so that storage and the service never load a model to read one.
"""

from moderation.models.backends import BackendOutput, EncoderHeadsBackend, TaskBackend
from moderation.models.config import ModelConfig, SequenceClassificationModel, ZeroShotNliModel
from moderation.models.hf import SequenceClassifierBackend
from moderation.models.nli import ZeroShotNliBackend
from moderation.models.scorer import Scorer, load_scorer

__all__ = [
    "BackendOutput",
    "EncoderHeadsBackend",
    "ModelConfig",
    "Scorer",
    "SequenceClassificationModel",
    "SequenceClassifierBackend",
    "TaskBackend",
    "ZeroShotNliBackend",
    "ZeroShotNliModel",
    "load_scorer",
]
