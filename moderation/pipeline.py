"""The main job: extract a thread, score every comment toward its article, store both with their languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from moderation.actions import ACTIONS
from moderation.decisions import apply_policy, decided_by_moderator
from moderation.errors import LimitError, NotAllowedError
from moderation.language import with_languages
from moderation.policy import Decision, Policy
from moderation.scores import CommentScorer, CommentScores, Progress
from moderation.storage import limits, repository, transaction
from moderation.storage.db import give_way
from moderation.storage.limits import MAX_THREAD_COMMENTS, PART_COMMENTS
from moderation.storage.tables import CommentRow, ThreadRow
from moderation.thread import Thread


@dataclass(frozen=True)
class Analysis:
    """A stored thread with its scores and the policy's decisions, in comment order."""

    thread_id: int
    thread: Thread
    scores: list[CommentScores]
    decisions: list[Decision]


def score_thread(
    scorer: CommentScorer, thread: Thread, *, batch_size: int = 32, progress: Progress | None = None
) -> list[CommentScores]:
    """Score each comment in its language (the thread's, else detected); stance is toward the article's title."""
    target = thread.stance_target
    return scorer.predict(
        [c.text for c in thread.comments],
        [target] * len(thread.comments),
        languages=[c.language for c in thread.comments],
        batch_size=batch_size,
        progress=progress,
    )


def analyze(
    session: Session,
    scorer: CommentScorer,
    thread: Thread,
    *,
    policy: Policy | None = None,
    actor: str = "operator",
    batch_size: int = 32,
    progress: Progress | None = None,
) -> Analysis:
    """Score the thread first, then store it with the policy's decisions (the default policy unless
    given) and an audit entry, so a scoring failure stores nothing half-done."""
    thread = with_languages(thread)
    scores = score_thread(scorer, thread, batch_size=batch_size, progress=progress)
    return store(session, thread, scores, model=scorer.name, policy=policy, actor=actor)


def store(
    session: Session,
    thread: Thread,
    scores: Sequence[CommentScores],
    *,
    model: str,
    policy: Policy | None = None,
    actor: str = "operator",
    overwrite_decided: bool = True,
    max_comments: int = MAX_THREAD_COMMENTS,
) -> Analysis:
    """Store a thread already scored (``scores`` in comment order, by the scorer named ``model``) with
    each comment's and the article's language (detected where the thread gives none), the policy's
    decisions and an audit entry: :func:`analyze` without the scoring, for callers that score
    elsewhere (the service scores through its micro-batcher). In the caller's transaction; see
    :func:`store_all` for imports too large for one.

    Refused before anything is written: a value the database cannot hold (:class:`InputError` naming it),
    a thread that would hold more than ``max_comments`` comments (:class:`LimitError`), and, unless
    ``overwrite_decided``, a new text for a comment a moderator decided (:class:`NotAllowedError`). A
    changed text is re-decided and audited (:func:`~moderation.decisions.apply_policy`).
    """
    how = _How(model, policy or Policy.default(), actor, overwrite_decided, max_comments)
    ((thread, scores),) = _prepared([thread], scores)
    return _store_thread(session, thread, scores, how)


def store_all(
    engine: Engine,
    threads: Sequence[Thread],
    scores: Sequence[CommentScores],
    *,
    model: str,
    policy: Policy | None = None,
    actor: str = "operator",
    overwrite_decided: bool = True,
    max_comments: int = MAX_THREAD_COMMENTS,
    part_comments: int = PART_COMMENTS,
) -> list[Analysis]:
    """Store threads already scored (``scores``: every comment's, thread after thread) as :func:`store`
    does, each transaction on ``engine`` its own.

    Threads holding at most ``part_comments`` comments together are stored in one transaction, all or
    none. A larger import is stored ``part_comments`` comments at a time, each part committed, with a
    pause between parts on SQLite (:func:`~moderation.storage.db.give_way`): SQLite has one writer at a
    time, and a moderator's decision must not wait for (and time out behind) a whole 15,000-comment
    import. What :func:`store` refuses is refused before the first part; if a later part
    fails, the parts before it stay stored, and storing the thread again completes it (nothing is
    duplicated).
    """
    how = _How(model, policy or Policy.default(), actor, overwrite_decided, max_comments)
    pairs = _prepared(threads, scores)
    if sum(len(thread.comments) for thread, _ in pairs) <= part_comments:
        with transaction(engine) as session:
            return [_store_thread(session, thread, part, how) for thread, part in pairs]
    with transaction(engine) as session:
        for thread, _ in pairs:
            _check(session, thread, max_comments, overwrite_decided)
    stored = []
    for index, (thread, part) in enumerate(pairs):
        if index:
            give_way(engine)
        stored.append(_store_in_parts(engine, thread, part, how, part_comments))
    return stored


def check_store(
    session: Session, threads: Sequence[Thread], *, overwrite_decided: bool, max_comments: int = MAX_THREAD_COMMENTS
) -> None:
    """Refuse, before anything is scored, what :func:`store` would refuse once it was: values the database
    cannot hold, a thread passing ``max_comments``, a moderator's decided text overwritten without
    ``overwrite_decided``. Reads only."""
    limits.check_threads(threads)
    for thread in threads:
        _check(session, thread, max_comments, overwrite_decided)


@dataclass(frozen=True)
class _How:
    """How :func:`store` and :func:`store_all` store (their keyword arguments)."""

    model: str
    policy: Policy
    actor: str
    overwrite_decided: bool
    max_comments: int


def _prepared(threads: Sequence[Thread], scores: Sequence[CommentScores]) -> list[tuple[Thread, list[CommentScores]]]:
    """Each thread with its languages and its own scores, once the database is known to hold its values."""
    threads = [with_languages(thread) for thread in threads]
    if len(scores) != sum(len(thread.comments) for thread in threads):
        raise ValueError("one score per comment is required")
    limits.check_threads(threads)
    pairs, start = [], 0
    for thread in threads:
        pairs.append((thread, list(scores[start : start + len(thread.comments)])))
        start += len(thread.comments)
    return pairs


def _check(
    session: Session,
    thread: Thread,
    max_comments: int,
    overwrite_decided: bool,
    stored: tuple[int, Mapping[str, CommentRow]] | None = None,
) -> None:
    """The thread's size after this import, and who may change a decided comment's text; ``stored``: the
    thread's id and the rows of its comments among the thread's, when the caller has them."""
    rows: Mapping[str, CommentRow] = {}
    if stored is None:
        thread_id = repository.find_thread_id(session, thread.key())
        if thread_id is not None:
            rows = repository.stored_comments(session, thread_id, [comment.id for comment in thread.comments])
    else:
        thread_id, rows = stored
    held = repository.count_comments(session, thread_id) if thread_id is not None else 0
    total = held + sum(comment.id not in rows for comment in thread.comments)
    if total > max_comments:
        raise LimitError(
            f"thread {thread.key()!r} would hold {total:,} comments; a thread holds at most {max_comments:,}"
        )
    if not overwrite_decided:
        changed = [
            comment.id
            for comment in thread.comments
            if (row := rows.get(comment.id)) is not None and row.text != comment.text and decided_by_moderator(row)
        ]
        if changed:
            raise NotAllowedError(
                f"the text of comment(s) {', '.join(map(repr, changed[:5]))} differs from the text a moderator "
                "decided; replacing it (and sending the comment back to review) needs the 'moderate' scope"
            )


def _store_part(
    session: Session, thread: Thread, scores: list[CommentScores], how: _How, key: str
) -> tuple[ThreadRow, list[Decision]]:
    """Store ``thread``'s comments (all, or one part) in the transaction; rows locked as they are read."""
    thread_row = repository.save_thread_row(session, thread, key=key)
    stored = repository.stored_comments(session, thread_row.id, [c.id for c in thread.comments], lock=True)
    _check(session, thread, how.max_comments, how.overwrite_decided, (thread_row.id, stored))
    old_texts = {
        row.id: row.text for comment in thread.comments if (row := stored.get(comment.id)) and row.text != comment.text
    }
    rows = repository.save_comments(session, thread_row, thread.comments, stored)
    repository.score_comments(session, rows, scores, how.model, new_text=old_texts.keys())
    decisions = apply_policy(
        session, how.policy, thread_row, thread, scores, rows=rows, old_texts=old_texts, actor=how.actor
    )
    return thread_row, decisions


def _store_thread(session: Session, thread: Thread, scores: list[CommentScores], how: _How) -> Analysis:
    row, decisions = _store_part(session, thread, scores, how, thread.key())
    _audit_stored(session, row, len(thread.comments), how, decisions)
    return Analysis(row.id, thread, scores, decisions)


def _store_in_parts(
    engine: Engine, thread: Thread, scores: list[CommentScores], how: _How, part_comments: int
) -> Analysis:
    decisions: list[Decision] = []
    key, thread_id, count = thread.key(), 0, len(thread.comments)
    for start in range(0, max(count, 1), part_comments):
        if start:
            give_way(engine)  # a moderator's decision waiting for SQLite's write lock gets it now
        part = thread.model_copy(update={"comments": thread.comments[start : start + part_comments]})
        with transaction(engine) as session:
            row, made = _store_part(session, part, scores[start : start + part_comments], how, key)
            decisions += made
            if start + part_comments >= count:
                _audit_stored(session, row, count, how, decisions)
            thread_id = row.id
    return Analysis(thread_id, thread, scores, decisions)


def _audit_stored(session: Session, row: ThreadRow, comments: int, how: _How, decisions: list[Decision]) -> None:
    repository.append_audit(
        session,
        "thread.stored",
        actor=how.actor,
        subject_type="thread",
        subject_id=row.id,
        payload={
            "key": row.key,
            "comments": comments,
            "model": how.model,
            "policy": how.policy.digest,
            "decisions": {action: sum(d.action == action for d in decisions) for action in ACTIONS},
        },
    )
