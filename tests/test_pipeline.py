"""Storing scored threads (``pipeline.store`` and ``store_all``), on SQLite and PostgreSQL: a moderated text
cannot be laundered by a re-import, who may overwrite it, how large a thread may grow, large imports in
parts that let a moderator's decision through, and a re-import racing a decision.

Every test taking ``engine`` runs once per database (PostgreSQL when ``MODERATION_TEST_POSTGRES_URL`` is
set, as ``.ci/run`` does). Concurrency is checked by order of events, never by clocks; every wait is bounded.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from moderation import Article, Comment, CommentScores, Thread, pipeline
from moderation.decisions import moderate
from moderation.errors import LimitError, NotAllowedError
from moderation.scores import LabelScores
from moderation.storage import repository, transaction
from moderation.storage.tables import AuditRow, CommentRow

#: How long a paused import waits for a moderator's decision to go through (it cannot, when rows are locked).
PAUSE_S = 2.0
#: Bound of every join and wait: far above what any step takes, reached only when something hangs.
BOUND_S = 120.0


def scores(toxicity: float) -> CommentScores:
    return CommentScores(
        sentiment=LabelScores(label="neutral", probabilities={"negative": 0.2, "neutral": 0.6, "positive": 0.2}),
        stance=None,
        toxicity=LabelScores(label="toxic", probabilities={"not_toxic": 1 - toxicity, "toxic": toxicity}),
        attributes={"TOXICITY": toxicity},
    )


def thread(texts: list[str], url: str = "https://news.example/a") -> Thread:
    return Thread(
        article=Article(url=url, title="A story"),
        comments=[Comment(id=f"c{i}", text=text, position=i, language="en") for i, text in enumerate(texts)],
        source_format="json",
    )


def rows(engine: Engine, url: str = "https://news.example/a") -> dict[str, CommentRow]:
    """The thread's comments by source id, with their decisions and scores."""
    with transaction(engine) as session:
        thread_id = repository.find_thread_id(session, url)
        assert thread_id is not None
        return {row.source_id: row for row in repository.list_comments(session, thread_id, limit=1000).items}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_new_text_sends_a_moderators_decision_back_to_review_rescored_and_audited(engine: Engine) -> None:
    old = thread(["a kind word", "another kind word", "a third kind word"])
    with transaction(engine) as session:
        pipeline.store(session, old, [scores(0.1)] * 3, model="a")
        pipeline.store(session, old, [scores(0.2)] * 3, model="b")
    stored = rows(engine)
    with transaction(engine) as session:
        for source_id in ("c0", "c1"):
            moderate(session, stored[source_id].id, "approve", actor="key:mod")
    new = thread(["now a nasty insult", "another kind word", "now also nasty"])
    with transaction(engine) as session:
        pipeline.store(session, new, [scores(0.95), scores(0.1), scores(0.95)], model="a", actor="key:ingest")

    after = rows(engine)
    laundered, kept, policy = after["c0"], after["c1"], after["c2"]
    assert laundered.decision is not None and kept.decision is not None and policy.decision is not None
    assert (laundered.decision.decision, laundered.decision.decided_by) == ("review", "key:ingest")
    assert [reason["code"] for reason in laundered.decision.reasons] == ["text_changed", "attribute_reject"]
    assert [(s.model, s.toxicity) for s in laundered.scores] == [("a", pytest.approx(0.95))]  # b scored the old text
    assert (kept.decision.decision, kept.decision.decided_by) == ("approve", "key:mod")
    assert sorted(s.model for s in kept.scores) == ["a", "b"]
    assert (policy.decision.decision, policy.decision.decided_by) == ("reject", "policy")
    with transaction(engine) as session:
        audit = {row.subject_id: row for row in repository.list_audit(session, action="comment.text_changed").items}
    assert set(audit) == {str(laundered.id), str(policy.id)}
    entry = audit[str(laundered.id)]
    assert entry.actor == "key:ingest"
    assert entry.payload == {
        "thread_id": laundered.thread_id,
        "source_id": "c0",
        "old_sha256": sha256("a kind word"),
        "new_sha256": sha256("now a nasty insult"),
        "decision": {"from": "approve", "to": "review"},
    }
    assert audit[str(policy.id)].payload["decision"] == {"from": "approve", "to": "reject"}


def test_only_a_caller_allowed_to_overwrite_changes_a_moderated_text(engine: Engine) -> None:
    with transaction(engine) as session:
        pipeline.store(session, thread(["a kind word", "plain"]), [scores(0.1)] * 2, model="m")
    with transaction(engine) as session:
        moderate(session, rows(engine)["c0"].id, "approve", actor="key:mod")
    changed = thread(["now a nasty insult", "plain, edited"])
    for check in (
        lambda session: pipeline.check_store(session, [changed], overwrite_decided=False),
        lambda session: pipeline.store(session, changed, [scores(0.9)] * 2, model="m", overwrite_decided=False),
    ):
        with pytest.raises(NotAllowedError, match=r"'c0'.*'moderate' scope"), transaction(engine) as session:
            check(session)
    assert [rows(engine)[c].text for c in ("c0", "c1")] == ["a kind word", "plain"]
    # A comment only the policy decided may change without the right to overwrite.
    with transaction(engine) as session:
        pipeline.store(
            session, thread(["a kind word", "plain, edited"]), [scores(0.1)] * 2, model="m", overwrite_decided=False
        )
    assert rows(engine)["c1"].text == "plain, edited"


def test_a_thread_grows_to_its_limit_and_no_further(engine: Engine) -> None:
    with transaction(engine) as session:
        pipeline.store(session, thread(["one", "two"]), [scores(0.1)] * 2, model="m", max_comments=3)
    more = Thread(
        article=Article(url="https://news.example/a", title="A story"),
        comments=[Comment(id=f"n{i}", text="new", position=2 + i) for i in range(2)],
        source_format="json",
    )
    too_many = "would hold 4 comments; a thread holds at most 3"
    with pytest.raises(LimitError, match=too_many), transaction(engine) as session:
        pipeline.check_store(session, [more], overwrite_decided=True, max_comments=3)
    with pytest.raises(LimitError), transaction(engine) as session:
        pipeline.store(session, more, [scores(0.1)] * 2, model="m", max_comments=3)
    with pytest.raises(LimitError):
        pipeline.store_all(engine, [more], [scores(0.1)] * 2, model="m", max_comments=3, part_comments=1)
    assert sorted(rows(engine)) == ["c0", "c1"]
    with transaction(engine) as session:  # storing the same comments again adds none
        pipeline.store(session, thread(["one", "two"]), [scores(0.1)] * 2, model="m", max_comments=2)


def test_a_large_import_is_stored_in_parts_as_one_thread(engine: Engine) -> None:
    # No URL, no title: the thread's key comes from all its comments' ids, which no part holds alone.
    anonymous = Thread(
        article=Article(),
        comments=[Comment(id=f"c{i}", text=f"comment number {i}", position=i) for i in range(23)],
        source_format="json",
    )
    for _ in range(2):  # and again: nothing duplicated
        (analysis,) = pipeline.store_all(engine, [anonymous], [scores(0.1)] * 23, model="m", part_comments=5)
    assert len(analysis.decisions) == 23
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(CommentRow)) == 23
        stored = repository.list_audit(session, action="thread.stored").items
    assert [entry.payload["comments"] for entry in stored] == [23, 23]  # one entry per import, not per part
    assert {entry.subject_id for entry in stored} == {str(analysis.thread_id)}


def _in_thread(work: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    return runner


def test_a_moderators_decision_goes_through_between_the_parts_of_a_large_import(engine: Engine) -> None:
    """SQLite has one writer: a decision must not wait for the whole import (it timed out behind 15,000
    comments). It lands while the import is still being written: before the import's ``thread.stored``."""
    with transaction(engine) as session:
        pipeline.store(session, thread(["to decide"], url="https://news.example/other"), [scores(0.1)], model="m")
    target = rows(engine, "https://news.example/other")["c0"].id
    big = thread([f"comment number {i}" for i in range(400)])
    errors: list[BaseException] = []
    importer = _in_thread(
        lambda: pipeline.store_all(engine, [big], [scores(0.1)] * 400, model="m", part_comments=25), errors
    )
    for _ in range(10_000):  # until the first part is committed (bounded)
        with transaction(engine) as session:
            if session.scalar(select(func.count()).select_from(CommentRow)) > 1 or not importer.is_alive():
                break
    with transaction(engine) as session:
        moderate(session, target, "reject", actor="key:mod")
    importer.join(BOUND_S)
    assert errors == [] and not importer.is_alive()
    with transaction(engine) as session:
        order = list(session.scalars(select(AuditRow.action).order_by(AuditRow.id)))
    assert order[-2:] == ["comment.decided", "thread.stored"], order


def test_a_reimport_racing_a_moderators_decision_leaves_the_row_and_the_audit_agreeing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import pauses after reading the comment's decision (the policy's) and before replacing it; the
    moderator decides meanwhile. Before rows were locked, the import then overwrote the moderator's decision
    with the policy's while the audit log said the moderator's stood."""
    calm = thread(["a calm comment"])
    with transaction(engine) as session:
        pipeline.store(session, calm, [scores(0.1)], model="m")
    comment_id = rows(engine)["c0"].id
    paused, decided = threading.Event(), threading.Event()
    save_decision = repository.save_decision

    def slow_save_decision(*args: Any, **kwargs: Any) -> Any:
        if kwargs["decided_by"] == repository.POLICY:
            paused.set()
            decided.wait(PAUSE_S)  # the moderator's decision goes through now, unless the rows are locked
        return save_decision(*args, **kwargs)

    monkeypatch.setattr(repository, "save_decision", slow_save_decision)
    errors: list[BaseException] = []

    def reimport() -> None:  # scored anew: the policy now sends the comment to review
        with transaction(engine) as session:
            pipeline.store(session, calm, [scores(0.6)], model="m")

    def moderator() -> None:
        try:
            with transaction(engine) as session:
                moderate(session, comment_id, "reject", actor="key:mod")
        finally:
            decided.set()

    importer = _in_thread(reimport, errors)
    assert paused.wait(BOUND_S)
    deciding = _in_thread(moderator, errors)
    for runner in (importer, deciding):
        runner.join(BOUND_S)
    assert errors == [] and not importer.is_alive() and not deciding.is_alive()
    row = rows(engine)["c0"]
    with transaction(engine) as session:
        (last,) = repository.list_audit(session, action="comment.decided", subject_id=comment_id, limit=1).items
    assert row.decision is not None
    assert (row.decision.decision, row.decision.decided_by) == (last.payload["to"], last.actor) == ("reject", "key:mod")
