"""Operator commands: keys shown once and stored hashed, the policy shown and re-applied without re-scoring."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from moderation import keys
from moderation.cli import app
from moderation.storage import make_engine, transaction
from moderation.storage.tables import ApiKeyRow, DecisionRow, ScoreRow
from tests.conftest import EXAMPLE, ONE_THREAD, REPO, _free_port

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
    other = runner.invoke(app, ["policy", "apply", "--thread", "2", "--database-url", url])
    assert other.exit_code == 0, other.output
    assert "nothing to change" in other.stdout
    old = runner.invoke(app, ["policy", "apply", "--article", "1", "--database-url", url])
    assert old.exit_code == 0, old.output
    assert "use --thread 1" in old.stderr and "re-decided 1 comments" in old.stdout
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
        first = keys.renew_demo_key(session, ["read", "write", "moderate"]).token
        second = keys.renew_demo_key(session, ["read", "write", "moderate"]).token
        assert keys.verify_key(session, first) is None
        assert keys.verify_key(session, second) is not None
        live = [key for key in keys.list_keys(session, include_revoked=False) if key.name == keys.DEMO_KEY_NAME]
        assert len(live) == 1


def test_the_demo_key_is_one_key_however_often_the_desk_starts(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    with transaction(engine) as session:
        made = [keys.renew_demo_key(session, ["read", "write", "moderate"]) for _ in range(3)]
        demo = [key for key in keys.list_keys(session) if key.name == keys.DEMO_KEY_NAME]
        assert [key.prefix for key in demo] == [made[0].key.prefix]
        assert demo[0].active and demo[0].scopes == ("read", "write", "moderate")
        assert keys.verify_key(session, made[-1].token) is not None


def test_demo_keys_of_earlier_builds_are_revoked_when_the_demo_key_is_renewed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    with transaction(engine) as session:
        earlier = [keys.create_key(session, keys.DEMO_KEY_NAME, ["read"]).token for _ in range(2)]
        renewed = keys.renew_demo_key(session, ["read", "write", "moderate"]).token
        assert [keys.verify_key(session, token) is None for token in earlier] == [True, True]
        live = [key for key in keys.list_keys(session, include_revoked=False) if key.name == keys.DEMO_KEY_NAME]
        assert len(live) == 1 and keys.verify_key(session, renewed) is not None


def test_serve_refuses_a_taken_port_in_one_line_before_loading_anything(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite:///{tmp_path / 'serve.db'}"
        result = runner.invoke(app, ["serve", "--demo-key", "--port", str(port), "--database-url", url])
    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith(f"error: cannot serve on 127.0.0.1:{port}: address already in use")
    assert "--port N, make run PORT=N" in line
    assert not (tmp_path / "serve.db").exists()  # no database opened, so no key minted


def _serve(port: int, database: Path, models_config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``moderation serve --demo-key`` as an operator runs it, with the tiny models."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MODERATION_")}
    env.update(ONE_THREAD, MODERATION_MODELS_CONFIG=str(models_config), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    command = [sys.executable, "-c", "from moderation.cli import main; main()", "serve", "--demo-key"]
    command += ["--port", str(port), "--database-url", f"sqlite:///{database}"]
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)


def _demo_token(log: Path, process: subprocess.Popen[bytes]) -> str:
    """The demo key serve printed, once it answers on its port (bounded: 300 s)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        printed = re.search(r"API key \(every scope\): (\S+)", log.read_text(encoding="utf-8", errors="replace"))
        if printed and "Application startup complete" in log.read_text(encoding="utf-8", errors="replace"):
            return printed.group(1)
        time.sleep(0.2)
    pytest.fail(f"serve did not start:\n{log.read_text(encoding='utf-8', errors='replace')[-3000:]}")


def test_a_second_serve_on_a_taken_port_fails_in_one_line_and_mints_nothing(
    tmp_path: Path, tiny_models_config: Path
) -> None:
    port, database = _free_port(), tmp_path / "desk.db"
    first = _serve(port, database, tiny_models_config, tmp_path / "first.log")
    try:
        token = _demo_token(tmp_path / "first.log", first)
        answer = httpx.get(f"http://127.0.0.1:{port}/v1/threads", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        second = _serve(port, database, tiny_models_config, tmp_path / "second.log")
        assert second.wait(timeout=120) == 2
        [line] = (tmp_path / "second.log").read_text(encoding="utf-8").splitlines()
        assert line.startswith(f"error: cannot serve on 127.0.0.1:{port}: address already in use"), line
        with transaction(make_engine(f"sqlite:///{database}")) as session:
            assert keys.verify_key(session, token, touch=False) is not None
            assert len(keys.list_keys(session)) == 1
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_make_run_passes_port_and_host_to_serve() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    stamp = ".venv/.installed-stamp"  # taken as up to date: this prints the command without installing anything
    shown = subprocess.run(
        ["make", "-s", "-n", "-o", stamp, "run", "PORT=8123", "HOST=127.0.0.9"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "moderation serve" in shown and "--host 127.0.0.9 --port 8123" in shown
