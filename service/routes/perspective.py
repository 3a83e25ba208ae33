"""Perspective's ``AnalyzeComment`` and ``SuggestCommentScore``, and the discovery document Google's clients build
them from, for Perspective clients (Coral Talk and others): docs/perspective.md.

Errors on this router come in Google's shape (``{"error": {"code", "message", "status"}}``), not
problem+json, because Perspective clients read ``error.message``; the route class below translates
validation, key and rate-limit errors before the app's problem+json handlers see them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from moderation.feedback import SuggestCommentScoreRequest, SuggestCommentScoreResponse, record_suggestion
from moderation.perspective import (
    AnalyzeCommentRequest,
    AnalyzeCommentResponse,
    GoogleErrorBody,
    PerspectiveError,
    build_response,
    detected_languages,
    effective_languages,
    invalid_payload,
    validate_request,
)
from moderation.perspective_discovery import DISCOVERY_VERSION, discovery_document
from service.deps import SessionDep, StateDep, WriteKey, actor, require
from service.problems import ProblemError

#: Google's own messages for the key errors its clients know; other problems keep their title and detail.
_KEY_MESSAGES = {
    "API key required": "The request is missing a valid API key.",
    "Invalid API key": "API key not valid. Please pass a valid API key.",
}


def _from_problem(exc: ProblemError) -> tuple[PerspectiveError, dict[str, str]]:
    message = _KEY_MESSAGES.get(exc.title) or (f"{exc.title}: {exc.detail}" if exc.detail else exc.title)
    retry = exc.extra.get("retry_after")
    return PerspectiveError(message, code=exc.status), ({"Retry-After": str(retry)} if retry is not None else {})


class GoogleErrorRoute(APIRoute):
    """A route whose client errors answer in Google's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            headers: dict[str, str] = {}
            try:
                return await handler(request)
            except PerspectiveError as exc:
                error = exc
            except RequestValidationError as exc:
                error = invalid_payload(exc.errors())
            except ProblemError as exc:
                error, headers = _from_problem(exc)
            except StarletteHTTPException as exc:
                error = PerspectiveError(str(exc.detail), code=exc.status_code)
            return JSONResponse(error.body(), status_code=error.code, headers=headers)

        return answer


router = APIRouter(tags=["perspective"], route_class=GoogleErrorRoute)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": GoogleErrorBody,
        "description": "INVALID_ARGUMENT: Perspective's message, e.g. an unknown attribute.",
    },
    401: {"model": GoogleErrorBody, "description": "UNAUTHENTICATED: no key, or not a live key."},
    403: {"model": GoogleErrorBody, "description": "PERMISSION_DENIED: the key lacks the 'write' scope."},
    413: {"description": "Body over the service's limit (problem+json)", "content": {"application/problem+json": {}}},
    429: {
        "model": GoogleErrorBody,
        "description": "RESOURCE_EXHAUSTED: the key's rate limit (requests, or characters); see Retry-After.",
    },
    503: {"model": GoogleErrorBody, "description": "UNAVAILABLE: the scoring queue is full; see Retry-After."},
    "4XX": {"model": GoogleErrorBody, "description": "Any other client error, in Google's error shape."},
}


@router.post(
    "/v1alpha1/comments:analyze",
    response_model=AnalyzeCommentResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    dependencies=[Depends(require("write"))],
    summary="Perspective AnalyzeComment",
)
async def analyze_comment(request: Request, body: AnalyzeCommentRequest, state: StateDep) -> AnalyzeCommentResponse:
    """Score one comment with Perspective's request and response shapes (key with 'write' scope, or ``?key=``).

    Without ``languages`` the comment's language is detected and sent back as ``detectedLanguages``; an
    attribute the desk does not score, or no test split measures in the language, is refused
    (LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE), or left out with ``dropUnsupportedAttributes`` or the server's
    ``MODERATION_PERSPECTIVE_DROP_UNSUPPORTED``. Nothing is stored, whatever ``doNotStore`` says. See
    docs/perspective.md for what is supported.
    """
    max_chars, serves = state.settings.max_comment_chars, state.scorer.measured_in
    if state.settings.perspective_drop_unsupported:
        body = body.model_copy(update={"drop_unsupported_attributes": True})
    if len(body.comment.text) > max_chars:  # before language detection reads it
        raise PerspectiveError("Comment text too long.")
    detected = await run_in_threadpool(detected_languages, body)
    validate_request(body, max_chars=max_chars, serves=serves, detected=detected)
    state.admit(request, [body.comment.text])
    [language, *_] = effective_languages(body, detected)
    [scores] = await state.score(
        [body.comment.text], [None], languages=[language], spans=body.span_annotations, request=request
    )
    return build_response(body, scores, serves=serves, detected=detected)


@router.post(
    "/v1alpha1/comments:suggestscore",
    response_model=SuggestCommentScoreResponse,
    response_model_exclude_none=True,
    responses={code: answer for code, answer in _ERRORS.items() if code != 503},
    summary="Perspective SuggestCommentScore",
)
def suggest_comment_score(
    body: SuggestCommentScoreRequest, state: StateDep, session: SessionDep, key: WriteKey
) -> SuggestCommentScoreResponse:
    """Store the scores a client suggests for a comment as feedback (key with 'write' scope, or ``?key=``): one
    row per attribute with the text's SHA-256, never the text. Coral sends one when a moderator approves (0)
    or rejects (1) a comment. Listed by ``GET /v1/feedback``."""
    return record_suggestion(session, body, source=actor(key), max_chars=state.settings.max_comment_chars)


@router.get(
    "/$discovery/rest",
    summary="Perspective's discovery document",
    responses={404: {"model": GoogleErrorBody, "description": "NOT_FOUND: a version other than v1alpha1."}},
)
def discovery(
    request: Request,
    version: Annotated[str | None, Query(description="v1alpha1, the only version.")] = None,
) -> dict[str, Any]:
    """The ``commentanalyzer`` ``v1alpha1`` REST description with ``rootUrl`` at this server, for Google's
    discovery clients (``googleapiclient.discovery.build(..., discoveryServiceUrl=...)``). No key needed."""
    if version not in (None, DISCOVERY_VERSION):
        raise PerspectiveError(f"No such version of commentanalyzer: only {DISCOVERY_VERSION}", code=404)
    return discovery_document(str(request.base_url))
