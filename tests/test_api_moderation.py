"""Moderation routes: the review queue, a moderator's decision, the audit log, re-deciding under a new policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from moderation.policy import Policy
from moderation.storage import transaction
from moderation.storage.tables import ScoreRow
from tests.test_api_threads import POLICY, TEXTS, Client, MakeClient, post, problem, thread_json, walk


@pytest.fixture
def client(make_client: MakeClient, tmp_path: Path) -> Client:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return make_client(policy=policy)


def stored(client: Client, url: str = "https://news.example/kuril") -> tuple[int, list[dict]]:
    """A stored thread's id and its comments (3 for review, 1 reject, 3 approve)."""
    (summary,) = post(client, thread_json(url))
    return summary["id"], walk(client, f"/v1/threads/{summary['id']}/comments")


def test_the_queue_holds_comments_for_review_riskiest_first(client: Client) -> None:
    thread_id, comments = stored(client)
    stored(client, "https://news.example/other")
    queue = walk(client, "/v1/queue", limit=2)
    assert len(queue) == 6 and len({item["id"] for item in queue}) == 6
    risks = [item["risk"] for item in queue]
    assert risks == sorted(risks, reverse=True)
    ours = [item for item in queue if item["thread"]["id"] == thread_id]
    assert {item["id"] for item in ours} == {c["id"] for c in comments if c["decision"]["action"] == "review"}
    first = ours[0]
    assert first["thread"] == {
        "id": thread_id,
        "title": "Kuril islands talks stall",
        "url": "https://news.example/kuril",
    }
    assert first["decision"]["reasons"][0]["code"] == "suspect_word"
    assert first["risk"] == max(first["scores"]["attributes"].values())  # its highest attribute probability
    only = walk(client, "/v1/queue", thread_id=thread_id)
    assert [item["id"] for item in only] == [item["id"] for item in ours]


def test_the_queue_filters_by_language(client: Client) -> None:
    texts = (
        "Give the islands back, you idiots.",
        "Die islands gehören zu Japan, und das bleibt auch so.",  # German, with the policy's suspect word
        "Les islands sont japonaises, point final.",
        "islands!",  # too little text to tell
    )
    (summary,) = post(client, thread_json(texts=texts))
    queue = walk(client, "/v1/queue")
    assert sorted(item["language"] or "und" for item in queue) == ["de", "en", "fr", "und"]
    assert all(item["thread"]["id"] == summary["id"] for item in queue)
    for language in ("de", "en", "fr"):
        (item,) = walk(client, "/v1/queue", language=language)
        assert item["language"] == language and 0 < item["language_confidence"] <= 1
    (undetermined,) = walk(client, "/v1/queue", language="und")
    assert undetermined["text"] == "islands!" and undetermined["language"] is None
    assert walk(client, "/v1/queue", language="de", thread_id=summary["id"] + 1) == []
    for bad in ("DE", "deu1", "x", "de_AT"):
        assert problem(client.get("/v1/queue", params={"language": bad}), 422)["errors"][0]["loc"] == [
            "query",
            "language",
        ]


def test_a_decision_replaces_the_policys_and_is_audited(client: Client) -> None:
    _, comments = stored(client)
    target = next(c for c in comments if c["decision"]["action"] == "review")
    response = client.post(f"/v1/comments/{target['id']}/decision", json={"action": "reject", "note": "attack"})
    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["id"] == target["id"] and decided["text"] == target["text"]
    assert decided["decision"]["action"] == "reject" and decided["decision"]["note"] == "attack"
    assert decided["decision"]["decided_by"].startswith("key:") and decided["decision"]["reasons"] == []
    assert target["id"] not in {item["id"] for item in walk(client, "/v1/queue")}

    (entry,) = client.get("/v1/audit", params={"action": "comment.decided"}).json()["items"]
    assert entry["subject_type"] == "comment" and entry["subject_id"] == str(target["id"])
    assert entry["payload"] == {"from": "review", "to": "reject", "note": "attack"}
    assert entry["actor"] == decided["decision"]["decided_by"]

    back = client.post(f"/v1/comments/{target['id']}/decision", json={"action": "review"})
    assert back.json()["decision"]["note"] is None
    assert target["id"] in {item["id"] for item in walk(client, "/v1/queue")}
    by_subject = client.get("/v1/audit", params={"subject_type": "comment", "subject_id": target["id"]}).json()
    assert [e["payload"]["to"] for e in by_subject["items"]] == ["review", "reject"]  # newest first


def test_bad_decisions_are_refused(client: Client) -> None:
    _, comments = stored(client)
    url = f"/v1/comments/{comments[0]['id']}/decision"
    for body in (
        {"action": "delete"},
        {},
        {"action": "approve", "why": "x"},
        {"action": "approve", "note": "n" * 2001},
    ):
        problem(client.post(url, json=body), 422)
    assert (
        "no comment 999" in problem(client.post("/v1/comments/999/decision", json={"action": "approve"}), 404)["detail"]
    )
    problem(client.post("/v1/comments/0/decision", json={"action": "approve"}), 422)
    problem(client.post("/v1/comments/abc/decision", json={"action": "approve"}), 422)
    assert client.get("/v1/audit", params={"action": "comment.decided"}).json()["items"] == []


def test_the_audit_log_pages_newest_first_and_filters(client: Client) -> None:
    for n in range(3):
        stored(client, f"https://news.example/{n}")
    entries = walk(client, "/v1/audit", limit=2)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert [e["action"] for e in entries].count("thread.stored") == 3
    stored_only = walk(client, "/v1/audit", action="thread.stored", limit=1)
    assert len(stored_only) == 3 and all(e["subject_type"] == "thread" for e in stored_only)
    assert client.get("/v1/audit", params={"action": "nothing.like.this"}).json()["items"] == []
    problem(client.get("/v1/audit", params={"cursor": "bm9wZQ"}), 422)
    problem(client.get("/v1/queue", params={"cursor": "bm9wZQ"}), 422)


def test_applying_a_changed_policy_redecides_without_rescoring(client: Client) -> None:
    thread_id, comments = stored(client)
    moderated = comments[1]["id"]  # approved by the policy; a moderator sends it to review
    client.post(f"/v1/comments/{moderated}/decision", json={"action": "review", "note": "check"})
    state = client.app.state.app_state

    def scored_at() -> list[object]:
        with transaction(state.engine) as session:
            return list(session.scalars(select(ScoreRow.scored_at).order_by(ScoreRow.id)))

    before = scored_at()
    assert client.post("/v1/policy:apply").json()["redecided"] == 0  # nothing changed

    state.policy = Policy.loads('banned_words = ["islands"]\n')  # as if restarted with a new policy file
    response = client.post("/v1/policy:apply", params={"thread_id": thread_id})
    assert response.status_code == 200, response.text
    applied = response.json()
    assert applied["policy"] == state.policy.digest and applied["thread_id"] == thread_id
    assert applied["redecided"] == len(TEXTS) - 1  # every comment but the moderator's
    assert applied["decisions"] == {"approve": 3, "review": 0, "reject": 3}
    assert scored_at() == before  # same rows, same times: nothing was scored again

    after = {c["id"]: c["decision"] for c in walk(client, f"/v1/threads/{thread_id}/comments")}
    assert after[moderated]["action"] == "review" and after[moderated]["decided_by"].startswith("key:")
    assert [after[c["id"]]["action"] for c in comments if "islands" in c["text"]] == ["reject"] * 3
    assert all(d["policy_digest"] == state.policy.digest for i, d in after.items() if i != moderated)
    (entry,) = client.get("/v1/audit", params={"action": "policy.applied", "limit": 1}).json()["items"]
    assert entry["subject_id"] == state.policy.digest and entry["payload"]["thread_id"] == thread_id
    assert "no thread 999" in problem(client.post("/v1/policy:apply", params={"thread_id": 999}), 404)["detail"]


def test_moderation_needs_a_moderate_key_even_with_open_reads(make_client: MakeClient) -> None:
    routes = [
        ("get", "/v1/queue", None),
        ("get", "/v1/audit", None),
        ("post", "/v1/comments/1/decision", {"action": "approve"}),
        ("post", "/v1/policy:apply", None),
    ]
    anonymous = make_client(scopes=None, open_reads=True)
    reader = make_client(scopes=("read", "write"))
    moderator = make_client(scopes=("moderate",))
    for method, url, body in routes:
        problem(getattr(anonymous, method)(url, **({"json": body} if body else {})), 401)
        assert "'moderate'" in problem(getattr(reader, method)(url, **({"json": body} if body else {})), 403)["detail"]
    assert moderator.get("/v1/queue").json() == {"items": [], "next_cursor": None}
    problem(moderator.post("/v1/comments/1/decision", json={"action": "approve"}), 404)


def test_every_v1_route_is_documented_with_its_problems(make_client: MakeClient) -> None:
    schema = make_client(scopes=None).get("/openapi.json").json()
    ours = {
        ("post", "/v1/comments:score"),
        ("post", "/v1/threads"),
        ("get", "/v1/threads"),
        ("get", "/v1/threads/{thread_id}"),
        ("get", "/v1/threads/{thread_id}/comments"),
        ("get", "/v1/queue"),
        ("post", "/v1/comments/{comment_id}/decision"),
        ("get", "/v1/audit"),
        ("post", "/v1/policy:apply"),
        ("get", "/v1/feedback"),
    }
    for method, path in ours:
        operation = schema["paths"][path][method]
        assert operation["summary"] and operation["description"]
        assert {"200", "401", "403", "422", "429"} <= set(operation["responses"])
        for code, response in operation["responses"].items():
            if code != "200":
                assert list(response["content"]) == ["application/problem+json"], (path, code)
    upload = schema["paths"]["/v1/threads"]["post"]["requestBody"]["content"]
    assert set(upload) == {"application/json", "multipart/form-data"}
    assert "$ref" not in str(upload)  # self-contained, so any client generator can read it
