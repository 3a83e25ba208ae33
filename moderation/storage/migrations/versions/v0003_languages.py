"""Languages: each comment's language and the detector's confidence, each article's language.

Comments and articles stored before this revision keep NULL (unknown) until their thread is stored again.

Revision ID: v0003
Revises: v0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0003"
down_revision: str | None = "v0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("language_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("language_confidence")
        batch.drop_column("language")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("language")
