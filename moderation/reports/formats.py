"""A report as JSON, CSV, Markdown or HTML, and the JSON Schema its JSON follows."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources
from typing import Any, Literal, get_args

from moderation.errors import InputError
from moderation.reports.document import SCHEMA_VERSION, Report
from moderation.scores import TASK_LABELS

Format = Literal["json", "md", "html", "csv"]
FORMATS: tuple[Format, ...] = get_args(Format)
MEDIA_TYPES: dict[Format, str] = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
SCHEMA_FILE = f"schema/v{SCHEMA_VERSION}.json"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(report: Report, format: str) -> str:
    """The report in ``format`` (json, md, html or csv)."""
    if format == "json":
        return report.model_dump_json(indent=2) + "\n"
    if format == "csv":
        return to_csv(report)
    if format == "md":
        from moderation.reports.render_md import to_markdown

        return to_markdown(report)
    if format == "html":
        from moderation.reports.render_html import to_html

        return to_html(report)
    raise InputError(f"unknown report format {format!r}; one of {', '.join(FORMATS)}")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Report` as generated from the model (the committed file must equal it)."""
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://moderation-desk.invalid/reports/v{SCHEMA_VERSION}.json"
    return schema


def committed_schema() -> dict[str, Any]:
    """The JSON Schema shipped in this package (``moderation/reports/schema/v1.json``)."""
    text = resources.files("moderation.reports").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_text() -> str:
    """The schema as the committed file holds it (``python -m moderation.reports`` rewrites the file)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _cell(value: str | None) -> str:
    """Free text as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(report: Report) -> str:
    """One row per comment: its place, author, votes, language, every probability and attribute, decision and
    reasons."""
    attributes = sorted(
        {name for record in report.comments for name in record.attributes}, key=lambda n: (n != "TOXICITY", n)
    )
    sentiment, stance = TASK_LABELS["sentiment"], TASK_LABELS["stance"]
    header = [
        *("thread", "thread_key", "thread_id", "comment_id", "parent", "depth", "author", "published"),
        *("votes_score", "votes_up", "votes_down", "language", "language_confidence", "sentiment"),
        *(f"sentiment_{label}" for label in sentiment),
        "stance",
        *(f"stance_{label}" for label in stance),
        *attributes,
        *("flagged", "decision", "decided_by", "reasons", "reason_messages", "text"),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for r in report.comments:
        thread = report.threads[r.thread]
        writer.writerow(
            [
                *(r.thread, _cell(thread.key), thread.thread_id, _cell(r.id), _cell(r.parent), r.depth),
                *(_cell(r.author), r.published.isoformat() if r.published else ""),
                *(r.votes.score, r.votes.up, r.votes.down, r.language or "", r.language_confidence),
                r.sentiment.label if r.sentiment else "",
                *(r.sentiment.probabilities.get(label) if r.sentiment else "" for label in sentiment),
                r.stance.label if r.stance else "",
                *(r.stance.probabilities.get(label) if r.stance else "" for label in stance),
                *(r.attributes.get(name, "") for name in attributes),
                *(int(r.flagged), r.decision or "", _cell(r.decided_by)),
                "; ".join(reason.code + (f":{reason.attribute}" if reason.attribute else "") for reason in r.reasons),
                _cell(" | ".join(reason.message for reason in r.reasons)),
                _cell(r.text),
            ]
        )
    return buffer.getvalue()
