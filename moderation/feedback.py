"""Perspective's ``SuggestCommentScore``: the score a client says a comment should have, kept as feedback.

Coral Talk calls it (with its *send moderation actions to Perspective* setting) whenever a moderator approves
or rejects a comment: a summary score of 0 or 1 for its toxicity model, its community (``Coral:<site URL>``)
and a client token (``comment:<id>``). Those decisions are the site's own labels, the best data there is for
tuning a policy or training a head, so the desk stores each suggested summary score with the attribute, who
sent it and when, and the comment as the SHA-256 of its text only (:func:`text_digest`): never the text, as
if every request said ``doNotStore``. Whoever holds the texts (Coral does) can label them again with
:func:`feedback_examples`; ``moderation feedback export`` writes them for ``moderation train --feedback``.

The service parses the body into :class:`SuggestCommentScoreRequest`, calls :func:`record_suggestion` in
its transaction and answers with the :class:`SuggestCommentScoreResponse` it returns; a refused request
raises :class:`~moderation.perspective.PerspectiveError` with Perspective's messages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from moderation.errors import InputError
from moderation.language import detect_language, primary_language
from moderation.perspective import (
    PROBABILITY,
    PerspectiveContext,
    PerspectiveError,
    PerspectiveScore,
    PerspectiveSpanScore,
    PerspectiveText,
    Text,
    _Message,
    check_comment,
)
from moderation.perspective_attributes import lookup
from moderation.scores import ATTRIBUTES
from moderation.storage import repository
from moderation.storage.limits import check_text

__all__ = [
    "FeedbackExample",
    "SuggestCommentScoreRequest",
    "SuggestCommentScoreResponse",
    "feedback_examples",
    "record_suggestion",
    "text_digest",
]

#: The longest ``communityId`` or ``clientToken`` stored (Coral's are a site URL and a comment id).
MAX_TOKEN_CHARS = 1024
_LANGUAGE = re.compile(r"[a-z]{2,3}")


class SuggestedScores(_Message):
    """Perspective's ``AttributeScores`` as a suggestion: the summary score is what the desk keeps."""

    summary_score: PerspectiveScore | None = Field(default=None, description="Required here: the score stored.")
    span_scores: list[PerspectiveSpanScore] | None = Field(default=None, description="Accepted and not stored.")


class SuggestCommentScoreRequest(_Message):
    """Perspective's ``SuggestCommentScoreRequest``."""

    comment: PerspectiveText = Field(default_factory=PerspectiveText)
    context: PerspectiveContext | None = Field(default=None, description="Accepted and ignored.")
    attribute_scores: dict[Text, SuggestedScores] = Field(
        default_factory=dict,
        description="Attribute name -> the scores the client suggests, e.g. {'TOXICITY': {'summaryScore': "
        "{'value': 1}}}: 1 for a comment a moderator rejected, 0 for one approved.",
    )
    languages: list[Text] = Field(
        default_factory=list, description="The comment's languages; detected when none is given."
    )
    community_id: Text | None = Field(default=None, description="Stored with the feedback, e.g. 'Coral:<site URL>'.")
    client_token: Text | None = Field(default=None, description="Echoed in the response and stored.")
    session_id: Text | None = Field(default=None, description="Accepted and ignored.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "comment": {"text": "I guess it comes down a simple choice: Get busy living, or get busy dying."},
                    "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}},
                    "languages": ["en"],
                    "communityId": "/forum/movies",
                    "clientToken": "comment-53922",
                }
            ]
        }
    )


class SuggestCommentScoreResponse(_Message):
    """Perspective's ``SuggestCommentScoreResponse``."""

    client_token: str | None = None
    detected_languages: list[str] | None = Field(
        default=None, description="The language detected in the comment, when the request gave none."
    )
    requested_languages: list[str] | None = Field(default=None, description="The request's languages.")


def text_digest(text: str) -> str:
    """Hex SHA-256 of the text's UTF-8 bytes, exactly as sent: how stored feedback names its comment."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Score:
    attribute: str
    value: float


def _checked(request: SuggestCommentScoreRequest, max_chars: int) -> list[_Score]:
    """The suggested summary scores, by Perspective's documented name (a version left out); a
    :class:`PerspectiveError` for anything Perspective or the desk refuses."""
    check_comment(request.comment, max_chars)
    for field, value in (("communityId", request.community_id), ("clientToken", request.client_token)):
        try:
            check_text(value, field, max_length=MAX_TOKEN_CHARS)
        except InputError as refused:  # a NUL character, or too long
            raise PerspectiveError(str(refused)) from None
    if not request.attribute_scores:
        raise PerspectiveError("Missing attribute_scores")
    scores: dict[str, _Score] = {}
    for name, suggested in request.attribute_scores.items():
        known = lookup(name)
        if known is None:
            raise PerspectiveError(f"Unknown attribute: {name}")
        summary = suggested.summary_score
        if summary is None:
            raise PerspectiveError(f"Attribute {name} has no summaryScore: the desk stores summary scores only")
        if summary.type not in ("SCORE_TYPE_UNSPECIFIED", PROBABILITY):
            raise PerspectiveError(f"Suggested score type {summary.type} is not supported by attribute {name}")
        if not 0.0 <= summary.value <= 1.0:
            raise PerspectiveError(f"The summaryScore of {name} must be a probability, from 0 to 1")
        if known.name in scores:
            raise PerspectiveError(f"Attribute {known.name} is suggested more than once")
        scores[known.name] = _Score(known.name, summary.value)
    return list(scores.values())


def _language(request: SuggestCommentScoreRequest) -> tuple[str | None, list[str]]:
    """The comment's language as stored (the first given, else the detected one) and the detected list."""
    if request.languages:
        given = primary_language(request.languages[0])
        return (given if _LANGUAGE.fullmatch(given) else None), []
    found = detect_language(request.comment.text)
    return (found.language, [found.language]) if found is not None else (None, [])


def record_suggestion(
    session: Session, request: SuggestCommentScoreRequest, *, source: str, max_chars: int
) -> SuggestCommentScoreResponse:
    """Store one feedback row per suggested attribute (the text as its digest only) and answer as Perspective
    does. ``source`` names the sender (the API key); the caller owns the transaction."""
    scores = _checked(request, max_chars)
    language, detected = _language(request)
    digest = text_digest(request.comment.text)
    for score in scores:
        repository.add_feedback(
            session,
            text_sha256=digest,
            attribute=score.attribute,
            score=score.value,
            source=source,
            language=language,
            community_id=request.community_id,
            client_token=request.client_token,
        )
    return SuggestCommentScoreResponse(
        client_token=request.client_token,
        detected_languages=detected or None,
        requested_languages=list(request.languages) or None,
    )


@dataclass(frozen=True)
class FeedbackExample:
    """A text labelled by feedback: per attribute the desk scores (``ATTRIBUTES``), the latest suggested score."""

    text: str
    text_sha256: str
    attributes: dict[str, float]

    def as_json(self) -> dict[str, object]:
        """One line of the file ``moderation train --feedback`` reads (:mod:`moderation.training.feedback_data`)."""
        return {"text": self.text, "text_sha256": self.text_sha256, "attributes": self.attributes}


def _latest_scores(session: Session) -> dict[str, dict[str, float]]:
    """Digest -> the desk's attribute -> the latest score suggested for it (newest rows come first)."""
    latest: dict[str, dict[str, float]] = {}
    cursor: str | None = None
    while True:
        page = repository.list_feedback(session, cursor=cursor, limit=1000)
        for row in page.items:
            known = lookup(row.attribute)
            head = known.scored_by if known else None
            if head in ATTRIBUTES:
                latest.setdefault(row.text_sha256, {}).setdefault(head, row.score)
        if page.next_cursor is None:
            return latest
        cursor = page.next_cursor


def feedback_examples(session: Session, texts: Iterable[str]) -> Iterator[FeedbackExample]:
    """Each of ``texts`` that stored feedback names (by digest), once, with the latest suggested score of
    every attribute a desk head answers (OBSCENE counts as PROFANITY, :mod:`moderation.perspective_attributes`);
    feedback on attributes no head answers is left out."""
    latest = _latest_scores(session)
    seen: set[str] = set()
    for text in texts:
        digest = text_digest(text)
        if digest in latest and digest not in seen:
            seen.add(digest)
            yield FeedbackExample(text, digest, latest[digest])
