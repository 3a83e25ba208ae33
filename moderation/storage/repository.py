"""Every query the project runs. Functions query and flush; the caller owns the transaction.

Threads and scores here; decisions, the review queue, the audit log and API keys in
:mod:`moderation.storage.desk`, re-exported below so callers need only ``repository``.
Listings page by keyset (:mod:`moderation.storage.pages`): pass a page's ``next_cursor`` back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from moderation.errors import InputError
from moderation.models.scorer import CommentScores
from moderation.storage.desk import (
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
)
from moderation.storage.pages import Page, check_limit, decode_cursor, page_of
from moderation.storage.tables import DECISIONS, ArticleRow, AttributeScoreRow, CommentRow, DecisionRow, ScoreRow
from moderation.thread import Article, Comment, ExcludedItem, Thread, Votes

__all__ = [
    "POLICY",
    "CommentFilter",
    "Page",
    "QueueItem",
    "add_api_key",
    "append_audit",
    "comment_scores",
    "comments_to_decide",
    "get_api_key",
    "get_article",
    "get_comment",
    "list_api_keys",
    "list_articles",
    "list_audit",
    "list_comments",
    "load_thread",
    "review_queue",
    "save_decision",
    "save_scores",
    "save_thread",
]


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def save_thread(session: Session, thread: Thread) -> ArticleRow:
    """Insert or update the article and its comments, matched by thread key and comment id.

    Comments stored earlier but absent from this import are kept: a partial page must not
    delete what a fuller one stored.
    """
    article = thread.article
    key = thread.key()
    row = session.scalar(select(ArticleRow).where(ArticleRow.key == key))
    if row is None:
        row = ArticleRow(key=key)
        session.add(row)
    row.url = article.url
    row.title = article.title
    row.published = _iso(article.published)
    row.published_raw = article.published_raw
    row.section = article.section
    row.byline = article.byline
    row.dateline = article.dateline
    row.credit = article.credit
    row.language = article.language
    row.captions = list(article.captions)
    row.body = list(article.body)
    row.source_format = thread.source_format
    row.announced_comments = thread.announced_comments
    row.extra = dict(thread.metadata)
    row.excluded = [item.model_dump() for item in thread.excluded]
    session.flush()
    existing = {c.source_id: c for c in session.scalars(select(CommentRow).where(CommentRow.article_id == row.id))}
    for comment in thread.comments:
        crow = existing.get(comment.id)
        if crow is None:
            crow = CommentRow(article_id=row.id, source_id=comment.id)
            session.add(crow)
        crow.parent = comment.parent
        crow.parent_source_id = comment.parent_source_id
        crow.author = comment.author
        crow.published = comment.published
        crow.published_raw = comment.published_raw
        crow.text = comment.text
        crow.votes_up = comment.votes.up
        crow.votes_down = comment.votes.down
        crow.votes_score = comment.votes.score
        crow.position = comment.position
        crow.language = comment.language
        crow.language_confidence = comment.language_confidence
    session.flush()
    return row


def save_scores(
    session: Session, article: ArticleRow, thread: Thread, scores: Sequence[CommentScores], model: str
) -> None:
    """Store one model's scores for the thread's comments (same order), replacing earlier ones."""
    if len(scores) != len(thread.comments):
        raise ValueError("one score per comment is required")
    rows = {c.source_id: c for c in session.scalars(select(CommentRow).where(CommentRow.article_id == article.id))}
    stored = {
        s.comment_id: s
        for s in session.scalars(
            select(ScoreRow)
            .join(CommentRow, CommentRow.id == ScoreRow.comment_id)
            .where(CommentRow.article_id == article.id, ScoreRow.model == model)
            .options(selectinload(ScoreRow.attribute_rows))
        )
    }
    for comment, score in zip(thread.comments, scores, strict=True):
        crow = rows[comment.id]
        srow = stored.get(crow.id)
        if srow is None:
            srow = ScoreRow(comment_id=crow.id, model=model)
            session.add(srow)
        attributes = _attribute_values(score)
        srow.sentiment = score.sentiment.label
        srow.stance = score.stance.label if score.stance else None
        srow.toxicity = attributes["TOXICITY"]
        srow.detail = score.model_dump(mode="json")
        _replace_attributes(srow, crow.id, attributes)
    session.flush()


def _attribute_values(score: CommentScores) -> dict[str, float]:
    """The Perspective attributes of one comment's scores; TOXICITY always (the toxicity head's)."""
    values = dict(score.attributes)
    values.setdefault("TOXICITY", score.toxicity.probabilities.get("toxic", 0.0))
    return values


def _replace_attributes(srow: ScoreRow, comment_id: int, values: Mapping[str, float]) -> None:
    old = {row.attribute: row for row in srow.attribute_rows}
    for name, value in values.items():
        row = old.pop(name, None)
        if row is None:
            srow.attribute_rows.append(AttributeScoreRow(attribute=name, comment_id=comment_id, value=value))
        else:
            row.value = value
    for row in old.values():
        srow.attribute_rows.remove(row)


def get_article(session: Session, article_id: int) -> ArticleRow | None:
    return session.get(ArticleRow, article_id)


def find_article_id(session: Session, key: str) -> int | None:
    """The stored article with this thread key (``Thread.key()``), if any."""
    return session.scalar(select(ArticleRow.id).where(ArticleRow.key == key))


def list_articles(session: Session, *, cursor: str | None = None, limit: int = 50) -> Page[ArticleRow]:
    """Stored articles, newest first."""
    query = select(ArticleRow).order_by(ArticleRow.id.desc()).limit(check_limit(limit) + 1)
    if cursor is not None:
        (last_id,) = decode_cursor("articles", cursor, (int,))
        query = query.where(ArticleRow.id < last_id)
    return page_of(list(session.scalars(query)), limit, "articles", lambda row: (row.id,))


def get_comment(session: Session, comment_id: int) -> CommentRow | None:
    return session.get(CommentRow, comment_id)


@dataclass(frozen=True)
class CommentFilter:
    """Which comments of an article to list; every condition given must hold.

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
    article_id: int,
    filters: CommentFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CommentRow]:
    """The article's comments in thread order, with their decision and scores loaded."""
    filters = filters or CommentFilter()
    query = (
        select(CommentRow)
        .where(CommentRow.article_id == article_id, *_comment_conditions(filters))
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


def _comment_conditions(filters: CommentFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.decision is not None:
        if filters.decision not in DECISIONS:
            raise InputError(f"unknown decision {filters.decision!r}; one of {', '.join(DECISIONS)}")
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


def load_thread(session: Session, article_id: int) -> Thread | None:
    """The stored thread, rebuilt as the extractor gave it."""
    row = session.scalar(
        select(ArticleRow).where(ArticleRow.id == article_id).options(selectinload(ArticleRow.comments))
    )
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
            votes=Votes(up=c.votes_up, down=c.votes_down, score=c.votes_score),
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


def comment_scores(session: Session, article_id: int, model: str | None = None) -> dict[str, CommentScores]:
    """Scores of the article's comments by comment id (one model's, else the latest)."""
    query = (
        select(CommentRow.source_id, ScoreRow)
        .join(ScoreRow, ScoreRow.comment_id == CommentRow.id)
        .where(CommentRow.article_id == article_id)
        .order_by(ScoreRow.scored_at)
    )
    if model is not None:
        query = query.where(ScoreRow.model == model)
    return {source_id: CommentScores.model_validate(srow.detail) for source_id, srow in session.execute(query)}
