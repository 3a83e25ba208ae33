"""Baseline: articles, comments and scores, as ``create_all`` made them before migrations existed.

Revision ID: v0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(2048), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("published", sa.String(64), nullable=True),
        sa.Column("published_raw", sa.Text(), nullable=True),
        sa.Column("section", sa.Text(), nullable=True),
        sa.Column("byline", sa.Text(), nullable=True),
        sa.Column("dateline", sa.Text(), nullable=True),
        sa.Column("credit", sa.Text(), nullable=True),
        sa.Column("captions", sa.JSON(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("source_format", sa.String(32), nullable=False),
        sa.Column("announced_comments", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="articles_pkey"),
        sa.UniqueConstraint("key", name="articles_key_key"),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(256), nullable=False),
        sa.Column("parent", sa.String(256), nullable=True),
        sa.Column("parent_source_id", sa.String(256), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("published", sa.DateTime(), nullable=True),
        sa.Column("published_raw", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("votes_up", sa.Integer(), nullable=True),
        sa.Column("votes_down", sa.Integer(), nullable=True),
        sa.Column("votes_score", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name="comments_article_id_fkey", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="comments_pkey"),
        sa.UniqueConstraint("article_id", "source_id", name="comments_article_id_source_id_key"),
    )
    op.create_index("ix_comments_article_id", "comments", ["article_id"])
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=False),
        sa.Column("stance", sa.String(16), nullable=True),
        sa.Column("toxicity", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name="scores_comment_id_fkey", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="scores_pkey"),
        sa.UniqueConstraint("comment_id", "model", name="scores_comment_id_model_key"),
    )
    op.create_index("ix_scores_comment_id", "scores", ["comment_id"])


def downgrade() -> None:
    op.drop_table("scores")
    op.drop_table("comments")
    op.drop_table("articles")
