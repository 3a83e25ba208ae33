"""Coral Talk's external moderation phase: request parsing, signatures, the decision mapping and the route.

Payloads follow Coral's own docs (docs/docs/external-moderation-phases.md in coralproject/talk); Coral sends
them pretty-printed (``JSON.stringify(data, null, 2)``) and signs exactly those bytes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from moderation.coral import _FLAGS, ExternalModerationRequest, parse_request, respond, sign, signature_matches
from moderation.errors import InputError
from moderation.policy import Policy, ReasonCode, Thresholds, decide

SECRET = "empsec_0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5f60718"
PATH = "/v1/coral/moderate"
CLEAN = "Thanks for the thoughtful article, I learned a lot about the harbour project."
TOXIC = "You are a stupid idiot and I hate you"

# Coral's documented example of a new comment on a story.
NEW_COMMENT: dict[str, Any] = {
    "action": "NEW",
    "comment": {"body": "Here's a comment!", "parentID": None},
    "author": {"id": "baf4e943-3594-4fcc-b2ba-3e8de7a76352", "role": "COMMENTER"},
    "story": {"id": "245b3856-b0a0-4d2f-a6bb-58c71f18d6a6", "url": "http://localhost:1313/posts/a-story-url/"},
    "site": {"id": "a4bede88-2d2c-4424-bc18-4322a9e285a6"},
    "tenantID": "19ba5794-7eeb-4d46-a81b-c00c61672501",
    "tenantDomain": "localhost",
}


def payload(body: str, **changes: Any) -> dict[str, Any]:
    request = copy.deepcopy(NEW_COMMENT)
    request["comment"]["body"] = body
    request.update(changes)
    return request


def encoded(request: dict[str, Any]) -> bytes:
    return json.dumps(request, indent=2).encode("utf-8")


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


# Signatures ---------------------------------------------------------------------------------------------------


def test_the_signature_is_coral_s_hmac_sha256_of_the_raw_body() -> None:
    body = encoded(NEW_COMMENT)
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == f"sha256={digest}"
    assert signature_matches(SECRET, body, f"sha256={digest}")
    assert signature_matches(SECRET, body, f"sha256={digest.upper()}")


def test_any_one_signature_of_a_rotation_header_is_enough() -> None:
    body = encoded(NEW_COMMENT)
    header = f"{sign('empsec_old', body)},{sign(SECRET, body)}"
    assert signature_matches(SECRET, body, header)
    assert signature_matches("empsec_old", body, header)
    assert not signature_matches("empsec_third", body, header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha256", "md5=abc", "sha256=deadbeef", "sha256=é", sign("another secret", b"{}")],
)
def test_missing_malformed_or_wrong_signatures_never_match(header: str | None) -> None:
    assert not signature_matches(SECRET, encoded(NEW_COMMENT), header)


def test_a_signature_does_not_survive_a_changed_body() -> None:
    body = encoded(payload("a harmless comment"))
    tampered = encoded(payload("a different comment"))
    assert not signature_matches(SECRET, tampered, sign(SECRET, body))


# Parsing ------------------------------------------------------------------------------------------------------


def test_coral_s_documented_examples_parse() -> None:
    request = parse_request(encoded(NEW_COMMENT))
    assert request.action == "NEW"
    assert request.text == "Here's a comment!"
    assert request.thread_key == "http://localhost:1313/posts/a-story-url/"
    reply = payload("Here's a reply!")
    reply["comment"]["parentID"] = "d79b787f-f406-49a0-a179-72e3652e54be"
    assert parse_request(encoded(reply)).comment.parentID == "d79b787f-f406-49a0-a179-72e3652e54be"


def test_older_and_newer_coral_fields_are_accepted() -> None:
    """Early builds sent ``tenant: {id, domain}``; fields Coral adds later are ignored, not refused."""
    older = payload("an edit", action="EDIT", tenant={"id": "t1", "domain": "news.example"})
    del older["tenantID"], older["tenantDomain"]
    request = parse_request(encoded({**older, "somethingNew": {"x": 1}}))
    assert request.action == "EDIT" and request.tenant is not None and request.tenant.domain == "news.example"


def test_an_html_body_is_read_as_its_visible_text() -> None:
    request = ExternalModerationRequest.model_validate(payload("<div>You <b>idiot</b>,<br>see &amp; weep</div>"))
    assert request.text == "You idiot,\nsee & weep"
    plain = ExternalModerationRequest.model_validate(payload("a < b && c > d, &amp; stays"))
    assert plain.text == "a < b && c > d, &amp; stays"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not valid JSON: Expecting property name enclosed in double quotes at character 1"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "valid dictionary"),
        (b'{"action": "NEW", "comment": {"body": "a \\ud800"}}', "comment.body contains an unpaired surrogate"),
        (encoded({"action": "NEW", "comment": {"parentID": None}}), "comment.body"),
        (encoded({"action": "NEW"}), "comment"),
        (encoded(payload("hi", action="DELETE")), "action"),
        (encoded({"action": "NEW", "comment": {"body": 42}}), "comment.body"),
    ],
)
def test_unusable_requests_are_input_errors_that_name_the_problem(body: bytes, named: str) -> None:
    with pytest.raises(InputError, match=named):
        parse_request(body)


def test_a_comment_over_the_limit_is_refused() -> None:
    with pytest.raises(InputError, match="limit is 10"):
        parse_request(encoded(payload("x" * 11)), max_chars=10)
    assert parse_request(encoded(payload("x" * 10)), max_chars=10).comment.body == "x" * 10


# The decision in Coral's terms ----------------------------------------------------------------------------------

POLICY = Policy(
    thresholds={"TOXICITY": Thresholds(review=0.5, reject=0.9)},
    banned_words=("idiot",),
    suspect_words=("scam",),
    max_links=1,
    premoderate_threads=("https://news.example/premod",),
)


def answer(text: str, toxicity: float, thread_key: str | None = None) -> dict[str, Any] | None:
    reply = respond(decide(POLICY, text, {"TOXICITY": toxicity}, thread_key=thread_key))
    return None if reply is None else reply.model_dump(mode="json", exclude_none=True)


def test_every_policy_reason_has_a_coral_flag_or_none() -> None:
    """A reason the policy gains must be mapped here before Coral can be told about it."""
    assert set(_FLAGS) == set(get_args(ReasonCode))


def test_approve_is_no_opinion() -> None:
    assert answer("a fine comment", 0.1) is None


def test_reject_is_rejected_with_a_toxic_flag() -> None:
    toxic_flag = [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]
    assert answer("a fine comment", 0.95) == {"status": "REJECTED", "actions": toxic_flag}
    # Score and banned word both fired: still one flag of each kind.
    assert answer("what an idiot", 0.95) == {"status": "REJECTED", "actions": toxic_flag}


def test_review_is_withheld_like_coral_s_own_toxicity_filter() -> None:
    assert answer("a fine comment", 0.6) == {
        "status": "SYSTEM_WITHHELD",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }
    assert answer("a scam, see https://a.example and https://b.example", 0.1) == {
        "status": "SYSTEM_WITHHELD",
        "actions": [
            {"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"},
            {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"},
        ],
    }


def test_pre_moderation_alone_is_premod_without_a_flag() -> None:
    assert answer("a fine comment", 0.1, "https://news.example/premod") == {"status": "PREMOD"}
    withheld = answer("a fine comment", 0.6, "https://news.example/premod")
    assert withheld is not None and withheld["status"] == "SYSTEM_WITHHELD"


# The route ------------------------------------------------------------------------------------------------------


def test_a_clean_comment_gets_no_opinion(make_client: Callable[..., Any]) -> None:
    response = make_client().post(PATH, content=encoded(payload(CLEAN)))
    assert response.status_code == 204
    assert response.content == b""


def test_a_toxic_comment_is_rejected_under_a_strict_threshold(make_client: Callable[..., Any], tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "[thresholds.TOXICITY]\nreview = 0.3\nreject = 0.5\n")
    client = make_client(policy=policy)
    response = client.post(PATH, content=encoded(payload(TOXIC)))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "REJECTED",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }
    assert client.post(PATH, content=encoded(payload(CLEAN))).status_code == 204


def test_a_banned_word_in_an_html_body_is_rejected(make_client: Callable[..., Any], tmp_path: Path) -> None:
    client = make_client(policy=write_policy(tmp_path, 'banned_words = ["harbourgate"]\n'))
    response = client.post(PATH, content=encoded(payload("<div>Ask about <b>Harbourgate</b></div>", action="EDIT")))
    assert response.status_code == 200
    assert response.json()["status"] == "REJECTED"


def test_a_premoderated_story_is_premod(make_client: Callable[..., Any], tmp_path: Path) -> None:
    url = NEW_COMMENT["story"]["url"]
    client = make_client(policy=write_policy(tmp_path, f'premoderate_threads = ["{url}"]\n'))
    assert client.post(PATH, content=encoded(payload(CLEAN))).json() == {"status": "PREMOD"}


def test_with_a_signing_secret_a_valid_signature_alone_admits(make_client: Callable[..., Any]) -> None:
    """Coral sends no API key and no timestamp: the body's signature is the whole proof."""
    client = make_client(scopes=None, coral_signing_secret=SECRET)
    body = encoded(payload(CLEAN))
    response = client.post(PATH, content=body, headers={"X-Coral-Signature": sign(SECRET, body)})
    assert response.status_code == 204
    rotating = f"{sign('empsec_retired', body)},{sign(SECRET, body)}"
    assert client.post(PATH, content=body, headers={"X-Coral-Signature": rotating}).status_code == 204


@pytest.mark.parametrize(
    ("headers", "title"),
    [
        ({}, "Coral signature required"),
        ({"X-Coral-Signature": sign("empsec_wrong", b"{}")}, "Invalid Coral signature"),
        ({"X-Coral-Signature": "sha256=not-hex"}, "Invalid Coral signature"),
    ],
)
def test_with_a_signing_secret_a_missing_or_wrong_signature_is_refused(
    make_client: Callable[..., Any], headers: dict[str, str], title: str
) -> None:
    client = make_client(coral_signing_secret=SECRET)  # a valid API key does not replace the signature
    response = client.post(PATH, content=encoded(payload(TOXIC)), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == title


def test_a_signature_of_another_body_is_refused(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=None, coral_signing_secret=SECRET)
    signed, sent = encoded(payload(CLEAN)), encoded(payload(TOXIC))
    response = client.post(PATH, content=sent, headers={"X-Coral-Signature": sign(SECRET, signed)})
    assert response.status_code == 401


def test_the_signature_is_checked_before_the_body_is_parsed(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=None, coral_signing_secret=SECRET)
    assert client.post(PATH, content=b"{not json").status_code == 401


def test_a_missing_key_is_explained_in_what_coral_can_send(make_client: Callable[..., Any]) -> None:
    response = make_client(scopes=None).post(PATH, content=encoded(payload(CLEAN)))
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert "Callback URL" in detail and "?key=" in detail and "MODERATION_CORAL_SIGNING_SECRET" in detail
    assert "Authorization" not in detail  # Coral's admin has no field for a header


def test_without_a_signing_secret_a_write_key_is_required(make_client: Callable[..., Any]) -> None:
    body = encoded(payload(CLEAN))
    assert make_client(scopes=None).post(PATH, content=body).status_code == 401
    assert make_client(scopes=("read",)).post(PATH, content=body).status_code == 403
    client = make_client(scopes=("write",))
    token = client.headers.pop("Authorization").removeprefix("Bearer ")
    # Coral's phase settings hold only a URL, so the key travels in it.
    assert client.post(f"{PATH}?key={token}", content=body).status_code == 204


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "the body is not valid JSON: Expecting property name enclosed in double quotes at character 1"),
        (b"", "the body is not valid JSON: Expecting value at character 0"),
        (b"\xff\xfe", "the body is not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_answers_400_with_the_parser_s_message(
    make_client: Callable[..., Any], body: bytes, named: str
) -> None:
    response = make_client().post(PATH, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Invalid JSON" and named in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (encoded({"action": "NEW", "comment": {"parentID": None}}), "comment.body"),
        (encoded({"type": "COMMENT_CREATED", "data": {"commentID": "c1"}}), "comment"),
    ],
)
def test_unusable_bodies_answer_422_problems_never_500(
    make_client: Callable[..., Any], body: bytes, named: str
) -> None:
    response = make_client().post(PATH, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


def test_a_comment_over_the_desk_s_limit_is_422(make_client: Callable[..., Any]) -> None:
    response = make_client(max_comment_chars=20).post(PATH, content=encoded(payload("x" * 21)))
    assert response.status_code == 422
    assert "limit is 20" in response.json()["detail"]


def test_the_schema_documents_coral_s_request_and_answer(make_client: Callable[..., Any]) -> None:
    schema = make_client(scopes=None).get("/openapi.json").json()
    operation = schema["paths"][PATH]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert request["required"] == ["action", "comment"]
    assert "$defs" not in json.dumps(request)
    assert set(operation["responses"]) >= {"200", "204", "401", "422"}
    answer_schema = schema["components"]["schemas"]["ExternalModerationResponse"]
    assert set(answer_schema["properties"]) == {"actions", "status", "tags"}


# Coral's Toxic Comment Filter (its Perspective integration) pointed at the desk -------------------------------

#: Coral's ``convertLanguage`` (services/perspective/perspective.ts): the tenant's locale -> the one language it
#: sends in ``languages``; every other locale is sent as English.
CORAL_LANGUAGES = {"en-US": "en", "es": "es", "fr-FR": "fr", "de": "de", "pt-BR": "pt", "it-IT": "en", "nl-NL": "en"}
#: English words, so that detection alone would send them to the English model.
ENGLISH_WORDS = "You are a stupid idiot and everyone here hates you."


def coral_analyze(client: Any, key: str, language: str, text: str = ENGLISH_WORDS) -> Any:
    """Exactly what Coral's filter sends: <endpoint>/comments:analyze?key=, these four fields."""
    body = {
        "comment": {"text": text},
        "doNotStore": True,
        "requestedAttributes": {"TOXICITY": {}},
        "languages": [language],
    }
    return client.post(f"/v1alpha1/comments:analyze?key={key}", json=body)


@pytest.mark.parametrize("locale", ["en-US", "fr-FR", "de", "pt-BR", "it-IT"])
def test_the_language_coral_sends_chooses_the_model_not_the_text(make_client: Callable[..., Any], locale: str) -> None:
    client = make_client()
    key = client.headers["Authorization"].removeprefix("Bearer ")
    language = CORAL_LANGUAGES[locale]
    answer = coral_analyze(client, key, language)
    assert answer.status_code == 200, answer.text
    assert answer.json()["languages"] == [language] and "detectedLanguages" not in answer.json()
    # /v1 told the same language scores with the model routes.json names for it: the same score.
    scored = client.post("/v1/comments:score", json={"comments": [{"text": ENGLISH_WORDS, "language": language}]})
    [comment] = scored.json()["comments"]
    assert answer.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == pytest.approx(
        comment["attributes"]["TOXICITY"], abs=1e-6
    )
    assert ("all-MiniLM-L6-v2" if language == "en" else "multilingual-e5-small") in comment["model"]


def test_a_spanish_coral_site_is_told_toxicity_is_not_measured_in_spanish(make_client: Callable[..., Any]) -> None:
    client = make_client()
    key = client.headers["Authorization"].removeprefix("Bearer ")
    answer = coral_analyze(client, key, CORAL_LANGUAGES["es"], "Eres un idiota y todos aquí te odian.")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == "Attribute TOXICITY does not support request languages: es"
    assert error["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
