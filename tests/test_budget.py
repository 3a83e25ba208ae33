"""The work budget every scoring route shares (service/budget.py): comments, characters per comment and per
request (413), characters per minute per key (429), a bounded scoring queue (503), text that is no Unicode
refused at the edge (422 naming its field), and the limits in the OpenAPI schema.

The behaviour that needs a real server (batches, disconnects, keep-alive) is in test_budget_server.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.ratelimit import RateLimiter
from tests.test_api_threads import MakeClient, problem, thread_json

SCORE = "/v1/comments:score"
THREADS = "/v1/threads"
ANALYZE = "/v1alpha1/comments:analyze"
CORAL = "/v1/coral/moderate"


def analyze(text: str) -> dict[str, Any]:
    return {"comment": {"text": text}, "languages": ["en"], "requestedAttributes": {"TOXICITY": {}}}


def coral(text: str) -> bytes:
    return json.dumps({"action": "NEW", "comment": {"body": text, "parentID": None}}).encode()


def thread(*texts: str) -> dict[str, Any]:
    return thread_json(texts=texts)


# 413: the same limits on every route that scores ------------------------------------------------------------


def test_the_characters_of_a_whole_request_are_limited(make_client: MakeClient) -> None:
    client = make_client(max_request_chars=100)
    over = {"comments": [{"text": "x" * 40}] * 3}
    body = problem(client.post(SCORE, json=over), 413)
    assert body["title"] == "Request too large" and "120 characters" in body["detail"] and "100" in body["detail"]
    assert client.post(SCORE, json={"comments": [{"text": "x" * 50}] * 2}).status_code == 200


def test_threads_are_held_to_the_same_limits_as_scoring(make_client: MakeClient) -> None:
    """Before, ``POST /v1/threads`` checked neither the number of comments nor their length."""
    client = make_client(max_items=2, max_comment_chars=20)
    assert "3 comments; the limit is 2" in problem(client.post(THREADS, json=thread("a", "b", "c")), 413)["detail"]
    long = problem(client.post(THREADS, json=thread("short", "x" * 21)), 413)
    assert long["title"] == "Comment too long" and "comment 'c1' has 21 characters" in long["detail"]
    upload = client.post(THREADS, files={"file": ("t.json", json.dumps(thread("a", "b", "c")).encode())})
    problem(upload, 413)
    assert client.get(THREADS).json()["items"] == []  # nothing stored
    assert client.post(THREADS, json=thread("x" * 20, "y" * 20)).status_code == 200
    total = make_client(max_request_chars=30)
    assert problem(total.post(THREADS, json=thread("x" * 20, "y" * 20)), 413)["title"] == "Request too large"
    assert total.post(THREADS, json=thread("x" * 15, "y" * 15)).status_code == 200


def test_perspective_and_coral_keep_their_own_shapes_for_a_long_comment(make_client: MakeClient) -> None:
    client = make_client(max_comment_chars=20)
    error = client.post(ANALYZE, json=analyze("x" * 21)).json()["error"]
    assert error["message"] == "Comment text too long." and error["status"] == "INVALID_ARGUMENT"
    assert "limit is 20" in problem(client.post(CORAL, content=coral("x" * 21)), 422)["detail"]


# 429: characters per minute, not requests -------------------------------------------------------------------


def test_the_rate_limit_counts_characters_and_says_when_to_retry(make_client: MakeClient) -> None:
    client = make_client(rate_limit_chars_per_minute=100)
    assert client.post(SCORE, json={"comments": [{"text": "x" * 30}, {"text": "y" * 30}]}).status_code == 200
    spent = client.post(SCORE, json={"comments": [{"text": "z" * 60}]})
    body = problem(spent, 429)
    assert body["title"] == "Too many characters" and "100 characters a minute" in body["detail"]
    assert int(spent.headers["Retry-After"]) >= 1
    assert client.post(SCORE, json={"comments": [{"text": "short"}]}).status_code == 200  # 40 are left
    assert client.get(THREADS).status_code == 200  # reads cost no characters


def test_every_scoring_route_spends_the_same_characters(make_client: MakeClient) -> None:
    client = make_client(rate_limit_chars_per_minute=100)
    assert client.post(ANALYZE, json=analyze("x" * 40)).status_code == 200
    assert client.post(CORAL, content=coral("A thoughtful comment, thank you for it.")).status_code in (200, 204)
    assert client.post(THREADS, json=thread("y" * 20)).status_code == 200
    limited = client.post(ANALYZE, json=analyze("z" * 30))
    assert limited.status_code == 429 and limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(limited.headers["Retry-After"]) >= 1
    problem(client.post(CORAL, content=coral("z" * 30)), 429)
    problem(client.post(THREADS, json=thread("z" * 30)), 429)
    problem(client.post(SCORE, json={"comments": [{"text": "z" * 30}]}), 429)


def test_a_signed_coral_installation_has_a_character_budget_too(make_client: MakeClient) -> None:
    from moderation.coral import sign

    secret = "empsec_0123456789abcdef"
    client = make_client(scopes=None, coral_signing_secret=secret, rate_limit_chars_per_minute=50)
    for text, status in (("x" * 40, (200, 204)), ("y" * 40, (429,))):
        body = coral(text)
        answer = client.post(CORAL, content=body, headers={"X-Coral-Signature": sign(secret, body)})
        assert answer.status_code in status, answer.text


def test_anonymous_open_reads_are_rate_limited_by_client_address(make_client: MakeClient) -> None:
    client = make_client(scopes=None, open_reads=True, rate_limit_per_minute=2)
    assert [client.get(THREADS).status_code for _ in range(2)] == [200, 200]
    limited = client.get(THREADS)
    problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1


def test_the_limiter_spends_costs_and_lets_a_cost_over_a_minute_through_a_full_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(600, clock=lambda: now[0])  # 10 a second
    assert limiter.acquire("k", 500) is None
    assert limiter.acquire("k", 200) == 10  # 100 left, 100 missing
    now[0] += 10
    assert limiter.acquire("k", 200) is None
    assert limiter.acquire("big", 5000) is None  # a full bucket lets it through, and is empty after
    assert limiter.acquire("big", 1) == 1
    assert RateLimiter(0).acquire("k", 10**9) is None


# 503: a full scoring queue ----------------------------------------------------------------------------------


def test_a_full_queue_answers_503_with_retry_after_on_every_scoring_route(make_client: MakeClient) -> None:
    client = make_client(queue_max_comments=10)
    batcher = client.app.state.app_state.batcher
    batcher.queued = 10  # as if ten comments were waiting
    try:
        busy = client.post(SCORE, json={"comments": [{"text": "hello"}]})
        assert problem(busy, 503)["title"] == "Server busy" and int(busy.headers["Retry-After"]) >= 1
        problem(client.post(THREADS, json=thread("hello")), 503)
        problem(client.post(CORAL, content=coral("hello")), 503)
        google = client.post(ANALYZE, json=analyze("hello"))
        assert google.status_code == 503 and google.json()["error"]["status"] == "UNAVAILABLE"
        assert int(google.headers["Retry-After"]) >= 1
    finally:
        batcher.queued = 0
    assert client.post(SCORE, json={"comments": [{"text": "hello"}]}).status_code == 200


# 422: text that is no Unicode -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "loc"),
    [
        (
            "t.json",
            b'{"article": {"title": "x"}, "comments": [{"id": "1", "text": "a \\ud800 b", "position": 0}]}',
            "text",
        ),
        (
            "t.json",
            b'{"article": {"title": "\\udc00"}, "comments": [{"id": "1", "text": "fine", "position": 0}]}',
            "title",
        ),
        ("t.jsonl", b'{"id": "1", "text": "hi \\ud800 there"}\n', "text"),
    ],
)
def test_an_upload_holding_a_lone_surrogate_is_422_naming_the_field(
    make_client: MakeClient, name: str, content: bytes, loc: str
) -> None:
    """The JSON body's parser refuses ``"\\ud800"``, but an uploaded JSON export is parsed by the extractors,
    which keep it: it reached the tokenizer, which raised (a 500 for every request in its pass)."""
    client = make_client()
    body = problem(client.post(THREADS, files={"file": (name, content)}), 422)
    [error] = body["errors"]
    assert error["loc"][:2] == ["file", "0"] and error["loc"][-1] == loc and "surrogate" in error["msg"]
    assert client.get(THREADS).json()["items"] == []


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        (SCORE, b'{"comments": [{"text": "a \\ud800"}]}'),
        (SCORE, b'{"comments": [{"text": "a", "target": "\\udfff"}]}'),
        (THREADS, b'{"article": {"title": "x"}, "comments": [{"id": "1", "text": "a \\ud800"}]}'),
        (CORAL, b'{"action": "NEW", "comment": {"body": "a \\ud800"}}'),
    ],
)
def test_a_lone_surrogate_in_a_json_body_is_422_on_every_problem_route(
    make_client: MakeClient, path: str, raw: bytes
) -> None:
    problem(make_client().post(path, content=raw, headers={"content-type": "application/json"}), 422)


# The limits in the OpenAPI schema ---------------------------------------------------------------------------


def test_the_schema_states_the_servers_limits(make_client: MakeClient) -> None:
    schema = (
        make_client(scopes=None, max_items=7, max_comment_chars=99, max_request_chars=500).get("/openapi.json").json()
    )
    components = schema["components"]["schemas"]
    assert components["ScoreRequest"]["properties"]["comments"]["maxItems"] == 7
    assert components["CommentIn"]["properties"]["text"]["maxLength"] == 99
    for path in (SCORE, THREADS, ANALYZE, CORAL):
        operation = schema["paths"][path]["post"]
        assert "500 characters per request" in operation["description"], path
        assert {"413", "429", "503"} <= set(operation["responses"]), path
    retry = schema["paths"][SCORE]["post"]["responses"]["503"]["headers"]["Retry-After"]
    assert retry["schema"]["type"] == "integer"
