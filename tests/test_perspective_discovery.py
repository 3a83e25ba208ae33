"""Perspective's discovery document: Google's structure (the v1alpha1 ``commentanalyzer`` REST description of
googleapis/google-api-go-client's ``commentanalyzer-api.json``), pointing at the server that serves it, and
describing exactly the fields the desk's endpoints take."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from moderation.feedback import SuggestCommentScoreRequest, SuggestCommentScoreResponse, SuggestedScores
from moderation.perspective import (
    AnalyzeCommentRequest,
    AnalyzeCommentResponse,
    PerspectiveArticleAndParent,
    PerspectiveAttributeParameters,
    PerspectiveAttributeScores,
    PerspectiveContext,
    PerspectiveScore,
    PerspectiveSpanScore,
    PerspectiveText,
)
from moderation.perspective_discovery import discovery_document

DOCUMENT = "/$discovery/rest"
ROOT = "http://desk.example:8000/"

#: Each schema of Google's document and the model that reads or writes it here.
MODELS: dict[str, type[BaseModel]] = {
    "AnalyzeCommentRequest": AnalyzeCommentRequest,
    "AnalyzeCommentResponse": AnalyzeCommentResponse,
    "ArticleAndParentComment": PerspectiveArticleAndParent,
    "AttributeParameters": PerspectiveAttributeParameters,
    "AttributeScores": PerspectiveAttributeScores,
    "Context": PerspectiveContext,
    "Score": PerspectiveScore,
    "SpanScore": PerspectiveSpanScore,
    "SuggestCommentScoreRequest": SuggestCommentScoreRequest,
    "SuggestCommentScoreResponse": SuggestCommentScoreResponse,
    "TextEntry": PerspectiveText,
}


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_the_document_has_googles_structure_with_this_server_as_its_root() -> None:
    document = discovery_document(ROOT)
    assert (document["kind"], document["name"], document["version"]) == (
        "discovery#restDescription",
        "commentanalyzer",
        "v1alpha1",
    )
    assert document["id"] == "commentanalyzer:v1alpha1"
    assert document["rootUrl"] == document["baseUrl"] == ROOT and document["servicePath"] == ""
    assert document["parameters"]["key"]["location"] == "query"
    methods = document["resources"]["comments"]["methods"]
    for name, request, response in [
        ("analyze", "AnalyzeCommentRequest", "AnalyzeCommentResponse"),
        ("suggestscore", "SuggestCommentScoreRequest", "SuggestCommentScoreResponse"),
    ]:
        method = methods[name]
        assert method["id"] == f"commentanalyzer.comments.{name}"
        assert method["path"] == method["flatPath"] == f"v1alpha1/comments:{name}"
        assert method["httpMethod"] == "POST"
        assert (method["request"], method["response"]) == ({"$ref": request}, {"$ref": response})
    assert set(_references(document)) <= set(document["schemas"])
    assert sorted(document["schemas"]) == sorted(MODELS)


@pytest.mark.parametrize("schema", sorted(MODELS))
def test_each_schema_describes_exactly_the_fields_the_desk_takes(schema: str) -> None:
    described = discovery_document(ROOT)["schemas"][schema]
    assert described["id"] == schema and described["type"] == "object"
    fields = {field.alias or name for name, field in MODELS[schema].model_fields.items()}
    assert set(described["properties"]) == fields


def test_a_suggested_attribute_score_has_the_shape_of_an_analyzed_one() -> None:
    # Google's SuggestCommentScoreRequest reuses AttributeScores; here its summary may be left out to be refused
    # with Perspective's message instead of a parser's.
    assert set(SuggestedScores.model_fields) == set(PerspectiveAttributeScores.model_fields)


def test_the_server_serves_it_without_a_key_rooted_where_it_was_asked(make_client: Callable[..., Any]) -> None:
    anonymous = make_client(scopes=None)
    answer = anonymous.get(DOCUMENT, params={"version": "v1alpha1", "key": "whatever the client sends"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rootUrl"] == "http://testserver/"
    assert anonymous.get(DOCUMENT).json()["version"] == "v1alpha1"
    missing = anonymous.get(DOCUMENT, params={"version": "v1"})
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"
