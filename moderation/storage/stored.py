"""What the repository hands out: stored threads, comments, audit entries and feedback, never table rows.

Each is a frozen dataclass made from its rows by one ``of`` function, the only place a column is copied,
so callers outside storage (the service above all) neither import the tables nor copy fields by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from moderation.actions import Action
from moderation.scores import CommentScores
from moderation.storage.tables import AuditRow, CommentRow, DecisionRow, FeedbackRow, ScoreRow, ThreadRow
from moderation.thread import ExcludedItem, Votes

__all__ = [
    "StoredAuditEntry",
    "StoredComment",
    "StoredDecision",
    "StoredFeedback",
    "StoredScores",
    "StoredThread",
    "ThreadRef",
    "votes_of",
]


def votes_of(row: CommentRow) -> Votes:
    """The comment's votes from their three columns."""
    return Votes(up=row.votes_up, down=row.votes_down, score=row.votes_score)


@dataclass(frozen=True)
class StoredThread:
    """A stored thread: its article, where it came from and what the source left out (counts aside)."""

    id: int
    key: str
    url: str | None
    title: str | None
    published: str | None  # ISO date or datetime, as stored
    published_raw: str | None
    section: str | None
    byline: str | None
    dateline: str | None
    credit: str | None
    captions: list[str]
    body: list[str]
    language: str | None
    source_format: str
    announced_comments: int | None
    metadata: dict[str, Any]
    excluded: list[ExcludedItem]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ThreadRow) -> StoredThread:
        return cls(
            id=row.id,
            key=row.key,
            url=row.url,
            title=row.title,
            published=row.published,
            published_raw=row.published_raw,
            section=row.section,
            byline=row.byline,
            dateline=row.dateline,
            credit=row.credit,
            captions=list(row.captions),
            body=list(row.body),
            language=row.language,
            source_format=row.source_format,
            announced_comments=row.announced_comments,
            metadata=dict(row.extra),
            excluded=[ExcludedItem.model_validate(item) for item in row.excluded],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class ThreadRef:
    """Enough of a thread to name it beside one of its comments."""

    id: int
    title: str | None
    url: str | None

    @classmethod
    def of(cls, row: ThreadRow) -> ThreadRef:
        return cls(id=row.id, title=row.title, url=row.url)


@dataclass(frozen=True)
class StoredScores:
    """One model's scores of a comment, and when that model scored it."""

    scores: CommentScores
    model: str
    scored_at: datetime

    @classmethod
    def of(cls, row: ScoreRow) -> StoredScores:
        return cls(scores=CommentScores.model_validate(row.detail), model=row.model, scored_at=row.scored_at)


@dataclass(frozen=True)
class StoredDecision:
    """A comment's current decision; ``reasons`` as stored (a newer or older build may have written another
    shape, so each reader validates them its own way)."""

    action: Action
    decided_by: str
    reasons: list[dict[str, Any]]
    policy_digest: str | None
    note: str | None
    decided_at: datetime

    @classmethod
    def of(cls, row: DecisionRow) -> StoredDecision:
        return cls(
            action=row.decision,  # type: ignore[arg-type]  # the table's check constraint holds it to these
            decided_by=row.decided_by,
            reasons=[dict(reason) for reason in row.reasons],
            policy_digest=row.policy_digest,
            note=row.note,
            decided_at=row.decided_at,
        )


@dataclass(frozen=True)
class StoredComment:
    """A stored comment with its newest scores (:attr:`CommentRow.newest_score`) and current decision."""

    id: int
    thread_id: int
    source_id: str
    parent: str | None
    author: str | None
    published: datetime | None
    text: str
    votes: Votes
    position: int
    language: str | None
    language_confidence: float | None
    scores: StoredScores | None
    decision: StoredDecision | None

    @classmethod
    def of(cls, row: CommentRow) -> StoredComment:
        """Reads the row's ``scores`` and ``decision``: load them with the row (``selectinload``)."""
        newest = row.newest_score
        return cls(
            id=row.id,
            thread_id=row.thread_id,
            source_id=row.source_id,
            parent=row.parent,
            author=row.author,
            published=row.published,
            text=row.text,
            votes=votes_of(row),
            position=row.position,
            language=row.language,
            language_confidence=row.language_confidence,
            scores=StoredScores.of(newest) if newest is not None else None,
            decision=StoredDecision.of(row.decision) if row.decision is not None else None,
        )


# Subject types entries were written with before a rename, and what they name now: the log is append-only,
# so old entries are read (and filtered) under the new word rather than rewritten.
RENAMED_SUBJECT_TYPES: Final = {"article": "thread"}


@dataclass(frozen=True)
class StoredAuditEntry:
    """One entry of the append-only audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: AuditRow) -> StoredAuditEntry:
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject_type=RENAMED_SUBJECT_TYPES.get(row.subject_type, row.subject_type),
            subject_id=row.subject_id,
            payload=dict(row.payload),
        )


@dataclass(frozen=True)
class StoredFeedback:
    """One suggested score of one comment; the comment only as the SHA-256 of its text."""

    id: int
    received_at: datetime
    text_sha256: str
    attribute: str
    score: float
    source: str
    language: str | None
    community_id: str | None
    client_token: str | None

    @classmethod
    def of(cls, row: FeedbackRow) -> StoredFeedback:
        return cls(
            id=row.id,
            received_at=row.received_at,
            text_sha256=row.text_sha256,
            attribute=row.attribute,
            score=row.score,
            source=row.source,
            language=row.language,
            community_id=row.community_id,
            client_token=row.client_token,
        )
