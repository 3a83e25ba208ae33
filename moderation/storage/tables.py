"""Typed SQLAlchemy 2 tables.

Content: ``articles`` (the threads), their ``comments``, each model's ``scores`` of a comment and those scores'
``attribute_scores``. Moderation: the current ``decisions``, the append-only ``audit_log``,
``api_keys``, and clients' ``feedback`` (suggested scores, text kept as a digest). The schema is owned
by the Alembic migrations in ``storage/migrations``; a test keeps them and these classes identical on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from moderation.actions import ACTIONS

#: Constraint names as PostgreSQL picks them by default, so a PostgreSQL database made by ``create_all``
#: before migrations existed has the names migrated ones have, and migrations can refer to them
#: (adopting such a SQLite database rebuilds its tables with these names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


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
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012 (SQLAlchemy's hook)


class ThreadRow(Base):
    __tablename__ = "articles"  # the database keeps its first names (articles, article_id)

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
    language: Mapped[str | None] = mapped_column(String(8), doc="ISO 639-1 code, given or detected; NULL: unknown")
    captions: Mapped[list[str]] = mapped_column(default=list)
    body: Mapped[list[str]] = mapped_column(default=list)
    source_format: Mapped[str] = mapped_column(String(32))
    announced_comments: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    comments: Mapped[list[CommentRow]] = relationship(
        back_populates="thread", order_by="CommentRow.position", cascade="all, delete-orphan"
    )


class CommentRow(Base):
    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("article_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), index=True)
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
    language: Mapped[str | None] = mapped_column(String(8), doc="ISO 639-1 code, given or detected; NULL: unknown")
    language_confidence: Mapped[float | None] = mapped_column(Float, doc="the detector's, 0 to 1; NULL when given")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    thread: Mapped[ThreadRow] = relationship(back_populates="comments")
    scores: Mapped[list[ScoreRow]] = relationship(back_populates="comment", cascade="all, delete-orphan")
    decision: Mapped[DecisionRow | None] = relationship(
        back_populates="comment", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def newest_score(self) -> ScoreRow | None:
        """The scores written last (latest ``scored_at``, then highest id), the ones a comment shows; None when
        never scored. :func:`newest_score_ids` picks the same rows in SQL."""
        return max(self.scores, key=lambda score: (score.scored_at, score.id), default=None)


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
    attribute_rows: Mapped[list[AttributeScoreRow]] = relationship(
        back_populates="score", cascade="all, delete-orphan", passive_deletes=True
    )


def newest_score_ids(*where: ColumnElement[bool]) -> Select[tuple[int]]:
    """The id of each comment's newest score row, as :attr:`CommentRow.newest_score` picks it, among the
    comments that ``where`` (conditions on ``comments``) selects."""
    newest_first = func.row_number().over(
        partition_by=ScoreRow.comment_id, order_by=(ScoreRow.scored_at.desc(), ScoreRow.id.desc())
    )
    ranked = (
        select(ScoreRow.id, newest_first.label("rank"))
        .join(CommentRow, CommentRow.id == ScoreRow.comment_id)
        .where(*where)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


class AttributeScoreRow(Base):
    """One Perspective attribute's probability in one score row (``scores.detail["attributes"]``, flattened).

    The API filters comments by "attribute at or above a value" and orders the review queue by a
    comment's highest attribute. A narrow table keeps both plain, indexed SQL on SQLite and
    PostgreSQL alike: reading the JSON ``detail`` would need ``json_extract`` on one and ``->>``
    with casts on the other, and neither can use an ordinary index; a typed column per attribute
    would need a migration whenever a checkpoint brings another attribute (toxic-bert brings five).
    ``comment_id`` repeats the score's comment so a filter never joins through ``scores``.
    """

    __tablename__ = "attribute_scores"
    __table_args__ = (Index("ix_attribute_scores_comment_id_attribute_value", "comment_id", "attribute", "value"),)

    score_id: Mapped[int] = mapped_column(ForeignKey("scores.id", ondelete="CASCADE"), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Perspective name, e.g. TOXICITY")
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float, doc="probability, 0 to 1")

    score: Mapped[ScoreRow] = relationship(back_populates="attribute_rows")


class DecisionRow(Base):
    """The current decision about one comment; deciding again replaces it (the audit log keeps history)."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(f"decision IN ({', '.join(repr(d) for d in ACTIONS)})", name="decision"),
        Index("ix_decisions_decision_comment_id", "decision", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[str] = mapped_column(String(16), doc="approve, review or reject")
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, doc="why, one object per rule")
    policy_digest: Mapped[str | None] = mapped_column(String(64), doc="digest of the policy that decided, if any")
    decided_by: Mapped[str] = mapped_column(String(256), doc='"policy", or the moderator\'s key name')
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comment: Mapped[CommentRow] = relationship(back_populates="decision")


class AuditRow(Base):
    """One action, appended and never changed: the ORM refuses to update or delete these rows, and so does
    the database itself (:data:`AUDIT_APPEND_ONLY`). No foreign key: deleting a thread keeps its audit."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject_type_subject_id", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(256), doc='"policy", "cli", or a key name')
    action: Mapped[str] = mapped_column(String(64), index=True, doc='e.g. "comment.decided"')
    subject_type: Mapped[str] = mapped_column(String(32), doc='e.g. "comment", "thread", "api_key"')
    subject_id: Mapped[str] = mapped_column(String(256))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


def _refuse_change(_mapper: Mapper[Any], _connection: object, row: AuditRow) -> None:
    raise RuntimeError(f"the audit log is append-only (row {row.id})")


event.listen(AuditRow, "before_update", _refuse_change)
event.listen(AuditRow, "before_delete", _refuse_change)

#: Triggers refusing any UPDATE or DELETE of audit rows (and TRUNCATE on PostgreSQL), whoever sends it: raw
#: SQL, Core statements, another program. Both refuse as an integrity error. Made with the table by
#: ``create_all`` (a new database) and by migration v0004 (its own copy: a migration never imports this
#: module). SQLite drops them with the table, so a migration that copies ``audit_log`` must make them again.
AUDIT_APPEND_ONLY: dict[str, tuple[str, ...]] = {
    "sqlite": tuple(
        f"CREATE TRIGGER audit_log_no_{change.lower()} BEFORE {change} ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        for change in ("UPDATE", "DELETE")
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ),
}
for _dialect, _statements in AUDIT_APPEND_ONLY.items():
    for _statement in _statements:
        event.listen(AuditRow.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


class ApiKeyRow(Base):
    """An API key: the prefix identifies it to humans and to lookups; only the secret's SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), doc="hex SHA-256 of the secret part")
    scopes: Mapped[list[str]] = mapped_column(default=list, doc='e.g. ["read", "write", "moderate"]')
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedbackRow(Base):
    """A score a client suggested for a comment (Perspective's SuggestCommentScore: Coral sends one when a
    moderator approves or rejects). The comment is kept as the SHA-256 of its text only, never the text."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 1", name="score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text_sha256: Mapped[str] = mapped_column(String(64), index=True, doc="hex SHA-256 of the comment's UTF-8 text")
    attribute: Mapped[str] = mapped_column(String(64), doc="Perspective's name without a version, e.g. TOXICITY")
    score: Mapped[float] = mapped_column(Float, doc="the suggested summary score, 0 to 1")
    source: Mapped[str] = mapped_column(String(256), doc="who sent it: 'key:<prefix> (<name>)'")
    language: Mapped[str | None] = mapped_column(String(8), doc="ISO 639-1 code, given or detected; NULL: unknown")
    community_id: Mapped[str | None] = mapped_column(String(1024), doc="the client's community, e.g. 'Coral:<URL>'")
    client_token: Mapped[str | None] = mapped_column(String(1024), doc="the client's token, e.g. 'comment:<id>'")
