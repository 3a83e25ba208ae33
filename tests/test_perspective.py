"""Perspective's AnalyzeComment: the library's mapping, and the endpoint driven with Perspective's own bodies.

Request and response bodies follow Perspective's documentation (the AnalyzeComment example of
conversationai/perspectiveapi 2-api/methods.md, the error messages of its limits page) and what
Coral Talk sends (src/core/server/services/perspective/perspective.ts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from moderation.perspective import (
    AnalyzeCommentRequest,
    PerspectiveError,
    build_response,
    detected_languages,
    invalid_payload,
    resolve_attribute,
    validate_request,
)
from moderation.perspective_attributes import CATALOGUE, lookup
from moderation.scores import CommentScores, LabelScores, SpanScore
from tests.conftest import REPO

URL = "/v1alpha1/comments:analyze"
# The example of Perspective's API reference: two sentences, [0, 31) and [32, 56).
EXAMPLE = "What kind of idiot name is foo? Sorry, I like your name."


def ENGLISH(attribute: str, language: str) -> bool:
    """Serves every attribute in English only: a scorer of one English model."""
    return language.split("-")[0].lower() == "en"


Client = Callable[..., Any]


def _request(**body: Any) -> AnalyzeCommentRequest:
    return AnalyzeCommentRequest.model_validate(body)


def _scores(attributes: dict[str, float], spans: list[SpanScore] | None = None) -> CommentScores:
    neutral = LabelScores(label="neutral", probabilities={"negative": 0.2, "neutral": 0.6, "positive": 0.2})
    toxic = LabelScores(label="not_toxic", probabilities={"not_toxic": 0.6, "toxic": 0.4})
    return CommentScores(sentiment=neutral, stance=None, toxicity=toxic, attributes=attributes, spans=spans or [])


def _error(response: Any, code: int, status: str) -> dict[str, Any]:
    """Google's error envelope, not problem+json; returns its ``error`` object."""
    assert response.status_code == code, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    return error


# The library ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("TOXICITY", "TOXICITY"),
        ("SEVERE_TOXICITY_EXPERIMENTAL", "SEVERE_TOXICITY"),
        ("IDENTITY_ATTACK_EXPERIMENTAL", "IDENTITY_ATTACK"),
        ("TOXICITY@6", "TOXICITY"),
        ("INSULT_EXPERIMENTAL@2", "INSULT"),
        ("TOXICITY_FAST", "TOXICITY"),
        ("OBSCENE", "PROFANITY"),
        ("SEXUALLY_EXPLICIT", "SEXUALLY_EXPLICIT"),
        ("UNSUBSTANTIAL", None),
        ("FLIRTATION@2", None),
        ("toxicity", None),
        ("TOXICITY@v6", None),
        ("_EXPERIMENTAL", None),
    ],
)
def test_requested_names_resolve_to_our_attributes(name: str, attribute: str | None) -> None:
    assert resolve_attribute(name) == attribute


@pytest.mark.parametrize(
    "name",
    [
        *("TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT"),
        *("THREAT_EXPERIMENTAL", "SEXUALLY_EXPLICIT", "FLIRTATION", "TOXICITY_FAST"),
        *("ATTACK_ON_AUTHOR", "ATTACK_ON_COMMENTER", "INCOHERENT", "INFLAMMATORY", "LIKELY_TO_REJECT"),
        *("OBSCENE", "SPAM", "UNSUBSTANTIAL", "OFF_TOPIC", "ATTACK_ON_PUBLISHER"),
        *("AFFINITY_EXPERIMENTAL", "REASONING_EXPERIMENTAL", "MORAL_OUTRAGE_EXPERIMENTAL"),
        *("FLIRTATION@2", "SPAM@1", "TOXICITY@6"),
    ],
)
def test_every_name_perspective_documents_is_known(name: str) -> None:
    assert lookup(name) is not None


@pytest.mark.parametrize("name", ["NOT_AN_ATTRIBUTE", "spam", "SPAM@", "SPAM@latest", "@6", "SPAM_EXPERIMENTAL", ""])
def test_names_perspective_does_not_document_are_unknown(name: str) -> None:
    assert lookup(name) is None


def test_the_docs_say_how_each_documented_name_is_answered() -> None:
    section = (REPO / "docs" / "perspective.md").read_text(encoding="utf-8").split("\n## Attributes\n")[1]
    section = section.split("\n## ")[0]
    production = {f"{name}_EXPERIMENTAL" for name, known in CATALOGUE.items() if not known.experimental}
    assert [name for name in CATALOGUE if name not in production and f"`{name}`" not in section] == []


def test_unserved_attributes_are_refused_as_unsupported_and_dropped_on_request() -> None:
    names = {"TOXICITY": {}, "SEXUALLY_EXPLICIT": {}, "FLIRTATION@2": {}}
    request = _request(comment={"text": "hello"}, languages=["en"], requestedAttributes=names)
    with pytest.raises(PerspectiveError) as raised:
        validate_request(request, max_chars=100, serves=ENGLISH)
    assert raised.value.message == "Attribute FLIRTATION@2 does not support request languages: en"
    assert raised.value.body()["error"]["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    dropped = request.model_copy(update={"drop_unsupported_attributes": True})
    validate_request(dropped, max_chars=100, serves=ENGLISH)
    # SEXUALLY_EXPLICIT is answered by a model that has such a head (a multi-label checkpoint), else left out.
    without = build_response(dropped, _scores({"TOXICITY": 0.1}), serves=ENGLISH)
    assert list(without.attribute_scores) == ["TOXICITY"]
    with_head = build_response(dropped, _scores({"TOXICITY": 0.1, "SEXUALLY_EXPLICIT": 0.2}), serves=ENGLISH)
    assert list(with_head.attribute_scores) == ["TOXICITY", "SEXUALLY_EXPLICIT"]


def test_a_response_mirrors_the_requested_names_and_counts_spans_in_utf16() -> None:
    comment = "You 😀 fool. Nice day."  # the emoji is one Python character, two UTF-16 code units
    spans = [
        SpanScore(begin=0, end=11, attributes={"TOXICITY": 0.9, "SEVERE_TOXICITY": 0.4}),
        SpanScore(begin=12, end=21, attributes={"TOXICITY": 0.1, "SEVERE_TOXICITY": 0.01}),
    ]
    request = _request(
        comment={"text": comment},
        requestedAttributes={"TOXICITY": {}, "SEVERE_TOXICITY_EXPERIMENTAL": {"scoreThreshold": 0.3}},
        spanAnnotations=True,
        clientToken="c-1",
    )
    body = build_response(
        request, _scores({"TOXICITY": 0.8, "SEVERE_TOXICITY": 0.35}, spans), serves=ENGLISH
    ).model_dump(by_alias=True, exclude_none=True)
    assert body == {
        "attributeScores": {
            "TOXICITY": {
                "summaryScore": {"value": 0.8, "type": "PROBABILITY"},
                "spanScores": [
                    {"begin": 0, "end": 12, "score": {"value": 0.9, "type": "PROBABILITY"}},
                    {"begin": 13, "end": 22, "score": {"value": 0.1, "type": "PROBABILITY"}},
                ],
            },
            # The threshold also leaves out the spans below it.
            "SEVERE_TOXICITY_EXPERIMENTAL": {
                "summaryScore": {"value": 0.35, "type": "PROBABILITY"},
                "spanScores": [{"begin": 0, "end": 12, "score": {"value": 0.4, "type": "PROBABILITY"}}],
            },
        },
        "languages": ["en"],
        "clientToken": "c-1",
    }


def test_without_span_annotations_one_span_covers_the_whole_text() -> None:
    comment = "Fine 👍"
    request = _request(comment={"text": comment}, requestedAttributes={"TOXICITY": {}})
    spans = [SpanScore(begin=0, end=6, attributes={"TOXICITY": 0.3})]
    body = build_response(request, _scores({"TOXICITY": 0.2}, spans), serves=ENGLISH).model_dump(
        by_alias=True, exclude_none=True
    )
    assert body["attributeScores"]["TOXICITY"]["spanScores"] == [
        {"begin": 0, "end": 7, "score": {"value": 0.2, "type": "PROBABILITY"}}
    ]


def test_an_attribute_the_model_does_not_serve_is_refused_like_an_unsupported_language() -> None:
    request = _request(comment={"text": "hello"}, requestedAttributes={"TOXICITY": {}, "THREAT": {}})
    with pytest.raises(PerspectiveError) as raised:
        build_response(request, _scores({"TOXICITY": 0.1}), serves=ENGLISH)
    assert raised.value.message == "Attribute THREAT does not support request languages: en"
    assert raised.value.body()["error"]["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    dropped = request.model_copy(update={"drop_unsupported_attributes": True})
    assert list(build_response(dropped, _scores({"TOXICITY": 0.1}), serves=ENGLISH).attribute_scores) == ["TOXICITY"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty."),
        ({"comment": {"text": "  \n"}, "requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty."),
        ({"comment": {"text": "x" * 11}, "requestedAttributes": {"TOXICITY": {}}}, "Comment text too long."),
        ({"comment": {"text": "hi"}}, "Missing requested_attributes"),
        ({"comment": {"text": "hi", "type": "MARKDOWN"}, "requestedAttributes": {"TOXICITY": {}}}, "Unknown text type"),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "PERCENTILE"}}},
            "Requested score type PERCENTILE is not supported by attribute TOXICITY",
        ),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"INSULT": {}}, "languages": ["en", "es"]},
            "Attribute INSULT does not support request languages: en, es",
        ),
    ],
)
def test_requests_perspective_refuses_are_refused_with_its_messages(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PerspectiveError, match=message) as raised:
        validate_request(_request(**body), max_chars=10, serves=ENGLISH)
    assert raised.value.code == 400


def test_malformed_bodies_are_described_as_google_describes_them() -> None:
    unknown = invalid_payload([{"type": "extra_forbidden", "loc": ("body", "comment", "txt"), "msg": "Extra"}])
    assert unknown.message == "Invalid JSON payload received. Unknown name \"txt\" at 'comment': Cannot find field."
    wrong = invalid_payload([{"type": "string_type", "loc": ("body", "languages", 0), "msg": "Input should be a str"}])
    assert wrong.message == "Invalid value at 'languages[0]': Input should be a str"


# The endpoint -----------------------------------------------------------------------------------------------


def test_the_documented_example_is_answered_in_perspectives_shape(make_client: Client) -> None:
    # Perspective's reference example, less UNSUBSTANTIAL (which this desk does not serve).
    request = {"comment": {"text": EXAMPLE}, "languages": ["en"], "requestedAttributes": {"TOXICITY": {}}}
    response = make_client().post(URL, json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"attributeScores", "languages"}
    assert body["languages"] == ["en"]
    toxicity = body["attributeScores"]["TOXICITY"]
    assert toxicity["summaryScore"]["type"] == "PROBABILITY"
    assert 0.0 <= toxicity["summaryScore"]["value"] <= 1.0
    assert toxicity["spanScores"] == [{"begin": 0, "end": len(EXAMPLE), "score": toxicity["summaryScore"]}]


def test_the_documented_example_as_given_refuses_unsubstantial_as_an_unsupported_attribute(
    make_client: Client,
) -> None:
    client = make_client()
    request = {
        "comment": {"text": EXAMPLE},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}, "UNSUBSTANTIAL": {}},
    }
    error = _error(client.post(URL, json=request), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Attribute UNSUBSTANTIAL does not support request languages: en"
    assert error["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    dropped = client.post(URL, json={**request, "dropUnsupportedAttributes": True})
    assert list(dropped.json()["attributeScores"]) == ["TOXICITY"]
    unknown = client.post(URL, json={**request, "requestedAttributes": {"TOXICITY": {}, "UNSUBSTANTIALITY": {}}})
    assert _error(unknown, 400, "INVALID_ARGUMENT")["message"] == "Unknown requested attribute: UNSUBSTANTIALITY"


#: What PyPI's ``perspectiveapi`` sends when asked for all its attributes (perspective/blocking.py, 1.1.0).
EVERY_PERSPECTIVEAPI_ATTRIBUTE = {
    "languages": ["en"],
    "comment": {"text": "You are a stupid idiot and everyone hates you."},
    "requestedAttributes": {
        name: {} for name in ("TOXICITY", "SEVERE_TOXICITY", "INSULT", "THREAT", "SEXUALLY_EXPLICIT", "FLIRTATION")
    },
}


def test_the_server_setting_leaves_out_unsupported_attributes_for_clients_that_cannot_ask(
    make_client: Client,
) -> None:
    refused = make_client().post(URL, json=EVERY_PERSPECTIVEAPI_ATTRIBUTE)
    _error(refused, 400, "INVALID_ARGUMENT")  # perspectiveapi then fails with KeyError: 'attributeScores'
    answered = make_client(perspective_drop_unsupported=True).post(URL, json=EVERY_PERSPECTIVEAPI_ATTRIBUTE)
    assert answered.status_code == 200, answered.text
    assert list(answered.json()["attributeScores"]) == ["TOXICITY", "SEVERE_TOXICITY", "INSULT", "THREAT"]


def test_a_versioned_name_is_answered_by_the_loaded_head_under_the_requested_name(make_client: Client) -> None:
    request = {"comment": {"text": EXAMPLE}, "requestedAttributes": {"TOXICITY": {}, "TOXICITY@6": {}, "OBSCENE": {}}}
    scores = make_client().post(URL, json=request).json()["attributeScores"]
    assert scores["TOXICITY@6"] == scores["TOXICITY"]
    assert 0.0 <= scores["OBSCENE"]["summaryScore"]["value"] <= 1.0


def test_span_annotations_score_each_sentence(make_client: Client) -> None:
    request = {"comment": {"text": EXAMPLE}, "requestedAttributes": {"TOXICITY": {}}, "spanAnnotations": True}
    spans = make_client().post(URL, json=request).json()["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(span["begin"], span["end"]) for span in spans] == [(0, 31), (32, 56)]
    insult, apology = (span["score"]["value"] for span in spans)
    assert insult > apology


def _row_counts(client: Any) -> dict[str, int]:
    tables = ("articles", "comments", "scores", "attribute_scores", "decisions", "audit_log")
    with client.app.state.app_state.engine.connect() as connection:
        return {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() for table in tables}


def test_coral_talks_request_with_the_key_in_the_query_is_scored_and_not_stored(make_client: Client) -> None:
    client = make_client()
    key = client.headers.pop("Authorization").removeprefix("Bearer ")
    before = _row_counts(client)
    # Exactly what Coral sends: endpoint + "/comments:analyze", ?key=, these four fields.
    request = {
        "comment": {"text": "You are a stupid idiot and everyone hates you."},
        "doNotStore": False,
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
    }
    response = client.post(f"{URL}?key={key}", json=request)
    assert response.status_code == 200, response.text
    assert response.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] > 0.5
    # Nothing is stored, even when doNotStore is false.
    assert _row_counts(client) == before


def test_the_client_token_is_echoed_and_snake_case_fields_are_accepted(make_client: Client) -> None:
    request = {
        "comment": {"text": "Thanks for the article."},
        "requested_attributes": {"TOXICITY": {}},
        "client_token": "comment:42",
        "session_id": "s",
        "community_id": "Coral:https://news.example.org",
        "context": {"entries": [{"text": "The article."}]},
    }
    body = make_client().post(URL, json=request).json()
    assert body["clientToken"] == "comment:42"
    assert list(body["attributeScores"]) == ["TOXICITY"]


def test_an_experimental_name_answers_with_its_base_attributes_score(make_client: Client) -> None:
    request = {"comment": {"text": EXAMPLE}, "requestedAttributes": {"TOXICITY": {}, "TOXICITY_EXPERIMENTAL": {}}}
    scores = make_client().post(URL, json=request).json()["attributeScores"]
    assert scores["TOXICITY_EXPERIMENTAL"] == scores["TOXICITY"]


def test_a_score_threshold_leaves_out_attributes_below_it(make_client: Client) -> None:
    client = make_client()
    comment = {"text": "Thanks for the careful reporting."}
    above = client.post(URL, json={"comment": comment, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 1.0}}})
    assert above.status_code == 200
    assert above.json()["attributeScores"] == {}
    low = client.post(URL, json={"comment": comment, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.0}}})
    assert "TOXICITY" in low.json()["attributeScores"]


def test_an_attribute_no_test_split_measures_in_a_language_is_refused_as_perspective_refuses_it(
    make_client: Client,
) -> None:
    client = make_client()
    # French toxicity is measured (MLMA, CONAN), French threats are not.
    french = {"comment": {"text": "Quel article idiot."}, "languages": ["fr"]}
    assert client.post(URL, json={**french, "requestedAttributes": {"TOXICITY": {}}}).status_code == 200
    request = {**french, "requestedAttributes": {"THREAT": {}}}
    error = _error(client.post(URL, json=request), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Attribute THREAT does not support request languages: fr"
    assert error["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert error["details"][0]["languageNotSupportedByAttributeError"]["attribute"] == "THREAT"
    dropped = client.post(URL, json={**request, "dropUnsupportedAttributes": True})
    assert dropped.json() == {"attributeScores": {}, "languages": ["fr"]}
    english = client.post(URL, json={**request, "languages": ["en-US"]})
    assert english.status_code == 200
    assert english.json()["languages"] == ["en-US"]


def test_a_request_without_languages_answers_the_detected_language(make_client: Client) -> None:
    client = make_client()
    request = {
        "comment": {"text": "You are a stupid idiot and everyone hates you."},
        "requestedAttributes": {"TOXICITY": {}},
    }
    body = client.post(URL, json=request).json()
    assert body["detectedLanguages"] == ["en"]
    assert body["languages"] == ["en"]
    # Languages given: nothing is detected, as Perspective does.
    assert "detectedLanguages" not in client.post(URL, json={**request, "languages": ["en"]}).json()
    # Too little text to tell: taken to be English, as before detection, and no detectedLanguages.
    emoji = client.post(URL, json={**request, "comment": {"text": "👍👍"}})
    assert emoji.status_code == 200, emoji.text
    assert emoji.json()["languages"] == ["en"]
    assert "detectedLanguages" not in emoji.json()


def test_a_detected_language_an_attribute_is_not_served_in_is_refused_naming_it(make_client: Client) -> None:
    client = make_client()
    spanish = "Este artículo es una estupidez y el autor debería avergonzarse de escribirlo."
    request = {"comment": {"text": spanish}, "requestedAttributes": {"TOXICITY": {}}}
    error = _error(client.post(URL, json=request), 400, "INVALID_ARGUMENT")
    assert error["message"] == "Attribute TOXICITY does not support request languages: es"
    detail = error["details"][0]
    assert detail["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert detail["languageNotSupportedByAttributeError"] == {"detectedLanguages": ["es"], "attribute": "TOXICITY"}
    dropped = client.post(URL, json={**request, "dropUnsupportedAttributes": True})
    assert dropped.json() == {"attributeScores": {}, "languages": ["es"], "detectedLanguages": ["es"]}
    # The client's languages win over the detector's, as Perspective's do.
    asked = client.post(URL, json={**request, "languages": ["en"]})
    assert asked.status_code == 200
    assert asked.json()["languages"] == ["en"]
    assert "detectedLanguages" not in asked.json()


def test_the_library_detects_only_without_languages_and_checks_what_it_detected() -> None:
    french = "Je ne suis pas du tout d'accord avec cet article, c'est vraiment ridicule."
    request = _request(comment={"text": french}, requestedAttributes={"TOXICITY": {}})
    assert detected_languages(request) == ["fr"]
    assert detected_languages(request.model_copy(update={"languages": ["fr"]})) == []
    assert detected_languages(_request(comment={"text": "ok"}, requestedAttributes={"TOXICITY": {}})) == []
    with pytest.raises(PerspectiveError) as raised:
        validate_request(request, max_chars=1000, serves=ENGLISH, detected=["fr"])
    assert raised.value.message == "Attribute TOXICITY does not support request languages: fr"
    validate_request(request, max_chars=1000, serves=ENGLISH, detected=["en"])
    body = build_response(request, _scores({"TOXICITY": 0.1}), detected=["en"], serves=ENGLISH).model_dump(
        by_alias=True, exclude_none=True
    )
    assert (body["languages"], body["detectedLanguages"]) == (["en"], ["en"])


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ({"text": ""}, "Comment must be non-empty."),
        ({"text": "x" * 41}, "Comment text too long."),
        ({"text": "<p>Hello</p>", "type": "HTML"}, "Currently, only 'PLAIN_TEXT' comments are supported"),
    ],
)
def test_comments_perspective_refuses_are_refused(make_client: Client, comment: dict[str, str], message: str) -> None:
    response = make_client(max_comment_chars=40).post(
        URL, json={"comment": comment, "requestedAttributes": {"TOXICITY": {}}}
    )
    assert _error(response, 400, "INVALID_ARGUMENT")["message"] == message


def test_bodies_that_are_not_requests_answer_in_googles_shape(make_client: Client) -> None:
    client = make_client()
    broken = client.post(URL, content=b'{"comment": ', headers={"Content-Type": "application/json"})
    assert _error(broken, 400, "INVALID_ARGUMENT")["message"].startswith("Invalid JSON payload received.")
    unknown = client.post(URL, json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "x": 1})
    assert 'Unknown name "x"' in _error(unknown, 400, "INVALID_ARGUMENT")["message"]
    wrong = client.post(URL, json={"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}})
    assert "comment.text" in _error(wrong, 400, "INVALID_ARGUMENT")["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"comment": {"text": "hi \\ud800"}, "requestedAttributes": {"TOXICITY": {}}}',
        b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "clientToken": "\\udc00"}',
        b'{"comment": {"text": "hi"}, "requestedAttributes": {"\\ud800": {}}}',
        b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "\\ud800": 1}',
    ],
)
def test_lone_surrogates_are_refused_not_a_server_error(make_client: Client, raw: bytes) -> None:
    # Valid JSON escapes that are no Unicode text: they could be neither scored nor echoed back.
    response = make_client().post(URL, content=raw, headers={"Content-Type": "application/json"})
    _error(response, 400, "INVALID_ARGUMENT")


def test_keys_are_required_and_refusals_answer_in_googles_shape(make_client: Client) -> None:
    request = {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
    anonymous = make_client(scopes=None)
    missing = _error(anonymous.post(URL, json=request), 401, "UNAUTHENTICATED")
    assert missing["message"] == "The request is missing a valid API key."
    invalid = _error(anonymous.post(f"{URL}?key=md_00000000_nope", json=request), 401, "UNAUTHENTICATED")
    assert invalid["message"] == "API key not valid. Please pass a valid API key."
    reader = make_client(scopes=("read",))
    assert "'write'" in _error(reader.post(URL, json=request), 403, "PERMISSION_DENIED")["message"]


def test_the_rate_limit_answers_resource_exhausted_with_retry_after(make_client: Client) -> None:
    client = make_client(rate_limit_per_minute=1)
    request = {"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}
    client.post(URL, json=request)
    limited = client.post(URL, json=request)
    _error(limited, 429, "RESOURCE_EXHAUSTED")
    assert int(limited.headers["Retry-After"]) >= 1


def test_the_openapi_schema_documents_perspectives_shapes(make_client: Client) -> None:
    schema = make_client(scopes=None).get("/openapi.json").json()
    operation = schema["paths"][URL]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("AnalyzeCommentRequest")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AnalyzeCommentResponse"
    )
    assert "422" not in operation["responses"]
    properties = schema["components"]["schemas"]["AnalyzeCommentRequest"]["properties"]
    assert {"comment", "requestedAttributes", "languages", "doNotStore", "clientToken", "spanAnnotations"} <= set(
        properties
    )
    answer = schema["components"]["schemas"]["AnalyzeCommentResponse"]["properties"]
    assert {"attributeScores", "languages", "detectedLanguages", "clientToken"} <= set(answer)
