"""Feedback: the scores clients suggested for comments, as stored."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FeedbackOut(BaseModel):
    """One suggested score of one comment, as stored: the comment only as the SHA-256 of its text."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    text_sha256: str = Field(description="Hex SHA-256 of the comment's UTF-8 text, exactly as the client sent it.")
    attribute: str = Field(description="Perspective's attribute name, without a version, e.g. TOXICITY.")
    score: float = Field(ge=0, le=1, description="The suggested summary score: Coral sends 1 (rejected) or 0.")
    source: str = Field(description="The key that sent it: 'key:<prefix> (<name>)'.")
    language: str | None = Field(description="ISO 639-1 code, given or detected; None: unknown.")
    community_id: str | None = Field(description="The client's communityId, e.g. Coral's 'Coral:<site URL>'.")
    client_token: str | None = Field(description="The client's clientToken, e.g. Coral's 'comment:<id>'.")


class FeedbackPage(BaseModel):
    items: list[FeedbackOut] = Field(description="Newest first.")
    next_cursor: str | None
