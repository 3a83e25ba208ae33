"""Typed SQLAlchemy 2 tables: articles, their comments, and each model's scores of a comment."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC, read back as aware UTC: SQLite keeps no offsets, PostgreSQL does."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012 (SQLAlchemy's hook)


class ArticleRow(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(2048), unique=True, doc="URL, else title and date")
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(64), doc="ISO date or datetime")
    published_raw: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    byline: Mapped[str | None] = mapped_column(Text)
    dateline: Mapped[str | None] = mapped_column(Text)
    credit: Mapped[str | None] = mapped_column(Text)
    captions: Mapped[list[str]] = mapped_column(default=list)
    body: Mapped[list[str]] = mapped_column(default=list)
    source_format: Mapped[str] = mapped_column(String(32))
    announced_comments: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    comments: Mapped[list[CommentRow]] = relationship(
        back_populates="article", order_by="CommentRow.position", cascade="all, delete-orphan"
    )


class CommentRow(Base):
    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("article_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(256), doc="the source's id, else a stable hash")
    parent: Mapped[str | None] = mapped_column(String(256), doc="source_id of the parent comment in this thread")
    parent_source_id: Mapped[str | None] = mapped_column(
        String(256), doc="the source's id of the parent, kept when that parent was excluded"
    )
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_raw: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    votes_up: Mapped[int | None] = mapped_column(Integer)
    votes_down: Mapped[int | None] = mapped_column(Integer)
    votes_score: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    article: Mapped[ArticleRow] = relationship(back_populates="comments")
    scores: Mapped[list[ScoreRow]] = relationship(back_populates="comment", cascade="all, delete-orphan")


class ScoreRow(Base):
    """One model's scores of one comment; re-scoring with the same model replaces them."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("comment_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(256))
    sentiment: Mapped[str] = mapped_column(String(16))
    stance: Mapped[str | None] = mapped_column(String(16))
    toxicity: Mapped[float] = mapped_column(Float, doc="probability of the TOXICITY attribute")
    detail: Mapped[dict[str, Any]] = mapped_column(doc="every head's probabilities (CommentScores)")
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    comment: Mapped[CommentRow] = relationship(back_populates="scores")
