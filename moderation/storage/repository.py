"""Every query the project runs. Functions query and flush; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from moderation.models.scorer import CommentScores
from moderation.storage.tables import ArticleRow, CommentRow, ScoreRow
from moderation.thread import Article, Comment, ExcludedItem, Thread, Votes


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
    session.flush()
    return row


def save_scores(
    session: Session, article: ArticleRow, thread: Thread, scores: Sequence[CommentScores], model: str
) -> None:
    """Store one model's scores for the thread's comments (same order), replacing earlier ones."""
    if len(scores) != len(thread.comments):
        raise ValueError("one score per comment is required")
    rows = {c.source_id: c for c in session.scalars(select(CommentRow).where(CommentRow.article_id == article.id))}
    for comment, score in zip(thread.comments, scores, strict=True):
        crow = rows[comment.id]
        srow = session.scalar(select(ScoreRow).where(ScoreRow.comment_id == crow.id, ScoreRow.model == model))
        if srow is None:
            srow = ScoreRow(comment_id=crow.id, model=model)
            session.add(srow)
        srow.sentiment = score.sentiment.label
        srow.stance = score.stance.label if score.stance else None
        srow.toxicity = score.attributes.get("TOXICITY", score.toxicity.probabilities.get("toxic", 0.0))
        srow.detail = score.model_dump(mode="json")
    session.flush()


def get_article(session: Session, article_id: int) -> ArticleRow | None:
    return session.get(ArticleRow, article_id)


def list_articles(session: Session) -> list[ArticleRow]:
    return list(session.scalars(select(ArticleRow).order_by(ArticleRow.id)))


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
