"""Coral Talk's external moderation phase: Coral POSTs each new or edited comment, we answer with its status
and flags (docs/coral.md). Nothing is stored: Coral keeps the comment, its flags and the moderators' decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from moderation import coral
from moderation.policy import decide
from service.deps import StateDep, require
from service.problems import PROBLEM, ProblemError
from service.schemas.openapi import inlined

router = APIRouter(tags=["coral"])
#: Coral's admin has a URL field for a phase and no header field: the 401 says what Coral can send.
HOW_CORAL_SENDS_A_KEY = (
    "Coral cannot send a header: in Coral's admin (Configure > Moderation Phases), end the phase's Callback URL "
    "with ?key=<a desk key with the write scope>, or set MODERATION_CORAL_SIGNING_SECRET on the desk to the "
    "phase's signing secret (docs/coral.md)"
)
_write_key = require("write", how=HOW_CORAL_SENDS_A_KEY)

EXAMPLE = {
    "action": "NEW",
    "comment": {"body": "Here's a comment!", "parentID": None},
    "author": {"id": "baf4e943-3594-4fcc-b2ba-3e8de7a76352", "role": "COMMENTER"},
    "story": {"id": "245b3856-b0a0-4d2f-a6bb-58c71f18d6a6", "url": "http://localhost:1313/posts/a-story-url/"},
    "site": {"id": "a4bede88-2d2c-4424-bc18-4322a9e285a6"},
    "tenantID": "19ba5794-7eeb-4d46-a81b-c00c61672501",
    "tenantDomain": "localhost",
}


async def signed_body(request: Request, state: StateDep) -> bytes:
    """The raw body, once its caller is known: Coral's signature when a signing secret is set, else a write key."""
    body = await request.body()
    secret = state.settings.coral_signing_secret
    if not secret:
        await run_in_threadpool(_write_key, request, state)
        return body
    request.state.rate_key = "coral:signed"  # one Coral installation signs every request
    header = request.headers.get(coral.SIGNATURE_HEADER)
    if not header:
        raise ProblemError(401, "Coral signature required", f"Coral signs every request in {coral.SIGNATURE_HEADER}")
    if not coral.signature_matches(secret, body, header):
        raise ProblemError(401, "Invalid Coral signature", "no signature matches the body under the signing secret")
    return body


_PROBLEM: dict[str, Any] = {"content": {PROBLEM: {}}}


@router.post(
    "/v1/coral/moderate",
    summary="Coral Talk external moderation phase",
    response_model=None,
    responses={
        200: {"model": coral.ExternalModerationResponse, "description": "Review or reject: Coral's status and flags."},
        204: {"description": "Approve: no opinion, Coral's own outcome stands."},
        400: {"description": "The body is not JSON (the parser's message in `detail`).", **_PROBLEM},
        401: {"description": "No valid Coral signature (or API key, when no signing secret is set).", **_PROBLEM},
        413: {"description": "The body is over the server's limit.", **_PROBLEM},
        422: {"description": "Not a Coral external moderation request, or a comment over the limit.", **_PROBLEM},
        429: {"description": "The caller's rate limit is spent; retry after `Retry-After` seconds.", **_PROBLEM},
        503: {"description": "The scoring queue is full; retry after `Retry-After` seconds.", **_PROBLEM},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": inlined(coral.ExternalModerationRequest.model_json_schema()),
                    "example": EXAMPLE,
                }
            },
        }
    },
)
async def moderate(request: Request, state: StateDep, body: Annotated[bytes, Depends(signed_body)]) -> Response:
    """Score the comment, decide with the desk's policy and answer in Coral's terms. Stores nothing."""
    parsed = coral.parse_request(body, max_chars=state.settings.max_comment_chars)
    state.admit(request, [parsed.text])
    # Coral sends no story title to score stance against.
    [scores] = await state.score([parsed.text], [None], request=request)
    answer = coral.respond(decide(state.policy, parsed.text, scores.attributes, thread_key=parsed.thread_key))
    if answer is None:
        return Response(status_code=204)
    return JSONResponse(answer.model_dump(mode="json", exclude_none=True))
