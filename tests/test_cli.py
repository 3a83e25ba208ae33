"""The ``moderation`` command end to end on the bundled example, and its answers to bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from moderation.cli import app, pipeline
from moderation.storage import make_engine, transaction
from moderation.storage.tables import CommentRow, ScoreRow, ThreadRow
from tests.conftest import EXAMPLE
from tests.test_data import write_benchmark_files

runner = CliRunner()


def test_extract_prints_the_thread_as_json() -> None:
    result = runner.invoke(app, ["extract", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    thread = json.loads(result.stdout)
    assert thread["article"]["title"].startswith("Territorial disputes")
    [comment] = thread["comments"]
    assert set(comment) >= {"id", "parent", "author", "published", "text", "votes"}
    assert comment["votes"] == {"up": 0, "down": 0, "score": 0}


def test_extract_reads_standard_input() -> None:
    result = runner.invoke(app, ["extract", "-"], input=EXAMPLE.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["announced_comments"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["extract", "no-such-file.txt"], "cannot read"),
        (["extract", str(EXAMPLE), "--from", "pdf"], "unknown format"),
        (["score", "no-such-file.jsonl"], "cannot read"),
    ],
)
def test_user_mistakes_exit_2_with_one_error_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = runner.invoke(app, ["extract", str(binary)])
    assert result.exit_code == 2 and "error:" in result.stderr


def test_score_rejects_lines_without_text(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "fine"}\n{"body": "no text field"}\n', encoding="utf-8")
    result = runner.invoke(app, ["score", str(path)])
    assert result.exit_code == 2
    assert "in.jsonl:2" in result.stderr


def test_score_prints_every_line_back_with_its_scores(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        {"id": 1, "text": "What a wonderful, thoughtful article. Thank you!"},
        {"id": 2, "text": "You are a pathetic idiot.", "target": "gun control"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["score", str(path)])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["id"] == 1 and second["id"] == 2
    assert first["stance"] is None and second["stance"]["label"] in {"against", "neutral", "favor"}
    for row in (first, second):
        for head in ("sentiment", "toxicity"):
            assert sum(row[head]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert first["sentiment"]["label"] == "positive"
    assert second["attributes"]["TOXICITY"] > first["attributes"]["TOXICITY"]
    assert first["spans"] == []
    with_spans = runner.invoke(app, ["score", str(path), "--spans"])
    spans = json.loads(with_spans.stdout.splitlines()[0])["spans"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 37), (38, 48)]


def test_analyze_scores_and_stores_the_example_idempotently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "out", Console(width=300))  # a wide terminal: no wrapped cells
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for _ in range(2):
        result = runner.invoke(app, ["analyze", str(EXAMPLE), "--database-url", url])
        assert result.exit_code == 0, result.output
    assert "Territorial disputes" in result.stdout
    assert "The Soviet Union was willing" in result.stdout
    assert "stored as thread 1" in result.stdout
    header = next(line for line in result.stdout.splitlines() if "comment" in line and "toxic" in line)
    assert "lang" in header
    assert re.search(r"│ en +│", result.stdout)  # the comment's detected language, in its own column
    with transaction(make_engine(url)) as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (ThreadRow, CommentRow, ScoreRow)]
        assert session.scalar(select(CommentRow.language)) == "en"
    assert counts == [1, 1, 1]


def test_analyze_stores_every_thread_of_a_multi_thread_export(tmp_path: Path) -> None:
    export = tmp_path / "comments.csv"
    export.write_text(
        "thread,article_title,id,parent,author,text\n"
        "a,First story,1,,ann,I agree with this.\n"
        "a,First story,2,1,bob,I do not.\n"
        "b,Second story,3,,cy,Nice work.\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'multi.db'}"
    result = runner.invoke(app, ["analyze", str(export), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "stored as threads 1, 2" in result.stdout
    with transaction(make_engine(url)) as session:
        assert session.scalar(select(func.count()).select_from(CommentRow)) == 3


def test_score_takes_each_task_from_the_models_config(
    tmp_path: Path, tiny_sentiment_dir: Path, tiny_nli_dir: Path, tiny_toxicity_dir: Path
) -> None:
    config = tmp_path / "moderation.toml"
    config.write_text(
        f'[models.sentiment]\nkind = "sequence-classification"\ncheckpoint = "{tiny_sentiment_dir}"\n\n'
        f'[models.stance]\nkind = "zero-shot-nli"\ncheckpoint = "{tiny_nli_dir}"\n\n'
        f'[models.toxicity]\nkind = "sequence-classification"\ncheckpoint = "{tiny_toxicity_dir}"\n',
        encoding="utf-8",
    )
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "good movie", "target": "war"}\n', encoding="utf-8")
    result = runner.invoke(app, ["score", str(path)], env={"MODERATION_MODELS_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    for head in ("sentiment", "stance", "toxicity"):
        assert sum(row[head]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    refused = runner.invoke(app, ["score", str(path), "--models-config", str(config), "--heads", str(tmp_path)])
    assert refused.exit_code == 2 and "--models-config" in refused.stderr


def test_evaluate_prints_every_benchmark_next_to_the_baselines(tiny_data_dir: Path, tmp_path: Path) -> None:
    data = write_benchmark_files(Path(shutil.copytree(tiny_data_dir, tmp_path / "data")))
    out_file = tmp_path / "quality.md"
    result = runner.invoke(app, ["evaluate", "--data-dir", str(data), "--limit", "6", "--out", str(out_file)])
    assert result.exit_code == 0, result.output
    for benchmark in ("TweetEval sentiment", "VAST", "SemEval-2016", "RumourEval", "toxic spans"):
        assert benchmark in result.stdout
    assert "majority class" in result.stdout
    assert out_file.read_text(encoding="utf-8") == result.stdout
    missing = runner.invoke(app, ["evaluate", "--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not found" in missing.stderr
