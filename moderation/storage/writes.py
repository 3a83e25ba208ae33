"""Writing threads: the thread with its article, its comments and their scores, matched on re-import by thread key and
comment id. Functions query and flush; the caller owns the transaction. Rows read in order to write them
are locked until the transaction ends (:func:`~moderation.storage.db.lock_for_writing`), so an import and
a moderator's decision on the same comments take turns instead of overwriting each other unseen.

Import them from :mod:`moderation.storage.repository`, which re-exports this module's public names.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from moderation.scores import CommentScores
from moderation.storage.db import lock_for_writing
from moderation.storage.tables import AttributeScoreRow, CommentRow, ScoreRow, ThreadRow
from moderation.thread import Comment, Thread

#: Source ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's limits on bound parameters.
_IN_CHUNK = 1000


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def save_thread(session: Session, thread: Thread) -> ThreadRow:
    """Insert or update the thread and its comments, matched by thread key and comment id.

    Comments stored earlier but absent from this import are kept: a partial page must not
    delete what a fuller one stored.
    """
    row = save_thread_row(session, thread)
    save_comments(session, row, thread.comments, stored_comments(session, row.id, _ids(thread), lock=True))
    return row


def save_thread_row(session: Session, thread: Thread, *, key: str | None = None) -> ThreadRow:
    """Insert or update the thread's row (its article and source), matched by ``key`` (the thread's,
    unless one part of a thread is stored), locked for this transaction: imports of one thread take turns
    (PostgreSQL's row lock; SQLite's write lock, see :func:`~moderation.storage.db.lock_for_writing`)."""
    lock_for_writing(session)
    article = thread.article
    key = key or thread.key()
    row = session.scalar(
        select(ThreadRow).where(ThreadRow.key == key).with_for_update().execution_options(populate_existing=True)
    )
    if row is None:
        row = ThreadRow(key=key)
        session.add(row)
    row.url = article.url
    row.title = article.title
    row.published = _iso(article.published)
    row.published_raw = article.published_raw
    row.section = article.section
    row.byline = article.byline
    row.dateline = article.dateline
    row.credit = article.credit
    row.language = article.language
    row.captions = list(article.captions)
    row.body = list(article.body)
    row.source_format = thread.source_format
    row.announced_comments = thread.announced_comments
    row.extra = dict(thread.metadata)
    row.excluded = [item.model_dump() for item in thread.excluded]
    session.flush()
    return row


def _ids(thread: Thread) -> list[str]:
    return [comment.id for comment in thread.comments]


def stored_comments(
    session: Session, thread_id: int, source_ids: Sequence[str], *, lock: bool = False
) -> dict[str, CommentRow]:
    """The thread's stored comments among ``source_ids``, by source id, each with its decision, and with
    its scores when ``lock``: then also read afresh and locked until the transaction ends (PostgreSQL; SQLite
    holds its write lock), so a moderator's decision waits rather than being overwritten unseen."""
    rows: dict[str, CommentRow] = {}
    options = [selectinload(CommentRow.decision)]
    if lock:
        lock_for_writing(session)
        options.append(selectinload(CommentRow.scores).selectinload(ScoreRow.attribute_rows))
    for start in range(0, len(source_ids), _IN_CHUNK):
        query = (
            select(CommentRow)
            .where(CommentRow.thread_id == thread_id, CommentRow.source_id.in_(source_ids[start : start + _IN_CHUNK]))
            .order_by(CommentRow.id)  # rows are locked in id order everywhere: no deadlock
            .options(*options)
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        rows.update((row.source_id, row) for row in session.scalars(query))
    return rows


def count_comments(session: Session, thread_id: int) -> int:
    """How many comments the thread holds."""
    return int(session.scalar(select(func.count()).where(CommentRow.thread_id == thread_id)) or 0)


def save_comments(
    session: Session, thread: ThreadRow, comments: Sequence[Comment], stored: Mapping[str, CommentRow]
) -> list[CommentRow]:
    """Insert or update ``comments`` of ``thread``: ``stored`` holds those stored before, by source id
    (:func:`stored_comments`). Returns their rows in the same order."""
    rows = []
    for comment in comments:
        crow = stored.get(comment.id)
        if crow is None:  # empty collections set here are never lazy-loaded one comment at a time
            crow = CommentRow(thread_id=thread.id, source_id=comment.id, scores=[], decision=None)
            session.add(crow)
        crow.parent = comment.parent
        crow.parent_source_id = comment.parent_source_id
        crow.author = comment.author
        crow.published = comment.published
        crow.published_raw = comment.published_raw
        crow.text = comment.text
        crow.votes_up = comment.votes.up
        crow.votes_down = comment.votes.down
        crow.votes_score = comment.votes.score
        crow.position = comment.position
        crow.language = comment.language
        crow.language_confidence = comment.language_confidence
        rows.append(crow)
    session.flush()
    return rows


def save_scores(session: Session, row: ThreadRow, thread: Thread, scores: Sequence[CommentScores], model: str) -> None:
    """Store one model's scores for the thread's comments (same order), replacing earlier ones."""
    if len(scores) != len(thread.comments):
        raise ValueError("one score per comment is required")
    stored = stored_comments(session, row.id, _ids(thread), lock=True)
    score_comments(session, [stored[comment.id] for comment in thread.comments], scores, model)


def score_comments(
    session: Session,
    rows: Sequence[CommentRow],
    scores: Sequence[CommentScores],
    model: str,
    *,
    new_text: Collection[int] = (),
) -> None:
    """Store one model's scores of the comments ``rows`` (loaded by :func:`stored_comments` or just saved),
    replacing that model's earlier ones. Comments whose id is in ``new_text`` lose every other model's
    scores too: those scored a text that is gone."""
    for crow, score in zip(rows, scores, strict=True):
        if crow.id in new_text:
            for stale in [srow for srow in crow.scores if srow.model != model]:
                crow.scores.remove(stale)
        srow = next((srow for srow in crow.scores if srow.model == model), None)
        if srow is None:
            srow = ScoreRow(model=model)
            crow.scores.append(srow)
        attributes = _attribute_values(score)
        srow.sentiment = score.sentiment.label
        srow.stance = score.stance.label if score.stance else None
        srow.toxicity = attributes["TOXICITY"]
        srow.detail = score.model_dump(mode="json")
        _replace_attributes(srow, crow.id, attributes)
    session.flush()


def _attribute_values(score: CommentScores) -> dict[str, float]:
    """The Perspective attributes of one comment's scores; TOXICITY always (the toxicity head's)."""
    values = dict(score.attributes)
    values.setdefault("TOXICITY", score.toxicity.probabilities.get("toxic", 0.0))
    return values


def _replace_attributes(srow: ScoreRow, comment_id: int, values: Mapping[str, float]) -> None:
    old = {row.attribute: row for row in srow.attribute_rows}
    for name, value in values.items():
        row = old.pop(name, None)
        if row is None:
            srow.attribute_rows.append(AttributeScoreRow(attribute=name, comment_id=comment_id, value=value))
        else:
            row.value = value
    for row in old.values():
        srow.attribute_rows.remove(row)


def lock_comment(session: Session, comment_id: int) -> CommentRow | None:
    """The comment with its decision, read afresh and locked until the transaction ends (as
    :func:`stored_comments` locks them), so a decision and an import of its thread take turns."""
    lock_for_writing(session)
    query = (
        select(CommentRow)
        .where(CommentRow.id == comment_id)
        .options(selectinload(CommentRow.decision))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(query)
