"""``extract``, ``score`` and ``analyze``: read a thread, score texts, and both at once into the store."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from moderation.actions import ACTIONS
from moderation.cli.inputs import load_model, read_jsonl, read_source, with_progress
from moderation.cli.options import (
    ActorsOpt,
    BatchOpt,
    DatabaseOpt,
    DeviceOpt,
    EncoderOpt,
    FromOpt,
    HeadsOpt,
    ModelsConfigOpt,
    OldEngineOpt,
    OldFormatOpt,
    RayAddressOpt,
    SourceArg,
    err,
    open_store,
    out,
    renamed,
    user_errors,
)
from moderation.errors import InputError
from moderation.storage import DEFAULT_DATABASE_URL

if TYPE_CHECKING:
    from moderation.pipeline import Analysis
    from moderation.scores import LabelScores
    from moderation.thread import Comment

app = typer.Typer()


def _input_format(source_format: str | None, old_format: str | None, command: str) -> str | None:
    """``--from``, or the old ``-f/--format`` that named the input format of extract and analyze."""
    meaning = f"format {command} reads (it always prints JSON)" if command == "extract" else f"format {command} reads"
    return renamed(source_format, old_format, old_name="-f/--format", new_name="--from", meaning=meaning)


def _runner(runner: str | None, old_engine: str | None) -> str:
    """``--runner``, or the old ``--engine`` that named it; local when neither is given."""
    return (
        renamed(runner, old_engine, old_name="--engine", new_name="--runner", meaning="runner (local or ray)")
        or "local"
    )


@app.command()
def extract(
    source: SourceArg,
    source_format: FromOpt = None,
    all_threads: Annotated[
        bool, typer.Option("--all", help="Print a JSON list of every thread (exports may hold several).")
    ] = False,
    old_format: OldFormatOpt = None,
) -> None:
    """Print the thread in SOURCE (article and comments) as JSON."""
    from moderation.extraction import extract as run_extract
    from moderation.extraction import extract_all

    with user_errors():
        chosen = _input_format(source_format, old_format, "extract")
        if all_threads:
            threads = extract_all(read_source(source), chosen)
            payload = "[" + ",".join(t.model_dump_json() for t in threads) + "]"
        else:
            payload = run_extract(read_source(source), chosen).model_dump_json()
    out.print_json(payload, indent=2)


@app.command()
def score(
    path: Annotated[
        str, typer.Argument(help="JSONL with 'text' and optional 'target' per line, or -; or a folder of them.")
    ],
    encoder: EncoderOpt = None,
    heads: HeadsOpt = None,
    models_config: ModelsConfigOpt = None,
    device: DeviceOpt = "cpu",
    batch_size: BatchOpt = 32,
    spans: Annotated[
        bool, typer.Option("--spans", help="Also score each sentence (Perspective's spanScores).")
    ] = False,
    runner: Annotated[
        str | None,
        typer.Option("--runner", help="local (this process; the default) or ray (an actor pool; docs/scale.md)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write one Parquet per input file here (corpus mode).")
    ] = None,
    actors: ActorsOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Redo outputs that are already complete.")] = False,
    keep_text: Annotated[bool, typer.Option("--keep-text", help="Keep each comment's text in the output.")] = False,
    ray_address: RayAddressOpt = None,
    old_engine: OldEngineOpt = None,
) -> None:
    """Score each line's text (toward its target) and print it back with its scores; with a folder or
    --out, write Parquet files of scores instead (resumable)."""
    with user_errors():
        runner_name = _runner(runner, old_engine)
        if out_dir is not None or runner_name != "local" or Path(path).is_dir():
            from moderation.scale import CorpusOptions, ScorerSpec, score_corpus

            if out_dir is None or spans:
                raise InputError("a folder, --out or --runner ray writes Parquet: pass --out DIR (and no --spans)")
            spec = ScorerSpec(encoder, heads, models_config, device)
            options = CorpusOptions(batch_size, keep_text=keep_text, force=force, actors=actors, address=ray_address)
            run = partial(score_corpus, Path(path), out_dir, spec, runner=runner_name, options=options)
            result = run() if runner_name == "ray" else with_progress("scoring", run)
            err.print(
                f"{result.rows:,} comment(s) into {len(result.written)} file(s) in {out_dir}; "
                f"{len(result.skipped)} complete file(s) skipped"
            )
            return
        items = read_jsonl(path)
        scorer = load_model(encoder, heads, device, models_config)
        texts, targets = [i["text"] for i in items], [i.get("target") for i in items]
        scores = with_progress("scoring", partial(scorer.predict, texts, targets, batch_size=batch_size, spans=spans))
    for item, scored in zip(items, scores, strict=True):
        sys.stdout.write(json.dumps({**item, **scored.model_dump(mode="json")}, ensure_ascii=False) + "\n")


@app.command()
def analyze(
    source: SourceArg,
    source_format: FromOpt = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
    encoder: EncoderOpt = None,
    heads: HeadsOpt = None,
    models_config: ModelsConfigOpt = None,
    device: DeviceOpt = "cpu",
    batch_size: BatchOpt = 32,
    runner: Annotated[
        str | None,
        typer.Option(
            "--runner", help="local (the default), or ray: a folder of sources scored by an actor pool (docs/scale.md)."
        ),
    ] = None,
    actors: ActorsOpt = None,
    ray_address: RayAddressOpt = None,
    old_format: OldFormatOpt = None,
    old_engine: OldEngineOpt = None,
) -> None:
    """Extract SOURCE, score every comment toward its article, store it, and print a table per thread.
    A folder of sources, or --runner ray, stores each thread in its own transaction and skips threads
    stored unchanged before."""
    from moderation.extraction import extract_all
    from moderation.language import with_languages
    from moderation.pipeline import score_thread, store_all

    with user_errors():
        chosen = _input_format(source_format, old_format, "analyze")
        runner_name = _runner(runner, old_engine)
        if runner_name != "local" or Path(source).is_dir():
            from moderation.scale import CorpusOptions, ScorerSpec, analyze_corpus

            spec = ScorerSpec(encoder, heads, models_config, device)
            options = CorpusOptions(batch_size, actors=actors, address=ray_address)
            engine = open_store(database_url)
            done = analyze_corpus(Path(source), spec, engine, runner=runner_name, format=chosen, options=options)
            for stored in done.stored:
                actions = ", ".join(f"{sum(d.action == a for d in stored.decisions)} {a}" for a in ACTIONS)
                title = stored.thread.article.title or "(untitled)"
                out.print(f"stored thread {stored.thread_id}: {title} ({actions})", highlight=False)
            out.print(f"{len(done.stored)} thread(s) stored, {len(done.skipped)} unchanged skipped")
            return
        threads = [with_languages(thread) for thread in extract_all(read_source(source), chosen)]
        engine = open_store(database_url)  # a store that cannot be opened stops the command before the model loads
        scorer = load_model(encoder, heads, device, models_config)
        # Everything is scored before anything is stored, so no write lock is held while scoring. Then an
        # export is stored in one transaction (all or none), or in parts when it is large (pipeline.store_all).
        scores = [
            score
            for i, thread in enumerate(threads)
            for score in with_progress(
                f"scoring {i + 1}/{len(threads)}", partial(score_thread, scorer, thread, batch_size=batch_size)
            )
        ]
        results = store_all(engine, threads, scores, model=scorer.name)
    for result in results:
        _print_analysis(result)
    where = engine.url.render_as_string(hide_password=True)
    ids = ", ".join(str(r.thread_id) for r in results)
    out.print(f"stored as thread {ids} in {where}" if len(results) == 1 else f"stored as threads {ids} in {where}")


def _print_analysis(result: Analysis) -> None:
    thread = result.thread
    article = thread.article
    out.print(f"[bold]{article.title or '(untitled)'}[/]  {article.published or ''}", highlight=False)
    announced = f" of {thread.announced_comments} announced" if not thread.is_complete else ""
    table = Table(title=f"{len(thread.comments)} comment(s){announced}", show_lines=True)
    table.add_column("#", no_wrap=True)
    table.add_column("comment", ratio=1, min_width=24, overflow="fold")
    for column in ("lang", "votes", "sentiment", "stance", "toxic"):
        table.add_column(column, no_wrap=True)
    for comment, scores in zip(thread.comments, result.scores, strict=True):
        table.add_row(
            str(comment.position + 1),
            _comment_cell(comment),
            comment.language or "-",
            "-" if comment.votes.score is None else f"{comment.votes.score}\n+{comment.votes.up}/-{comment.votes.down}",
            _label_cell(scores.sentiment),
            _label_cell(scores.stance),
            f"{scores.attributes['TOXICITY']:.2f}",
        )
    out.print(table)


def _comment_cell(comment: Comment) -> Text:
    cell = Text()
    if comment.author or comment.published_raw:
        cell.append(" · ".join(x for x in (comment.author, comment.published_raw) if x) + "\n", style="bold")
    cell.append(comment.text if len(comment.text) <= 240 else comment.text[:239] + "…")
    return cell


def _label_cell(scores: LabelScores | None) -> str:
    return "-" if scores is None else f"{scores.label}\n{max(scores.probabilities.values()):.2f}"
