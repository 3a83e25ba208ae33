"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external asset.

Everything a source wrote (comment text, author names, titles, URLs, reason messages quoting a comment)
is untrusted: the template autoescapes it, highlights are built from escaped pieces, and only
``http(s)`` article URLs become links.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from moderation.reports import charts, words
from moderation.reports.document import Highlight, Report

CLIP = 600


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("moderation.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=pct, when=when, highlight=highlight, clip=clip, safe_url=safe_url, score=score, host=host, rule=words.rule
    )
    env.globals.update(charts=charts, words=words)
    return env


def to_html(report: Report) -> str:
    return _environment().get_template("report.html.j2").render(report=report, r=report)


def pct(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def score(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.2f}"


def when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.utcoffset() is not None else "")
    return value.isoformat()


def clip(text: str, size: int = CLIP) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s); anything else (javascript:, data:) is not linked."""
    return url if url and url.lower().startswith(("http://", "https://")) else None


def host(url: str | None) -> str | None:
    """The site of an http(s) URL, without "www."; None for any other URL."""
    linked = safe_url(url)
    if linked is None:
        return None
    try:
        name = urlsplit(linked).hostname
    except ValueError:
        return None
    return name.removeprefix("www.") if name else None


def highlight(text: str, highlights: Sequence[Highlight]) -> Markup:
    """The text escaped, each highlighted stretch (overlaps merged) in ``<mark>`` titled with its labels."""
    merged: list[tuple[int, int, list[str]]] = []
    for h in sorted(highlights, key=lambda h: (h.begin, h.end)):
        tag = h.label if h.score is None else f"{h.label} {h.score:.2f}"
        if merged and h.begin <= merged[-1][1]:
            begin, end, tags = merged[-1]
            merged[-1] = (begin, max(end, h.end), [*tags, tag])
        else:
            merged.append((h.begin, h.end, [tag]))
    out, position = [], 0
    for begin, end, tags in merged:
        out.append(escape(text[position:begin]))
        out.append(Markup('<mark title="{}">{}</mark>').format(", ".join(tags), text[begin:end]))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)
