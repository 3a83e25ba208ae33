"""What every command of ``moderation`` shares: the consoles, the option vocabulary, and one way to fail.

One meaning per option name: ``--from`` names the format a command reads, ``--to`` the format it writes,
``--database-url`` (or ``DATABASE_URL``) the store. The spellings before that (``extract -f/--format`` for
the input, ``report -f/--format`` for the output, ``report --input-format``, ``evaluate --json``,
``score``/``analyze``'s ``--engine`` for what is now ``--runner``, and ``policy apply --article`` for
``--thread``) still work, hidden, and say on standard error what to type instead (:func:`renamed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from moderation.errors import DataError, InputError, ModerationError

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")

out = Console()
err = Console(stderr=True)

SourceArg = Annotated[str, typer.Argument(help="A file, an http(s):// URL, or - for standard input.")]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Format of SOURCE (html, text, disqus, wxr, reddit, hn, json, jsonl, csv); detected when omitted.",
    ),
]
DatabaseOpt = Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL", help="SQLAlchemy URL of the store.")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy TOML; default: the packaged policy.")]
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
ActorsOpt = Annotated[int | None, typer.Option(min=1, help="Ray actors; default: one per CPU (GPU).")]
RayAddressOpt = Annotated[
    str | None, typer.Option(envvar="RAY_ADDRESS", help="Ray cluster to join; default: a local Ray.")
]

# -f/--format before --from/--to: hidden; each command keeps its old meaning (input for extract and analyze,
# output for report) and maps it onto the new name with ``renamed``.
OldFormatOpt = Annotated[str | None, typer.Option("--format", "-f", hidden=True)]
# --engine before --runner (score, analyze): "engine" names the store's SQLAlchemy engine only.
OldEngineOpt = Annotated[str | None, typer.Option("--engine", hidden=True)]
# --article before --thread (policy apply): the id is a stored thread's; "article" names the news article only.
OldArticleOpt = Annotated[int | None, typer.Option("--article", hidden=True)]


def fail(message: str, code: int) -> typer.Exit:
    """One ``error:`` line on standard error (never wrapped, never markup), and the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Every error the library raises on purpose ends the command with one line, never a traceback: the
    user's input or data (``InputError``, ``DataError``) exits 2, a model or store this build cannot use
    (``ModelError``, ``SchemaError``) exits 1. Anything else is a bug and keeps its traceback."""
    try:
        yield
    except (InputError, DataError) as exc:
        raise fail(str(exc), 2) from None
    except ModerationError as exc:
        raise fail(str(exc), 1) from None


def renamed(new: T | None, old: T | None, *, old_name: str, new_name: str, meaning: str) -> T | None:
    """The value given under ``new_name``, or under its deprecated spelling ``old_name`` with a warning on
    standard error that says what the old spelling means here and what to type instead."""
    if old is None:
        return new
    if new is not None:
        raise InputError(f"{old_name} is the old spelling of {new_name}: give {new_name} only")
    err.print(
        f"warning: {old_name} is deprecated: here it names the {meaning}; use {new_name} {old}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return old


def open_store(database_url: str) -> Engine:
    """The store's engine, its schema brought up to date; a URL that does not parse, names a driver that is
    not installed or a database that cannot be opened is an ``InputError`` worded the same for every command."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from moderation.storage import make_engine

    try:
        return make_engine(database_url)
    except (ArgumentError, DBAPIError, ImportError) as exc:
        try:
            shown = make_url(database_url).render_as_string(hide_password=True)
        except ArgumentError:
            shown = database_url
        reason = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
        reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
        raise InputError(f"cannot open the database {shown}: {reason}") from exc
