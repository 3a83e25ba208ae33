"""What a thread holds, counted in SQL: comments, their languages, decisions, and its newest scores' labels and
toxicity.

One query per figure for a whole page of threads, never one per thread. Where several models
scored a comment, its newest score row counts (:func:`~moderation.storage.tables.newest_score_ids`).
Functions only query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from moderation.actions import ACTIONS
from moderation.language import UNDETERMINED
from moderation.scores import TASK_LABELS
from moderation.storage.tables import CommentRow, DecisionRow, ScoreRow, newest_score_ids

__all__ = ["ThreadCounts", "thread_counts"]


@dataclass(frozen=True)
class ThreadCounts:
    """One thread's figures; label and decision counts name every value, zeros included."""

    comments: int = 0
    scored: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    sentiment: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_LABELS["sentiment"], 0))
    stance: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_LABELS["stance"], 0))
    mean_toxicity: float | None = None
    max_toxicity: float | None = None
    #: Comments by language (ISO 639-1), most first (then by code), ``"und"`` (none detected) last; only those present.
    languages: dict[str, int] = field(default_factory=dict)

    @property
    def undecided(self) -> int:
        return self.comments - sum(self.decisions.values())


def thread_counts(session: Session, thread_ids: Sequence[int]) -> dict[int, ThreadCounts]:
    """Figures of each thread in ``thread_ids`` (zeros for one without comments or unknown)."""
    ids = list(dict.fromkeys(thread_ids))
    if not ids:
        return {}
    in_ids = CommentRow.thread_id.in_(ids)
    comments: dict[int, int] = {
        thread_id: count
        for thread_id, count in session.execute(
            select(CommentRow.thread_id, func.count()).where(in_ids).group_by(CommentRow.thread_id)
        )
    }
    languages: dict[int, dict[str, int]] = {}
    for thread_id, language, count in session.execute(
        select(CommentRow.thread_id, CommentRow.language, func.count())
        .where(in_ids)
        .group_by(CommentRow.thread_id, CommentRow.language)
    ):
        languages.setdefault(thread_id, {})[language or UNDETERMINED] = count
    decisions = _grouped(session, DecisionRow.decision, in_ids, join_decisions=True)
    is_newest = ScoreRow.id.in_(newest_score_ids(in_ids).scalar_subquery())
    sentiment = _grouped(session, ScoreRow.sentiment, is_newest)
    stance = _grouped(session, ScoreRow.stance, is_newest)
    toxicity = {
        thread_id: (scored, mean, top)
        for thread_id, scored, mean, top in session.execute(
            select(CommentRow.thread_id, func.count(), func.avg(ScoreRow.toxicity), func.max(ScoreRow.toxicity))
            .join(ScoreRow, ScoreRow.comment_id == CommentRow.id)
            .where(is_newest)
            .group_by(CommentRow.thread_id)
        )
    }
    result = {}
    for thread_id in ids:
        scored, mean, top = toxicity.get(thread_id, (0, None, None))
        empty = ThreadCounts()
        result[thread_id] = ThreadCounts(
            comments=comments.get(thread_id, 0),
            scored=scored,
            decisions={**empty.decisions, **decisions.get(thread_id, {})},
            sentiment={**empty.sentiment, **sentiment.get(thread_id, {})},
            stance={**empty.stance, **stance.get(thread_id, {})},
            mean_toxicity=round(float(mean), 6) if mean is not None else None,
            max_toxicity=round(float(top), 6) if top is not None else None,
            languages=_by_frequency(languages.get(thread_id, {})),
        )
    return result


def _by_frequency(counts: dict[str, int]) -> dict[str, int]:
    """Languages most frequent first, then by code; undetermined last."""
    order = sorted((code for code in counts if code != UNDETERMINED), key=lambda code: (-counts[code], code))
    return {code: counts[code] for code in [*order, UNDETERMINED] if code in counts}


def _grouped(
    session: Session,
    column: InstrumentedAttribute[Any],
    condition: ColumnElement[bool],
    *,
    join_decisions: bool = False,
) -> dict[int, dict[str, int]]:
    """``{thread_id: {value: count}}`` of ``column`` over comments joined to their decision or score."""
    table, on = (DecisionRow, DecisionRow.comment_id) if join_decisions else (ScoreRow, ScoreRow.comment_id)
    query = (
        select(CommentRow.thread_id, column, func.count())
        .join(table, on == CommentRow.id)
        .where(condition)
        .group_by(CommentRow.thread_id, column)
    )
    grouped: dict[int, dict[str, int]] = {}
    for thread_id, value, count in session.execute(query):
        if value is not None:
            grouped.setdefault(thread_id, {})[value] = count
    return grouped
