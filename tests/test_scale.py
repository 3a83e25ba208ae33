"""Corpus-scale scoring (moderation.scale): the Ray runner against the in-process scorer, resume, crash
safety and the ``score``/``analyze`` commands, on a local Ray with 2 CPUs and ~30 comments."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from moderation.cli import app
from moderation.errors import InputError
from moderation.models.scorer import Scorer
from moderation.scale import CorpusOptions, ScorerSpec, output_schema, score_corpus
from moderation.scores import ATTRIBUTES, TASK_LABELS, CommentScores
from moderation.storage import make_engine, transaction
from moderation.storage.tables import CommentRow, DecisionRow, ThreadRow
from tests.conftest import EXAMPLE

runner = CliRunner()
# Ray Data's DataContext sets deprecated fields of its own when first built (Ray 2.60).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

COMMENTS = [
    "Thank you for a balanced and well researched article.",
    "This is the dumbest thing I have read all week.",
    "The council should publish the full budget before the vote.",
    "You are a pathetic idiot and everyone here knows it.",
    "I lived there for ten years and the report matches what I saw.",
    "Who paid for this propaganda?",
    "Great news for the families who waited so long.",
    "Shut up, nobody asked for your opinion.",
    "The numbers in the third paragraph do not add up.",
    "I disagree, but I respect the way you argued it.",
    "What a disgrace. They should all resign.",
    "Lovely photos, thanks for sharing.",
    "Typical politicians, promise everything and deliver nothing.",
    "Is there a source for the claim about the tax rise?",
    "I hope the talks go well for both countries.",
    "People like you are the reason this town is dying.",
    "Finally someone says it out loud.",
    "The minister's answer avoided the question entirely.",
    "Go back to where you came from.",
    "My grandfather fought there; this history matters.",
    "Absolutely brilliant reporting, keep it up.",
    "This comment section is a dumpster fire.",
    "Prices went up again and wages did not.",
    "I will be voting against this plan.",
    "Kill the bill, not the messenger.",
    "Sensible proposal, long overdue.",
    "The islands were never theirs to give.",
    "Can we talk about the schools instead?",
    "What a load of rubbish.",
    "Well said.",
]
TARGETS = ["the new tax", None, "the peace talks"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray with 2 CPUs for the module; the runner joins it instead of starting its own."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _write_corpus(folder: Path) -> list[dict[str, Any]]:
    """Two JSONL files (one with ids and a blank line) and one Parquet file of two row groups; the rows in
    the order outputs must keep, with the id each should get."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"text": text, "target": TARGETS[i % 3]} for i, text in enumerate(COMMENTS)]
    lines = [json.dumps({"id": f"c{i}", **row}) for i, row in enumerate(rows[:10])]
    (folder / "a.jsonl").write_text("\n".join([*lines[:4], "", *lines[4:]]) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[10:22]), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(rows[22:]), folder / "c.parquet", row_group_size=5)
    ids = [f"c{i}" for i in range(10)] + [f"b:{n}" for n in range(1, 13)] + [f"c:{n}" for n in range(1, 9)]
    return [{"id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)]


def _read_outputs(folder: Path, names: Sequence[str] = ("a", "b", "c")) -> pa.Table:
    return pa.concat_tables([pq.read_table(folder / f"{name}.parquet") for name in names])


PROBABILITIES = [f.name for f in output_schema() if pa.types.is_floating(f.type)]


def _probabilities(table: pa.Table) -> np.ndarray:
    """Every probability column, a missing stance as NaN."""
    return np.array([[np.nan if v is None else v for v in table.column(c).to_pylist()] for c in PROBABILITIES])


def _expected(scores: Sequence[CommentScores], rows: Sequence[dict[str, Any]]) -> pa.Table:
    """What the outputs must hold: ``Scorer.predict``'s answer laid out in the output's columns."""
    values: dict[str, list[Any]] = {"id": [r["id"] for r in rows], "target": [r["target"] for r in rows]}
    for task in ("sentiment", "stance"):
        heads = [getattr(s, task) for s in scores]
        values[task] = [h.label if h else None for h in heads]
        for label in TASK_LABELS[task]:
            values[f"{task}_{label}"] = [h.probabilities[label] if h else None for h in heads]
    for name in ATTRIBUTES:
        values[name] = [s.attributes[name] for s in scores]
    return pa.table(values)


def test_ray_runner_gives_predicts_scores_with_ids_order_and_schema(
    local_ray: None, tmp_path: Path, bundled_scorer: Scorer
) -> None:
    rows = _write_corpus(tmp_path / "in")
    options = CorpusOptions(chunk_rows=4, actors=2)  # many small batches over two actors: order must hold
    result = score_corpus(tmp_path / "in", tmp_path / "out", ScorerSpec(), runner="ray", options=options)
    assert result.rows == 30 and [p.name for p in result.written] == ["a.parquet", "b.parquet", "c.parquet"]
    table = _read_outputs(tmp_path / "out")
    assert table.schema.remove_metadata() == output_schema()
    expected = _expected(bundled_scorer.predict([r["text"] for r in rows], [r["target"] for r in rows]), rows)
    for name in ("id", "target", "sentiment", "stance"):
        assert table.column(name).to_pylist() == expected.column(name).to_pylist(), name
    np.testing.assert_allclose(_probabilities(table), _probabilities(expected), atol=1e-5, equal_nan=True)
    assert set(table.column("model").to_pylist()) == {bundled_scorer.name}
    assert table.column("stance").to_pylist()[1] is None  # no target, no stance


def test_rerun_skips_complete_outputs_and_redoes_missing_changed_or_other_model_ones(
    tmp_path: Path, bundled_scorer: Scorer
) -> None:
    _write_corpus(tmp_path / "in")
    out = tmp_path / "out"

    def run(scorer: Scorer = bundled_scorer, force: bool = False) -> list[str]:
        result = score_corpus(tmp_path / "in", out, scorer, options=CorpusOptions(force=force))
        return [p.name for p in result.written]

    assert run() == ["a.parquet", "b.parquet", "c.parquet"]
    first = _read_outputs(out)
    assert run() == []
    (out / "b.parquet").unlink()
    os.utime(tmp_path / "in" / "c.parquet", (0, 0))  # touched, same bytes: still complete
    assert run() == ["b.parquet"]
    assert _read_outputs(out).equals(first)
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "A new comment."}\n', encoding="utf-8")
    assert run() == ["a.parquet"]
    other = Scorer(bundled_scorer.backends)
    other.name = "another model [0123456789ab]"
    assert run(other) == ["a.parquet", "b.parquet", "c.parquet"]
    assert run(force=True) == ["a.parquet", "b.parquet", "c.parquet"]


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("b.jsonl", '{"text": "fine"}\n\n{"body": "no text"}\n', "b.jsonl:3"),
        ("b.jsonl", '{"text": "fine"}\n{"text": "cut off', "b.jsonl:2"),
        ("b.jsonl", '{"text": "fine", "target": 7}\n', "b.jsonl:1"),
        ("b.parquet", pa.table({"text": ["fine", None, "also fine"]}), "b.parquet:2"),
    ],
)
def test_a_bad_row_is_named_by_file_and_line_before_any_output_is_written(
    tmp_path: Path, bundled_scorer: Scorer, name: str, content: str | pa.Table, where: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"text": "A good comment."}\n', encoding="utf-8")
    if isinstance(content, str):
        (folder / name).write_text(content, encoding="utf-8")
    else:
        pq.write_table(content, folder / name)
    with pytest.raises(InputError, match=where):
        score_corpus(folder, tmp_path / "out", bundled_scorer)
    assert list((tmp_path / "out").iterdir()) == []


class _FailsOnCall(Scorer):
    """The bundled model, failing on its n-th ``predict`` (a worker dying mid-file)."""

    def __init__(self, scorer: Scorer, fail_on: int) -> None:
        super().__init__(scorer.backends)
        self.calls, self.fail_on = 0, fail_on

    def predict(self, *args: Any, **kwargs: Any) -> list[CommentScores]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("worker died")
        return super().predict(*args, **kwargs)


def test_a_crash_mid_file_leaves_no_output_for_it_and_the_rerun_completes_it(
    tmp_path: Path, bundled_scorer: Scorer
) -> None:
    _write_corpus(tmp_path / "in")
    out = tmp_path / "out"
    options = CorpusOptions(chunk_rows=4)  # a.jsonl: 3 chunks; b.jsonl: 3 chunks, the 2nd fails
    english = Scorer(bundled_scorer.backends)  # the same model (and name) as the failing one wraps
    with pytest.raises(RuntimeError, match="worker died"):
        score_corpus(tmp_path / "in", out, _FailsOnCall(english, fail_on=5), options=options)
    assert sorted(p.name for p in out.iterdir()) == ["a.parquet"]
    assert pq.read_table(out / "a.parquet").num_rows == 10
    result = score_corpus(tmp_path / "in", out, english, options=options)
    assert [p.name for p in result.written] == ["b.parquet", "c.parquet"] and result.rows == 20


def test_score_command_writes_parquet_with_the_ray_runner_and_skips_it_on_rerun(
    local_ray: None, tmp_path: Path
) -> None:
    _write_corpus(tmp_path / "in")
    args = ["score", str(tmp_path / "in"), "--runner", "ray", "--out", str(tmp_path / "out"), "--actors", "1"]
    result = runner.invoke(app, [*args, "--keep-text"])
    assert result.exit_code == 0, result.output
    assert "30 comment(s) into 3 file(s)" in " ".join(result.stderr.split())
    table = _read_outputs(tmp_path / "out")
    assert table.column("text").to_pylist() == COMMENTS
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    said = " ".join(again.stderr.split())  # rich wraps long lines
    assert "0 comment(s) into 0 file(s)" in said and "3 complete file(s) skipped" in said


def test_score_command_needs_out_for_a_folder(tmp_path: Path) -> None:
    _write_corpus(tmp_path / "in")
    result = runner.invoke(app, ["score", str(tmp_path / "in")])
    assert result.exit_code == 2 and "--out" in result.stderr


def test_the_old_engine_option_still_names_the_runner_with_a_warning(tmp_path: Path) -> None:
    """``--runner`` was ``--engine`` before "engine" came to name the store's SQLAlchemy engine only."""
    _write_corpus(tmp_path / "in")
    result = runner.invoke(app, ["score", str(tmp_path / "in"), "--engine", "local"])
    assert result.exit_code == 2
    warning, error = result.stderr.splitlines()
    assert warning == "warning: --engine is deprecated: here it names the runner (local or ray); use --runner local"
    assert error.startswith("error: ") and "--out" in error
    both = runner.invoke(app, ["analyze", str(tmp_path / "in"), "--runner", "local", "--engine", "local"])
    assert both.exit_code == 2
    assert both.stderr.strip() == "error: --engine is the old spelling of --runner: give --runner only"


def test_analyze_command_with_ray_stores_every_thread_with_decisions_and_skips_them_on_rerun(
    local_ray: None, tmp_path: Path
) -> None:
    sources = tmp_path / "threads"
    sources.mkdir()
    shutil.copy(EXAMPLE, sources / "lavrov.txt")
    (sources / "comments.csv").write_text(
        "thread,article_title,id,parent,author,text\n"
        "a,Council approves the budget,1,,ann,I agree with this.\n"
        "a,Council approves the budget,2,1,bob,You are an idiot.\n"
        "a,Council approves the budget,3,,cy,Nice work by the reporters.\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = runner.invoke(app, ["analyze", str(sources), "--runner", "ray", "--actors", "1", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "2 thread(s) stored, 0 unchanged skipped" in result.stdout
    engine = make_engine(url)
    with transaction(engine) as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (ThreadRow, CommentRow, DecisionRow)]
    assert counts == [2, 4, 4]
    rerun = runner.invoke(app, ["analyze", str(sources), "--runner", "local", "--database-url", url])
    assert rerun.exit_code == 0, rerun.output
    assert "0 thread(s) stored, 2 unchanged skipped" in rerun.stdout
    engine.dispose()


def test_a_corpus_run_loads_its_model_out_of_the_cyclic_collectors_reach() -> None:
    """Full collections stop walking the model's objects: 20 % more comments/s end to end on a GPU."""
    import gc

    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        ScorerSpec(mode="fp32").load()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
