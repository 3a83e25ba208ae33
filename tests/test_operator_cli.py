"""Operator commands: keys shown once and stored hashed, the policy shown and re-applied without re-scoring."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from moderation import keys
from moderation.cli import app
from moderation.storage import make_engine, transaction
from moderation.storage.tables import ApiKeyRow, DecisionRow, ScoreRow
from tests.conftest import EXAMPLE

runner = CliRunner()


def test_a_created_key_is_printed_once_verifies_and_can_be_revoked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    created = runner.invoke(app, ["keys", "create", "coral", "--scope", "write", "--database-url", url])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    engine = make_engine(url)
    with transaction(engine) as session:
        key = keys.verify_key(session, token)
        assert key is not None and list(key.scopes) == ["write"]
        assert token not in str(session.scalars(select(ApiKeyRow.secret_hash)).all())
    listed = runner.invoke(app, ["keys", "list", "--database-url", url])
    assert key.prefix in listed.stdout and token not in listed.stdout
    assert runner.invoke(app, ["keys", "revoke", key.prefix, "--database-url", url]).exit_code == 0
    with transaction(engine) as session:
        assert keys.verify_key(session, token) is None
    assert runner.invoke(app, ["keys", "revoke", "nope", "--database-url", url]).exit_code == 2


def test_policy_show_prints_toml_that_loads_back(tmp_path: Path) -> None:
    from moderation.policy import Policy

    result = runner.invoke(app, ["policy", "show"])
    assert result.exit_code == 0
    (tmp_path / "p.toml").write_text(result.stdout, encoding="utf-8")
    assert Policy.load(tmp_path / "p.toml") == Policy.default()


def test_policy_apply_re_decides_from_stored_scores_without_re_scoring(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(app, ["analyze", str(EXAMPLE), "--database-url", url]).exit_code == 0
    engine = make_engine(url)
    with transaction(engine) as session:
        scored_at = session.scalars(select(ScoreRow.scored_at)).all()
        assert session.scalars(select(DecisionRow.decision)).all()
    strict = tmp_path / "strict.toml"
    strict.write_text('banned_words = ["Moscow"]\n', encoding="utf-8")
    result = runner.invoke(app, ["policy", "apply", "--policy", str(strict), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "re-decided 1 comments" in result.stdout
    with transaction(engine) as session:
        assert session.scalars(select(DecisionRow.decision)).all() == ["reject"]
        assert session.scalars(select(ScoreRow.scored_at)).all() == scored_at
    bad = tmp_path / "bad.toml"
    bad.write_text("thresholds = 3\n", encoding="utf-8")
    assert runner.invoke(app, ["policy", "apply", "--policy", str(bad), "--database-url", url]).exit_code == 2


def test_a_key_created_without_scope_may_only_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    created = runner.invoke(app, ["keys", "create", "dashboard", "--database-url", url])
    assert created.exit_code == 0, created.output
    with transaction(make_engine(url)) as session:
        key = keys.verify_key(session, created.stdout.strip().splitlines()[-1])
        assert key is not None and list(key.scopes) == ["read"]


def test_each_demo_key_revokes_the_one_before(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    with transaction(engine) as session:
        first = keys.replace_demo_key(session, ["read", "write", "moderate"]).token
        second = keys.replace_demo_key(session, ["read", "write", "moderate"]).token
        assert keys.verify_key(session, first) is None
        assert keys.verify_key(session, second) is not None
        live = [key for key in keys.list_keys(session, include_revoked=False) if key.name == keys.DEMO_KEY_NAME]
        assert len(live) == 1


def test_serve_refuses_a_taken_port_before_loading_anything(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite:///{tmp_path / 'serve.db'}"
        result = runner.invoke(app, ["serve", "--demo-key", "--port", str(port), "--database-url", url])
    assert result.exit_code == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.output
    assert "API key" not in result.output
