"""``moderation serve``: the API on a port held before anything slow starts, optionally with sources loaded."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moderation.cli.options import DatabaseOpt, PolicyOpt, open_store, out, user_errors
from moderation.errors import InputError
from moderation.storage import DEFAULT_DATABASE_URL

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer()


@app.command()
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
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
    policy: PolicyOpt = None,
) -> None:
    """Serve the API (docs at /docs). Settings also come from MODERATION_* variables (service/config.py)."""
    # The port first, held from here on: a taken one stops serve before it opens the store, loads a model or
    # mints a key; then the store, so that one which cannot be opened stops it before the model loads.
    with user_errors():
        listener = _bind(host, port)
    with listener:
        with user_errors():
            engine = open_store(database_url)
        _serve(
            listener,
            engine,
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
    engine: Engine,
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
    from moderation.models.scorer import load_scorer
    from moderation.pipeline import analyze
    from moderation.policy import Policy
    from moderation.storage import transaction
    from service.app import create_app
    from service.config import Settings

    settings = Settings(database_url=database_url, host=host, port=port, policy=policy, open_reads=open_reads)
    base = f"http://{host}:{port}"
    loaded_ids: list[int] = []
    hf_logging.disable_progress_bar()
    # Loaded once, here: the app serves with the same model that scored the loaded sources.
    scorer = load_scorer(settings.models_config, mode=settings.mode)
    if load:
        rules = Policy.load(policy) if policy else Policy.default()
        with transaction(engine) as session:
            for source in load:
                for thread in extract_all(Source.from_path(Path(source))):
                    loaded_ids.append(
                        analyze(session, scorer, thread, policy=rules, actor="operator (serve)").thread_id
                    )
    if demo_key:
        with transaction(engine) as session:
            token = keys.renew_demo_key(session, ["read", "write", "moderate"]).token
        out.print(f"API key (every scope): {token}", highlight=False)
    engine.dispose()  # the app opens its own
    out.print(f"API docs:        {base}/docs")
    for thread_id in loaded_ids:
        out.print(f"example thread:  {base}/v1/threads/{thread_id}")
        out.print(f"its comments:    {base}/v1/threads/{thread_id}/comments")
        out.print(f"its report:      {base}/v1/threads/{thread_id}/report.html")
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
