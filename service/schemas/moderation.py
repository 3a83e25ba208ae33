"""Moderation: the review queue, a moderator's decision, the audit log and re-deciding under the policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from moderation.actions import Action
from moderation.storage import stored
from moderation.storage.repository import QueueItem
from service.schemas.comments import CommentOut


class ThreadRef(BaseModel):
    id: int
    title: str | None
    url: str | None


class QueueItemOut(CommentOut):
    risk: float = Field(description="The comment's highest attribute probability.")
    thread: ThreadRef

    @classmethod
    def from_item(cls, item: QueueItem) -> QueueItemOut:
        thread = ThreadRef(id=item.thread.id, title=item.thread.title, url=item.thread.url)
        return cls(**dict(CommentOut.of(item.comment)), risk=item.risk, thread=thread)


class QueuePage(BaseModel):
    items: list[QueueItemOut] = Field(description="Riskiest first, then oldest.")
    next_cursor: str | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "reject", "note": "personal attack on another reader"}]},
    )

    action: Action
    note: str | None = Field(default=None, max_length=2000, description="Why, for the audit log.")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str = Field(description='e.g. "thread.stored", "comment.decided", "policy.applied".')
    subject_type: str
    subject_id: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, entry: stored.StoredAuditEntry) -> AuditEntry:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            payload=entry.payload,
        )


class AuditPage(BaseModel):
    items: list[AuditEntry] = Field(description="Newest first.")
    next_cursor: str | None


class PolicyApplied(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policy": "3f1c0a9b2d4e",
                    "thread_id": None,
                    "redecided": 3,
                    "decisions": {"approve": 2, "review": 1, "reject": 0},
                }
            ]
        }
    )

    policy: str = Field(description="The digest of the running policy.")
    thread_id: int | None
    redecided: int = Field(description="Comments the policy decided again (a moderator's decision is kept).")
    decisions: dict[str, int] = Field(description="The new decisions, by action.")
