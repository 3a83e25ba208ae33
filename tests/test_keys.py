"""API keys, on SQLite and PostgreSQL: shown once, stored hashed, verified in constant time, revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import OperationalError

from moderation import InputError, keys
from moderation.storage import repository, transaction
from moderation.storage.tables import ApiKeyRow


def _create(engine: Engine, name: str = "newsroom", scopes: tuple[str, ...] = ("read", "write")) -> keys.NewKey:
    with transaction(engine) as session:
        return keys.create_key(session, name, scopes)


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(engine: Engine) -> None:
    new = _create(engine)
    match = re.fullmatch(r"md_([0-9a-f]{8})_([A-Za-z0-9_-]{43,})", new.token)
    assert match is not None and match[1] == new.key.prefix
    assert (new.key.name, new.key.scopes, new.key.active, new.key.last_used_at) == (
        "newsroom",
        ("read", "write"),
        True,
        None,
    )
    with transaction(engine) as session:
        [row] = session.scalars(select(ApiKeyRow))
        stored = [str(getattr(row, column.key)) for column in ApiKeyRow.__table__.columns]
    assert row.secret_hash == hashlib.sha256(match[2].encode()).hexdigest()
    assert not any(match[2] in value for value in stored)


def test_a_valid_key_verifies_with_its_scopes_and_records_its_use(engine: Engine) -> None:
    new = _create(engine, scopes=("read", "moderate"))
    with transaction(engine) as session:
        key = keys.verify_key(session, new.token)
    assert key is not None and key.id == new.key.id
    assert key.allows("moderate") and not key.allows("write")
    assert key.last_used_at is not None
    with transaction(engine) as session:
        again = keys.verify_key(session, new.token)
    assert again is not None and again.last_used_at == key.last_used_at  # within the touch interval: no write


def test_a_use_after_the_interval_is_recorded_again(engine: Engine) -> None:
    new = _create(engine)
    with transaction(engine) as session:
        first = keys.verify_key(session, new.token)
        assert first is not None and first.last_used_at is not None
        row = repository.get_api_key(session, new.key.prefix)
        assert row is not None
        row.last_used_at = first.last_used_at - keys.TOUCH_INTERVAL - timedelta(seconds=1)
    with transaction(engine) as session:
        later = keys.verify_key(session, new.token)
        untouched = keys.verify_key(session, new.token, touch=False)
    assert later is not None and later.last_used_at is not None and later.last_used_at >= first.last_used_at
    assert untouched is not None and untouched.last_used_at == later.last_used_at


def test_uses_noted_in_memory_are_written_later_in_a_transaction_of_their_own(engine: Engine, tmp_path: Path) -> None:
    """A server checks keys without writing (a write would wait behind an import for SQLite's write lock)."""
    new = _create(engine)
    uses = keys.KeyUses()
    uses.note(new.key.prefix)
    with transaction(engine) as session:
        assert session.scalar(select(ApiKeyRow.last_used_at)) is None
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no such folder' / 'store.db'}")
    with pytest.raises(OperationalError):
        uses.write(unreachable)  # the uses stay noted for the next write
    assert uses.write(engine) == 1
    with transaction(engine) as session:
        written = session.scalar(select(ApiKeyRow.last_used_at))
    assert written is not None
    assert uses.write(engine) == 0


def test_wrong_unknown_and_malformed_keys_are_refused(engine: Engine) -> None:
    new = _create(engine)
    prefix, secret = new.token.split("_", 2)[1:]
    other = "0" * 8 if prefix != "0" * 8 else "1" * 8
    refused = [
        f"md_{prefix}_{secret[:-1]}x" if secret[-1] != "x" else f"md_{prefix}_{secret[:-1]}y",
        f"md_{other}_{secret}",
        f"xx_{prefix}_{secret}",
        f"md_{prefix}",
        "",
        new.token + "a" * 300,
        new.token.upper(),
    ]
    with transaction(engine) as session:
        assert [keys.verify_key(session, token) for token in refused] == [None] * len(refused)


def test_the_secret_is_compared_in_constant_time_even_for_an_unknown_prefix(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new = _create(engine)
    calls: list[tuple[str, str]] = []
    compare = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    prefix, secret = new.token.split("_", 2)[1:]
    with transaction(engine) as session:
        assert keys.verify_key(session, new.token) is not None
        assert keys.verify_key(session, f"md_ffffffff_{secret}" if prefix != "ffffffff" else "md_0_x") is None
    assert len(calls) == 2 and all(len(a) == len(b) == 64 for a, b in calls)


def test_a_revoked_key_is_refused_and_revoking_is_idempotent_and_audited(engine: Engine) -> None:
    new = _create(engine)
    kept = _create(engine, "other")
    with transaction(engine) as session:
        revoked = keys.revoke_key(session, new.key.prefix, actor="alice")
        assert revoked is not None and revoked.revoked_at is not None and not revoked.allows("read")
    with transaction(engine) as session:
        again = keys.revoke_key(session, new.key.prefix)
        assert again is not None and again.revoked_at == revoked.revoked_at
        assert keys.revoke_key(session, "nope") is None
        assert keys.verify_key(session, new.token) is None
        assert keys.verify_key(session, kept.token) is not None
        assert [k.prefix for k in keys.list_keys(session)] == [new.key.prefix, kept.key.prefix]
        assert [k.prefix for k in keys.list_keys(session, include_revoked=False)] == [kept.key.prefix]
        audit = repository.list_audit(session, subject_type="api_key").items
    assert [(a.action, a.actor, a.subject_id) for a in audit] == [
        ("key.revoked", "alice", new.key.prefix),
        ("key.created", "operator", kept.key.prefix),
        ("key.created", "operator", new.key.prefix),
    ]
    assert audit[-1].payload == {"name": "newsroom", "scopes": ["read", "write"]}


@pytest.mark.parametrize(
    ("name", "scopes", "message"),
    [
        ("n", ("read", "admin"), "scopes must be some of read, write, moderate; got read, admin"),
        ("n", (), "got none"),
        ("  ", ("read",), "a key needs a name"),
    ],
)
def test_bad_scopes_or_names_are_the_callers_error(
    engine: Engine,
    name: str,
    scopes: tuple[str, ...],
    message: str,
) -> None:
    with pytest.raises(InputError, match=re.escape(message)), transaction(engine) as session:
        keys.create_key(session, name, scopes)
