"""``moderation keys``: the service's API keys, stored hashed; a new key is shown once."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from moderation.cli.options import DatabaseOpt, err, fail, open_store, out, user_errors
from moderation.storage import DEFAULT_DATABASE_URL

app = typer.Typer(help="API keys of the service (stored hashed; the key is shown once).", no_args_is_help=True)


@app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. 'coral-prod'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", "-s", help="read, write or moderate; repeat for several (default: read only)."),
    ] = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
) -> None:
    """Create a key and print it once: only its hash is stored. Without --scope it may only read."""
    from moderation import keys
    from moderation.storage import transaction

    with user_errors(), transaction(open_store(database_url)) as session:
        new = keys.create_key(session, name, scope or ["read"])
    err.print(f"key {new.key.prefix} ({new.key.name}) scopes {', '.join(new.key.scopes)}; store it now:")
    out.print(new.token, highlight=False)


@app.command("list")
def list_keys(database_url: DatabaseOpt = DEFAULT_DATABASE_URL) -> None:
    """Every key with its scopes and last use (never the secret)."""
    from moderation import keys
    from moderation.storage import transaction

    with user_errors(), transaction(open_store(database_url)) as session:
        rows = keys.list_keys(session)
    table = Table("prefix", "name", "scopes", "created", "last used", "revoked")
    for key in rows:
        table.add_row(
            key.prefix,
            key.name,
            ", ".join(key.scopes),
            str(key.created_at),
            str(key.last_used_at or "-"),
            str(key.revoked_at or "-"),
        )
    out.print(table)


@app.command("revoke")
def revoke_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (from 'keys list').")],
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from moderation import keys
    from moderation.storage import transaction

    with user_errors(), transaction(open_store(database_url)) as session:
        key = keys.revoke_key(session, prefix)
    if key is None:
        raise fail(f"no key {prefix}", 2)
    out.print(f"revoked {key.prefix} ({key.name})")
