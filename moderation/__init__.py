"""Comment moderation desk: extract reader-comment threads, score them, store them.

The public surface is re-exported here; everything else is an implementation detail. Each name is imported on
first use (PEP 562), so that importing one part of the package (storage, say) never loads the extractors or the
model with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moderation.errors import ExtractionError, InputError, ModelError, ModerationError
    from moderation.extraction import Source, extract
    from moderation.models import Scorer
    from moderation.pipeline import analyze
    from moderation.scores import CommentScores
    from moderation.thread import Article, Comment, Thread

__version__ = "0.1.0"

#: Where each public name lives.
_HOMES = {
    "Article": "moderation.thread",
    "Comment": "moderation.thread",
    "CommentScores": "moderation.scores",
    "ExtractionError": "moderation.errors",
    "InputError": "moderation.errors",
    "ModelError": "moderation.errors",
    "ModerationError": "moderation.errors",
    "Scorer": "moderation.models",
    "Source": "moderation.extraction",
    "Thread": "moderation.thread",
    "analyze": "moderation.pipeline",
    "extract": "moderation.extraction",
}

__all__ = [
    "Article",
    "Comment",
    "CommentScores",
    "ExtractionError",
    "InputError",
    "ModelError",
    "ModerationError",
    "Scorer",
    "Source",
    "Thread",
    "analyze",
    "extract",
]


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'moderation' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
