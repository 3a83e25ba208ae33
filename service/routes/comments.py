"""``POST /v1/comments:score``: score comments and say what the policy would decide, storing nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from moderation.language import detect_languages, primary_language
from moderation.policy import decide
from service.deps import StateDep, WriteKey
from service.schemas.openapi import KEYED, errors
from service.schemas.scoring import ScoredComment, ScoreRequest, ScoreResponse

router = APIRouter(tags=["comments"])


@router.post(
    "/v1/comments:score",
    summary="Score comments",
    responses=errors(400, *KEYED, 413, 503),
)
async def score_comments(request: Request, body: ScoreRequest, state: StateDep, _: WriteKey) -> ScoreResponse:
    """Sentiment, stance toward each comment's `target`, Perspective's attributes (span scores with
    `spans: true`), each comment's language (given, else detected from its text) and the running
    policy's decision with its reasons, in request order. Nothing is stored, so `doNotStore` holds by
    construction. Each comment is scored by the model measured best for its language."""
    texts = [comment.text for comment in body.comments]
    state.admit(request, texts)
    detected = await run_in_threadpool(detect_languages, [c.text if c.language is None else "" for c in body.comments])
    languages = [
        primary_language(comment.language) if comment.language else found.language if found else None
        for comment, found in zip(body.comments, detected, strict=True)
    ]
    scores = await state.score(
        texts, [comment.target for comment in body.comments], languages=languages, spans=body.spans, request=request
    )
    scored = [
        ScoredComment(
            **score.model_dump(),
            language_confidence=found.confidence if found and comment.language is None else None,
            decision=decide(state.policy, comment.text, score.attributes),
        )
        for comment, score, found in zip(body.comments, scores, detected, strict=True)
    ]
    return ScoreResponse(model=state.scorer.name, policy=state.policy.digest, comments=scored)
