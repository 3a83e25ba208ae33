"""Moderation: the review queue, a moderator's decision, the audit log, and re-deciding under the policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from moderation.actions import ACTIONS
from moderation.decisions import moderate, redecide
from moderation.errors import NotFoundError
from moderation.storage import repository
from service.deps import ModerateKey, SessionDep, StateDep, actor
from service.schemas.comments import CommentOut
from service.schemas.moderation import AuditEntry, AuditPage, DecisionIn, PolicyApplied, QueueItemOut, QueuePage
from service.schemas.openapi import KEYED, errors
from service.schemas.params import Cursor, Id, LanguageFilter, Limit, ThreadFilter

router = APIRouter(tags=["moderation"])


@router.get("/v1/queue", summary="The review queue", responses=errors(*KEYED))
def review_queue(
    session: SessionDep,
    _: ModerateKey,
    thread_id: ThreadFilter = None,
    language: LanguageFilter = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> QueuePage:
    """Comments whose current decision is `review` (of one thread, in one language, when given), riskiest
    first (highest attribute probability), then oldest; each with its thread, language, scores and the
    reasons it is here."""
    page = repository.review_queue(session, thread_id=thread_id, language=language, cursor=cursor, limit=limit)
    return QueuePage(items=[QueueItemOut.from_item(item) for item in page.items], next_cursor=page.next_cursor)


@router.post("/v1/comments/{comment_id}/decision", summary="Decide a comment", responses=errors(400, *KEYED, 404, 413))
def decide_comment(comment_id: Id, body: DecisionIn, session: SessionDep, key: ModerateKey) -> CommentOut:
    """Approve, reject or send back to review, with an optional note. Replaces the current decision (a
    policy change never overrules it) and appends `comment.decided` to the audit log."""
    return CommentOut.of(moderate(session, comment_id, body.action, actor=actor(key), note=body.note))


@router.get("/v1/audit", summary="The audit log", responses=errors(*KEYED))
def audit_log(
    session: SessionDep,
    _: ModerateKey,
    action: Annotated[str | None, Query(max_length=64, description='e.g. "comment.decided".')] = None,
    subject_type: Annotated[
        str | None, Query(max_length=32, description='"comment", "thread", "policy", "api_key".')
    ] = None,
    subject_id: Annotated[str | None, Query(max_length=256)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AuditPage:
    """Every action on the desk, newest first: threads stored, decisions, policy runs. Append-only."""
    page = repository.list_audit(
        session, action=action, subject_type=subject_type, subject_id=subject_id, cursor=cursor, limit=limit
    )
    return AuditPage(items=[AuditEntry.of(entry) for entry in page.items], next_cursor=page.next_cursor)


@router.post("/v1/policy:apply", summary="Re-decide under the running policy", responses=errors(*KEYED, 404))
def apply_policy(
    state: StateDep, session: SessionDep, key: ModerateKey, thread_id: ThreadFilter = None
) -> PolicyApplied:
    """Decide stored comments again from their stored scores (no re-scoring) under the policy the server
    runs: those the policy decided under another policy, and those never decided. A moderator's decision
    stays. Appends `policy.applied` to the audit log."""
    if thread_id is not None and repository.get_thread(session, thread_id) is None:
        raise NotFoundError(f"no thread {thread_id}")
    counts = redecide(session, state.policy, thread_id=thread_id, actor=actor(key))
    return PolicyApplied(
        policy=state.policy.digest,
        thread_id=thread_id,
        redecided=counts.total(),
        decisions={a: counts[a] for a in ACTIONS},
    )
