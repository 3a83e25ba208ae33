"""The main job: extract a thread, score every comment toward its article, store both."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from moderation.models.encoder import Progress
from moderation.models.scorer import CommentScores, Scorer
from moderation.storage import repository
from moderation.thread import Thread


@dataclass(frozen=True)
class Analysis:
    """A stored thread with its scores, in comment order."""

    article_id: int
    thread: Thread
    scores: list[CommentScores]


def score_thread(
    scorer: Scorer, thread: Thread, *, batch_size: int = 32, progress: Progress | None = None
) -> list[CommentScores]:
    """Score each comment; stance is toward the article's title."""
    target = thread.article.title or None
    return scorer.predict(
        [c.text for c in thread.comments],
        [target] * len(thread.comments),
        batch_size=batch_size,
        progress=progress,
    )


def analyze(
    session: Session, scorer: Scorer, thread: Thread, *, batch_size: int = 32, progress: Progress | None = None
) -> Analysis:
    """Score the thread first, then store it, so a scoring failure stores nothing half-done."""
    scores = score_thread(scorer, thread, batch_size=batch_size, progress=progress)
    article = repository.save_thread(session, thread)
    repository.save_scores(session, article, thread, scores, scorer.name)
    return Analysis(article.id, thread, scores)
