"""Reports: one stored thread's (JSON, HTML, Markdown, CSV), and the site's or a period's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from moderation.reports import MEDIA_TYPES, Format, Report, render, report_from_store
from moderation.storage.limits import INT32
from service.deps import ReadKey, SessionDep
from service.schemas.openapi import KEYED, errors

router = APIRouter(tags=["reports"])

Id = Annotated[int, Path(ge=1, le=INT32, description="The stored thread's id.")]
Since = Annotated[
    date | datetime | None,
    Query(description="Only comments published at or after this ISO date or time (UTC unless it says)."),
]
Until = Annotated[date | datetime | None, Query(description="Only comments published before this ISO date or time.")]
Site = Annotated[
    str | None, Query(max_length=255, description="Only threads whose URL is on this host (www. ignored).")
]


def _rendered(*formats: Format) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a 200 answer in ``formats`` (json as the Report schema, the others as text)."""
    content = {MEDIA_TYPES[f].split(";")[0]: {"schema": {"type": "string"}} for f in formats if f != "json"}
    answer: dict[str, Any] = {"description": "The report.", "content": content}
    if "json" in formats:
        answer["model"] = Report
    return {200: answer}


def _answer(report: Report, format: Format) -> Response:
    return Response(render(report, format), media_type=MEDIA_TYPES[format])


@router.get("/v1/threads/{thread_id}/report", summary="A thread's report", responses=errors(*KEYED, 404))
def thread_report(thread_id: Id, session: SessionDep, key: ReadKey, since: Since = None, until: Until = None) -> Report:
    """What readers thought of the thread and what moderation made of it; every figure states its
    denominator ``n`` (JSON Schema: ``moderation/reports/schema/v1.json``)."""
    return report_from_store(session, thread_id, since=since, until=until)


@router.get(
    "/v1/threads/{thread_id}/report.html",
    summary="A thread's report as a self-contained HTML page",
    response_class=Response,
    responses={**_rendered("html"), **errors(*KEYED, 404)},
)
def thread_report_html(
    thread_id: Id, session: SessionDep, key: ReadKey, since: Since = None, until: Until = None
) -> Response:
    """Charts as inline SVG, no script and no external asset; printable."""
    return _answer(report_from_store(session, thread_id, since=since, until=until), "html")


@router.get(
    "/v1/threads/{thread_id}/report.md",
    summary="A thread's report as Markdown",
    response_class=Response,
    responses={**_rendered("md"), **errors(*KEYED, 404)},
)
def thread_report_md(
    thread_id: Id, session: SessionDep, key: ReadKey, since: Since = None, until: Until = None
) -> Response:
    return _answer(report_from_store(session, thread_id, since=since, until=until), "md")


@router.get(
    "/v1/threads/{thread_id}/report.csv",
    summary="A thread's comments with every score, decision and reason, as CSV",
    response_class=Response,
    responses={**_rendered("csv"), **errors(*KEYED, 404)},
)
def thread_report_csv(
    thread_id: Id, session: SessionDep, key: ReadKey, since: Since = None, until: Until = None
) -> Response:
    return _answer(report_from_store(session, thread_id, since=since, until=until), "csv")


@router.get(
    "/v1/reports",
    summary="The site's or a period's report",
    response_class=Response,
    responses={**_rendered("json", "html", "md", "csv"), **errors(*KEYED)},
)
def site_report(
    session: SessionDep,
    key: ReadKey,
    since: Since = None,
    until: Until = None,
    site: Site = None,
    format: Annotated[Format, Query(description="json, html, md or csv.")] = "json",
) -> Response:
    """Every stored thread (only those on ``site``, when given), counting the comments published in
    [since, until) when either is given."""
    return _answer(report_from_store(session, None, site=site, since=since, until=until), format)
