"""The ``/v1`` API's request and response bodies, with examples, and how library rows become them.

Request models refuse unknown fields. Responses are built from library objects here (``from_row``)
so every route formats a comment, a thread or a decision the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from moderation.extraction import EXTRACTORS
from moderation.models.scorer import CommentScores
from moderation.policy import Decision, Reason
from moderation.storage.counts import ThreadCounts
from moderation.storage.tables import ArticleRow, AuditRow, CommentRow
from moderation.thread import LANGUAGE_CODE, ExcludedItem, Thread, Votes

# ---------------------------------------------------------------- errors


class Problem(BaseModel):
    """An RFC 9457 problem: every error answer has this shape (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Schema violations, each with its location (`loc`) and message (`msg`)."
    )
    retry_after: int | None = Field(default=None, description="With 429 and 503: seconds until a retry may succeed.")


_ERRORS = {
    400: "The body cannot be parsed: not JSON (the detail has the parser's message), not UTF-8, a broken upload.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key lacks the scope this route (or this change) needs.",
    404: "No such thread or comment.",
    409: "Another request is storing the same thread; retry.",
    413: "The body, a comment, the number of comments or their characters in all is over the server's limit "
    "(or, storing a thread, the comments the thread would hold).",
    415: "The body is neither JSON nor a multipart upload.",
    422: "The request does not match the schema, or its content cannot be used (the detail says why).",
    429: "The key's rate limit (requests, or characters to score) is spent; retry after `Retry-After` seconds.",
    503: "The scoring queue is full; retry after `Retry-After` seconds.",
}
_PROBLEM_SCHEMA = Problem.model_json_schema()


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem answers a route can give."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        response: dict[str, Any] = {
            "description": _ERRORS[code],
            "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
        }
        if code in (429, 503):
            response["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
        responses[code] = response
    return responses


#: Problems any route behind a key can answer.
KEYED = (401, 403, 422, 429)

# ---------------------------------------------------------------- scoring


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


# ---------------------------------------------------------------- threads


class DecisionCounts(BaseModel):
    approve: int
    review: int
    reject: int
    undecided: int


class Counts(BaseModel):
    """What a thread holds now: its comments' current decisions and newest scores."""

    comments: int
    scored: int
    decisions: DecisionCounts
    sentiment: dict[str, int] = Field(description="Comments by sentiment label.")
    stance: dict[str, int] = Field(description="Comments by stance toward the article.")
    mean_toxicity: float | None
    max_toxicity: float | None
    languages: dict[str, int] = Field(
        description="Comments by language (ISO 639-1, given or detected when stored), most first; `und`: none "
        "detected (too little text), or stored before languages were."
    )

    @classmethod
    def of(cls, counts: ThreadCounts) -> Counts:
        return cls(
            comments=counts.comments,
            scored=counts.scored,
            decisions=DecisionCounts(**counts.decisions, undecided=counts.undecided),
            sentiment=counts.sentiment,
            stance=counts.stance,
            mean_toxicity=counts.mean_toxicity,
            max_toxicity=counts.max_toxicity,
            languages=counts.languages,
        )


class ThreadSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "key": "https://japantoday.com/category/politics/lavrov",
                    "url": "https://japantoday.com/category/politics/lavrov",
                    "title": "Lavrov says ...",
                    "published": "2024-05-01",
                    "source_format": "text",
                    "language": "en",
                    "excluded": 0,
                    "created_at": "2024-05-02T08:00:00Z",
                    "updated_at": "2024-05-02T08:00:00Z",
                    "counts": {
                        "comments": 42,
                        "scored": 42,
                        "decisions": {"approve": 37, "review": 4, "reject": 1, "undecided": 0},
                        "sentiment": {"negative": 25, "neutral": 14, "positive": 3},
                        "stance": {"against": 12, "neutral": 26, "favor": 4},
                        "mean_toxicity": 0.18,
                        "max_toxicity": 0.91,
                        "languages": {"en": 40, "und": 2},
                    },
                }
            ]
        }
    )

    id: int
    key: str = Field(description="What identifies the thread across uploads: its URL, else an export id or title.")
    url: str | None
    title: str | None
    published: str | None = Field(description="ISO date or datetime.")
    source_format: str
    language: str | None = Field(
        description="The article's language (ISO 639-1): given, or detected from its title and body when stored; "
        "null when unknown."
    )
    excluded: int = Field(description="Records the source held but the thread leaves out (deleted, spam, ...).")
    created_at: datetime
    updated_at: datetime
    counts: Counts

    @classmethod
    def from_row(cls, row: ArticleRow, counts: ThreadCounts) -> ThreadSummary:
        return cls(**_summary_fields(row), counts=Counts.of(counts))


def _summary_fields(row: ArticleRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "url": row.url,
        "title": row.title,
        "published": row.published,
        "source_format": row.source_format,
        "language": row.language,
        "excluded": len(row.excluded),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


class ArticleOut(BaseModel):
    url: str | None
    title: str | None
    published: str | None
    published_raw: str | None
    section: str | None
    byline: str | None
    dateline: str | None
    credit: str | None
    captions: list[str]
    body: list[str] = Field(description="Body paragraphs, in order.")


class ThreadDetail(ThreadSummary):
    article: ArticleOut
    announced_comments: int | None = Field(description="The comment count the source itself announced.")
    excluded_items: list[ExcludedItem]
    metadata: dict[str, Any]

    @classmethod
    def from_row(cls, row: ArticleRow, counts: ThreadCounts) -> ThreadDetail:
        article = ArticleOut(**{name: getattr(row, name) for name in ArticleOut.model_fields})
        return cls(
            **_summary_fields(row),
            counts=Counts.of(counts),
            article=article,
            announced_comments=row.announced_comments,
            excluded_items=[ExcludedItem.model_validate(item) for item in row.excluded],
            metadata=row.extra,
        )


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place (the thread model has no cycles)."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return dict(inline(schema))


def thread_body() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /v1/threads``: a thread (or a list) as JSON, or a file as multipart."""
    thread = _inlined(Thread.model_json_schema())
    thread["required"] = [name for name in thread["required"] if name != "source_format"]
    thread["properties"]["source_format"]["default"] = "json"
    example = {
        "article": {"url": "https://news.example/a", "title": "Story A", "body": ["First paragraph."]},
        "comments": [
            {"id": "1", "author": "Ann", "text": "Hello, world", "position": 0},
            {"id": "2", "parent": "1", "author": "Bob", "text": "A reply", "position": 1},
        ],
    }
    upload = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "A page, text dump or export."},
            "format": {"type": "string", "enum": list(EXTRACTORS), "description": "Detected when left out."},
        },
    }
    json_schema = {"anyOf": [thread, {"type": "array", "items": thread, "minItems": 1}]}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema, "example": example},
                "multipart/form-data": {"schema": upload},
            },
        }
    }


class ThreadsStored(BaseModel):
    """The threads a request stored (an export may hold several), each as it is stored now."""

    threads: list[ThreadSummary]


class ThreadPage(BaseModel):
    items: list[ThreadSummary] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


# ---------------------------------------------------------------- comments and decisions

#: The ``language`` filter of comment listings: a stored language code, or ``und`` for comments without one.
LanguageFilter = Annotated[
    str | None,
    Query(
        pattern=LANGUAGE_CODE,
        description="Only comments in this language: a lower-case ISO 639-1 code (`en`, `de`, ...), or `und` for "
        "comments without one (too little text to tell, or stored before languages were detected).",
        examples=["de"],
    ),
]


class DecisionOut(BaseModel):
    """A comment's current decision: the policy's, or a moderator's (who then overrules any policy)."""

    action: Literal["approve", "review", "reject"]
    decided_by: str = Field(description='"policy", or the moderator\'s key.')
    reasons: list[Reason]
    policy_digest: str | None
    note: str | None
    decided_at: datetime


class StoredScores(CommentScores):
    model: str
    scored_at: datetime


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
    def from_row(cls, row: CommentRow) -> CommentOut:
        return cls(**_comment_fields(row))


def _comment_fields(row: CommentRow) -> dict[str, Any]:
    scores = None
    if row.scores:
        newest = max(row.scores, key=lambda score: (score.scored_at, score.id))
        scores = StoredScores.model_validate({**newest.detail, "model": newest.model, "scored_at": newest.scored_at})
    decision = None
    if row.decision is not None:
        d = row.decision
        decision = DecisionOut(
            action=d.decision,  # type: ignore[arg-type]  # the table's check constraint holds it to these
            decided_by=d.decided_by,
            reasons=[Reason.model_validate(reason) for reason in d.reasons],
            policy_digest=d.policy_digest,
            note=d.note,
            decided_at=d.decided_at,
        )
    return {
        "id": row.id,
        "thread_id": row.article_id,
        "source_id": row.source_id,
        "parent": row.parent,
        "author": row.author,
        "published": row.published,
        "text": row.text,
        "votes": Votes(up=row.votes_up, down=row.votes_down, score=row.votes_score),
        "position": row.position,
        "language": row.language,
        "language_confidence": row.language_confidence,
        "scores": scores,
        "decision": decision,
    }


class CommentPage(BaseModel):
    items: list[CommentOut] = Field(description="In thread order.")
    next_cursor: str | None


class ThreadRef(BaseModel):
    id: int
    title: str | None
    url: str | None


class QueueItemOut(CommentOut):
    risk: float = Field(description="The comment's highest attribute probability.")
    thread: ThreadRef

    @classmethod
    def of(cls, row: CommentRow, risk: float) -> QueueItemOut:
        thread = ThreadRef(id=row.article.id, title=row.article.title, url=row.article.url)
        return cls(**_comment_fields(row), risk=risk, thread=thread)


class QueuePage(BaseModel):
    items: list[QueueItemOut] = Field(description="Riskiest first, then oldest.")
    next_cursor: str | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "reject", "note": "personal attack on another reader"}]},
    )

    action: Literal["approve", "reject", "review"]
    note: str | None = Field(default=None, max_length=2000, description="Why, for the audit log.")


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str = Field(description='e.g. "thread.stored", "comment.decided", "policy.applied".')
    subject_type: str
    subject_id: str
    payload: dict[str, Any]

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            payload=row.payload,
        )


class AuditPage(BaseModel):
    items: list[AuditEntry] = Field(description="Newest first.")
    next_cursor: str | None


class PolicyApplied(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policy": "3f1c0a9b2d4e",
                    "thread_id": None,
                    "redecided": 3,
                    "decisions": {"approve": 2, "review": 1, "reject": 0},
                }
            ]
        }
    )

    policy: str = Field(description="The digest of the running policy.")
    thread_id: int | None
    redecided: int = Field(description="Comments the policy decided again (a moderator's decision is kept).")
    decisions: dict[str, int] = Field(description="The new decisions, by action.")


# ---------------------------------------------------------------- feedback


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
