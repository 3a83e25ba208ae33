"""Feedback: the scores clients suggested through Perspective's SuggestCommentScore (docs/perspective.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from moderation.storage import repository
from service.deps import ModerateKey, SessionDep
from service.schemas.feedback import FeedbackOut, FeedbackPage
from service.schemas.openapi import KEYED, errors
from service.schemas.params import Cursor, Limit

router = APIRouter(tags=["feedback"])


@router.get("/v1/feedback", summary="Suggested scores", responses=errors(*KEYED))
def list_feedback(
    session: SessionDep,
    _: ModerateKey,
    attribute: Annotated[str | None, Query(max_length=64, description="e.g. TOXICITY.")] = None,
    community_id: Annotated[str | None, Query(max_length=1024, description="e.g. 'Coral:<site URL>'.")] = None,
    text_sha256: Annotated[
        str | None, Query(pattern="^[0-9a-f]{64}$", description="One comment's: hex SHA-256 of its UTF-8 text.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> FeedbackPage:
    """Every suggested score stored by `POST /v1alpha1/comments:suggestscore`, newest first (of one attribute,
    community or comment, when given): Coral's moderators' approvals (0) and rejections (1), among others."""
    page = repository.list_feedback(
        session, attribute=attribute, community_id=community_id, text_sha256=text_sha256, cursor=cursor, limit=limit
    )
    return FeedbackPage(items=[FeedbackOut.model_validate(item) for item in page.items], next_cursor=page.next_cursor)
