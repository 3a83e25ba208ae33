"""Inline SVG charts drawn from a report's numbers: no script, no external asset, every label escaped.

Each function returns markup for the HTML template: an ``<svg class="chart">`` with at least one shape,
or a short ``<p class="empty">`` when there is nothing to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from moderation.reports.document import AttributeSummary, DepthDistribution, DepthStat, Distribution, Timeline

COLORS: Mapping[str, str] = {
    "negative": "#c0392b",
    "positive": "#2e8b57",
    "against": "#d35400",
    "favor": "#2471a3",
    "neutral": "#9aa5a8",
    "approve": "#2e8b57",
    "review": "#e0a100",
    "reject": "#c0392b",
}
DEFAULT = "#4a6fa5"
THRESHOLD_COLORS: Mapping[str, str] = {"flag": "#1d2326", "review": "#b07d00", "reject": "#c0392b"}
FLAGGED = "#c0392b"
WIDTH = 560
LABEL_W = 120
VALUE_W = 110


def _empty(message: str) -> Markup:
    return Markup('<p class="empty">{}</p>').format(message)


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, color: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" fill="{color}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def bars(dist: Distribution, label: str, *, width: int = 340) -> Markup:
    """One horizontal bar per bucket, its length the bucket's share, with count and percentage."""
    if dist.n == 0:
        return _empty(f"No data for {label.lower()}.")
    row, label_w, value_w = 24, 74, 86
    span = width - label_w - value_w
    body = []
    for i, bucket in enumerate(dist.buckets):
        y = 6 + i * row
        tip = f"{bucket.label}: {bucket.count} of {dist.n} ({bucket.share:.0%})"
        body.append(_text(label_w - 6, y + 14, bucket.label, anchor="end"))
        body.append(_rect(label_w, y + 2, 1 + bucket.share * span, 16, COLORS.get(bucket.label, DEFAULT), tip))
        body.append(_text(label_w + span + 6, y + 14, f"{bucket.count} ({bucket.share:.0%})", cls="value"))
    return _svg(width, 12 + len(dist.buckets) * row, f"{label}, n={dist.n}", body)


def stacked_by_depth(rows: Sequence[DepthDistribution], label: str) -> Markup:
    """One 100% bar per reply depth, split by stance, with the depth's n."""
    if not rows:
        return _empty("No stance scores to show by reply depth.")
    row, span = 26, WIDTH - LABEL_W - VALUE_W
    body = []
    for i, entry in enumerate(rows):
        y, x = 6 + i * row, float(LABEL_W)
        body.append(
            _text(LABEL_W - 8, y + 15, "top level" if entry.depth == 0 else f"depth {entry.depth}", anchor="end")
        )
        for bucket in entry.distribution.buckets:
            width = bucket.share * span
            tip = f"depth {entry.depth}: {bucket.label} {bucket.count} of {entry.distribution.n} ({bucket.share:.0%})"
            body.append(_rect(x, y + 2, width, 18, COLORS.get(bucket.label, DEFAULT), tip))
            x += width
        flag = " *" if entry.distribution.small_sample else ""
        body.append(_text(LABEL_W + span + 8, y + 15, f"n={entry.distribution.n}{flag}", cls="value"))
    legend = _legend([b.label for b in rows[0].distribution.buckets], 12 + len(rows) * row)
    return _svg(WIDTH, 36 + len(rows) * row, label, body + legend)


def _legend(labels: Sequence[str], y: float) -> list[str]:
    items, x = [], float(LABEL_W)
    for name in labels:
        items.append(_rect(x, y + 2, 12, 12, COLORS.get(name, DEFAULT), name))
        items.append(_text(x + 16, y + 12, name, cls="legend"))
        x += 24 + 8 * len(name)
    return items


def columns(values: Sequence[float], labels: Sequence[str], label: str, *, top: float | None = None) -> Markup:
    """Vertical columns with a label under every column (or every few when crowded)."""
    if not values:
        return _empty(f"No data for {label.lower()}.")
    height, left, bottom = 170, 40, 34
    plot_w, plot_h = WIDTH - left - 10, height - bottom - 12
    peak = top if top is not None else max(max(values), 1e-9)
    step = plot_w / len(values)
    every = max(1, round(len(values) / 12))
    body = [f'<line x1="{left}" y1="{12 + plot_h}" x2="{WIDTH - 10}" y2="{12 + plot_h}" class="axis"/>']
    body.append(_text(left - 4, 20, _number(peak), anchor="end", cls="value"))
    body.append(_text(left - 4, 12 + plot_h, "0", anchor="end", cls="value"))
    for i, (value, name) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * value / peak if peak else 0.0
        x = left + i * step
        body.append(
            _rect(x + 1, 12 + plot_h - h, max(step - 2, 1.0), max(h, 0.5), DEFAULT, f"{name}: {_number(value)}")
        )
        if i % every == 0:
            body.append(_text(x + step / 2, height - bottom + 16, name, anchor="middle", cls="tick"))
    return _svg(WIDTH, height, label, body)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def histogram(attribute: AttributeSummary, flag_threshold: float) -> Markup:
    """Comments per score bin, sized for a third of the page so its labels read at 12px: the score axis
    ticked every 0.2, each bin's count over it, and the thresholds drawn where they cut the axis (the
    flag threshold, and the deciding policy's review and reject where known; an experimental attribute
    never flags, so it has no flag line)."""
    counts = attribute.histogram.counts
    if attribute.n == 0 or not counts:
        return _empty(f"No {attribute.name} scores.")
    width, height, left, right, top, bottom = 340, 190, 34, 12, 34, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    peak, step = max(max(counts), 1), plot_w / len(counts)
    edges = attribute.histogram.edges
    body = [f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" class="axis"/>']
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        tip = f"{edges[i]:.1f}\u2013{edges[i + 1]:.1f}: {count} of {attribute.n}"
        body.append(_rect(left + i * step + 1, base - h, step - 2, max(h, 0.5), DEFAULT, tip))
        if count:
            body.append(_text(left + (i + 0.5) * step, base - h - 3, str(count), anchor="middle", cls="value"))
    for tick in range(0, 11, 2):
        body.append(_text(left + plot_w * tick / 10, base + 15, f"{tick / 10:g}", anchor="middle", cls="tick"))
    body.append(_text(width - right, base + 31, "score \u2192", anchor="end", cls="legend"))
    body.append(_text(4, 12, "comments", cls="legend"))
    body += _thresholds(attribute, flag_threshold, left, plot_w, top, base)
    return _svg(width, height, f"{attribute.name} scores, n={attribute.n}", body)


def _thresholds(
    attribute: AttributeSummary, flag_threshold: float, left: float, plot_w: float, top: float, base: float
) -> list[str]:
    """A dashed line per threshold, labelled above the plot (names sharing a value share one line)."""
    named: dict[float, list[str]] = {}
    lines = [("flag", None if attribute.experimental else flag_threshold)]
    lines += [("review", attribute.review), ("reject", attribute.reject)]
    for name, value in lines:
        if value is not None:
            named.setdefault(value, []).append(name)
    body = []
    for row, (value, names) in enumerate(sorted(named.items())):
        x = left + plot_w * value
        color = THRESHOLD_COLORS[names[-1]]
        label = f"{', '.join(names)} {value:g}"
        anchor = "end" if value > 0.75 else "start"
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4 - 12 * (row % 2)}" x2="{x:.1f}" y2="{base}" stroke="{color}" '
            f'stroke-width="1.5" stroke-dasharray="4 3" class="threshold"><title>{escape(label)}</title></line>'
        )
        offset = -3 if anchor == "end" else 3
        body.append(_text(x + offset, top - 7 - 12 * (row % 2), label, anchor=anchor, cls="threshold"))
    return body


def toxicity_by_depth(stats: Sequence[DepthStat]) -> Markup:
    labels = ["top" if s.depth == 0 else str(s.depth) for s in stats]
    values = [s.mean_toxicity or 0.0 for s in stats]
    return columns(values, labels, "Mean TOXICITY by reply depth", top=1.0)


def timeline(activity: Timeline | None, *, width: int = 1100) -> Markup:
    """Comments per bucket, the flagged part of each column in red."""
    if activity is None or not activity.buckets:
        return _empty("No timestamps: no timeline.")
    height, left, bottom = 190, 40, 34
    plot_w, plot_h = width - left - 10, height - bottom - 12
    peak = max(max(b.comments for b in activity.buckets), 1)
    step = plot_w / len(activity.buckets)
    every = max(1, round(len(activity.buckets) / 10))
    fmt = {"hour": "%d %b %H:00", "day": "%d %b %Y", "week": "%d %b %Y", "month": "%b %Y"}.get(activity.unit, "%Y")
    body = [f'<line x1="{left}" y1="{12 + plot_h}" x2="{width - 10}" y2="{12 + plot_h}" class="axis"/>']
    body.append(_text(left - 4, 20, str(peak), anchor="end", cls="value"))
    for i, bucket in enumerate(activity.buckets):
        x, h = left + i * step, plot_h * bucket.comments / peak
        red = plot_h * bucket.flagged / peak
        when = bucket.start.strftime(fmt)
        tip = f"{when}: {bucket.comments} comments, {bucket.flagged} flagged"
        body.append(_rect(x + 0.5, 12 + plot_h - h, max(step - 1, 1.0), max(h, 0.5), DEFAULT, tip))
        if bucket.flagged:
            body.append(_rect(x + 0.5, 12 + plot_h - red, max(step - 1, 1.0), red, FLAGGED, tip))
        if i % every == 0:
            body.append(_text(x + step / 2, height - bottom + 16, when, anchor="middle", cls="tick"))
    return _svg(width, height, f"Comments per {activity.unit}, n={activity.n}", body)
