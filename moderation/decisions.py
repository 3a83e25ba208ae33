"""Decisions: the policy's on every scored comment, a moderator's on any, each one audited.

The policy decides from stored scores only, so changing the policy re-decides without
re-scoring (:func:`redecide`). A moderator's decision is never overruled by a policy change, but it
holds only for the text the moderator read: a re-import that changes the text sends the comment back
to review (:func:`apply_policy`). Functions flush; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from moderation.actions import ACTIONS, Action
from moderation.errors import InputError, NotFoundError
from moderation.policy import Decision, Policy, Reason, decide
from moderation.scores import CommentScores
from moderation.storage import repository
from moderation.storage.limits import check_text
from moderation.storage.stored import StoredComment
from moderation.storage.tables import CommentRow, ThreadRow
from moderation.thread import Thread

#: Why a comment a moderator had decided is back in review.
TEXT_CHANGED = "text changed after a moderator's decision"


def _save(session: Session, comment: CommentRow, decision: Decision, *, flush: bool = True) -> None:
    repository.save_decision(
        session,
        comment,
        decision.action,
        decided_by=repository.POLICY,
        reasons=[reason.model_dump(mode="json", exclude_none=True) for reason in decision.reasons],
        policy_digest=decision.policy_digest,
        flush=flush,
    )


def decided_by_moderator(comment: CommentRow) -> bool:
    """Whether a person (a moderator, or whoever sent a decided comment back to review) decided it last."""
    return comment.decision is not None and comment.decision.decided_by != repository.POLICY


def apply_policy(
    session: Session,
    policy: Policy,
    thread_row: ThreadRow,
    thread: Thread,
    scores: Sequence[CommentScores],
    *,
    rows: Sequence[CommentRow] | None = None,
    old_texts: Mapping[int, str] | None = None,
    actor: str = "operator",
) -> list[Decision]:
    """Decide each of the thread's stored comments from its scores, in thread order. A moderator's
    earlier decision on a comment stays; the policy's decision is still returned for it.

    ``rows`` are the comments' rows in thread order (looked up and locked when not given); ``old_texts``
    maps the row id of each comment whose text this import changed to the text before. Each of those is
    audited as ``comment.text_changed`` (both texts' SHA-256, ``actor``, the decision before and after),
    and one a moderator had decided goes back to review, decided by ``actor``: a moderator's decision
    holds for the text they read, never for another.
    """
    if rows is None:
        stored = repository.stored_comments(session, thread_row.id, [c.id for c in thread.comments], lock=True)
        rows = [stored[c.id] for c in thread.comments]
    decisions = []
    for comment, score, row in zip(thread.comments, scores, rows, strict=True):
        decision = decide(policy, comment.text, score.attributes, thread_key=thread_row.key)
        decisions.append(decision)
        if old_texts and row.id in old_texts:
            _text_changed(session, row, old_texts[row.id], decision, actor=actor)
        elif not decided_by_moderator(row):
            _save(session, row, decision, flush=False)
    session.flush()
    return decisions


def _text_changed(session: Session, comment: CommentRow, old_text: str, decision: Decision, *, actor: str) -> None:
    """Re-decide a comment whose text changed, and audit the change."""
    before = comment.decision.decision if comment.decision is not None else None
    if decided_by_moderator(comment):
        reopened = Reason(code="text_changed", action="review", message=TEXT_CHANGED)
        repository.save_decision(
            session,
            comment,
            "review",
            decided_by=actor,
            reasons=[reason.model_dump(mode="json", exclude_none=True) for reason in (reopened, *decision.reasons)],
            policy_digest=decision.policy_digest,
            note=TEXT_CHANGED,
            flush=False,
        )
    else:
        _save(session, comment, decision, flush=False)
    repository.append_audit(
        session,
        "comment.text_changed",
        actor=actor,
        subject_type="comment",
        subject_id=comment.id,
        payload={
            "thread_id": comment.thread_id,
            "source_id": comment.source_id,
            "old_sha256": _sha256(old_text),
            "new_sha256": _sha256(comment.text),
            "decision": {"from": before, "to": comment.decision.decision if comment.decision else None},
        },
    )


def _sha256(text: str) -> str:
    """The hex SHA-256 of a comment's text (UTF-8), as the audit log records texts."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _attributes(comment: CommentRow) -> dict[str, float]:
    """The newest stored scores' attributes of a comment."""
    newest = comment.newest_score
    return {} if newest is None else dict(CommentScores.model_validate(newest.detail).attributes)


def redecide(
    session: Session, policy: Policy, *, thread_id: int | None = None, actor: str = "operator"
) -> Counter[str]:
    """Re-decide every scored comment the policy has not decided under this exact policy; returns
    the new decisions' counts. Comments without scores are left alone."""
    counts: Counter[str] = Counter()
    after = 0
    while batch := repository.comments_to_decide(session, policy.digest, thread_id=thread_id, after=after, lock=True):
        for comment in batch:
            after = comment.id
            attributes = _attributes(comment)
            if not attributes or decided_by_moderator(comment):  # a moderator decided it while the query waited
                continue
            decision = decide(policy, comment.text, attributes, thread_key=comment.thread.key)
            _save(session, comment, decision)
            counts[decision.action] += 1
    repository.append_audit(
        session,
        "policy.applied",
        actor=actor,
        subject_type="policy",
        subject_id=policy.digest,
        payload={"thread_id": thread_id, "decisions": dict(counts)},
    )
    return counts


def moderate(
    session: Session,
    comment_id: int,
    action: Action,
    *,
    actor: str,
    note: str | None = None,
) -> StoredComment:
    """A moderator's decision on one comment, replacing the policy's or another moderator's; returns the
    comment as it now stands."""
    if action not in ACTIONS:
        raise InputError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    check_text(note, "note")
    comment = repository.lock_comment(session, comment_id)  # an import of its thread waits, or is waited for
    if comment is None:
        raise NotFoundError(f"no comment {comment_id}")
    before = comment.decision.decision if comment.decision is not None else None
    repository.save_decision(session, comment, action, decided_by=actor, note=note)
    repository.append_audit(
        session,
        "comment.decided",
        actor=actor,
        subject_type="comment",
        subject_id=comment_id,
        payload={"from": before, "to": action, "note": note},
    )
    return StoredComment.of(comment)
