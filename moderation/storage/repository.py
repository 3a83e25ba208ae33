"""Every query the project runs. Functions query and flush; the caller owns the transaction.

Threads, scores and clients' feedback here; writing threads in :mod:`moderation.storage.writes`;
decisions, the review queue, the audit log and API keys in :mod:`moderation.storage.records`; both
re-exported below so callers need only ``repository``.
Listings page by keyset (:mod:`moderation.storage.pages`): pass a page's ``next_cursor`` back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from moderation.actions import ACTIONS
from moderation.errors import InputError
from moderation.scores import CommentScores
from moderation.storage.limits import check_text
from moderation.storage.pages import Page, check_limit, decode_cursor, page_of
from moderation.storage.records import (
    POLICY,
    QueueItem,
    add_api_key,
    append_audit,
    comments_to_decide,
    get_api_key,
    language_condition,
    list_api_keys,
    list_audit,
    review_queue,
    save_decision,
    touch_api_keys,
)
from moderation.storage.stored import StoredComment, StoredFeedback, StoredThread, votes_of
from moderation.storage.tables import (
    AttributeScoreRow,
    CommentRow,
    DecisionRow,
    FeedbackRow,
    ScoreRow,
    ThreadRow,
    newest_score_ids,
)
from moderation.storage.writes import (
    count_comments,
    lock_comment,
    save_comments,
    save_scores,
    save_thread,
    save_thread_row,
    score_comments,
    stored_comments,
)
from moderation.thread import Article, Comment, ExcludedItem, Thread

__all__ = [
    "POLICY",
    "CommentFilter",
    "Page",
    "QueueItem",
    "add_api_key",
    "add_feedback",
    "append_audit",
    "comment_scores",
    "comments_to_decide",
    "count_comments",
    "get_api_key",
    "get_comment",
    "get_thread",
    "list_api_keys",
    "list_audit",
    "list_comments",
    "list_feedback",
    "list_threads",
    "load_thread",
    "lock_comment",
    "review_queue",
    "save_comments",
    "save_decision",
    "save_scores",
    "save_thread",
    "save_thread_row",
    "score_comments",
    "stored_comments",
    "thread_comments",
    "touch_api_keys",
]


def get_thread(session: Session, thread_id: int) -> StoredThread | None:
    row = session.get(ThreadRow, thread_id)
    return StoredThread.of(row) if row is not None else None


def find_thread_id(session: Session, key: str) -> int | None:
    """The stored thread with this key (``Thread.key()``), if any."""
    return session.scalar(select(ThreadRow.id).where(ThreadRow.key == key))


def list_threads(session: Session, *, cursor: str | None = None, limit: int = 50) -> Page[StoredThread]:
    """Stored articles, newest first."""
    query = select(ThreadRow).order_by(ThreadRow.id.desc()).limit(check_limit(limit) + 1)
    if cursor is not None:
        (last_id,) = decode_cursor("threads", cursor, (int,))
        query = query.where(ThreadRow.id < last_id)
    threads = [StoredThread.of(row) for row in session.scalars(query)]
    return page_of(threads, limit, "threads", lambda thread: (thread.id,))


def get_comment(session: Session, comment_id: int) -> StoredComment | None:
    """The comment with its newest scores and current decision."""
    row = session.get(
        CommentRow, comment_id, options=[selectinload(CommentRow.decision), selectinload(CommentRow.scores)]
    )
    return StoredComment.of(row) if row is not None else None


@dataclass(frozen=True)
class CommentFilter:
    """Which comments of a thread to list; every condition given must hold.

    ``min_scores`` maps Perspective attributes to the least probability wanted
    (``{"TOXICITY": 0.8}``). Score conditions hold for ``model``'s scores, or for any stored
    model's when it is None; ``sentiment`` and ``stance`` must then hold for the same model.
    ``language`` is an ISO 639-1 code, or ``"und"`` for comments without one.
    """

    decision: str | None = None
    min_scores: Mapping[str, float] = field(default_factory=dict)
    stance: str | None = None
    sentiment: str | None = None
    language: str | None = None
    model: str | None = None


def list_comments(
    session: Session,
    thread_id: int,
    filters: CommentFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CommentRow]:
    """The thread's comments in order, with their decision and scores loaded."""
    filters = filters or CommentFilter()
    query = (
        select(CommentRow)
        .where(CommentRow.thread_id == thread_id, *_comment_conditions(filters))
        .order_by(CommentRow.position, CommentRow.id)
        .options(selectinload(CommentRow.decision), selectinload(CommentRow.scores))
        .limit(check_limit(limit) + 1)
    )
    if cursor is not None:
        position, last_id = decode_cursor("comments", cursor, (int, int))
        query = query.where(
            or_(CommentRow.position > position, and_(CommentRow.position == position, CommentRow.id > last_id))
        )
    return page_of(list(session.scalars(query)), limit, "comments", lambda row: (row.position, row.id))


def thread_comments(
    session: Session,
    thread_id: int,
    filters: CommentFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[StoredComment]:
    """:func:`list_comments` as stored comments, each with its newest scores and current decision."""
    page = list_comments(session, thread_id, filters, cursor=cursor, limit=limit)
    return Page([StoredComment.of(row) for row in page.items], page.next_cursor)


def _comment_conditions(filters: CommentFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.decision is not None:
        if filters.decision not in ACTIONS:
            raise InputError(f"unknown decision {filters.decision!r}; one of {', '.join(ACTIONS)}")
        conditions.append(
            exists().where(DecisionRow.comment_id == CommentRow.id, DecisionRow.decision == filters.decision)
        )
    if filters.language is not None:
        conditions.append(language_condition(filters.language))
    model = [ScoreRow.model == filters.model] if filters.model is not None else []
    if filters.stance is not None or filters.sentiment is not None:
        labels = [ScoreRow.stance == filters.stance] if filters.stance is not None else []
        labels += [ScoreRow.sentiment == filters.sentiment] if filters.sentiment is not None else []
        conditions.append(exists().where(ScoreRow.comment_id == CommentRow.id, *labels, *model))
    for attribute, least in filters.min_scores.items():
        match = exists().where(
            AttributeScoreRow.comment_id == CommentRow.id,
            AttributeScoreRow.attribute == attribute,
            AttributeScoreRow.value >= least,
        )
        if model:
            match = match.where(ScoreRow.id == AttributeScoreRow.score_id, *model)
        conditions.append(match)
    return conditions


def load_thread(session: Session, thread_id: int) -> Thread | None:
    """The stored thread, rebuilt as the extractor gave it."""
    row = session.scalar(select(ThreadRow).where(ThreadRow.id == thread_id).options(selectinload(ThreadRow.comments)))
    if row is None:
        return None
    published: date | datetime | None = None
    if row.published:
        published = datetime.fromisoformat(row.published) if "T" in row.published else date.fromisoformat(row.published)
    article = Article(
        url=row.url,
        title=row.title,
        published=published,
        published_raw=row.published_raw,
        section=row.section,
        byline=row.byline,
        dateline=row.dateline,
        captions=row.captions,
        body=row.body,
        credit=row.credit,
        language=row.language,
    )
    comments = [
        Comment(
            id=c.source_id,
            parent=c.parent,
            parent_source_id=c.parent_source_id,
            author=c.author,
            published=c.published,
            published_raw=c.published_raw,
            text=c.text,
            votes=votes_of(c),
            position=c.position,
            language=c.language,
            language_confidence=c.language_confidence,
        )
        for c in row.comments
    ]
    return Thread(
        article=article,
        comments=comments,
        source_format=row.source_format,
        announced_comments=row.announced_comments,
        metadata=row.extra,
        excluded=[ExcludedItem.model_validate(item) for item in row.excluded],
    )


def comment_scores(session: Session, thread_id: int, model: str | None = None) -> dict[str, CommentScores]:
    """Scores of the thread's comments by comment id (one model's, else each comment's newest)."""
    in_thread = CommentRow.thread_id == thread_id
    query = select(CommentRow.source_id, ScoreRow).join(ScoreRow, ScoreRow.comment_id == CommentRow.id).where(in_thread)
    if model is not None:
        query = query.where(ScoreRow.model == model)
    else:
        query = query.where(ScoreRow.id.in_(newest_score_ids(in_thread).scalar_subquery()))
    return {source_id: CommentScores.model_validate(srow.detail) for source_id, srow in session.execute(query)}


def add_feedback(
    session: Session,
    *,
    text_sha256: str,
    attribute: str,
    score: float,
    source: str,
    language: str | None = None,
    community_id: str | None = None,
    client_token: str | None = None,
) -> FeedbackRow:
    """Store one suggested score (:mod:`moderation.feedback` checks it and makes the digest)."""
    row = FeedbackRow(
        text_sha256=text_sha256,
        attribute=attribute,
        score=score,
        source=source,
        language=language,
        community_id=community_id,
        client_token=client_token,
    )
    session.add(row)
    session.flush()
    return row


def list_feedback(
    session: Session,
    *,
    attribute: str | None = None,
    community_id: str | None = None,
    text_sha256: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[StoredFeedback]:
    """Stored feedback, newest first, optionally of one attribute, one community or one comment's digest."""
    for name, value in (("attribute", attribute), ("community_id", community_id), ("text_sha256", text_sha256)):
        check_text(value, name)
    query = select(FeedbackRow).order_by(FeedbackRow.id.desc()).limit(check_limit(limit) + 1)
    if attribute is not None:
        query = query.where(FeedbackRow.attribute == attribute)
    if community_id is not None:
        query = query.where(FeedbackRow.community_id == community_id)
    if text_sha256 is not None:
        query = query.where(FeedbackRow.text_sha256 == text_sha256)
    if cursor is not None:
        (last_id,) = decode_cursor("feedback", cursor, (int,))
        query = query.where(FeedbackRow.id < last_id)
    feedback = [StoredFeedback.of(row) for row in session.scalars(query)]
    return page_of(feedback, limit, "feedback", lambda item: (item.id,))
