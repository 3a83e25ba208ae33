"""Comment moderation desk: extract reader-comment threads, score them, store them.

The public surface is re-exported here; everything else is an implementation detail.
"""

from moderation.errors import (
    DataError,
    ExtractionError,
    InputError,
    ModelError,
    ModerationError,
    UnknownFormatError,
)
from moderation.extraction import Source, extract, extract_path
from moderation.models import CommentScores, LabelScores, Scorer
from moderation.pipeline import Analysis, analyze, score_thread
from moderation.thread import Article, Comment, Thread, Votes

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Article",
    "Comment",
    "CommentScores",
    "DataError",
    "ExtractionError",
    "InputError",
    "LabelScores",
    "ModelError",
    "ModerationError",
    "Scorer",
    "Source",
    "Thread",
    "UnknownFormatError",
    "Votes",
    "analyze",
    "extract",
    "extract_path",
    "score_thread",
]
