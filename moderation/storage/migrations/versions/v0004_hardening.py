"""Hardening: the database itself keeps the audit log append-only.

Triggers refuse every UPDATE and DELETE of ``audit_log`` rows (TRUNCATE too on PostgreSQL), not only the
ORM: the same statements as ``tables.AUDIT_APPEND_ONLY`` (copied, so this revision means the same whatever
``tables.py`` later says). The audit log has no foreign key, so deleting a thread keeps its audit.

Revision ID: v0004
Revises: v0003
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op

revision = "v0004"
down_revision: str | None = "v0003"
branch_labels: str | None = None
depends_on: str | None = None

_MESSAGE = "the audit log is append-only"
_UP = {
    "sqlite": [
        f"CREATE TRIGGER audit_log_no_{change.lower()} BEFORE {change} ON audit_log "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        for change in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION '{_MESSAGE}' USING ERRCODE = 'restrict_violation'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ],
}
_DOWN = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_append_only ON audit_log", "DROP FUNCTION audit_log_append_only()"],
}


def upgrade() -> None:
    for statement in _UP.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in _DOWN.get(op.get_bind().dialect.name, []):
        op.execute(statement)
