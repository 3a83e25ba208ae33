"""``moderation report`` (being written)."""

from __future__ import annotations

import typer


def report() -> None:
    """Not available yet."""
    raise typer.Exit(2)
