"""POST /v1/comments:score: scores, spans and the policy's decision, limits, languages, and nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_api_threads import Client, MakeClient, problem

URL = "/v1/comments:score"


@pytest.fixture
def client(make_client: MakeClient, tmp_path: Path) -> Client:
    policy = tmp_path / "policy.toml"
    policy.write_text('banned_words = ["scum"]\nsuspect_words = ["islands"]\n', encoding="utf-8")
    return make_client(policy=policy)


def test_comments_get_scores_and_the_policys_decision_in_order(client: Client) -> None:
    comments = [
        {"text": "They will never give the islands back.", "target": "Kuril islands", "language": "en"},
        {"text": "Only scum would say that.", "language": "en-GB"},
        {"text": "Thanks for a balanced article."},
    ]
    response = client.post(URL, json={"comments": comments})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] and len(body["policy"]) == 12
    first, second, third = body["comments"]
    assert [c["decision"]["action"] for c in body["comments"]] == ["review", "reject", "approve"]
    reason = {key: value for key, value in first["decision"]["reasons"][0].items() if value is not None}
    assert reason == {
        "code": "suspect_word",
        "action": "review",
        "message": "suspect word 'islands' matches 'islands' at 25-32",
        "word": "islands",
        "match": "islands",
        "begin": 25,
        "end": 32,
    }
    assert first["decision"]["policy_digest"] == body["policy"]
    assert first["stance"]["label"] in ("against", "neutral", "favor")
    assert second["stance"] is None  # no target
    for comment in body["comments"]:
        assert set(comment["sentiment"]["probabilities"]) == {"negative", "neutral", "positive"}
        assert 0 <= comment["attributes"]["TOXICITY"] <= 1
        # SEVERE_TOXICITY has no data that measures it: the bundled model flags it experimental.
        assert comment["spans"] == [] and comment["experimental"] == ["SEVERE_TOXICITY"]
    assert third["sentiment"]["label"] in ("neutral", "positive")


def test_each_scored_comment_has_its_detected_language(client: Client) -> None:
    comments = [
        {"text": "They will never give the islands back to Japan."},
        {"text": "Die Regierung sollte sich für diesen Artikel schämen."},
        {"text": "👍"},
        # A language the client gives is kept (its primary subtag), without a detector's confidence.
        {"text": "Die Regierung sollte sich schämen.", "language": "en-GB"},
    ]
    response = client.post(URL, json={"comments": comments})
    assert response.status_code == 200, response.text
    english, german, emoji, given = response.json()["comments"]
    assert [c["language"] for c in (english, german, emoji, given)] == ["en", "de", None, "en"]
    assert 0.5 <= english["language_confidence"] <= 1 and 0.5 <= german["language_confidence"] <= 1
    assert emoji["language_confidence"] is None and given["language_confidence"] is None


def test_span_scores_come_on_request(client: Client) -> None:
    text = "Nice photo. You are a stupid idiot."
    response = client.post(URL, json={"comments": [{"text": text}], "spans": True})
    assert response.status_code == 200, response.text
    spans = response.json()["comments"][0]["spans"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 11), (12, 35)]
    assert spans[1]["attributes"]["TOXICITY"] > spans[0]["attributes"]["TOXICITY"]


def test_scoring_stores_nothing(client: Client) -> None:
    before = client.get("/v1/audit").json()["items"]
    assert client.post(URL, json={"comments": [{"text": "Hello there."}]}).status_code == 200
    assert client.get("/v1/threads").json()["items"] == []
    assert client.get("/v1/audit").json()["items"] == before


def test_limits_on_comments_and_their_length(make_client: MakeClient) -> None:
    client = make_client(max_items=2, max_comment_chars=20)
    three = {"comments": [{"text": "one"}, {"text": "two"}, {"text": "three"}]}
    assert "the limit is 2" in problem(client.post(URL, json=three), 413)["detail"]
    long = {"comments": [{"text": "short"}, {"text": "x" * 21}]}
    assert "comment 1 has 21 characters" in problem(client.post(URL, json=long), 413)["detail"]
    assert client.post(URL, json={"comments": [{"text": "x" * 20}] * 2}).status_code == 200
    small = make_client(max_body_bytes=200)
    problem(small.post(URL, json={"comments": [{"text": "y" * 500}]}), 413)


def test_a_language_that_is_no_bcp47_tag_is_refused_with_its_field(client: Client) -> None:
    for language in ("english", "e", "de--AT", "fr fr"):
        body = problem(client.post(URL, json={"comments": [{"text": "Bonjour", "language": language}]}), 422)
        (error,) = body["errors"]
        assert error["loc"] == ["body", "comments", "0", "language"]
    answer = client.post(URL, json={"comments": [{"text": "Hi there, thanks", "language": "EN-us"}]})
    assert answer.status_code == 200 and answer.json()["comments"][0]["language"] == "en"


@pytest.mark.parametrize(
    "body",
    [
        {"comments": []},
        {},
        {"comments": [{"text": ""}]},
        {"comments": [{"target": "no text"}]},
        {"comments": [{"text": "hi", "colour": "red"}]},
        {"comments": [{"text": "hi"}], "doNotStore": True},
        {"comments": [{"text": "hi"}], "spans": "sometimes"},
        {"comments": "hi"},
    ],
)
def test_malformed_requests_are_422(client: Client, body: dict) -> None:
    assert problem(client.post(URL, json=body), 422)["errors"]


def test_unencodable_text_is_422(client: Client) -> None:
    surrogate = b'{"comments": [{"text": "bad \\ud800 text"}]}'
    body = problem(client.post(URL, content=surrogate, headers={"content-type": "application/json"}), 422)
    assert body["errors"][0]["loc"][:4] == ["body", "comments", "0", "text"]


@pytest.mark.parametrize(
    ("body", "parser_says"),
    [
        (b"not json", "Expecting value at character 0"),
        (b'{"comments": [', "Expecting value at character 14"),
        (b"\xff\xfe", "at character 0"),
        (b'{"comments": "\xff\xff"}', "can't decode byte 0xff in position 14: invalid start byte"),
    ],
)
@pytest.mark.parametrize("url", [URL, "/v1/threads"])
def test_a_body_that_is_not_json_is_400_with_the_parser_s_message(
    client: Client, url: str, body: bytes, parser_says: str
) -> None:
    answer = problem(client.post(url, content=body, headers={"content-type": "application/json"}), 400)
    assert answer["title"] == "Invalid JSON"
    assert answer["detail"].startswith("the body is not valid JSON: ") and answer["detail"].endswith(parser_says)


@pytest.mark.parametrize("text", [" ", "\n\t  \r\n", "\u3000\u00a0"])
def test_whitespace_only_text_is_refused_as_perspective_refuses_it(client: Client, text: str) -> None:
    body = problem(client.post(URL, json={"comments": [{"text": "fine"}, {"text": text}]}), 422)
    assert body["errors"] == [
        {
            "loc": ["body", "comments", "1", "text"],
            "msg": "Value error, holds only whitespace; a comment to score needs some text",
        }
    ]
    perspective = client.post(
        "/v1alpha1/comments:analyze", json={"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
    )
    assert perspective.status_code == 400 and perspective.json()["error"]["message"] == "Comment must be non-empty."


def test_scoring_needs_a_write_key(make_client: MakeClient) -> None:
    body = {"comments": [{"text": "hi"}]}
    problem(make_client(scopes=None).post(URL, json=body), 401)
    problem(make_client(scopes=None, open_reads=True).post(URL, json=body), 401)
    assert "'write'" in problem(make_client(scopes=("read", "moderate")).post(URL, json=body), 403)["detail"]
    assert make_client(scopes=("write",)).post(URL, json=body).status_code == 200
