"""One option vocabulary across ``moderation``'s commands: ``--from`` reads, ``--to`` writes, ``--database-url``
names the store; the old spellings still work and say what to type instead; a bad store fails alike everywhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from moderation import keys
from moderation.cli import app
from moderation.models.scorer import Scorer
from moderation.storage import make_engine, transaction
from tests.conftest import EXAMPLE, _free_port
from tests.test_reports import store_tiny

runner = CliRunner()


def _commands(group: TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


COMMANDS = dict(_commands(typer.main.get_group(app)))  # typer vendors click: its own classes


def test_every_option_name_means_one_thing_in_every_command() -> None:
    meanings: dict[str, set[str]] = {}
    for name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, TyperOption) and param.hidden:
                assert set(param.opts) <= {"--format", "-f", "--input-format", "--json", "--engine", "--article"}, name
            elif isinstance(param, TyperOption):
                for opt in param.opts:
                    meanings.setdefault(opt, set()).add(param.name or "")
    assert {"--format", "-f", "--input-format", "--json", "--engine", "--article"}.isdisjoint(meanings)
    assert meanings["--runner"] == {"runner"}
    assert meanings["--thread"] == {"thread"}
    assert meanings["--from"] == {"source_format"} and meanings["--to"] == {"output_format"}
    assert meanings["--database-url"] == {"database_url"}
    stores = [name for name, command in COMMANDS.items() if any(p.name == "database_url" for p in command.params)]
    assert sorted(stores) == [
        "analyze",
        "feedback export",
        "keys create",
        "keys list",
        "keys revoke",
        "policy apply",
        "report",
        "serve",
    ]
    for name in stores:
        [option] = [p for p in COMMANDS[name].params if p.name == "database_url"]
        assert isinstance(option, TyperOption)
        assert option.opts == ["--database-url"] and option.envvar == "DATABASE_URL", name


def test_from_names_the_format_extract_reads() -> None:
    result = runner.invoke(app, ["extract", str(EXAMPLE), "--from", "text"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["article"]["title"].startswith("Territorial disputes")
    assert result.stderr == ""


@pytest.mark.parametrize("spelling", ["--format", "-f"])
def test_the_old_input_format_spelling_still_works_with_a_warning(spelling: str) -> None:
    result = runner.invoke(app, ["extract", str(EXAMPLE), spelling, "text"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["article"]["title"].startswith("Territorial disputes")
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: -f/--format is deprecated") and warning.endswith("use --from text")


def test_extract_format_json_is_read_as_the_input_format_and_says_so() -> None:
    """The old ``--format`` of extract named what it reads, as it always did; the warning says so before the
    parser's error, and that extract prints JSON whatever it reads."""
    result = runner.invoke(app, ["extract", str(EXAMPLE), "--format", "json"])
    assert result.exit_code == 2
    warning, error = result.stderr.splitlines()
    assert "here it names the format extract reads (it always prints JSON); use --from json" in warning
    assert error.startswith("error: ") and "Traceback" not in result.output


def test_old_and_new_spelling_together_are_refused() -> None:
    result = runner.invoke(app, ["extract", str(EXAMPLE), "--from", "text", "--format", "text"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: -f/--format is the old spelling of --from: give --from only"


def test_report_takes_to_and_its_old_format_option_with_a_warning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine, thread_id = store_tiny(url)
    engine.dispose()
    new = runner.invoke(app, ["report", f"thread:{thread_id}", "--to", "json", "--database-url", url])
    old = runner.invoke(app, ["report", f"thread:{thread_id}", "-f", "json", "--database-url", url])
    assert new.exit_code == old.exit_code == 0, old.output
    assert json.loads(new.stdout)["counts"] == json.loads(old.stdout)["counts"]
    assert new.stderr == ""
    assert old.stderr.strip() == (
        "warning: -f/--format is deprecated: here it names the format report writes; use --to json"
    )


@pytest.fixture
def quick_scorer(bundled_scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``report`` of a page loads the bundled model once per session, not once per run."""
    monkeypatch.setattr(Scorer, "load", classmethod(lambda cls, *args, **kwargs: bundled_scorer))


def _undated(markdown: str) -> str:
    return re.sub(r"Generated \S+ ·", "Generated · ", markdown)


@pytest.mark.usefixtures("quick_scorer")
def test_report_reads_a_page_in_the_format_from_names(tmp_path: Path) -> None:
    new = runner.invoke(app, ["report", str(EXAMPLE), "--from", "text", "--to", "md"])
    assert new.exit_code == 0, new.output
    assert new.stdout.startswith("# Territorial disputes")
    old = runner.invoke(app, ["report", str(EXAMPLE), "--input-format", "text", "--to", "md"])
    assert old.exit_code == 0, old.output
    # The same report, but for the second it was generated in (a second may tick between the two runs).
    assert _undated(old.stdout) == _undated(new.stdout)
    assert (
        old.stderr.strip()
        == "warning: --input-format is deprecated: here it names the format of SOURCE; use --from text"
    )
    misread = runner.invoke(app, ["report", str(EXAMPLE), "--from", "json"])
    assert misread.exit_code == 2 and misread.stderr.startswith("error: ")


def test_evaluate_writes_the_format_to_names(tmp_path: Path) -> None:
    refused = runner.invoke(app, ["evaluate", "--to", "yaml", "--data-dir", str(tmp_path)])
    assert refused.exit_code == 2
    assert refused.stderr.strip() == "error: unknown output format 'yaml' for evaluate; one of md, json"
    old = runner.invoke(app, ["evaluate", "--json", "--data-dir", str(tmp_path / "nowhere")])
    assert old.exit_code == 2
    warning, error = old.stderr.splitlines()
    assert warning == "warning: --json is deprecated: here it names the output format; use --to json"
    assert "not found" in error


def _store_commands(tmp_path: Path) -> dict[str, list[str]]:
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "hello"}\n', encoding="utf-8")
    return {
        "analyze": ["analyze", str(EXAMPLE)],
        "report": ["report", "db"],
        "keys create": ["keys", "create", "coral"],
        "keys list": ["keys", "list"],
        "keys revoke": ["keys", "revoke", "abc"],
        "policy apply": ["policy", "apply"],
        "feedback export": ["feedback", "export", str(texts), "--out", str(tmp_path / "out.jsonl")],
        "serve": ["serve", "--port", str(_free_port())],
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "Could not parse SQLAlchemy URL from given URL string"),
        ("nosuchdb://host/desk", "Can't load plugin: sqlalchemy.dialects:nosuchdb"),
        ("sqlite:////no/such/folder/desk.db", "unable to open database file"),
    ],
)
def test_every_command_fails_alike_on_a_bad_database_url(tmp_path: Path, url: str, reason: str) -> None:
    commands = _store_commands(tmp_path)
    assert set(commands) == {name for name, c in COMMANDS.items() if any(p.name == "database_url" for p in c.params)}
    answers: dict[str, Any] = {}
    for name, args in commands.items():
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 2, (name, result.output)
        answers[name] = result.stderr
    assert set(answers.values()) == {f"error: cannot open the database {url}: {reason}\n"}


def test_the_database_url_comes_from_the_environment_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    result = runner.invoke(app, ["keys", "create", "coral"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    with transaction(make_engine(url)) as session:
        assert [key.name for key in keys.list_keys(session)] == ["coral"]


def test_a_database_password_stays_out_of_the_error(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://desk:secret@127.0.0.1:{_free_port()}/desk"
    result = runner.invoke(app, ["keys", "list", "--database-url", url])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: cannot open the database {url.replace('secret', '***')}: ")
    assert "secret" not in line
