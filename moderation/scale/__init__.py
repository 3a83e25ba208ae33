"""Corpus-scale scoring: folders of comments in, one Parquet file of scores per input file out.

Two runners run the same steps. ``local`` scores in this process, chunk by chunk; ``ray`` spreads
the chunks over a pool of Ray actors (Ray Data ``map_batches``), each loading the model once, on
this machine or a cluster (docs/scale.md). Either way the driver validates every pending input
first (a bad row is an :class:`InputError` naming file and line before anything is written),
then writes each output under a temporary name and renames it into place when complete, with
the input's digest and the model's name in its Parquet metadata, so a rerun skips finished
files and redoes the rest. :func:`analyze_corpus` does the same for thread sources, storing
each thread with the policy's decisions.

This module holds the entry points; their steps live in ``inputs`` (find, plan, validate, read),
``runners`` (local and Ray), ``outputs`` (schema, metadata, writing) and ``analyze`` (storing threads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from moderation.errors import InputError
from moderation.models.scorer import Scorer
from moderation.scale.analyze import _comment_rows, _store_threads, _stored_unchanged
from moderation.scale.inputs import INPUT_SUFFIXES as INPUT_SUFFIXES
from moderation.scale.inputs import _index, _plan, find_inputs
from moderation.scale.outputs import METADATA_KEY as METADATA_KEY
from moderation.scale.outputs import Progress, _write_outputs, output_schema
from moderation.scale.runners import MAX_DEFAULT_ACTORS as MAX_DEFAULT_ACTORS
from moderation.scale.runners import RUNNERS, CorpusOptions, ScorerSpec, _open_runner

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from moderation.pipeline import Analysis
    from moderation.policy import Policy

__all__ = [
    "RUNNERS",
    "CorpusAnalysis",
    "CorpusOptions",
    "CorpusResult",
    "ScorerSpec",
    "analyze_corpus",
    "find_inputs",
    "output_schema",
    "score_corpus",
]


@dataclass(frozen=True)
class CorpusResult:
    """Outputs written by this run and outputs left as they were (complete, same input and model)."""

    written: list[Path]
    skipped: list[Path]
    rows: int


@dataclass(frozen=True)
class CorpusAnalysis:
    """Threads stored by this run (in source order) and the keys of those already stored unchanged."""

    stored: list[Analysis]
    skipped: list[str] = field(default_factory=list)


def score_corpus(
    source: Path,
    out_dir: Path,
    model: ScorerSpec | Scorer,
    *,
    runner: str = "local",
    options: CorpusOptions | None = None,
    progress: Progress | None = None,
) -> CorpusResult:
    """Score every row of ``source`` (a file or folder) into ``out_dir/<input stem>.parquet``.

    ``model`` is a loaded :class:`Scorer` (local runner only) or a :class:`ScorerSpec`.
    """
    options = options or CorpusOptions()
    inputs = find_inputs(source)
    outputs = [out_dir / f"{path.stem}.parquet" for path in inputs]
    if len(set(outputs)) < len(outputs):
        raise InputError(f"two inputs in {source} share a name; each needs its own <name>.parquet")
    if source.is_dir() and out_dir.resolve() == source.resolve():
        raise InputError("--out must not be the input folder: the outputs would be read as inputs next time")
    out_dir.mkdir(parents=True, exist_ok=True)
    with _open_runner(runner, model, options) as running:
        pending, skipped = _plan(inputs, outputs, options.force, running.model_name)
        chunks = [c for i, item in enumerate(pending) for c in _index(i, item.source, options.chunk_rows)]
        scored = running.score_chunks(chunks)
        rows = _write_outputs(pending, scored, sum(c.rows for c in chunks), options.keep_text, progress)
    return CorpusResult([item.output for item in pending], skipped, rows)


def analyze_corpus(
    source: Path,
    model: ScorerSpec | Scorer,
    database: Engine,
    *,
    runner: str = "ray",
    format: str | None = None,
    policy: Policy | None = None,
    options: CorpusOptions | None = None,
) -> CorpusAnalysis:
    """Extract every thread of ``source`` (a file or a folder of files in any extraction format) here,
    score their comments on ``runner``, then store each thread with the policy's decisions in its own
    transaction. A thread stored unchanged earlier, with this model's scores and this policy's
    decisions, is skipped."""
    from moderation.extraction import Source, extract_all
    from moderation.policy import Policy
    from moderation.storage import transaction

    options = options or CorpusOptions()
    policy = policy or Policy.default()
    paths = [source]
    if source.is_dir():
        paths = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    threads = [thread for path in paths for thread in extract_all(Source.from_path(path), format)]
    with _open_runner(runner, model, options) as running:
        with transaction(database) as session:
            skipped = [t.key() for t in threads if _stored_unchanged(session, t, running.model_name, policy)]
        pending = [t for t in threads if t.key() not in skipped]
        scored = running.score_tables(_comment_rows(pending, options.chunk_rows))
        stored = _store_threads(pending, scored, database, policy, running.model_name)
    return CorpusAnalysis(stored, skipped)
