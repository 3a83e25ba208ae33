"""The report's building blocks: one comment with everything a figure asks of it, and the small
constructors every figure uses (a sample's ``n``, a distribution, a rate, a histogram)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from statistics import fmean

from moderation.policy import Decision
from moderation.reports.document import (
    FLAG_THRESHOLD,
    SMALL_SAMPLE,
    CommentRef,
    Distribution,
    Highlight,
    Histogram,
    Rate,
    Share,
)
from moderation.scores import CommentScores
from moderation.thread import Comment

HELD = ("review", "reject")
#: Names platforms show for whoever posts without an account (Disqus' "Guest", Drupal's and WordPress'
#: "Anonymous", "Gast", "Anonim"...): a placeholder, not a person, so such comments count as anonymous.
ANONYMOUS_NAMES = frozenset(
    "anonymous|anonymous user|anon|anonym|anonyme|anonymus|anonim|anonimo|anónimo|anônimo|guest|gast|invité"
    "|invitado|ospite|gość|аноним|匿名|[deleted]|deleted".split("|")
)


@dataclass(frozen=True)
class Item:
    """One comment in the report's scope, with its place in the thread, scores and decision."""

    thread: int
    comment: Comment
    depth: int
    root: str  # id of the top-level comment this one hangs under (its own id at the top)
    scores: CommentScores | None
    decision: Decision | None
    decided_by: str | None

    @cached_property
    def attributes(self) -> dict[str, float]:
        """Perspective attributes; TOXICITY from the toxicity head when the scores lack it."""
        if self.scores is None:
            return {}
        values = dict(self.scores.attributes)
        values.setdefault("TOXICITY", self.scores.toxicity.probabilities.get("toxic", 0.0))
        return values

    @cached_property
    def production(self) -> dict[str, float]:
        """The attributes that may flag: every one but those the scores mark experimental (no test data
        measures them, so they are shown and never flag)."""
        experimental = set(self.scores.experimental) if self.scores is not None else set()
        return {name: value for name, value in self.attributes.items() if name not in experimental}

    @property
    def author(self) -> str | None:
        """The author's name; None without one or under a placeholder for anonymity ("Guest")."""
        return named(self.comment.author)

    @property
    def toxicity(self) -> float | None:
        return self.attributes.get("TOXICITY")

    @property
    def top(self) -> tuple[str, float] | None:
        """The production attribute with the highest score (the first in name order on a tie)."""
        attributes = self.production
        if not attributes:
            return None
        name = max(sorted(attributes), key=lambda key: attributes[key])
        return name, attributes[name]

    @property
    def flagged(self) -> bool:
        """A production attribute scores at or above the flag threshold."""
        return any(value >= FLAG_THRESHOLD for value in self.production.values())

    @property
    def held(self) -> bool:
        return self.decision is not None and self.decision.action in HELD

    @property
    def published(self) -> datetime | None:
        """The timestamp in UTC (one without a zone is read as UTC)."""
        return utc(self.comment.published) if self.comment.published is not None else None


def named(author: str | None) -> str | None:
    """``author`` unless it is empty or one of :data:`ANONYMOUS_NAMES` (whatever its case and spacing)."""
    key = " ".join((author or "").split()).casefold()
    return None if not key or key in ANONYMOUS_NAMES else author


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def small(n: int) -> bool:
    return n < SMALL_SAMPLE


def ratio(count: int, n: int) -> float:
    return round(count / n, 4) if n else 0.0


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(fmean(values), 4) if values else None


def distribution(labels: Sequence[str], observed: Iterable[str]) -> Distribution:
    """Counts of ``observed`` in the order of ``labels``; unknown labels are appended in sorted order."""
    counts = Counter(observed)
    n = sum(counts.values())
    order = list(labels) + sorted(label for label in counts if label not in labels)
    buckets = [Share(label=label, count=counts[label], share=ratio(counts[label], n)) for label in order]
    return Distribution(n=n, small_sample=small(n), buckets=buckets)


def rate(count: int, n: int) -> Rate:
    return Rate(n=n, small_sample=small(n), count=count, rate=ratio(count, n))


def histogram(values: Iterable[float], bins: int = 10) -> Histogram:
    edges = [round(i / bins, 4) for i in range(bins + 1)]
    counts = [0] * bins
    for value in values:
        counts[min(int(value * bins), bins - 1)] += 1
    return Histogram(edges=edges, counts=counts)


def highlights(item: Item) -> list[Highlight]:
    """Sentences scored at or above the flag threshold (their highest attribute) and words a policy rule
    matched, in text order."""
    found: list[Highlight] = []
    if item.scores is not None:
        for span in item.scores.spans:
            over = {name: value for name, value in span.attributes.items() if value >= FLAG_THRESHOLD}
            if over:
                name = max(sorted(over), key=lambda key: over[key])
                found.append(Highlight(begin=span.begin, end=span.end, label=name, score=over[name]))
    if item.decision is not None:
        for reason in item.decision.reasons:
            if reason.begin is not None and reason.end is not None:
                found.append(Highlight(begin=reason.begin, end=reason.end, label=reason.code))
    size = len(item.comment.text)
    return sorted((h for h in found if 0 <= h.begin < h.end <= size), key=lambda h: (h.begin, h.end, h.label))


def ref(item: Item, *, with_highlights: bool = False) -> CommentRef:
    scores, top, decision = item.scores, item.top, item.decision
    return CommentRef(
        thread=item.thread,
        id=item.comment.id,
        parent=item.comment.parent,
        depth=item.depth,
        author=item.comment.author,
        published=item.comment.published,
        votes=item.comment.votes,
        text=item.comment.text,
        language=item.comment.language,
        sentiment=scores.sentiment.label if scores else None,
        stance=scores.stance.label if scores and scores.stance else None,
        toxicity=item.toxicity,
        top_attribute=top[0] if top else None,
        top_score=top[1] if top else None,
        decision=decision.action if decision else None,
        reasons=[reason.message for reason in decision.reasons] if decision else [],
        highlights=highlights(item) if with_highlights else [],
    )
