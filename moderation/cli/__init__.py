"""The ``moderation`` command: parses arguments, calls the library, formats the answer.

One module per command group (``pipeline``: extract, score, analyze; ``training``: train, evaluate;
``report``; ``keys``; ``policy``; ``feedback``; ``serve``), and what they share in ``options`` (the
consoles, ``--from``/``--to``/``--database-url``, and how a library error becomes one line and an
exit code) and ``inputs`` (sources, JSON lines, the scorer).
"""

from __future__ import annotations

import os

import typer

from moderation.cli import feedback, keys, pipeline, policy, report, serve, training

__all__ = ["app", "main"]

app = typer.Typer(
    name="moderation",
    help="Extract reader-comment threads, score them and store them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(pipeline.app)
app.add_typer(training.app)
app.add_typer(keys.app, name="keys")
app.add_typer(policy.app, name="policy")
app.add_typer(feedback.app, name="feedback")
app.add_typer(serve.app)
app.add_typer(report.app)


def main() -> None:
    """The installed ``moderation`` script: the edge of the program, where nothing may reach the Hugging Face hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    app()
