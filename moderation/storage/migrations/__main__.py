"""``python -m moderation.storage.migrations``: Alembic's commands for developers, without an ini file.

revision -m MESSAGE   write versions/v000N_<message>.py: tables.py's difference to the newest revision
upgrade [--url URL]   bring a database to head (make_engine does this on its own)
current [--url URL]   print a database's revision
"""

from __future__ import annotations

import argparse
import re

from alembic import command
from sqlalchemy import create_engine

from moderation.storage.db import DEFAULT_DATABASE_URL, make_engine
from moderation.storage.migrations import alembic_config, revision_of, script_directory


def _next_id() -> str:
    numbers = [int(m[1]) for s in script_directory().walk_revisions() if (m := re.fullmatch(r"v(\d+)", s.revision))]
    return f"v{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m moderation.storage.migrations", description=__doc__)
    parser.add_argument("command", choices=["revision", "upgrade", "current"])
    parser.add_argument("-m", "--message", default="", help="what the new revision changes")
    parser.add_argument("--url", default=DEFAULT_DATABASE_URL, help="database for upgrade and current")
    args = parser.parse_args(argv)
    if args.command == "upgrade":
        make_engine(args.url).dispose()
    if args.command in ("upgrade", "current"):
        engine = create_engine(args.url)
        with engine.connect() as connection:
            print(revision_of(connection) or "no revision")
        engine.dispose()
        return
    if not args.message:
        parser.error("revision needs -m MESSAGE")
    # Diff against a scratch database built by running every revision (not create_all's fast path).
    scratch = create_engine("sqlite://")
    with scratch.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
        command.revision(alembic_config(connection), args.message, autogenerate=True, rev_id=_next_id())
    scratch.dispose()


if __name__ == "__main__":
    main()
