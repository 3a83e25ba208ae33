"""The moderation desk's records: decisions, the review queue, the audit log and API keys.

Functions query and flush; the caller owns the transaction. Import them from
:mod:`moderation.storage.repository`, which re-exports this module's public names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from moderation.actions import ACTIONS
from moderation.errors import InputError
from moderation.language import UNDETERMINED
from moderation.storage.db import lock_for_writing
from moderation.storage.limits import check_text
from moderation.storage.pages import Page, check_limit, decode_cursor, page_of
from moderation.storage.stored import RENAMED_SUBJECT_TYPES, StoredAuditEntry, StoredComment, ThreadRef
from moderation.storage.tables import (
    ApiKeyRow,
    AttributeScoreRow,
    AuditRow,
    CommentRow,
    DecisionRow,
    ScoreRow,
    utcnow,
)

#: ``decided_by`` of decisions the policy made; anything else names a moderator.
POLICY = "policy"


def save_decision(
    session: Session,
    comment: CommentRow,
    decision: str,
    *,
    decided_by: str,
    reasons: Sequence[Mapping[str, Any]] = (),
    policy_digest: str | None = None,
    note: str | None = None,
    flush: bool = True,
) -> DecisionRow:
    """Make ``decision`` the comment's current one, replacing any earlier one (``flush=False``: the caller
    flushes once after deciding many)."""
    if decision not in ACTIONS:
        raise InputError(f"unknown decision {decision!r}; one of {', '.join(ACTIONS)}")
    row = comment.decision
    if row is None:
        row = DecisionRow(comment_id=comment.id)
        comment.decision = row
    row.decision = decision
    row.reasons = [dict(reason) for reason in reasons]
    row.policy_digest = policy_digest
    row.decided_by = decided_by
    row.note = note
    row.decided_at = utcnow()
    if flush:
        session.flush()
    return row


def comments_to_decide(
    session: Session,
    policy_digest: str,
    *,
    thread_id: int | None = None,
    after: int = 0,
    limit: int = 500,
    lock: bool = False,
) -> list[CommentRow]:
    """Comments the policy ``policy_digest`` should decide, by id after ``after``.

    Those with no decision, and those the policy decided under another digest. A moderator's
    decision is never among them: a policy change does not overrule a person. With ``lock``, the
    comments are read afresh and locked until the transaction ends; check each one's decision again
    before replacing it (a moderator may have decided it while the query waited for the lock).
    """
    query = (
        select(CommentRow)
        .outerjoin(DecisionRow, DecisionRow.comment_id == CommentRow.id)
        .where(
            CommentRow.id > after,
            or_(
                DecisionRow.id.is_(None),
                and_(
                    DecisionRow.decided_by == POLICY,
                    or_(DecisionRow.policy_digest.is_(None), DecisionRow.policy_digest != policy_digest),
                ),
            ),
        )
        .order_by(CommentRow.id)
        .limit(check_limit(limit))
        .options(selectinload(CommentRow.decision))
    )
    if lock:
        lock_for_writing(session)
        query = query.with_for_update(of=CommentRow).execution_options(populate_existing=True)
    if thread_id is not None:
        query = query.where(CommentRow.thread_id == thread_id)
    return list(session.scalars(query))


def language_condition(language: str) -> ColumnElement[bool]:
    """Comments in ``language`` (an ISO 639-1 code), or without one for :data:`UNDETERMINED`."""
    if language == UNDETERMINED:
        return CommentRow.language.is_(None)
    return CommentRow.language == language


@dataclass(frozen=True)
class QueueItem:
    """A comment awaiting review, its risk and its thread."""

    comment: StoredComment
    risk: float
    thread: ThreadRef


def review_queue(
    session: Session,
    *,
    thread_id: int | None = None,
    language: str | None = None,
    model: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[QueueItem]:
    """Comments whose decision is ``review`` (of one thread, in one language, when given), riskiest
    first, then oldest first.

    A comment's risk is its highest attribute probability (``model``'s scores, else any model's;
    0 when it has none).
    """
    highest = select(func.max(AttributeScoreRow.value)).where(AttributeScoreRow.comment_id == CommentRow.id)
    if model is not None:
        highest = highest.join(ScoreRow, ScoreRow.id == AttributeScoreRow.score_id).where(ScoreRow.model == model)
    risk: ColumnElement[float] = func.coalesce(highest.correlate(CommentRow).scalar_subquery(), 0.0)
    query = (
        select(CommentRow, risk)
        .join(DecisionRow, DecisionRow.comment_id == CommentRow.id)
        .where(DecisionRow.decision == "review")
        .order_by(risk.desc(), CommentRow.id)
        .limit(check_limit(limit) + 1)
        .options(selectinload(CommentRow.thread), selectinload(CommentRow.decision), selectinload(CommentRow.scores))
    )
    if thread_id is not None:
        query = query.where(CommentRow.thread_id == thread_id)
    if language is not None:
        query = query.where(language_condition(language))
    if cursor is not None:
        last_risk, last_id = decode_cursor("queue", cursor, (float, int))
        query = query.where(or_(risk < last_risk, and_(risk == last_risk, CommentRow.id > last_id)))
    items = [
        QueueItem(StoredComment.of(row), float(value), ThreadRef.of(row.thread))
        for row, value in session.execute(query)
    ]
    return page_of(items, limit, "queue", lambda item: (item.risk, item.comment.id))


def append_audit(
    session: Session,
    action: str,
    *,
    actor: str,
    subject_type: str,
    subject_id: str | int,
    payload: Mapping[str, Any] | None = None,
) -> AuditRow:
    """Append one entry to the audit log (``action`` like ``"comment.decided"``)."""
    row = AuditRow(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload=dict(payload or {}),
        at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def list_audit(
    session: Session,
    *,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[StoredAuditEntry]:
    """Audit entries, newest first, optionally of one action or one subject."""
    for name, value in (("action", action), ("subject_type", subject_type), ("subject_id", subject_id)):
        check_text(None if value is None else str(value), name)
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(check_limit(limit) + 1)
    if action is not None:
        query = query.where(AuditRow.action == action)
    if subject_type is not None:
        written = [subject_type, *(old for old, new in RENAMED_SUBJECT_TYPES.items() if new == subject_type)]
        query = query.where(AuditRow.subject_type.in_(written))
    if subject_id is not None:
        query = query.where(AuditRow.subject_id == str(subject_id))
    if cursor is not None:
        (last_id,) = decode_cursor("audit", cursor, (int,))
        query = query.where(AuditRow.id < last_id)
    entries = [StoredAuditEntry.of(row) for row in session.scalars(query)]
    return page_of(entries, limit, "audit", lambda entry: (entry.id,))


def add_api_key(session: Session, *, name: str, prefix: str, secret_hash: str, scopes: Sequence[str]) -> ApiKeyRow:
    """Store a key (:mod:`moderation.keys` makes the prefix, secret and hash)."""
    row = ApiKeyRow(name=name, prefix=prefix, secret_hash=secret_hash, scopes=list(scopes), created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def get_api_key(session: Session, prefix: str) -> ApiKeyRow | None:
    return session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))


def touch_api_keys(session: Session, used: Mapping[str, datetime]) -> None:
    """Set each key's ``last_used_at`` to its time in ``used`` (by prefix), unless it holds a later one."""
    for prefix in sorted(used):  # rows locked in one order by every writer
        at = used[prefix]
        statement = (
            update(ApiKeyRow)
            .where(ApiKeyRow.prefix == prefix, or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at < at))
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )
        session.execute(statement)


def list_api_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKeyRow]:
    """Keys, oldest first."""
    query = select(ApiKeyRow).order_by(ApiKeyRow.id)
    if not include_revoked:
        query = query.where(ApiKeyRow.revoked_at.is_(None))
    return list(session.scalars(query))
