"""Decisions: the policy's on every scored comment, a moderator's on any, each one audited.

The policy decides from stored scores only, so changing the policy re-decides without
re-scoring (:func:`redecide`). A moderator's decision is never overruled by a policy change.
Functions flush; the caller owns the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from moderation.errors import InputError, NotFoundError
from moderation.models.scorer import CommentScores
from moderation.policy import Decision, Policy, decide
from moderation.storage import repository
from moderation.storage.tables import ArticleRow, CommentRow, DecisionRow
from moderation.thread import Thread

MODERATOR_ACTIONS = ("approve", "reject", "review")


def _save(session: Session, comment: CommentRow, decision: Decision) -> None:
    repository.save_decision(
        session,
        comment,
        decision.action,
        decided_by=repository.POLICY,
        reasons=[reason.model_dump(mode="json", exclude_none=True) for reason in decision.reasons],
        policy_digest=decision.policy_digest,
    )


def apply_policy(
    session: Session, policy: Policy, article: ArticleRow, thread: Thread, scores: Sequence[CommentScores]
) -> list[Decision]:
    """Decide each of the thread's stored comments from its scores, in thread order. A moderator's
    earlier decision on a comment stays; the policy's decision is still returned for it."""
    rows = {row.source_id: row for row in article.comments}
    decisions = []
    for comment, score in zip(thread.comments, scores, strict=True):
        decision = decide(policy, comment.text, score.attributes, thread_key=article.key)
        decisions.append(decision)
        row = rows[comment.id]
        if row.decision is None or row.decision.decided_by == repository.POLICY:
            _save(session, row, decision)
    return decisions


def _attributes(comment: CommentRow) -> dict[str, float]:
    """The newest stored scores' attributes of a comment."""
    if not comment.scores:
        return {}
    newest = max(comment.scores, key=lambda row: row.scored_at)
    return dict(CommentScores.model_validate(newest.detail).attributes)


def redecide(
    session: Session, policy: Policy, *, article_id: int | None = None, actor: str = "operator"
) -> Counter[str]:
    """Re-decide every scored comment the policy has not decided under this exact policy; returns
    the new decisions' counts. Comments without scores are left alone."""
    counts: Counter[str] = Counter()
    after = 0
    while batch := repository.comments_to_decide(session, policy.digest, article_id=article_id, after=after):
        for comment in batch:
            after = comment.id
            attributes = _attributes(comment)
            if not attributes:
                continue
            decision = decide(policy, comment.text, attributes, thread_key=comment.article.key)
            _save(session, comment, decision)
            counts[decision.action] += 1
    repository.append_audit(
        session,
        "policy.applied",
        actor=actor,
        subject_type="policy",
        subject_id=policy.digest,
        payload={"article_id": article_id, "decisions": dict(counts)},
    )
    return counts


def moderate(
    session: Session,
    comment_id: int,
    action: Literal["approve", "reject", "review"],
    *,
    actor: str,
    note: str | None = None,
) -> DecisionRow:
    """A moderator's decision on one comment, replacing the policy's or another moderator's."""
    if action not in MODERATOR_ACTIONS:
        raise InputError(f"unknown action {action!r}; one of {', '.join(MODERATOR_ACTIONS)}")
    comment = repository.get_comment(session, comment_id)
    if comment is None:
        raise NotFoundError(f"no comment {comment_id}")
    before = comment.decision.decision if comment.decision is not None else None
    row = repository.save_decision(session, comment, action, decided_by=actor, note=note)
    repository.append_audit(
        session,
        "comment.decided",
        actor=actor,
        subject_type="comment",
        subject_id=comment_id,
        payload={"from": before, "to": action, "note": note},
    )
    return row
