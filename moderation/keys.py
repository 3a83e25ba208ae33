"""API keys: created once in plaintext, stored as a SHA-256 of their secret, verified in constant time.

A key reads ``md_<prefix>_<secret>``: the 8-hex-digit prefix names it to people (lists, logs, the
audit log) and finds its row; the secret is 32 random bytes (URL-safe base64), so a fast hash is
the right one (nothing to brute-force, unlike a password). Only the hash is stored; the plaintext
is returned by :func:`create_key` and never again.

Scopes: ``read`` (listings), ``write`` (storing threads, scoring), ``moderate`` (decisions, the
queue, the audit log). Functions take the caller's session and flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from moderation.errors import InputError
from moderation.storage import repository
from moderation.storage.tables import ApiKeyRow, utcnow

__all__ = ["SCOPES", "ApiKey", "NewKey", "create_key", "list_keys", "revoke_key", "verify_key"]

SCOPES = ("read", "write", "moderate")
TOKEN_PREFIX = "md"
#: ``last_used_at`` is written at most this often per key, so reads stay reads.
TOUCH_INTERVAL = timedelta(minutes=1)
_MAX_TOKEN = 256
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key as callers see it: never its secret or hash."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.active and scope in self.scopes

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=tuple(row.scopes),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


@dataclass(frozen=True)
class NewKey:
    """A key just created, with the plaintext ``token`` to hand over once."""

    key: ApiKey
    token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str, scopes: Iterable[str], *, actor: str = "operator") -> NewKey:
    """A new key named ``name`` with ``scopes`` (a subset of :data:`SCOPES`); audited as ``key.created``."""
    wanted = tuple(dict.fromkeys(scopes))
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise InputError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(wanted) or 'none'}")
    if not name.strip():
        raise InputError("a key needs a name")
    prefix = secrets.token_hex(4)
    while repository.get_api_key(session, prefix) is not None:
        prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    row = repository.add_api_key(session, name=name.strip(), prefix=prefix, secret_hash=_hash(secret), scopes=wanted)
    repository.append_audit(
        session,
        "key.created",
        actor=actor,
        subject_type="api_key",
        subject_id=prefix,
        payload={"name": row.name, "scopes": list(wanted)},
    )
    return NewKey(ApiKey.from_row(row), f"{TOKEN_PREFIX}_{prefix}_{secret}")


def verify_key(session: Session, token: str, *, touch: bool = True) -> ApiKey | None:
    """The active key ``token`` belongs to, else None (malformed, unknown, wrong secret or revoked).

    The secret is compared in constant time, and an unknown prefix costs the same comparison.
    With ``touch``, records the use (at most once per :data:`TOUCH_INTERVAL`).
    """
    parts = token.split("_", 2) if len(token) <= _MAX_TOKEN else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _, prefix, secret = parts
    row = repository.get_api_key(session, prefix)
    matches = hmac.compare_digest(_hash(secret), row.secret_hash if row is not None else _DUMMY_HASH)
    if row is None or not matches or row.revoked_at is not None:
        return None
    now = utcnow()
    if touch and (row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL):
        row.last_used_at = now
        session.flush()
    return ApiKey.from_row(row)


def revoke_key(session: Session, prefix: str, *, actor: str = "operator") -> ApiKey | None:
    """Revoke the key with ``prefix`` (None if there is none); audited as ``key.revoked``. Idempotent."""
    row = repository.get_api_key(session, prefix)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        repository.append_audit(
            session, "key.revoked", actor=actor, subject_type="api_key", subject_id=prefix, payload={"name": row.name}
        )
    return ApiKey.from_row(row)


#: The name ``moderation serve --demo-key`` gives its key; each start revokes the previous one.
DEMO_KEY_NAME = "demo (moderation serve)"


def replace_demo_key(session: Session, scopes: Iterable[str], *, actor: str = "operator (serve)") -> NewKey:
    """A fresh demo key, every earlier one revoked: trying the desk out never leaves a trail of live
    all-scope keys behind."""
    for key in list_keys(session, include_revoked=False):
        if key.name == DEMO_KEY_NAME:
            revoke_key(session, key.prefix, actor=actor)
    return create_key(session, DEMO_KEY_NAME, scopes, actor=actor)


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key, oldest first."""
    return [ApiKey.from_row(row) for row in repository.list_api_keys(session, include_revoked=include_revoked)]
