"""The thread side of :func:`~moderation.scale.analyze_corpus`: threads' comments in as rows for a
runner, each thread stored with the policy's decisions as soon as its scores are back, and the check
that lets a rerun skip a thread stored unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from moderation.scale.outputs import _by_file
from moderation.scores import CommentScores

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from moderation.pipeline import Analysis
    from moderation.policy import Policy
    from moderation.thread import Thread


def _comment_rows(threads: Sequence[Thread], chunk_rows: int) -> list[pa.Table]:
    """Every comment as a row toward its article's title (as :func:`~moderation.pipeline.score_thread`)."""
    rows = [(i, c.id, c.text, t.stance_target) for i, t in enumerate(threads) for c in t.comments]
    schema = pa.schema({"_file": pa.int32(), "id": pa.string(), "text": pa.string(), "target": pa.string()})
    parts = [rows[start : start + chunk_rows] for start in range(0, len(rows), chunk_rows)]
    return [pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in part], schema) for part in parts]


def _stored_unchanged(session: Session, thread: Thread, model_name: Callable[[], str], policy: Policy) -> bool:
    from moderation.language import with_languages
    from moderation.storage import repository

    thread_id = repository.find_thread_id(session, thread.key())
    # Stored threads carry the languages detected when they were stored.
    if thread_id is None or repository.load_thread(session, thread_id) != with_languages(thread):
        return False
    scored = repository.comment_scores(session, thread_id, model=model_name())
    undecided = repository.comments_to_decide(session, policy.digest, thread_id=thread_id, limit=1)
    return all(c.id in scored for c in thread.comments) and not undecided


def _store_threads(
    threads: Sequence[Thread],
    tables: Iterable[pa.Table],
    database: Engine,
    policy: Policy,
    model_name: Callable[[], str],
) -> list[Analysis]:
    """Store each thread, in its own transaction (parts of a large one, ``pipeline.store_all``), as soon as
    its last comment's scores arrive."""
    from moderation.pipeline import store_all

    stored: list[Analysis] = []
    scores: list[tuple[str, CommentScores]] = []  # the next thread's, as they arrive
    model: str | None = None

    def store_next() -> None:
        thread = threads[len(stored)]
        if [c.id for c in thread.comments] != [comment_id for comment_id, _ in scores]:
            raise RuntimeError(f"scores of {thread.key()} came back incomplete or out of order")
        values = [value for _, value in scores]
        stored.extend(store_all(database, [thread], values, model=model or model_name(), policy=policy))
        scores.clear()

    for table in tables:
        for file, part in _by_file(table):
            while len(stored) < file:
                store_next()
            model = part.column("model")[0].as_py()
            ids, values = part.column("id").to_pylist(), part.column("scores").to_pylist()
            scores.extend((i, CommentScores.model_validate_json(v)) for i, v in zip(ids, values, strict=True))
    while len(stored) < len(threads):
        store_next()
    return stored
