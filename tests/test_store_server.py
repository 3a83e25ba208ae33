"""A real uvicorn server storing threads: a moderator's decision goes through while a large upload is being
written; checking a key never waits for SQLite's write lock; a moderated text changes only with the
`moderate` scope; a thread stops growing at its limit; values the database cannot hold are refused with 422
naming them. Refusals come before any scoring (the server's count of comments scored does not move).

The server scores with the tiny checkpoints on a SQLite file. Traffic goes to 127.0.0.1 only; every loop is
bounded, and order of events is checked, never durations.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from moderation import keys
from moderation.storage import make_engine, transaction
from tests.conftest import ONE_THREAD, LiveServer, StartServer

pytestmark = pytest.mark.slow

BIG = 1200  # comments of the large upload
PART = 100  # comments per transaction: the upload is written in 12 parts
LIMIT = 1300  # comments a thread may hold
BIG_URL = "https://news.example/big"


@pytest.fixture(scope="module")
def server(start_server: StartServer, tiny_models_config: Path) -> LiveServer:
    return start_server(
        models_config=tiny_models_config,
        env=ONE_THREAD,
        max_items=BIG,
        max_request_chars=10**6,
        queue_max_comments=BIG,
        rate_limit_per_minute=0,
        rate_limit_chars_per_minute=0,
        store_part_comments=PART,
        max_thread_comments=LIMIT,
    )


def thread_json(url: str, texts: list[str], start: int = 0) -> dict[str, Any]:
    return {
        "article": {"url": url, "title": "Talks stall"},
        "comments": [
            {"id": f"c{start + i}", "text": text, "position": start + i, "language": "en"}
            for i, text in enumerate(texts)
        ],
    }


def post(server: LiveServer, body: Any, token: str | None = None, **options: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or server.token}"}
    return httpx.post(f"{server.base_url}/v1/threads", json=body, headers=headers, timeout=300, **options)


def scored(server: LiveServer) -> float:
    """The server's count of comments scored so far."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "moderation_comments_scored"
        for sample in family.samples
        if sample.name == "moderation_comments_scored_total"
    )


def comments(server: LiveServer, thread_id: int) -> dict[str, dict[str, Any]]:
    """The first page of a thread's comments, by source id."""
    response = httpx.get(
        f"{server.base_url}/v1/threads/{thread_id}/comments", params={"limit": 100}, headers=server.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return {item["source_id"]: item for item in response.json()["items"]}


def decide(server: LiveServer, comment_id: int, action: str) -> httpx.Response:
    url = f"{server.base_url}/v1/comments/{comment_id}/decision"
    return httpx.post(url, json={"action": action}, headers=server.headers, timeout=120)


def new_key(server: LiveServer, scopes: tuple[str, ...]) -> str:
    engine = make_engine(f"sqlite:///{server.database}")
    try:
        with transaction(engine) as session:
            return keys.create_key(session, "+".join(scopes), scopes).token
    finally:
        engine.dispose()


def test_a_moderators_decision_goes_through_while_a_large_upload_is_stored(server: LiveServer) -> None:
    """Before, the upload held SQLite's write lock from its first row to its last, and a decision waited for
    all of it (a 15,000-comment import made decisions fail after 30 s). Now the decision lands while the
    upload's later parts are still being written: before its ``thread.stored`` entry in the audit log."""
    small = post(server, thread_json("https://news.example/small", ["a comment to decide"]))
    assert small.status_code == 200, small.text
    target = next(iter(comments(server, small.json()["threads"][0]["id"]).values()))["id"]
    answers: list[httpx.Response] = []
    upload = threading.Thread(
        target=lambda: answers.append(post(server, thread_json(BIG_URL, [f"reader {i} writes" for i in range(BIG)])))
    )
    upload.start()
    for _ in range(6000):  # until the upload's first part is committed (bounded)
        listed = httpx.get(f"{server.base_url}/v1/threads", headers=server.headers, timeout=30).json()["items"]
        if any(item["url"] == BIG_URL for item in listed) or not upload.is_alive():
            break
    decision = decide(server, target, "reject")
    upload.join(300)
    assert decision.status_code == 200, decision.text
    assert [answer.status_code for answer in answers] == [200], [answer.text for answer in answers]
    assert answers[0].json()["threads"][0]["counts"]["comments"] == BIG
    audit = httpx.get(f"{server.base_url}/v1/audit", params={"limit": 2}, headers=server.headers, timeout=30)
    assert [entry["action"] for entry in audit.json()["items"]] == ["thread.stored", "comment.decided"]


def test_a_thread_stops_growing_at_its_limit_before_anything_is_scored(server: LiveServer) -> None:
    stored = post(server, thread_json(BIG_URL, [f"reader {i} writes" for i in range(BIG)]))
    assert stored.status_code == 200, stored.text  # the same comments again: nothing added
    before = scored(server)
    more = post(server, thread_json(BIG_URL, [f"a newcomer {i}" for i in range(LIMIT - BIG + 1)], start=BIG))
    assert more.status_code == 413, more.text
    assert f"would hold {LIMIT + 1:,} comments; a thread holds at most {LIMIT:,}" in more.json()["detail"]
    assert scored(server) == before


def test_a_moderated_text_changes_only_with_the_moderate_scope(server: LiveServer) -> None:
    url = "https://news.example/moderated"
    first = post(server, thread_json(url, ["a kind word", "plain"])).json()["threads"][0]["id"]
    assert decide(server, comments(server, first)["c0"]["id"], "approve").status_code == 200
    writer = new_key(server, ("read", "write"))
    changed = thread_json(url, ["now an insult", "plain"])
    before = scored(server)
    refused = post(server, changed, token=writer)
    assert refused.status_code == 403, refused.text
    assert "'c0'" in refused.json()["detail"] and "'moderate' scope" in refused.json()["detail"]
    assert scored(server) == before
    assert comments(server, first)["c0"]["text"] == "a kind word"
    assert post(server, thread_json(url, ["a kind word", "plain, edited"]), token=writer).status_code == 200
    assert post(server, changed).status_code == 200  # the server's key has every scope
    reopened = comments(server, first)["c0"]
    assert (reopened["text"], reopened["decision"]["action"]) == ("now an insult", "review")
    assert reopened["decision"]["reasons"][0]["code"] == "text_changed"


@pytest.mark.parametrize(
    ("comment", "where", "message"),
    [
        ({"text": "a\u0000b"}, ["comments", "0", "text"], "NUL character"),
        ({"id": "x" * 300}, ["comments", "0", "id"], "300 characters"),
        ({"votes": {"up": 2**70}}, ["comments", "0", "votes", "up"], "out of range"),
    ],
)
def test_values_the_database_cannot_hold_are_refused_by_name_before_scoring(
    server: LiveServer, comment: dict[str, Any], where: list[str], message: str
) -> None:
    body = thread_json("https://news.example/bad", ["fine"])
    body["comments"][0].update(comment)
    before = scored(server)
    as_json = post(server, body)
    upload = httpx.post(
        f"{server.base_url}/v1/threads",
        files={"file": ("thread.json", json.dumps({**body, "source_format": "json"}).encode())},
        headers=server.headers,
        timeout=60,
    )
    for response, prefix in ((as_json, ["body"]), (upload, ["file", "0"])):
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["loc"] == [*prefix, *where] and message in error["msg"]
    assert scored(server) == before


def test_checking_a_key_never_waits_for_the_write_lock(start_server: StartServer, tiny_models_config: Path) -> None:
    """Before, the first request of a key (and one a minute after) wrote its last use in its own transaction,
    which waits up to 30 s for SQLite's write lock when an import holds it; now reads answer at once and
    the use is written later, by the server itself (at the latest when it stops)."""
    live = start_server(models_config=tiny_models_config, env=ONE_THREAD)
    token = new_key(live, ("read",))
    holder = sqlite3.connect(live.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # as an import writing its part
        headers = {"Authorization": f"Bearer {token}"}
        response = httpx.get(f"{live.base_url}/v1/threads", headers=headers, timeout=20)
        assert response.status_code == 200, response.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    live.stop()
    reader = sqlite3.connect(live.database)
    try:
        query = "SELECT last_used_at FROM api_keys WHERE prefix = ?"
        assert reader.execute(query, (token.split("_")[1],)).fetchone()[0] is not None
    finally:
        reader.close()
