"""Perspective's ``AnalyzeComment`` (commentanalyzer ``v1alpha1``) answered from our scores.

The request and response shapes of Google's Perspective API, its rules for what a request may ask
and its error messages, so that a Perspective client (Coral Talk's toxicity filter among them) can
point at this desk instead. No web framework here: the service parses the body into
:class:`AnalyzeCommentRequest`, calls :func:`validate_request`, scores the text, calls
:func:`build_response`, and answers a :class:`PerspectiveError` with :meth:`PerspectiveError.body`.

Field names are Perspective's lowerCamelCase; the proto field names (``requested_attributes``) are
accepted too, as Google's JSON parser accepts both. Span offsets are UTF-16 code units, as
Perspective's ``SpanScore`` documents, not Python string indices.

A request without ``languages`` has its comment's language detected (:func:`detected_languages`, the
desk's :mod:`moderation.language`), as Perspective detects it: the response carries it as
``detectedLanguages``. An attribute is served in a language when a test split measures the model that
scores that language for it (``Serves``, the scorer's :meth:`~moderation.models.scorer.Scorer.measured_in`);
otherwise it is refused with Perspective's ``LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE``, or left out with
``dropUnsupportedAttributes``. Text in which no language is detected (too short, emoji only) is taken to
be English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from moderation.errors import InputError
from moderation.language import detect_language
from moderation.perspective_attributes import lookup
from moderation.scores import CommentScores

__all__ = [
    "AnalyzeCommentRequest",
    "AnalyzeCommentResponse",
    "PerspectiveError",
    "Serves",
    "build_response",
    "detected_languages",
    "effective_languages",
    "invalid_payload",
    "resolve_attribute",
    "validate_request",
]

#: Whether an attribute is served in a language (a BCP 47 tag): the scorer's ``measured_in``.
Serves = Callable[[str, str], bool]
#: The language of text in which none is detected.
ASSUMED_LANGUAGE = "en"
PROBABILITY = "PROBABILITY"
SCORE_TYPES = ("SCORE_TYPE_UNSPECIFIED", PROBABILITY, "STD_DEV_SCORE", "PERCENTILE", "RAW")
TEXT_TYPES = ("TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML")
#: The ``@type`` of Perspective's error details.
ERROR_DETAIL_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
#: Google's canonical status name of each HTTP code this endpoint answers with.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class PerspectiveError(InputError):
    """A request Perspective would refuse, answered in Google's error shape (:meth:`body`)."""

    def __init__(self, message: str, *, code: int = 400, error_type: str | None = None, **detail: Any) -> None:
        # Echoed names may hold lone surrogates (valid JSON escapes, invalid UTF-8): never let one break the answer.
        message = message.encode("utf-8", "replace").decode("utf-8")
        super().__init__(message)
        self.message, self.code, self.error_type, self.detail = message, code, error_type, detail

    @property
    def status(self) -> str:
        return STATUS_NAMES.get(self.code, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "status", "details"?}}``, as Google APIs answer."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.error_type:
            error["details"] = [{"@type": ERROR_DETAIL_TYPE, "errorType": self.error_type, **self.detail}]
        return {"error": error}


def _well_formed(value: str) -> str:
    """Refuse lone surrogates (``"\\ud800"`` parses as JSON but is no text): they could be neither scored nor echoed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text (a lone surrogate)") from None
    return value


#: A JSON string that is well-formed Unicode.
Text = Annotated[str, AfterValidator(_well_formed)]


class _Message(BaseModel):
    """Perspective's lowerCamelCase JSON; snake_case proto names accepted; unknown fields refused, as Google does."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PerspectiveText(_Message):
    text: Text = Field(default="", description="The text, UTF-8. Required for the comment.")
    type: Text | None = Field(
        default=None,
        description="PLAIN_TEXT (the default); HTML is refused.",
        json_schema_extra={"enum": list(TEXT_TYPES)},
    )


class PerspectiveArticleAndParent(_Message):
    article: PerspectiveText | None = None
    parent_comment: PerspectiveText | None = None


class PerspectiveContext(_Message):
    """Accepted and ignored, as Perspective's own models ignore it."""

    entries: list[PerspectiveText] | None = None
    article_and_parent_comment: PerspectiveArticleAndParent | None = None


class PerspectiveAttributeParameters(_Message):
    score_type: Text | None = Field(
        default=None, description="Only PROBABILITY is served.", json_schema_extra={"enum": list(SCORE_TYPES)}
    )
    score_threshold: float | None = Field(
        default=None,
        description="Scores below this are left out of the response (the attribute too, if its summary is).",
    )


class AnalyzeCommentRequest(_Message):
    """Perspective's ``AnalyzeCommentRequest``."""

    comment: PerspectiveText = Field(default_factory=PerspectiveText)
    context: PerspectiveContext | None = None
    requested_attributes: dict[Text, PerspectiveAttributeParameters] = Field(
        default_factory=dict,
        description="Attribute name -> parameters, e.g. {'TOXICITY': {}}. Every name Perspective documents is "
        "known (NAME@VERSION too); those the desk does not score are refused, or left out with "
        "dropUnsupportedAttributes (docs/perspective.md).",
    )
    languages: list[Text] = Field(
        default_factory=list,
        description="The comment's languages (BCP 47). When none is given the comment's language is detected; "
        "text in which none is detected is taken to be English. An attribute is served in the languages a test "
        "split measures it in (docs/perspective.md).",
    )
    do_not_store: bool = Field(default=False, description="Honoured trivially: this endpoint never stores anything.")
    client_token: Text | None = Field(default=None, description="Echoed in the response.")
    session_id: Text | None = None
    community_id: Text | None = None
    span_annotations: bool = Field(
        default=False, description="Per-sentence span scores instead of one whole-text span."
    )
    drop_unsupported_attributes: bool = Field(
        False, description="Leave out attributes that cannot be served for the languages instead of refusing."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "comment": {"text": "What kind of idiot name is foo? Sorry, I like your name."},
                    "languages": ["en"],
                    "requestedAttributes": {"TOXICITY": {}},
                    "spanAnnotations": True,
                    "doNotStore": True,
                }
            ]
        }
    )


class PerspectiveScore(_Message):
    value: float
    type: str = PROBABILITY


class PerspectiveSpanScore(_Message):
    begin: int = Field(description="Offset of the span's first UTF-16 code unit in comment.text.")
    end: int = Field(description="Offset just past its last UTF-16 code unit.")
    score: PerspectiveScore


class PerspectiveAttributeScores(_Message):
    summary_score: PerspectiveScore
    span_scores: list[PerspectiveSpanScore] | None = None


class AnalyzeCommentResponse(_Message):
    """Perspective's ``AnalyzeCommentResponse``."""

    attribute_scores: dict[str, PerspectiveAttributeScores]
    languages: list[str] = Field(
        description="The languages scored for: the request's, else the detected language, else 'en'."
    )
    detected_languages: list[str] | None = Field(
        default=None,
        description="ISO 639-1 code of the language detected in the comment, when the request gave no "
        "`languages` and one was detected; left out otherwise.",
    )
    client_token: str | None = None


class GoogleErrorStatus(_Message):
    code: int
    message: str
    status: str
    details: list[dict[str, Any]] | None = None


class GoogleErrorBody(_Message):
    """Google's error envelope, for the OpenAPI schema."""

    error: GoogleErrorStatus


def resolve_attribute(name: str) -> str | None:
    """The desk's attribute that answers a requested Perspective name (``X_EXPERIMENTAL`` and ``X@6`` mean ``X``,
    :mod:`moderation.perspective_attributes`); None when no head answers it, or Perspective has no such name."""
    known = lookup(name)
    return known.scored_by if known else None


def detected_languages(request: AnalyzeCommentRequest) -> list[str]:
    """The comment's detected language (``[code]``) when the request gives no ``languages``; else, or when
    no language is detected, ``[]``."""
    if request.languages:
        return []
    found = detect_language(request.comment.text)
    return [found.language] if found is not None else []


def effective_languages(request: AnalyzeCommentRequest, detected: Sequence[str]) -> list[str]:
    """The languages a request is scored for, as Perspective chooses them: the request's, else the first
    detected, else (here) English."""
    return list(request.languages) or list(detected[:1]) or [ASSUMED_LANGUAGE]


def _served(attribute: str, languages: Sequence[str], serves: Serves) -> bool:
    return all(serves(attribute, language) for language in languages)


def check_comment(comment: PerspectiveText, max_chars: int) -> None:
    """Refuse a comment as Perspective does (empty, too long, HTML or an unknown type), with its messages: one
    rule for ``comments:analyze`` and ``comments:suggestscore``."""
    if not comment.text.strip():
        raise PerspectiveError("Comment must be non-empty.", error_type="COMMENT_EMPTY")
    if len(comment.text) > max_chars:
        raise PerspectiveError("Comment text too long.")
    if comment.type == "HTML":
        raise PerspectiveError("Currently, only 'PLAIN_TEXT' comments are supported")
    if comment.type not in (None, *TEXT_TYPES):
        raise PerspectiveError("Unknown text type")


def validate_request(
    request: AnalyzeCommentRequest, *, max_chars: int, serves: Serves, detected: Sequence[str] = ()
) -> None:
    """Refuse what Perspective refuses, with its messages, before any scoring. ``detected``: the comment's
    :func:`detected_languages`, used when the request names no languages; ``serves``: which attribute is
    served in which language."""
    check_comment(request.comment, max_chars)
    if not request.requested_attributes:
        raise PerspectiveError("Missing requested_attributes")
    for name, parameters in request.requested_attributes.items():
        if lookup(name) is None:
            raise PerspectiveError(f"Unknown requested attribute: {name}")
        if parameters.score_type not in (None, "SCORE_TYPE_UNSPECIFIED", PROBABILITY):
            raise PerspectiveError(f"Requested score type {parameters.score_type} is not supported by attribute {name}")
    if not request.drop_unsupported_attributes:
        languages = effective_languages(request, detected)
        for name in request.requested_attributes:
            attribute = resolve_attribute(name)
            if attribute is None or not _served(attribute, languages, serves):
                raise _unsupported(name, request, detected)


def _unsupported(name: str, request: AnalyzeCommentRequest, detected: Sequence[str]) -> PerspectiveError:
    """Perspective's refusal of an attribute for the request's languages, or for the detected one when the
    request gave none (also: an attribute our model does not serve)."""
    shown = effective_languages(request, detected)
    named = "requestedLanguages" if request.languages or not detected else "detectedLanguages"
    return PerspectiveError(
        f"Attribute {name} does not support request languages: {', '.join(shown)}",
        error_type="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
        languageNotSupportedByAttributeError={named: shown, "attribute": name},
    )


def build_response(
    request: AnalyzeCommentRequest, scores: CommentScores, *, serves: Serves, detected: Sequence[str] = ()
) -> AnalyzeCommentResponse:
    """The response to a request that passed :func:`validate_request` (with the same ``detected``), from the
    comment's scores.

    An attribute the loaded model does not answer is refused like an unsupported language (clients
    that drop such attributes and retry keep working), or left out with ``dropUnsupportedAttributes``.
    """
    text = request.comment.text
    languages = effective_languages(request, detected)
    attribute_scores: dict[str, PerspectiveAttributeScores] = {}
    for name, parameters in request.requested_attributes.items():
        attribute = resolve_attribute(name)
        if attribute is None or not _served(attribute, languages, serves) or attribute not in scores.attributes:
            if request.drop_unsupported_attributes:
                continue
            raise _unsupported(name, request, detected)
        result = _attribute_scores(text, attribute, scores, request.span_annotations, parameters.score_threshold)
        if result is not None:
            attribute_scores[name] = result
    return AnalyzeCommentResponse(
        attribute_scores=attribute_scores,
        languages=languages,
        detected_languages=list(detected) if detected and not request.languages else None,
        client_token=request.client_token,
    )


def _attribute_scores(
    text: str, attribute: str, scores: CommentScores, per_sentence: bool, threshold: float | None
) -> PerspectiveAttributeScores | None:
    """One attribute's summary and spans; None when the summary falls below the threshold."""
    summary = scores.attributes[attribute]
    if threshold is not None and summary < threshold:
        return None
    sentences = [(s.begin, s.end, s.attributes[attribute]) for s in scores.spans if attribute in s.attributes]
    if not per_sentence or not sentences:
        # Perspective answers one span over the whole text unless sentence spans are asked for.
        sentences = [(0, len(text), summary)]
    spans = [
        PerspectiveSpanScore(begin=_utf16(text, begin), end=_utf16(text, end), score=PerspectiveScore(value=value))
        for begin, end, value in sentences
        if threshold is None or value >= threshold
    ]
    return PerspectiveAttributeScores(summary_score=PerspectiveScore(value=summary), span_scores=spans or None)


def _utf16(text: str, offset: int) -> int:
    """The UTF-16 offset of a string index: characters outside the BMP (most emoji) take two code units."""
    return offset + sum(1 for char in text[:offset] if ord(char) > 0xFFFF)


def invalid_payload(errors: Iterable[Mapping[str, Any]]) -> PerspectiveError:
    """Google's ``Invalid JSON payload received`` for a body that is not JSON or not the request's shape."""
    messages = []
    for error in errors:
        kind = str(error.get("type", ""))
        if kind == "json_invalid":
            messages.append(f"Invalid JSON payload received. {error.get('ctx', {}).get('error', 'Unexpected token')}.")
            continue
        where = _path(part for part in error.get("loc", ()) if part != "body")
        if kind == "extra_forbidden":
            parent, _, name = where.rpartition(".")
            at = f" at '{parent}'" if parent else ""
            messages.append(f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.')
        elif where:
            messages.append(f"Invalid value at '{where}': {error.get('msg', 'invalid')}")
        else:
            messages.append("Invalid JSON payload received. Expected a request object.")
    return PerspectiveError("\n".join(messages) or "Invalid JSON payload received.")


def _path(parts: Iterable[Any]) -> str:
    """``comment.text``, ``languages[0]``: a field path as Google's messages print it."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path
