"""Moderation: decisions, the audit log, API keys, and attribute scores (filled from the stored scores).

Revision ID: v0002
Revises: v0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "v0002"
down_revision: str | None = "v0001"
branch_labels: str | None = None
depends_on: str | None = None

_CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "attribute_scores",
        sa.Column("score_id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name="attribute_scores_comment_id_fkey", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["score_id"], ["scores.id"], name="attribute_scores_score_id_fkey", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("score_id", "attribute", name="attribute_scores_pkey"),
    )
    op.create_index(
        "ix_attribute_scores_comment_id_attribute_value", "attribute_scores", ["comment_id", "attribute", "value"]
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("policy_digest", sa.String(64), nullable=True),
        sa.Column("decided_by", sa.String(256), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('approve', 'review', 'reject')", name="decisions_decision_check"),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name="decisions_comment_id_fkey", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="decisions_pkey"),
        sa.UniqueConstraint("comment_id", name="decisions_comment_id_key"),
    )
    op.create_index("ix_decisions_decision_comment_id", "decisions", ["decision", "comment_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(256), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="audit_log_pkey"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_subject_type_subject_id", "audit_log", ["subject_type", "subject_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="api_keys_pkey"),
        sa.UniqueConstraint("prefix", name="api_keys_prefix_key"),
    )
    _fill_attribute_scores()


def _fill_attribute_scores() -> None:
    """One row per attribute of every stored score (``detail["attributes"]``, TOXICITY at least)."""
    scores = sa.table(
        "scores",
        sa.column("id", sa.Integer),
        sa.column("comment_id", sa.Integer),
        sa.column("toxicity", sa.Float),
        sa.column("detail", sa.JSON),
    )
    attribute_scores = sa.table(
        "attribute_scores",
        sa.column("score_id", sa.Integer),
        sa.column("attribute", sa.String),
        sa.column("comment_id", sa.Integer),
        sa.column("value", sa.Float),
    )
    connection = op.get_bind()
    rows: list[dict[str, Any]] = []
    query = sa.select(scores.c.id, scores.c.comment_id, scores.c.toxicity, scores.c.detail).order_by(scores.c.id)
    for score_id, comment_id, toxicity, detail in connection.execute(query):
        attributes = dict((detail or {}).get("attributes") or {})
        attributes.setdefault("TOXICITY", toxicity)
        rows.extend(
            {"score_id": score_id, "attribute": name, "comment_id": comment_id, "value": float(value)}
            for name, value in attributes.items()
        )
        if len(rows) >= _CHUNK:
            op.bulk_insert(attribute_scores, rows)
            rows = []
    if rows:
        op.bulk_insert(attribute_scores, rows)


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("audit_log")
    op.drop_table("decisions")
    op.drop_table("attribute_scores")
