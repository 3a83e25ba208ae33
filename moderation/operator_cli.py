"""Operator commands of ``moderation``: API keys, the policy, moderators' feedback, and serving the API."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from moderation.errors import InputError

out = Console()
err = Console(stderr=True)

DatabaseOpt = Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL", help="SQLAlchemy URL of the store.")]
DEFAULT_DATABASE = "sqlite:///moderation.db"

keys_app = typer.Typer(help="API keys of the service (stored hashed; the key is shown once).", no_args_is_help=True)
policy_app = typer.Typer(help="The moderation policy (TOML): show it, re-decide stored comments.", no_args_is_help=True)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. 'coral-prod'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", "-s", help="read, write or moderate; repeat for several (default: read only)."),
    ] = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE,
) -> None:
    """Create a key and print it once: only its hash is stored. Without --scope it may only read."""
    from moderation import keys
    from moderation.storage import make_engine, transaction

    with transaction(make_engine(database_url)) as session:
        new = keys.create_key(session, name, scope or ["read"])
    err.print(f"key {new.key.prefix} ({new.key.name}) scopes {', '.join(new.key.scopes)}; store it now:")
    out.print(new.token, highlight=False)


@keys_app.command("list")
def list_keys(database_url: DatabaseOpt = DEFAULT_DATABASE) -> None:
    """Every key with its scopes and last use (never the secret)."""
    from moderation import keys
    from moderation.storage import make_engine, transaction

    with transaction(make_engine(database_url)) as session:
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


@keys_app.command("revoke")
def revoke_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (from 'keys list').")],
    database_url: DatabaseOpt = DEFAULT_DATABASE,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from moderation import keys
    from moderation.storage import make_engine, transaction

    with transaction(make_engine(database_url)) as session:
        key = keys.revoke_key(session, prefix)
    if key is None:
        err.print(f"error: no key {prefix}")
        raise typer.Exit(2)
    out.print(f"revoked {key.prefix} ({key.name})")


PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy TOML; default: the packaged default.")]


@policy_app.command("show")
def show_policy(policy: PolicyOpt = None) -> None:
    """Print the policy as TOML with its digest (a starting point for your own)."""
    from moderation.policy import Policy

    loaded = Policy.load(policy) if policy else Policy.default()
    err.print(f"policy {loaded.digest}")
    out.print(loaded.to_toml(), highlight=False, markup=False)


@policy_app.command("apply")
def apply_policy(
    policy: PolicyOpt = None,
    article: Annotated[int | None, typer.Option(help="Only this stored thread's comments.")] = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE,
) -> None:
    """Re-decide stored comments under POLICY from their stored scores (no re-scoring); a moderator's
    decisions stay."""
    from moderation.decisions import redecide
    from moderation.policy import Policy
    from moderation.storage import make_engine, transaction

    try:
        loaded = Policy.load(policy) if policy else Policy.default()
    except InputError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    with transaction(make_engine(database_url)) as session:
        counts = redecide(session, loaded, article_id=article, actor="operator (cli)")
    total = sum(counts.values())
    detail = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing to change"
    out.print(f"policy {loaded.digest}: re-decided {total} comments ({detail})")


def serve(
    load: Annotated[
        list[str] | None, typer.Option("--load", help="Extract, score and store this source first; repeatable.")
    ] = None,
    demo_key: Annotated[
        bool,
        typer.Option(help="Print the demo key, with every scope, to try the desk (one key; a new secret each start)."),
    ] = False,
    open_reads: Annotated[bool, typer.Option(help="Let reads through without a key (writes still need one).")] = False,
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    database_url: DatabaseOpt = DEFAULT_DATABASE,
    policy: PolicyOpt = None,
) -> None:
    """Serve the API (docs at /docs). Settings also come from MODERATION_* variables (service/config.py)."""
    # The port first, held from here on: a taken one stops serve before it loads a model or mints a key.
    try:
        listener = _bind(host, port)
    except InputError as exc:
        err.print(f"error: {exc}", soft_wrap=True, highlight=False, markup=False)
        raise typer.Exit(2) from exc
    with listener:
        _serve(
            listener,
            load=load or [],
            demo_key=demo_key,
            open_reads=open_reads,
            host=host,
            port=port,
            database_url=database_url,
            policy=policy,
        )


def _serve(
    listener: socket.socket,
    *,
    load: list[str],
    demo_key: bool,
    open_reads: bool,
    host: str,
    port: int,
    database_url: str,
    policy: Path | None,
) -> None:
    import uvicorn
    from transformers.utils import logging as hf_logging

    from moderation import keys
    from moderation.extraction import Source, extract_all
    from moderation.models.scorer import Scorer
    from moderation.pipeline import analyze
    from moderation.policy import Policy
    from moderation.storage import make_engine, transaction
    from service.app import create_app
    from service.config import Settings

    settings = Settings(database_url=database_url, host=host, port=port, policy=policy, open_reads=open_reads)
    base = f"http://{host}:{port}"
    loaded_ids: list[int] = []
    hf_logging.disable_progress_bar()
    # Loaded once, here: the app serves with the same model that scored the loaded sources.
    scorer = Scorer.from_config(settings.models_config) if settings.models_config else Scorer.load(mode=settings.mode)
    if load:
        rules = Policy.load(policy) if policy else Policy.default()
        with transaction(make_engine(database_url)) as session:
            for source in load:
                for thread in extract_all(Source.from_path(Path(source))):
                    loaded_ids.append(
                        analyze(session, scorer, thread, policy=rules, actor="operator (serve)").article_id
                    )
    if demo_key:
        with transaction(make_engine(database_url)) as session:
            token = keys.renew_demo_key(session, ["read", "write", "moderate"]).token
        out.print(f"API key (every scope): {token}", highlight=False)
    out.print(f"API docs:        {base}/docs")
    for article_id in loaded_ids:
        out.print(f"example thread:  {base}/v1/threads/{article_id}")
        out.print(f"its comments:    {base}/v1/threads/{article_id}/comments")
        out.print(f"its report:      {base}/v1/threads/{article_id}/report.html")
    # uvicorn names no address when handed a socket: say it here.
    out.print(f"serving on {base} (Ctrl-C stops it)")
    server = uvicorn.Server(uvicorn.Config(create_app(settings, scorer=scorer), host=host, port=port, log_level="info"))
    server.run(sockets=[listener])
    if not server.started:
        raise typer.Exit(3)


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn to listen on, or an ``InputError`` in one line saying why not."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # As uvicorn does: a port whose last connections are still closing (TIME_WAIT) is free to listen on.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        reason = (exc.strerror or str(exc)).lower()
        hint = " (another desk running? stop it, or choose another port: --port N, make run PORT=N)"
        raise InputError(
            f"cannot serve on {host}:{port}: {reason}{hint if exc.errno == errno.EADDRINUSE else ''}"
        ) from exc
    return listener


feedback_app = typer.Typer(
    help="Moderators' feedback: the scores clients suggested (Perspective's SuggestCommentScore).",
    no_args_is_help=True,
)


@feedback_app.command("export")
def export_feedback(
    texts: Annotated[
        str, typer.Argument(help="JSONL with a 'text' per line (e.g. comments exported from Coral), or - for stdin.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="The JSONL to write, for 'moderation train --feedback'.")],
    database_url: DatabaseOpt = DEFAULT_DATABASE,
) -> None:
    """Write each text that stored feedback names (by the SHA-256 of the text), once, with the latest suggested
    score of each attribute the desk's heads answer. The desk never stored the texts: bring them."""
    import json

    from moderation.cli import _read_jsonl
    from moderation.feedback import feedback_examples
    from moderation.storage import make_engine, transaction

    try:
        items = _read_jsonl(texts)
    except InputError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    with transaction(make_engine(database_url)) as session:
        examples = list(feedback_examples(session, (item["text"] for item in items)))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example.as_json(), ensure_ascii=False) + "\n")
    out.print(f"wrote {len(examples)} of {len(items)} texts with feedback to {out_file}")
