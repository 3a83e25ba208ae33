"""``POST /v1/comments:score``: comments to score, and their scores, languages and the policy's decisions."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from moderation.policy import Decision
from moderation.scores import CommentScores


def _encodable(text: str | None) -> str | None:
    """Lone surrogates (JSON ``"\\ud800"``) are no text: refuse them before they reach the tokenizer."""
    if text is not None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("contains an unpaired surrogate; send valid Unicode") from exc
    return text


Text = Annotated[str, AfterValidator(_encodable)]


def _not_blank(text: str) -> str:
    """Whitespace is nothing to score: refused, as Perspective refuses it (``Comment must be non-empty.``)."""
    if not text.strip():
        raise ValueError("holds only whitespace; a comment to score needs some text")
    return text


class CommentIn(BaseModel):
    """One comment to score."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[Text, AfterValidator(_not_blank)] = Field(
        min_length=1,
        description="The comment as plain text, with something other than whitespace in it.",
        json_schema_extra={"pattern": r"\S"},
    )
    target: Annotated[str | None, AfterValidator(_encodable)] = Field(
        default=None, max_length=1000, description="What stance is measured toward: the article's title or topic."
    )
    language: str | None = Field(
        default=None,
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{1,8})*$",
        description="The comment's language as the client knows it, a BCP 47 tag (`de`, `pt-BR`); left out, it is "
        "detected from the text (the response's `language`). The comment is scored by the model measured best "
        "for its language; one no test split measures is scored by the multilingual model and marked "
        "`unmeasured_language`.",
    )


class ScoreRequest(BaseModel):
    """Comments to score (the server's `max_items`, 1,000 by default, at most). Nothing is stored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "comments": [
                        {"text": "They will never give the islands back.", "target": "Kuril islands"},
                        {"text": "What a stupid idea. Read the article first.", "language": "en"},
                    ],
                    "spans": False,
                }
            ]
        },
    )

    comments: list[CommentIn] = Field(min_length=1)
    spans: bool = Field(default=False, description="Also score each sentence (`spans` of each comment).")


class ScoredComment(CommentScores):
    """A comment's scores, its detected language and what the running policy decides from them."""

    language: str | None = Field(
        default=None,
        description="The comment's language (ISO 639-1): the request's `language` (its primary subtag) when given, "
        "else the one detected from the text; null when none is given and there is too little text to tell.",
    )
    language_confidence: float | None = Field(
        default=None,
        description="The detector's confidence (0 to 1) when `language` was detected; null when the request gave "
        "the language or none was detected.",
    )
    decision: Decision


class ScoreResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "frozen sentence-transformers/all-MiniLM-L6-v2 + linear heads [63ab064035e8]",
                    "policy": "3f1c0a9b2d4e",
                    "comments": [
                        {
                            "sentiment": {
                                "label": "negative",
                                "probabilities": {"negative": 0.71, "neutral": 0.26, "positive": 0.03},
                            },
                            "stance": {
                                "label": "against",
                                "probabilities": {"against": 0.55, "neutral": 0.36, "favor": 0.09},
                            },
                            "toxicity": {"label": "not_toxic", "probabilities": {"not_toxic": 0.93, "toxic": 0.07}},
                            "attributes": {"TOXICITY": 0.07},
                            "spans": [],
                            "experimental": [],
                            "language": "en",
                            "language_confidence": 1.0,
                            "decision": {"action": "approve", "reasons": [], "policy_digest": "3f1c0a9b2d4e"},
                        }
                    ],
                }
            ]
        }
    )

    model: str = Field(description="The scorer that scored.")
    policy: str = Field(description="The digest of the policy that decided.")
    comments: list[ScoredComment] = Field(description="In request order.")
