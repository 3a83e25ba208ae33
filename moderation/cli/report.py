"""``moderation report``: the report of a page or export (scored in memory, nothing stored), of a stored
thread, or of every stored thread, as HTML, Markdown, JSON or CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moderation.cli.inputs import read_source
from moderation.cli.options import (
    DatabaseOpt,
    FromOpt,
    OldFormatOpt,
    err,
    fail,
    open_store,
    renamed,
    user_errors,
)
from moderation.errors import InputError
from moderation.storage import DEFAULT_DATABASE_URL

if TYPE_CHECKING:
    from datetime import datetime

    from moderation.reports.document import Report

app = typer.Typer()

SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json", ".csv": "csv"}
STORE_WORDS = ("db", "site")


SourceArg = Annotated[
    str,
    typer.Argument(
        help="A page or export (file, http(s):// URL, or - for standard input); 'thread:ID' or a bare ID "
        "for a stored thread; 'db' or 'site' for every stored thread.",
        show_default=False,
    ),
]
ToOpt = Annotated[str | None, typer.Option("--to", help="html, md, json or csv; default: from -o's suffix, else html.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not to standard output.")]
SinceOpt = Annotated[
    str | None, typer.Option(help="Only comments published at or after this ISO date or time (UTC unless given).")
]
UntilOpt = Annotated[str | None, typer.Option(help="Only comments published before this ISO date or time.")]
SiteOpt = Annotated[str | None, typer.Option(help="With db/site: only threads whose URL is on this host.")]
TitleOpt = Annotated[str | None, typer.Option(help="The report's title; default: the article's.")]
PolicyOpt = Annotated[
    Path | None, typer.Option(help="Policy TOML deciding a page or export; default: the packaged policy.")
]
SpansOpt = Annotated[
    bool, typer.Option(help="Score each sentence of a page or export, to mark flagged spans (about twice the time).")
]
# report's --input-format before --from (its -f/--format named the output: OldFormatOpt).
OldSourceFormatOpt = Annotated[str | None, typer.Option("--input-format", hidden=True)]


@app.command()
def report(
    source: SourceArg,
    source_format: FromOpt = None,
    output_format: ToOpt = None,
    output: OutputOpt = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
    since: SinceOpt = None,
    until: UntilOpt = None,
    site: SiteOpt = None,
    title: TitleOpt = None,
    policy: PolicyOpt = None,
    spans: SpansOpt = True,
    old_output_format: OldFormatOpt = None,
    old_source_format: OldSourceFormatOpt = None,
) -> None:
    """Report what readers thought and what moderation made of it: counts, sentiment, stance along reply
    chains, toxicity, decisions, flagged comments, heated sub-threads, activity and authors."""
    with user_errors():
        output_format = renamed(
            output_format, old_output_format, old_name="-f/--format", new_name="--to", meaning="format report writes"
        )
        source_format = renamed(
            source_format, old_source_format, old_name="--input-format", new_name="--from", meaning="format of SOURCE"
        )
        chosen = _format(output_format, output)
        result = _report(source, database_url, since, until, site, title, source_format, policy, spans)
        from moderation.reports.formats import render

        text = render(result, chosen)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}", 2) from None
    err.print(f"wrote {output} ({result.counts.comments} comments, {result.counts.threads} thread(s))")


def _format(output_format: str | None, output: Path | None) -> str:
    from moderation.reports.formats import FORMATS

    if output_format is None:
        return SUFFIXES.get(output.suffix.lower(), "html") if output is not None else "html"
    if output_format not in FORMATS:
        raise InputError(f"unknown report format {output_format!r}; one of {', '.join(FORMATS)}")
    return output_format


def _stored_id(source: str) -> int | None:
    text = source.removeprefix("thread:")
    if text.isdigit() and (source.startswith("thread:") or not Path(source).exists()):
        return int(text)
    if source.startswith("thread:"):
        raise InputError(f"{source!r}: a stored thread is named thread:ID, with ID a number")
    return None


def _report(
    source: str,
    database_url: str,
    since: str | None,
    until: str | None,
    site: str | None,
    title: str | None,
    source_format: str | None,
    policy: Path | None,
    spans: bool,
) -> Report:
    from moderation.reports.compute import parse_moment

    start, end = parse_moment(since, "--since"), parse_moment(until, "--until")
    thread_id = _stored_id(source)
    if thread_id is not None or source in STORE_WORDS:
        from moderation.reports.sources import report_from_store
        from moderation.storage import transaction

        if site is not None and thread_id is not None:
            raise InputError("--site goes with db or site, not with one thread")
        engine = open_store(database_url)
        try:
            with transaction(engine) as session:
                return report_from_store(session, thread_id, site=site, since=start, until=end, title=title)
        finally:
            engine.dispose()
    if site is not None:
        raise InputError("--site goes with db or site, not with a page or export")
    return _fresh(source, start, end, title, source_format, policy, spans)


def _fresh(
    source: str,
    since: datetime | None,
    until: datetime | None,
    title: str | None,
    source_format: str | None,
    policy: Path | None,
    spans: bool,
) -> Report:
    from transformers.utils import logging as hf_logging

    from moderation.models.scorer import Scorer
    from moderation.policy import Policy
    from moderation.reports.sources import report_for_source

    read = read_source(source)
    rules = Policy.load(policy) if policy is not None else None
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    with err.status("loading the model"):
        scorer = Scorer.load()
    with err.status("extracting and scoring"):
        return report_for_source(
            read,
            scorer,
            format=source_format,
            policy=rules,
            spans=spans,
            since=since,
            until=until,
            title=title,
        )
