"""Stored comments as the API shows them: each with its newest scores and current decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from moderation.actions import Action
from moderation.policy import Reason
from moderation.scores import CommentScores
from moderation.storage import stored
from moderation.thread import Votes


class DecisionOut(BaseModel):
    """A comment's current decision: the policy's, or a moderator's (who then overrules any policy)."""

    action: Action
    decided_by: str = Field(description='"policy", or the moderator\'s key.')
    reasons: list[Reason]
    policy_digest: str | None
    note: str | None
    decided_at: datetime

    @classmethod
    def of(cls, decision: stored.StoredDecision) -> DecisionOut:
        return cls(
            action=decision.action,
            decided_by=decision.decided_by,
            reasons=[Reason.model_validate(reason) for reason in decision.reasons],
            policy_digest=decision.policy_digest,
            note=decision.note,
            decided_at=decision.decided_at,
        )


class StoredScores(CommentScores):
    model: str
    scored_at: datetime

    @classmethod
    def of(cls, scores: stored.StoredScores) -> StoredScores:
        return cls.model_validate({**dict(scores.scores), "model": scores.model, "scored_at": scores.scored_at})


class CommentOut(BaseModel):
    id: int = Field(description="The desk's id (for decisions).")
    thread_id: int
    source_id: str = Field(description="The source's id of the comment.")
    parent: str | None = Field(description="`source_id` of the comment it replies to.")
    author: str | None
    published: datetime | None
    text: str
    votes: Votes
    position: int
    language: str | None = Field(
        description="ISO 639-1 code of the comment's language: given by the source, or detected when stored; null "
        "when unknown (too little text to tell, or stored before languages were)."
    )
    language_confidence: float | None = Field(
        description="The detector's confidence in `language`, 0 to 1; null when the source gave the language."
    )
    scores: StoredScores | None = Field(description="The newest scores; null when never scored.")
    decision: DecisionOut | None

    @classmethod
    def of(cls, comment: stored.StoredComment) -> CommentOut:
        return cls(
            id=comment.id,
            thread_id=comment.thread_id,
            source_id=comment.source_id,
            parent=comment.parent,
            author=comment.author,
            published=comment.published,
            text=comment.text,
            votes=comment.votes,
            position=comment.position,
            language=comment.language,
            language_confidence=comment.language_confidence,
            scores=StoredScores.of(comment.scores) if comment.scores is not None else None,
            decision=DecisionOut.of(comment.decision) if comment.decision is not None else None,
        )


class CommentPage(BaseModel):
    items: list[CommentOut] = Field(description="In thread order.")
    next_cursor: str | None
