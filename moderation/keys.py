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
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from moderation.errors import InputError
from moderation.storage import repository, transaction
from moderation.storage.limits import check_text, column_length
from moderation.storage.tables import ApiKeyRow, utcnow

__all__ = ["SCOPES", "ApiKey", "KeyUses", "NewKey", "create_key", "list_keys", "revoke_key", "verify_key"]

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


def _valid_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(scopes))
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise InputError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(wanted) or 'none'}")
    return wanted


def create_key(session: Session, name: str, scopes: Iterable[str], *, actor: str = "operator") -> NewKey:
    """A new key named ``name`` with ``scopes`` (a subset of :data:`SCOPES`); audited as ``key.created``."""
    wanted = _valid_scopes(scopes)
    if not name.strip():
        raise InputError("a key needs a name")
    check_text(name.strip(), "name", max_length=column_length(ApiKeyRow.name))
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
    With ``touch``, records the use (at most once per :data:`TOUCH_INTERVAL`), a write in the caller's
    transaction; a server checks with ``touch=False`` and notes uses in :class:`KeyUses` instead.
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


class KeyUses:
    """Keys' last uses, noted in memory as requests check them and written now and then in one short
    transaction of their own (:meth:`write`): checking a key never writes, so no request waits for a write
    lock (SQLite's, held by a large import) just to record that its key was used. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._noted: dict[str, datetime] = {}

    def note(self, prefix: str) -> None:
        """Record that the key with ``prefix`` was used now."""
        with self._lock:
            self._noted[prefix] = utcnow()

    def write(self, engine: Engine) -> int:
        """Write every noted use as its key's ``last_used_at`` (never moving one back); returns how many
        keys. If the write fails, the uses stay noted for the next one, and the error is raised."""
        with self._lock:
            noted, self._noted = self._noted, {}
        if not noted:
            return 0
        try:
            with transaction(engine) as session:
                repository.touch_api_keys(session, noted)
        except BaseException:
            with self._lock:
                for prefix, at in noted.items():
                    self._noted[prefix] = max(at, self._noted.get(prefix, at))
            raise
        return len(noted)


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


#: The name ``moderation serve --demo-key`` gives its key: one key, with a new secret at each start.
DEMO_KEY_NAME = "demo (moderation serve)"


def renew_demo_key(session: Session, scopes: Iterable[str], *, actor: str = "operator (serve)") -> NewKey:
    """The demo key with a new secret and ``scopes``; audited as ``key.renewed`` (``key.created`` the first
    time). The previous token stops working, and however often the desk is started there is one demo key:
    trying the desk out leaves neither live all-scope keys nor a pile of revoked ones behind. Demo keys of
    earlier builds, which made one per start, are revoked."""
    demo = [row for row in repository.list_api_keys(session) if row.name == DEMO_KEY_NAME]
    if not demo:
        return create_key(session, DEMO_KEY_NAME, scopes, actor=actor)
    *older, current = demo
    wanted = _valid_scopes(scopes)
    for row in older:
        revoke_key(session, row.prefix, actor=actor)
    secret = secrets.token_urlsafe(32)
    current.secret_hash, current.scopes, current.revoked_at = _hash(secret), list(wanted), None
    session.flush()
    repository.append_audit(
        session,
        "key.renewed",
        actor=actor,
        subject_type="api_key",
        subject_id=current.prefix,
        payload={"name": current.name, "scopes": list(wanted)},
    )
    return NewKey(ApiKey.from_row(current), f"{TOKEN_PREFIX}_{current.prefix}_{secret}")


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key, oldest first."""
    return [ApiKey.from_row(row) for row in repository.list_api_keys(session, include_revoked=include_revoked)]
