"""What several commands read: a source, a JSON-lines file of texts, the scorer; and the progress bar they show."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from moderation.cli.options import err
from moderation.errors import InputError

if TYPE_CHECKING:
    from moderation.extraction import Source
    from moderation.models.scorer import Scorer

T = TypeVar("T")


def read_source(source: str) -> Source:
    """``source`` as the command line names it: ``-`` for standard input, an http(s) URL, or a path."""
    from moderation.extraction import Source
    from moderation.extraction.fetch import is_url

    if source == "-":
        return Source.from_bytes(sys.stdin.buffer.read(), "<stdin>")
    if is_url(source):
        return Source.from_url(source)
    return Source.from_path(source)


def read_jsonl(path: str) -> list[dict[str, Any]]:
    """Each line's object with its string ``text`` (and string ``target`` when given); ``-`` reads stdin.
    A bad line is an ``InputError`` naming the file and line."""
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


def load_model(encoder: str | None, heads: Path | None, device: str, models_config: Path | None = None) -> Scorer:
    """The scorer the model options name, loaded quietly (no hub progress bars) under a spinner on stderr."""
    from transformers.utils import logging as hf_logging

    from moderation.models.runtime import settle_loaded_model
    from moderation.models.scorer import load_scorer

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    with err.status("loading model"):
        scorer = load_scorer(models_config, encoder=encoder, heads=heads, device=device)
    settle_loaded_model()
    return scorer


def with_progress(label: str, work: Callable[..., T]) -> T:
    """Run ``work(progress=...)`` under a rich bar on stderr (hidden when stderr is not a terminal)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        return work(progress=lambda done, total: bar.update(task, completed=done, total=total))
