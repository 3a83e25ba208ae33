"""``POST /v1/comments:score``: score comments and say what the policy would decide, storing nothing."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from moderation.language import detect_languages
from moderation.models.routing import primary_language
from moderation.policy import decide
from service.deps import DeskDep, WriteKey
from service.problems import ProblemError
from service.schemas import KEYED, ScoredComment, ScoreRequest, ScoreResponse, errors

router = APIRouter(tags=["comments"])


@router.post(
    "/v1/comments:score",
    summary="Score comments",
    responses=errors(400, *KEYED, 413),
)
async def score_comments(body: ScoreRequest, desk: DeskDep, _: WriteKey) -> ScoreResponse:
    """Sentiment, stance toward each comment's `target`, Perspective's attributes (span scores with
    `spans: true`), each comment's language (given, else detected from its text) and the running
    policy's decision with its reasons, in request order. Nothing is stored, so `doNotStore` holds by
    construction. Only English is supported."""
    limits = desk.settings
    if len(body.comments) > limits.max_items:
        raise ProblemError(
            413, "Too many comments", f"{len(body.comments):,} comments; the limit is {limits.max_items:,}"
        )
    for index, comment in enumerate(body.comments):
        if len(comment.text) > limits.max_comment_chars:
            raise ProblemError(
                413,
                "Comment too long",
                f"comment {index} has {len(comment.text):,} characters; the limit is {limits.max_comment_chars:,}",
            )
    texts = [comment.text for comment in body.comments]
    detected = await run_in_threadpool(detect_languages, [c.text if c.language is None else "" for c in body.comments])
    languages = [
        primary_language(comment.language) if comment.language else found.language if found else None
        for comment, found in zip(body.comments, detected, strict=True)
    ]
    scores = await desk.score(
        texts, [comment.target for comment in body.comments], languages=languages, spans=body.spans
    )
    scored = [
        ScoredComment(
            **score.model_dump(),
            language_confidence=found.confidence if found and comment.language is None else None,
            decision=decide(desk.policy, comment.text, score.attributes),
        )
        for comment, score, found in zip(body.comments, scores, detected, strict=True)
    ]
    return ScoreResponse(model=desk.scorer.name, policy=desk.policy.digest, comments=scored)
