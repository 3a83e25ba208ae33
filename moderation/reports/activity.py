"""Figures of people and time: activity per time bucket, authors' flag rates, votes against toxicity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from moderation.reports.document import (
    AuthorRate,
    Authors,
    Correlation,
    TimeBucket,
    Timeline,
    TopComments,
    VotesVsToxicity,
)
from moderation.reports.figures import Item, mean, ratio, ref, small

MAX_BUCKETS = 120
Unit = Literal["hour", "day", "week", "month", "year"]
UNITS: tuple[Unit, ...] = ("hour", "day", "week", "month", "year")


def _floor(moment: datetime, unit: Unit) -> datetime:
    hour = moment.replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        return hour
    day = hour.replace(hour=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())  # 0001-01-01 is a Monday: never before the calendar
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next(moment: datetime, unit: Unit) -> datetime | None:
    """The start of the next bucket; None past the calendar's last year (9999)."""
    try:
        if unit == "year":
            return moment.replace(year=moment.year + 1)
        if unit == "month":
            return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
        return moment + {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[unit]
    except (ValueError, OverflowError):
        return None


def _starts(first: datetime, last: datetime, unit: Unit, cap: int | None = None) -> list[datetime]:
    """Bucket starts from ``first`` to ``last``; with ``cap``, stops once past that many."""
    starts: list[datetime] = []
    current: datetime | None = _floor(first, unit)
    while current is not None and current <= last and (cap is None or len(starts) <= cap):
        starts.append(current)
        current = _next(current, unit)
    return starts


def timeline(items: Sequence[Item]) -> Timeline | None:
    """Comments per bucket from the first to the last timestamp, empty buckets included; the unit is the
    finest of hour, day, week, month and year that needs at most 120 buckets.

    Published dates are plausible (from 1990 to now, ``moderation.thread.plausible_date``), so years always do;
    should a caller hand in wider ones, the years without comments are left out, so a timeline never has
    more buckets than comments, nor more than 120 unless its comments are spread over more than 120 years."""
    dated = [(moment, item) for item in items if (moment := item.published) is not None]
    if not dated:
        return None
    first, last = min(m for m, _ in dated), max(m for m, _ in dated)
    unit: Unit = next((u for u in UNITS if len(_starts(first, last, u, MAX_BUCKETS)) <= MAX_BUCKETS), "year")
    groups: dict[datetime, list[Item]] = defaultdict(list)
    for moment, item in dated:
        groups[_floor(moment, unit)].append(item)
    starts = _starts(first, last, unit, MAX_BUCKETS)
    if len(starts) > MAX_BUCKETS:
        starts = sorted(groups)
    buckets = []
    for start in starts:
        group = groups.get(start, [])
        buckets.append(
            TimeBucket(
                start=start,
                comments=len(group),
                flagged=sum(item.flagged for item in group),
                mean_toxicity=mean(t for item in group if (t := item.toxicity) is not None),
            )
        )
    return Timeline(
        n=len(dated),
        small_sample=small(len(dated)),
        unit=unit,
        undated=len(items) - len(dated),
        first=first,
        last=last,
        buckets=buckets,
    )


def authors(items: Sequence[Item], *, min_comments: int, top: int) -> Authors:
    """Of the authors with at least ``min_comments`` scored comments, those with a flagged or held comment,
    highest flag rate first (then most flagged). A placeholder for anonymity ("Guest") is no author."""
    by_author: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.author and item.scores is not None:
            by_author[item.author].append(item)
    rates = []
    for name, group in by_author.items():
        if len(group) < min_comments:
            continue
        flagged = sum(item.flagged for item in group)
        rates.append(
            AuthorRate(
                n=len(group),
                small_sample=small(len(group)),
                author=name,
                flagged=flagged,
                rate=ratio(flagged, len(group)),
                held=sum(item.held for item in group),
            )
        )
    shown = sorted((a for a in rates if a.flagged or a.held), key=lambda a: (-a.rate, -a.flagged, -a.n, a.author))
    return Authors(n=len(rates), small_sample=small(len(rates)), min_comments=min_comments, authors=shown[:top])


def _vote_score(item: Item) -> int | None:
    votes = item.comment.votes
    if votes.score is not None:
        return votes.score
    if votes.up is not None or votes.down is not None:
        return (votes.up or 0) - (votes.down or 0)
    return None


def _ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks, ties given their average rank."""
    array = np.asarray(values, dtype=float)
    order = array.argsort(kind="stable")
    ranks = np.empty(len(array))
    ranks[order] = np.arange(1, len(array) + 1)
    for value in np.unique(array):
        tied = array == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> Correlation:
    n = len(xs)
    value: float | None = None
    if n >= 3 and len(set(xs)) > 1 and len(set(ys)) > 1:
        value = round(float(np.corrcoef(_ranks(xs), _ranks(ys))[0, 1]), 4)
    return Correlation(n=n, small_sample=small(n), spearman=value)


def votes_vs_toxicity(items: Sequence[Item], top: int) -> VotesVsToxicity:
    voted = [(score, item) for item in items if (score := _vote_score(item)) is not None]
    scored = [(t, item) for item in items if (t := item.toxicity) is not None]
    voted.sort(key=lambda pair: (-pair[0], pair[1].thread, pair[1].comment.position))
    scored.sort(key=lambda pair: (-pair[0], pair[1].thread, pair[1].comment.position))
    most_voted, most_toxic = [item for _, item in voted[:top]], [item for _, item in scored[:top]]
    both = [
        (float(s), t) for item in items if (s := _vote_score(item)) is not None and (t := item.toxicity) is not None
    ]
    keys = {(item.thread, item.comment.id) for item in most_voted}
    return VotesVsToxicity(
        most_voted=TopComments(
            n=len(voted), small_sample=small(len(voted)), ranked_by="vote score", comments=[ref(i) for i in most_voted]
        ),
        most_toxic=TopComments(
            n=len(scored), small_sample=small(len(scored)), ranked_by="TOXICITY", comments=[ref(i) for i in most_toxic]
        ),
        in_both=sum((item.thread, item.comment.id) in keys for item in most_toxic),
        correlation=spearman([s for s, _ in both], [t for _, t in both]),
    )
