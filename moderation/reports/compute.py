"""``report_for_threads``: a :class:`Report` from threads with their scores and decisions, in memory.

Where a thread comes without decisions, the policy (the packaged default unless given) decides its
scored comments from their scores, as the pipeline would, without storing anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from moderation.actions import ACTIONS
from moderation.errors import InputError
from moderation.language import UNDETERMINED
from moderation.policy import Decision, Policy, Thresholds, decide
from moderation.reports import activity, structure
from moderation.reports.document import (
    FLAG_THRESHOLD,
    SMALL_SAMPLE,
    AttributeSummary,
    CommentRecord,
    Counts,
    DecisionSummary,
    Distribution,
    ReasonCount,
    Report,
    Scope,
    ThreadSummary,
    TopComments,
)
from moderation.reports.figures import Item, distribution, histogram, mean, ratio, ref, small, utc
from moderation.reports.titles import not_argumentative
from moderation.scores import TASK_LABELS, CommentScores
from moderation.thread import Thread

_SEVERITY = {"reject": 2, "review": 1}


@dataclass(frozen=True)
class ThreadData:
    """One thread's inputs: scores (None for an unscored comment) and decisions in comment order.

    ``decisions`` None: the policy decides in memory. ``decided_by`` names who made each stored
    decision ("policy" or a moderator); ``thread_id`` is the stored thread's id, if stored.
    """

    thread: Thread
    scores: Sequence[CommentScores | None]
    decisions: Sequence[Decision | None] | None = None
    thread_id: int | None = None
    decided_by: Sequence[str | None] | None = None


ThreadInput = ThreadData | tuple[Thread, Sequence[CommentScores | None], Sequence[Decision | None] | None]


def as_moment(value: date | datetime | None) -> datetime | None:
    """A date as its midnight, any time in UTC (one without a zone read as UTC)."""
    if value is None or isinstance(value, datetime):
        return utc(value) if value is not None else None
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def parse_moment(text: str | None, name: str = "time") -> datetime | None:
    """An ISO 8601 date (its midnight) or date and time ('Z' or an offset; UTC when it has none)."""
    if text is None:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return as_moment(date.fromisoformat(value))
        return as_moment(datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value))
    except ValueError:
        raise InputError(f"{name}: {text!r} is not an ISO date (2024-05-01) or time (2024-05-01T12:00Z)") from None


def report_for_threads(
    items: Iterable[ThreadInput],
    *,
    title: str | None = None,
    policy: Policy | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    scope: Scope | None = None,
    models: Sequence[str] = (),
    top: int = 10,
    min_author_comments: int = 3,
) -> Report:
    """The report over ``items`` (``(thread, scores, decisions)`` or :class:`ThreadData`), counting only
    comments published in [since, until) when either is given (undated comments are then left out)."""
    start, end = as_moment(since), as_moment(until)
    if start is not None and end is not None and start >= end:
        raise InputError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    data = [item if isinstance(item, ThreadData) else ThreadData(*item) for item in items]
    scope = scope or Scope(kind="thread" if len(data) == 1 else "threads")
    scope = scope.model_copy(update={"since": start, "until": end})
    comments: list[Item] = []
    summaries: list[ThreadSummary] = []
    orphans = 0
    for index, thread_data in enumerate(data):
        in_scope = [c for c in _items(index, thread_data, policy) if _within(c, start, end)]
        comments += in_scope
        orphans += sum(c.comment.parent is None and c.comment.parent_source_id is not None for c in in_scope)
        summaries.append(_summary(index, thread_data, len(in_scope)))
    return _assemble(comments, summaries, orphans, title, scope, models, top, min_author_comments, policy)


def _assemble(
    comments: list[Item],
    summaries: list[ThreadSummary],
    orphans: int,
    title: str | None,
    scope: Scope,
    models: Sequence[str],
    top: int,
    min_author_comments: int,
    policy: Policy | None,
) -> Report:
    scored = [c for c in comments if c.scores is not None]
    decisions = _decisions(comments)
    return Report(
        title=title or _title(summaries),
        generated_at=datetime.now(timezone.utc).replace(microsecond=0),
        scope=scope,
        models=list(models),
        flag_threshold=FLAG_THRESHOLD,
        small_sample_below=SMALL_SAMPLE,
        threads=summaries,
        counts=_counts(comments, summaries, decisions),
        languages=_languages(comments),
        sentiment=distribution(TASK_LABELS["sentiment"], (c.scores.sentiment.label for c in scored if c.scores)),
        stance=distribution(
            TASK_LABELS["stance"], (c.scores.stance.label for c in scored if c.scores and c.scores.stance)
        ),
        stance_by_depth=structure.stance_by_depth(comments),
        stance_transitions=structure.stance_transitions(comments),
        attributes=_attributes(scored, _thresholds(policy, decisions)),
        decisions=decisions,
        flagged=_flagged(comments, top),
        votes=activity.votes_vs_toxicity(comments, min(top, 5)),
        replies=structure.reply_structure(comments, orphans),
        heated_subthreads=structure.heated_subthreads(comments, min(top, 5)),
        activity=activity.timeline(comments),
        authors=activity.authors(comments, min_comments=min_author_comments, top=top),
        comments=[_record(c) for c in comments],
    )


def _items(index: int, data: ThreadData, policy: Policy | None) -> list[Item]:
    thread = data.thread
    count = len(thread.comments)
    if len(data.scores) != count:
        raise InputError(f"thread {thread.key()!r}: {len(data.scores)} scores for {count} comments")
    decisions: Sequence[Decision | None]
    decided_by: Sequence[str | None]
    if data.decisions is None:
        policy = policy or Policy.default()
        key = thread.key()
        decisions = [
            decide(policy, c.text, _attribute_scores(s), thread_key=key) if s is not None else None
            for c, s in zip(thread.comments, data.scores, strict=True)
        ]
        decided_by = ["policy" if d is not None else None for d in decisions]
    else:
        decisions = data.decisions
        decided_by = data.decided_by or ["policy" if d is not None else None for d in decisions]
    if len(decisions) != count or len(decided_by) != count:
        raise InputError(f"thread {thread.key()!r}: decisions do not match its {count} comments")
    places = structure.tree(thread)
    return [
        Item(index, c, places[c.id][0], places[c.id][1], s, d, by)
        for c, s, d, by in zip(thread.comments, data.scores, decisions, decided_by, strict=True)
    ]


def _attribute_scores(scores: CommentScores) -> dict[str, float]:
    values = dict(scores.attributes)
    values.setdefault("TOXICITY", scores.toxicity.probabilities.get("toxic", 0.0))
    return values


def _within(item: Item, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    moment = item.published
    return moment is not None and (start is None or moment >= start) and (end is None or moment < end)


def _summary(index: int, data: ThreadData, comments: int) -> ThreadSummary:
    thread = data.thread
    return ThreadSummary(
        index=index,
        thread_id=data.thread_id,
        key=thread.key(),
        title=thread.article.title,
        url=thread.article.url,
        published=thread.article.published,
        source_format=thread.source_format,
        language=thread.article.language,
        not_argumentative=not_argumentative(thread.article.title),
        comments=comments,
        announced_comments=thread.announced_comments,
        excluded=len(thread.excluded),
    )


def _title(summaries: Sequence[ThreadSummary]) -> str:
    if len(summaries) == 1:
        return summaries[0].title or summaries[0].key
    return f"{len(summaries)} threads"


def _counts(comments: Sequence[Item], summaries: Sequence[ThreadSummary], decisions: DecisionSummary) -> Counts:
    top_level = sum(c.depth == 0 for c in comments)
    return Counts(
        threads=len(summaries),
        comments=len(comments),
        scored=sum(c.scores is not None for c in comments),
        authors=len({c.author for c in comments if c.author}),
        anonymous=sum(not c.author for c in comments),
        top_level=top_level,
        replies=len(comments) - top_level,
        excluded=sum(s.excluded for s in summaries),
        undated=sum(c.comment.published is None for c in comments),
        flagged=sum(c.flagged for c in comments),
        held=sum(c.held for c in comments),
        reviewed=decisions.by_moderator,
    )


def _languages(comments: Sequence[Item]) -> Distribution:
    """Comments by language, most frequent first (then by code), and those without one last."""
    observed = [c.comment.language or UNDETERMINED for c in comments]
    counts = Counter(observed)
    order = sorted((code for code in counts if code != UNDETERMINED), key=lambda code: (-counts[code], code))
    return distribution([*order, UNDETERMINED], observed)


def _thresholds(policy: Policy | None, decisions: DecisionSummary) -> dict[str, Thresholds]:
    """The thresholds of the policy that decided every comment (``policy``, else the packaged default, when
    the decisions carry its digest and no other); none when another or several policies decided."""
    deciding = policy or Policy.default()
    if decisions.policies != [deciding.digest]:
        return {}
    return {str(name): limits for name, limits in deciding.thresholds.items()}


def _attributes(scored: Sequence[Item], thresholds: dict[str, Thresholds]) -> list[AttributeSummary]:
    """Each attribute any comment has: TOXICITY first, then by name, with the deciding policy's thresholds."""
    names = sorted({name for c in scored for name in c.attributes}, key=lambda name: (name != "TOXICITY", name))
    experimental = {name for c in scored if c.scores for name in c.scores.experimental}
    summaries = []
    for name in names:
        values = [value for c in scored if (value := c.attributes.get(name)) is not None]
        flagged = sum(value >= FLAG_THRESHOLD for value in values)
        summaries.append(
            AttributeSummary(
                n=len(values),
                small_sample=small(len(values)),
                name=name,
                experimental=name in experimental,
                flagged=flagged,
                rate=ratio(flagged, len(values)),
                mean=mean(values),
                max=max(values, default=None),
                histogram=histogram(values),
                review=thresholds[name].review if name in thresholds else None,
                reject=thresholds[name].reject if name in thresholds else None,
            )
        )
    return summaries


def _decisions(comments: Sequence[Item]) -> DecisionSummary:
    decided = [(c, c.decision) for c in comments if c.decision is not None]
    reasons: Counter[tuple[str, str | None]] = Counter()
    for _, decision in decided:
        # A rule counts once per comment, however often it matched there.
        reasons.update({(reason.code, reason.attribute) for reason in decision.reasons})
    ordered = sorted(reasons.items(), key=lambda pair: (-pair[1], pair[0][0], pair[0][1] or ""))
    return DecisionSummary(
        actions=distribution(ACTIONS, (decision.action for _, decision in decided)),
        undecided=len(comments) - len(decided),
        by_moderator=sum(c.decided_by not in (None, "policy") for c, _ in decided),
        reasons=[
            ReasonCount(code=code, attribute=attribute, count=count, share=ratio(count, len(decided)))
            for (code, attribute), count in ordered
        ],
        policies=sorted({decision.policy_digest for _, decision in decided if decision.policy_digest}),
    )


def _flagged(comments: Sequence[Item], top: int) -> TopComments:
    """Comments flagged by a score or held by a decision: rejected first, then review, then by top score
    (of the production attributes: an experimental one never flags)."""
    candidates = [c for c in comments if c.flagged or c.held]
    candidates.sort(
        key=lambda c: (
            -_SEVERITY.get(c.decision.action if c.decision else "", 0),
            -(c.top[1] if c.top else 0.0),
            c.thread,
            c.comment.position,
        )
    )
    return TopComments(
        n=len(candidates),
        small_sample=small(len(candidates)),
        ranked_by="decision (reject, then review), then the highest production attribute score",
        comments=[ref(c, with_highlights=True) for c in candidates[:top]],
    )


def _record(item: Item) -> CommentRecord:
    scores, decision = item.scores, item.decision
    return CommentRecord(
        thread=item.thread,
        id=item.comment.id,
        parent=item.comment.parent,
        depth=item.depth,
        author=item.comment.author,
        published=item.comment.published,
        votes=item.comment.votes,
        text=item.comment.text,
        language=item.comment.language,
        language_confidence=item.comment.language_confidence,
        sentiment=scores.sentiment if scores else None,
        stance=scores.stance if scores else None,
        attributes=item.attributes,
        flagged=item.flagged,
        decision=decision.action if decision else None,
        decided_by=item.decided_by,
        reasons=list(decision.reasons) if decision else [],
    )


__all__ = ["ThreadData", "ThreadInput", "as_moment", "parse_moment", "report_for_threads"]
