"""What the database can hold (``storage/limits.py``), on SQLite and PostgreSQL alike: values PostgreSQL refuses
(NUL characters, ids and URLs longer than their columns, integers past the columns' or 64 bits) are the
caller's error, named where they are, before anything is written; so are crafted cursors and filters."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from moderation import Article, Comment, CommentScores, InputError, Thread, keys, pipeline
from moderation.decisions import moderate
from moderation.scores import LabelScores
from moderation.storage import limits, repository, transaction
from moderation.storage.tables import CommentRow, ThreadRow


def scores() -> CommentScores:
    return CommentScores(
        sentiment=LabelScores(label="neutral", probabilities={"negative": 0.2, "neutral": 0.6, "positive": 0.2}),
        stance=None,
        toxicity=LabelScores(label="not_toxic", probabilities={"not_toxic": 0.9, "toxic": 0.1}),
        attributes={"TOXICITY": 0.1},
    )


def thread(article: dict[str, Any] | None = None, comment: dict[str, Any] | None = None, **fields: Any) -> Thread:
    return Thread(
        article=Article(**{"url": "https://news.example/a", "title": "A story", **(article or {})}),
        comments=[Comment(**{"id": "c1", "text": "hello there", "position": 0, **(comment or {})})],
        source_format=fields.pop("source_format", "json"),
        **fields,
    )


UNSTORABLE = {
    "NUL in a text": (thread(comment={"text": "a\x00b"}), "comments.0.text contains a NUL character"),
    "NUL in an id": (thread(comment={"id": "c\x00"}), "comments.0.id contains a NUL character"),
    "NUL in a title": (thread({"title": "a\x00b"}), "article.title contains a NUL character"),
    "NUL in the body": (thread({"body": ["ok", "a\x00b"]}), "article.body.1 contains a NUL character"),
    "NUL in metadata": (thread(metadata={"site": {"a\x00": 1}}), "metadata.site.<key> contains a NUL character"),
    "an id too long": (thread(comment={"id": "x" * 257}), "comments.0.id has 257 characters; the database holds"),
    "a URL too long": (thread({"url": "https://e.org/" + "x" * 2048}), "article.url has 2,062 characters"),
    "a title key too long": (thread({"url": None, "title": "x" * 2048}), "article.title has 2,049 characters"),
    "a format too long": (thread(source_format="x" * 33), "source_format has 33 characters"),
    "votes past 32 bits": (thread(comment={"votes": {"up": 2**40}}), "comments.0.votes.up is out of range"),
    "votes past 64 bits": (thread(comment={"votes": {"down": 2**70}}), "comments.0.votes.down is out of range"),
    "metadata past 64 bits": (thread(metadata={"count": -(2**64)}), "metadata.count is out of range"),
    "announced past 32 bits": (thread(announced_comments=2**31), "announced_comments is out of range"),
}


@pytest.mark.parametrize("case", list(UNSTORABLE))
def test_a_value_the_database_cannot_hold_is_refused_by_name_and_nothing_is_stored(engine: Engine, case: str) -> None:
    bad, message = UNSTORABLE[case]
    with pytest.raises(InputError, match=message.replace(".", r"\.")), transaction(engine) as session:
        pipeline.check_store(session, [bad], overwrite_decided=True)
    with pytest.raises(InputError, match=message.replace(".", r"\.")), transaction(engine) as session:
        pipeline.store(session, bad, [scores()], model="m")
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(ThreadRow)) == 0
        assert session.scalar(select(func.count()).select_from(CommentRow)) == 0


def test_the_limits_of_each_column_are_storable_on_both_databases(engine: Engine) -> None:
    edge = thread(
        {"url": "https://e.org/" + "x" * 2034, "body": ["ü" * 50]},
        {"id": "i" * 256, "votes": {"up": 2**31 - 1, "down": -(2**31)}},
        metadata={"big": 2**63 - 1},
        announced_comments=2**31 - 1,
    )
    assert limits.unstorable(edge) == []
    with transaction(engine) as session:
        pipeline.store(session, edge, [scores()], model="m")
    with transaction(engine) as session:
        assert session.scalar(select(CommentRow.votes_down)) == -(2**31)


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "listing",
    [
        ("threads", 2**40),
        ("threads", 2**70),
        ("comments", 2**31, 1),
        ("queue", float("nan"), 1),
        ("queue", float("inf"), 1),
        ("queue", 0.5, -(2**63)),
        ("audit", 2**64),
    ],
)
def test_a_crafted_cursor_is_the_callers_error_on_both_databases(engine: Engine, listing: tuple[Any, ...]) -> None:
    cursor = _cursor(*listing)
    calls = {
        "threads": lambda session: repository.list_threads(session, cursor=cursor),
        "comments": lambda session: repository.list_comments(session, 1, cursor=cursor),
        "queue": lambda session: repository.review_queue(session, cursor=cursor),
        "audit": lambda session: repository.list_audit(session, cursor=cursor),
    }
    with pytest.raises(InputError, match="invalid cursor"), transaction(engine) as session:
        calls[listing[0]](session)


def test_text_the_database_cannot_compare_or_hold_is_refused_in_filters_notes_and_key_names(engine: Engine) -> None:
    with transaction(engine) as session:
        pipeline.store(session, thread(), [scores()], model="m")
        comment_id = session.scalar(select(CommentRow.id))
        assert comment_id is not None
    for name in ("action", "subject_type", "subject_id"):
        with pytest.raises(InputError, match=f"{name} contains a NUL"), transaction(engine) as session:
            repository.list_audit(session, **{name: "x\x00"})
    with pytest.raises(InputError, match="note contains a NUL"), transaction(engine) as session:
        moderate(session, comment_id, "reject", actor="key:mod", note="why\x00")
    for name in ("ops\x00", "o" * 201):
        with pytest.raises(InputError, match="name"), transaction(engine) as session:
            keys.create_key(session, name, ["read"])
