"""Where a report's threads come from: the store (scores and decisions as stored), or a fresh source
extracted, scored and decided in memory (nothing stored)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.orm import Session

from moderation.errors import NotFoundError
from moderation.extraction import Source, extract_all
from moderation.language import with_languages
from moderation.policy import Decision, Policy, Reason
from moderation.reports.compute import ThreadData, report_for_threads
from moderation.reports.document import Report, Scope
from moderation.scores import CommentScorer, Progress
from moderation.storage import repository
from moderation.storage.tables import CommentRow, DecisionRow


def report_from_store(
    session: Session,
    thread_id: int | None = None,
    *,
    site: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    model: str | None = None,
    title: str | None = None,
    top: int = 10,
    min_author_comments: int = 3,
) -> Report:
    """The report of one stored thread, or of every stored thread (only those on ``site``'s host when
    given), from the stored scores (``model``'s, else each comment's latest) and current decisions."""
    if thread_id is not None:
        data = [_stored(session, thread_id, model)]
        scope = Scope(kind="thread", source=f"thread:{thread_id}")
    else:
        data = [_stored(session, row_id, model) for row_id in _thread_ids(session, site)]
        scope = Scope(kind="site", source="store", site=_host(site) if site else None)
    models = sorted({name for _, names in data for name in names})
    if title is None and thread_id is None:
        title = f"All threads on {scope.site}" if scope.site else "All stored threads"
    return report_for_threads(
        [thread for thread, _ in data],
        title=title,
        since=since,
        until=until,
        scope=scope,
        models=models,
        top=top,
        min_author_comments=min_author_comments,
    )


def report_for_source(
    source: Source,
    scorer: CommentScorer,
    *,
    format: str | None = None,
    policy: Policy | None = None,
    spans: bool = True,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    title: str | None = None,
    top: int = 10,
    batch_size: int = 32,
    progress: Progress | None = None,
) -> Report:
    """Extract every thread of ``source``, detect each comment's language, score each comment toward its
    article's title (with sentence spans unless ``spans`` is False), let ``policy`` (default: the packaged
    one) decide; store nothing."""
    threads = [with_languages(thread) for thread in extract_all(source, format)]
    texts = [c.text for t in threads for c in t.comments]
    targets = [t.stance_target for t in threads for _ in t.comments]
    languages = [c.language for t in threads for c in t.comments]
    scores = scorer.predict(texts, targets, languages=languages, batch_size=batch_size, progress=progress, spans=spans)
    items, start = [], 0
    for thread in threads:
        items.append(ThreadData(thread, scores[start : start + len(thread.comments)]))
        start += len(thread.comments)
    scope = Scope(kind="thread" if len(threads) == 1 else "threads", source=source.name)
    return report_for_threads(
        items, title=title, policy=policy, since=since, until=until, scope=scope, models=[scorer.name], top=top
    )


def _host(site: str) -> str:
    """``https://www.example.org/x`` and ``www.example.org`` both as ``example.org``."""
    host = urlsplit(site if "//" in site else f"//{site}").hostname or site
    return host.lower().removeprefix("www.")


def _thread_ids(session: Session, site: str | None) -> Iterator[int]:
    """Stored threads oldest first, only those on ``site`` when given."""
    ids: list[int] = []
    cursor: str | None = None
    while True:
        page = repository.list_threads(session, cursor=cursor, limit=1000)
        ids += [row.id for row in page.items if site is None or (row.url and _host(row.url) == _host(site))]
        if page.next_cursor is None:
            return iter(sorted(ids))
        cursor = page.next_cursor


def _stored(session: Session, thread_id: int, model: str | None) -> tuple[ThreadData, set[str]]:
    """One stored thread with its scores and decisions, and the names of the models that scored it."""
    thread = repository.load_thread(session, thread_id)
    if thread is None:
        raise NotFoundError(f"no thread {thread_id}")
    scores = repository.comment_scores(session, thread_id, model)
    rows = {row.source_id: row for row in _comment_rows(session, thread_id)}
    models = {s.model for row in rows.values() for s in row.scores if model is None or s.model == model}
    stored = [rows[c.id].decision if c.id in rows else None for c in thread.comments]
    decisions = [_decision(row) for row in stored]
    decided_by = [row.decided_by if row is not None else None for row in stored]
    data = ThreadData(
        thread,
        [scores.get(c.id) for c in thread.comments],
        decisions,
        thread_id=thread_id,
        decided_by=decided_by,
    )
    return data, models


def _comment_rows(session: Session, thread_id: int) -> Iterator[CommentRow]:
    cursor: str | None = None
    while True:
        page = repository.list_comments(session, thread_id, cursor=cursor, limit=1000)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _decision(row: DecisionRow | None) -> Decision | None:
    if row is None:
        return None
    return Decision.model_validate(
        {"action": row.decision, "reasons": _reasons(row.reasons), "policy_digest": row.policy_digest or ""}
    )


def _reasons(stored: Sequence[dict[str, object]]) -> list[Reason]:
    """Stored reasons; one a newer or older build wrote in another shape is left out rather than fail."""
    reasons = []
    for item in stored:
        try:
            reasons.append(Reason.model_validate(item))
        except ValidationError:
            continue
    return reasons
