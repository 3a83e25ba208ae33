"""The report as Markdown: the same sections as the HTML page, as tables and quoted comments.

Text from the source is escaped so a comment cannot inject markup, links or HTML into the document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from moderation.reports import words
from moderation.reports.document import CommentRef, Distribution, Highlight, Report, Sample

_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\d*)([#+=.)-])")


def esc(text: str | None) -> str:
    """Markdown-inert text on one line: what could start markup, a link, HTML or a table cell is
    backslash-escaped (a line-opening list, heading or quote marker too), line breaks become spaces."""
    if not text:
        return ""
    one_line = " ".join(text.replace("&", "&amp;").split())
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", one_line))


#: What an autolink may hold as is: RFC 3986's unreserved and reserved characters and ``%``. Anything else (space,
#: ``<``, ``>``, ``"``, a backtick, a backslash, a line break, non-ASCII) is percent-encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def link(url: str | None) -> str:
    """A URL as Markdown: an ``http(s)`` URL as an autolink (``<...>``) with every character that could end it or
    start markup percent-encoded; any other scheme (``javascript:``, ``data:``) as escaped text, never a link."""
    if not url:
        return ""
    if re.match(r"https?://", url, re.IGNORECASE):
        return f"<{quote(url, safe=_URL_SAFE)}>"
    return esc(url)


def _n(fig: Sample) -> str:
    return f"n={fig.n}" + (" (small sample)" if fig.small_sample else "")


def _pct(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _distribution(title: str, dist: Distribution) -> list[str]:
    rows = [(esc(b.label), b.count, _pct(b.share)) for b in dist.buckets]
    return [f"### {title} ({_n(dist)})", "", *_table(("label", "count", "share"), rows)]


def _marked(text: str, highlights: Sequence[Highlight]) -> str:
    """The escaped text with highlighted stretches in bold."""
    out, position = [], 0
    for h in sorted(highlights, key=lambda h: (h.begin, h.end)):
        if h.begin < position:
            continue
        out += [esc(text[position : h.begin]), f" **{esc(text[h.begin : h.end])}** "]
        position = h.end
    out.append(esc(text[position:]))
    return "".join(out).strip()


def _comment(c: CommentRef, *, full: bool = False) -> list[str]:
    facts = [esc(c.author) or "anonymous"]
    facts += [c.published.isoformat(sep=" ", timespec="minutes")] if c.published else []
    facts += [f"depth {c.depth}"] if c.depth else []
    facts += [f"votes {c.votes.score:+d}"] if c.votes.score is not None else []
    facts += [c.language] if c.language else []
    facts += [f"{c.top_attribute} {c.top_score:.2f}"] if c.top_attribute and c.top_score is not None else []
    facts += [x for x in (c.stance, c.decision) if x]
    text = _marked(c.text, c.highlights) if full else esc(c.text if len(c.text) <= 300 else c.text[:299] + "…")
    lines = [f"- {' · '.join(facts)}", f"  > {text}"]
    if full:
        lines += [f"  - {esc(reason)}" for reason in c.reasons]
    return lines


def _header(r: Report) -> list[str]:
    lines = [f"# {esc(r.title)}", ""]
    if len(r.threads) == 1 and r.threads[0].url:
        lines.append(f"Article: {link(r.threads[0].url)}  ")
    if r.scope.since or r.scope.until:
        lines.append(f"Comments from {r.scope.since or 'the start'} until {r.scope.until or 'the end'}  ")
    c = r.counts
    rows: list[tuple[object, ...]] = [
        ("threads", c.threads),
        ("comments", c.comments),
        ("scored", c.scored),
        ("authors", c.authors),
        ("anonymous comments", c.anonymous),
        ("replies", c.replies),
        ("max reply depth", r.replies.max_depth),
        ("excluded by the source", c.excluded),
        ("undated", c.undated),
        ("flagged", c.flagged),
        ("held", c.held),
        ("reviewed", c.reviewed),
    ]
    lines += ["", "## Counts", "", *_table(("", "count"), rows)]
    return lines + (_distribution("Languages", r.languages) if r.languages else [])


def _opinion(r: Report) -> list[str]:
    lines = ["## What readers thought", ""]
    lines += _distribution("Sentiment", r.sentiment) + _distribution("Stance toward the title", r.stance)
    lines += _stance_target(r)
    lines += _distribution("Decisions", r.decisions.actions)
    if r.decisions.reasons:
        reasons = [(words.rule(x.code), x.attribute or "", x.count, _pct(x.share)) for x in r.decisions.reasons]
        header = ("rule", "attribute", "held comments", "share of decided")
        lines += ["### Why comments were held", "", *_table(header, reasons)]
    lines += ["## Stance along reply chains", ""]
    rows: list[tuple[object, ...]] = [
        (f"depth {d.depth}", *(f"{b.count} ({_pct(b.share)})" for b in d.distribution.buckets), _n(d.distribution))
        for d in r.stance_by_depth
    ]
    labels = [b.label for b in r.stance.buckets]
    lines += _table(("depth", *labels, "n"), rows) if rows else ["No stance scores.", ""]
    same = r.stance_transitions.same_as_parent
    lines += [f"Replies sharing their parent's stance: {_pct(same.rate)} ({same.count} of {_n(same)}).", ""]
    return lines


def _stance_target(r: Report) -> list[str]:
    """What the stance is toward, and a caution for each title that takes no position."""
    if len(r.threads) == 1:
        lines = [f"Toward “{esc(r.threads[0].title)}”.", ""] if r.threads[0].title else []
    else:
        lines = ["Each comment toward its own article's title.", ""]
    for t in r.threads:
        if t.not_argumentative:
            lines += [
                f"{esc(t.title)}: the title reads as {t.not_argumentative}, not a claim to be for or against; "
                "“favor” mostly means sympathy or thanks and “against” disagreement with a detail.",
                "",
            ]
    return lines


def _toxicity(r: Report) -> list[str]:
    lines = ["## Toxicity", ""]
    rows = [
        (
            a.name + (" (experimental: never flags)" if a.experimental else ""),
            a.flagged,
            _pct(a.rate),
            f"{a.mean:.3f}" if a.mean is not None else "",
            f"{a.max:.3f}" if a.max is not None else "",
            _n(a),
            " ".join(str(count) for count in a.histogram.counts),
        )
        for a in r.attributes
    ]
    header = ("attribute", f"≥ {r.flag_threshold}", "rate", "mean", "max", "n", "histogram (10 bins, 0 to 1)")
    lines += _table(header, rows)
    lines += [f"## Flagged and held comments ({len(r.flagged.comments)} of {_n(r.flagged)})", ""]
    for c in r.flagged.comments:
        lines += _comment(c, full=True)
    return [*lines, ""]


def _people(r: Report) -> list[str]:
    v = r.votes
    lines = ["## Most voted vs most toxic", ""]
    corr = "\u2013" if v.correlation.spearman is None else f"{v.correlation.spearman:.2f}"
    lines += [f"Rank correlation of votes and TOXICITY: {corr} ({_n(v.correlation)}).", ""]
    lines += [f"### Most voted (of {_n(v.most_voted)})", ""]
    lines += [line for c in v.most_voted.comments for line in _comment(c)] or ["The source shows no votes."]
    lines += ["", f"### Most toxic (of {_n(v.most_toxic)})", ""]
    lines += [line for c in v.most_toxic.comments for line in _comment(c)]
    lines += ["", "## Replies", "", *_distribution("Comments by reply depth", r.replies.depth)]
    rows: list[tuple[object, ...]] = [
        (d.depth, f"{d.mean_toxicity:.3f}" if d.mean_toxicity is not None else "", d.flagged, _pct(d.rate), _n(d))
        for d in r.replies.toxicity_by_depth
    ]
    lines += _table(("depth", "mean TOXICITY", "flagged", "rate", "n"), rows)
    a, b = r.replies.replies_to_flagged, r.replies.replies_to_unflagged
    lines += [
        f"Flagged replies to flagged comments: {_pct(a.rate)} ({_n(a)}); to unflagged: {_pct(b.rate)} ({_n(b)}).",
        "",
    ]
    lines += [f"### Most heated sub-threads (of {_n(r.heated_subthreads)})", ""]
    rows = [
        (
            esc(s.root.author) or "anonymous",
            esc(s.root.text[:80]),
            s.size,
            s.flagged,
            f"{s.mean_toxicity:.3f}" if s.mean_toxicity is not None else "",
            _n(s),
        )
        for s in r.heated_subthreads.items
    ]
    lines += _table(("started by", "text", "comments", "flagged", "mean TOXICITY", "scored"), rows)
    return lines


def _time_and_authors(r: Report) -> list[str]:
    lines = ["## Activity over time", ""]
    if r.activity is None:
        lines += ["No timestamps.", ""]
    else:
        t = r.activity
        buckets = [(b.start.isoformat(), b.comments, b.flagged) for b in t.buckets if b.comments]
        lines += [f"Comments per {t.unit} ({_n(t)}, {t.undated} undated; empty {t.unit}s left out):", ""]
        lines += _table((t.unit, "comments", "flagged"), buckets)
    lines += [f"## Authors with the highest flag rates ({_n(r.authors)} with ≥ {r.authors.min_comments} comments)", ""]
    rows = [(esc(a.author), a.n, a.flagged, _pct(a.rate), a.held) for a in r.authors.authors]
    lines += _table(("author", "comments", "flagged", "rate", "held"), rows) if rows else ["None.", ""]
    return lines


def to_markdown(report: Report) -> str:
    parts = _header(report) + _opinion(report) + _toxicity(report) + _people(report) + _time_and_authors(report)
    defined = words.definitions(report.flag_threshold)
    meanings = " ".join(f"{word.capitalize()}: {meaning}." for word, meaning in defined.items())
    provenance = f"Generated {report.generated_at.isoformat()} · schema v{report.schema_version}"
    provenance += f" · model {esc(', '.join(report.models))}" if report.models else ""
    provenance += f" · policy {', '.join(report.decisions.policies)}" if report.decisions.policies else ""
    note = f"Every figure names its denominator n; n < {report.small_sample_below} is a small sample. {meanings}"
    return "\n".join([*parts, note, "", provenance]) + "\n"
