"""Perspective's discovery document (``commentanalyzer`` ``v1alpha1``), describing this desk.

Google's clients build Perspective's methods from it rather than from code:
``googleapiclient.discovery.build("commentanalyzer", "v1alpha1", developerKey=KEY,
discoveryServiceUrl=".../$discovery/rest?version=v1alpha1", static_discovery=False)``, Perspective's own Python
sample, fetches it and then calls ``rootUrl + servicePath + path``. So the document has the structure of
Google's (a ``discovery#restDescription`` with the same id, methods, paths, parameters and schemas), with
``rootUrl`` pointing at the server that answers it, and descriptions of what the desk does. A test keeps its
schemas' properties equal to the fields the desk's request and response models take.
"""

from __future__ import annotations

from typing import Any

from moderation.perspective import SCORE_TYPES, TEXT_TYPES

__all__ = ["DISCOVERY_VERSION", "discovery_document"]

#: The only version Perspective published, and the only one described.
DISCOVERY_VERSION = "v1alpha1"


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _boolean(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def _ref(schema: str, description: str) -> dict[str, Any]:
    return {"$ref": schema, "description": description}


def _map_of(schema: str, description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"$ref": schema}, "description": description}


def _schema(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "type": "object", "description": description, "properties": properties}


def _query(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "location": "query", "description": description, **extra}


_SCORE_TYPE = _string(
    "The type of score; only PROBABILITY is served.",
    enum=list(SCORE_TYPES),
    enumDescriptions=[
        "Unspecified: PROBABILITY.",
        "A probability from 0 to 1.",
        "Not served.",
        "Not served.",
        "Not served.",
    ],
)

#: The query parameters Google's API takes on every method. Clients add ``alt`` (and may add others) to each
#: call, so they are described even though only ``key`` means anything here.
PARAMETERS: dict[str, Any] = {
    "$.xgafv": _query("Error format; accepted and ignored.", enum=["1", "2"]),
    "access_token": _query("OAuth access token; not used here, send an API key."),
    "alt": _query("Data format for response; only json.", default="json", enum=["json"]),
    "callback": _query("JSONP; not served."),
    "fields": _query("Partial responses; accepted and ignored."),
    "key": _query("The desk's API key (moderation keys create NAME --scope write)."),
    "oauth_token": _query("OAuth 2.0 token; not used here, send an API key."),
    "prettyPrint": {
        "type": "boolean",
        "location": "query",
        "default": "true",
        "description": "Accepted and ignored.",
    },
    "quotaUser": _query("Accepted and ignored: each key has its own rate limit."),
    "uploadType": _query("Accepted and ignored."),
    "upload_protocol": _query("Accepted and ignored."),
}

SCHEMAS: dict[str, Any] = {
    "AnalyzeCommentRequest": _schema(
        "AnalyzeCommentRequest",
        "The comment analysis request message.",
        {
            "clientToken": _string("Echoed in the response."),
            "comment": _ref("TextEntry", "The comment to analyze."),
            "communityId": _string("Accepted and ignored."),
            "context": _ref("Context", "Accepted and ignored, as Perspective's own models ignore it."),
            "doNotStore": _boolean("Honoured trivially: the desk never stores what it analyzes."),
            "dropUnsupportedAttributes": _boolean(
                "Leave out requested attributes the desk does not score in the languages, instead of refusing."
            ),
            "languages": _strings(
                "The comment's languages (ISO 639-1 or BCP 47); detected when none is given. Each requested "
                "attribute must be served in all of them."
            ),
            "requestedAttributes": _map_of(
                "AttributeParameters",
                "Attribute name -> parameters. Every name Perspective documents is known (NAME_EXPERIMENTAL and "
                "NAME@VERSION too); see the desk's docs/perspective.md for those it scores.",
            ),
            "sessionId": _string("Accepted and ignored."),
            "spanAnnotations": _boolean("Per-sentence span scores instead of one span over the whole text."),
        },
    ),
    "AnalyzeCommentResponse": _schema(
        "AnalyzeCommentResponse",
        "The comment analysis response message.",
        {
            "attributeScores": _map_of("AttributeScores", "Scores keyed by the requested attribute names."),
            "clientToken": _string("The request's clientToken."),
            "detectedLanguages": _strings("The language detected in the comment, when the request gave none."),
            "languages": _strings("The languages scored for: the request's, else the detected one, else en."),
        },
    ),
    "ArticleAndParentComment": _schema(
        "ArticleAndParentComment",
        "Context of a comment on a single-threaded message board.",
        {
            "article": _ref("TextEntry", "The source content the comment was made about."),
            "parentComment": _ref("TextEntry", "The comment this one replies to."),
        },
    ),
    "AttributeParameters": _schema(
        "AttributeParameters",
        "Configurable parameters for attribute scoring.",
        {
            "scoreThreshold": {
                "type": "number",
                "format": "float",
                "description": "Scores below this are left out of the response.",
            },
            "scoreType": _SCORE_TYPE,
        },
    ),
    "AttributeScores": _schema(
        "AttributeScores",
        "One attribute's summary score and per-span scores.",
        {
            "spanScores": {"type": "array", "items": {"$ref": "SpanScore"}, "description": "Per-span scores."},
            "summaryScore": _ref("Score", "The score of the comment as a whole."),
        },
    ),
    "Context": _schema(
        "Context",
        "What a comment refers or replies to.",
        {
            "articleAndParentComment": _ref("ArticleAndParentComment", "The article and the parent comment."),
            "entries": {"type": "array", "items": {"$ref": "TextEntry"}, "description": "A list of messages."},
        },
    ),
    "Score": _schema(
        "Score",
        "A score value and its type.",
        {"type": _SCORE_TYPE, "value": {"type": "number", "format": "float", "description": "The score."}},
    ),
    "SpanScore": _schema(
        "SpanScore",
        "The score of one span of the text.",
        {
            "begin": {
                "type": "integer",
                "format": "int32",
                "description": "Offset of the span's first UTF-16 code unit in comment.text.",
            },
            "end": {"type": "integer", "format": "int32", "description": "Offset just past its last UTF-16 code unit."},
            "score": _ref("Score", "The span's score."),
        },
    ),
    "SuggestCommentScoreRequest": _schema(
        "SuggestCommentScoreRequest",
        "A score a client suggests for a comment: the desk stores it as feedback, with the text's SHA-256.",
        {
            "attributeScores": _map_of(
                "AttributeScores", "Attribute name -> the scores the client suggests; each needs a summaryScore."
            ),
            "clientToken": _string("Echoed in the response, and stored with the feedback."),
            "comment": _ref("TextEntry", "The comment being scored; its text is stored only as a SHA-256 digest."),
            "communityId": _string("Stored with the feedback, e.g. Coral's 'Coral:<site URL>'."),
            "context": _ref("Context", "Accepted and ignored."),
            "languages": _strings("The comment's languages; the first (else the detected one) is stored with it."),
            "sessionId": _string("Accepted and ignored."),
        },
    ),
    "SuggestCommentScoreResponse": _schema(
        "SuggestCommentScoreResponse",
        "The comment score suggestion response message.",
        {
            "clientToken": _string("The request's clientToken."),
            "detectedLanguages": _strings("The language detected in the comment, when the request gave none."),
            "requestedLanguages": _strings("The request's languages."),
        },
    ),
    "TextEntry": _schema(
        "TextEntry",
        "A body of text.",
        {
            "text": _string("UTF-8 encoded text."),
            "type": _string(
                "PLAIN_TEXT (or unset); HTML is refused.",
                enum=list(TEXT_TYPES),
                enumDescriptions=["Plain text.", "Plain text.", "Refused."],
            ),
        },
    ),
}


def _method(name: str, description: str, request: str, response: str) -> dict[str, Any]:
    path = f"{DISCOVERY_VERSION}/comments:{name}"
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "description": description,
        "parameters": {},
        "parameterOrder": [],
        "request": {"$ref": request},
        "response": {"$ref": response},
    }


def discovery_document(root_url: str) -> dict[str, Any]:
    """The ``commentanalyzer`` ``v1alpha1`` REST description, for a desk answering at ``root_url``
    (``http://desk.example:8000/``, with its trailing slash)."""
    root_url = root_url if root_url.endswith("/") else root_url + "/"
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"commentanalyzer:{DISCOVERY_VERSION}",
        "name": "commentanalyzer",
        "canonicalName": "Comment Analyzer",
        "version": DISCOVERY_VERSION,
        "version_module": True,
        "revision": "moderation-desk",
        "title": "Perspective Comment Analyzer API, answered by a self-hosted moderation desk",
        "description": "Perspective's AnalyzeComment and SuggestCommentScore methods, scored by the desk's own "
        "models: the same comment will not get Google's numbers.",
        "ownerName": "Comment moderation desk",
        "documentationLink": f"{root_url}docs",
        "protocol": "rest",
        "rootUrl": root_url,
        "mtlsRootUrl": root_url,
        "servicePath": "",
        "basePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": PARAMETERS,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "Analyzes the provided text and returns scores for requested attributes.",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "Stores a suggested score for a comment as feedback (the text as a SHA-256 digest).",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                    ),
                }
            }
        },
        "schemas": SCHEMAS,
    }
