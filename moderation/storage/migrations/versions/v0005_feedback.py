"""Feedback: the scores clients suggest for comments (Perspective's SuggestCommentScore), each comment kept as
the SHA-256 of its text only.

Revision ID: v0005
Revises: v0004
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0005"
down_revision: str | None = "v0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("community_id", sa.String(1024), nullable=True),
        sa.Column("client_token", sa.String(1024), nullable=True),
        sa.CheckConstraint("score >= 0 AND score <= 1", name="feedback_score_check"),
        sa.PrimaryKeyConstraint("id", name="feedback_pkey"),
    )
    op.create_index("ix_feedback_text_sha256", "feedback", ["text_sha256"])


def downgrade() -> None:
    op.drop_index("ix_feedback_text_sha256", table_name="feedback")
    op.drop_table("feedback")
