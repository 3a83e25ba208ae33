"""The main job: extract a thread, score every comment toward its article, store both with their languages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from moderation.decisions import apply_policy
from moderation.language import with_languages
from moderation.models.encoder import Progress
from moderation.models.scorer import CommentScores, Scorer
from moderation.policy import Decision, Policy
from moderation.storage import repository
from moderation.thread import Thread


@dataclass(frozen=True)
class Analysis:
    """A stored thread with its scores and the policy's decisions, in comment order."""

    article_id: int
    thread: Thread
    scores: list[CommentScores]
    decisions: list[Decision]


def score_thread(
    scorer: Scorer, thread: Thread, *, batch_size: int = 32, progress: Progress | None = None
) -> list[CommentScores]:
    """Score each comment in its language (the thread's, else detected); stance is toward the article's title."""
    target = thread.article.title or None
    return scorer.predict(
        [c.text for c in thread.comments],
        [target] * len(thread.comments),
        languages=[c.language for c in thread.comments],
        batch_size=batch_size,
        progress=progress,
    )


def analyze(
    session: Session,
    scorer: Scorer,
    thread: Thread,
    *,
    policy: Policy | None = None,
    actor: str = "operator",
    batch_size: int = 32,
    progress: Progress | None = None,
) -> Analysis:
    """Score the thread first, then store it with the policy's decisions (the default policy unless
    given) and an audit entry, so a scoring failure stores nothing half-done."""
    thread = with_languages(thread)
    scores = score_thread(scorer, thread, batch_size=batch_size, progress=progress)
    return store(session, thread, scores, model=scorer.name, policy=policy, actor=actor)


def store(
    session: Session,
    thread: Thread,
    scores: Sequence[CommentScores],
    *,
    model: str,
    policy: Policy | None = None,
    actor: str = "operator",
) -> Analysis:
    """Store a thread already scored (``scores`` in comment order, by the scorer named ``model``) with
    each comment's and the article's language (detected where the thread gives none), the policy's
    decisions and an audit entry: :func:`analyze` without the scoring, for callers that score
    elsewhere (the service scores through its micro-batcher)."""
    policy = policy or Policy.default()
    scores = list(scores)
    thread = with_languages(thread)
    article = repository.save_thread(session, thread)
    repository.save_scores(session, article, thread, scores, model)
    decisions = apply_policy(session, policy, article, thread, scores)
    repository.append_audit(
        session,
        "thread.stored",
        actor=actor,
        subject_type="article",
        subject_id=article.id,
        payload={
            "key": article.key,
            "comments": len(scores),
            "model": model,
            "policy": policy.digest,
            "decisions": {
                action: sum(d.action == action for d in decisions) for action in ("approve", "review", "reject")
            },
        },
    )
    return Analysis(article.id, thread, scores, decisions)
