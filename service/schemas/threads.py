"""Threads: a stored thread's summary (with its counts) and detail, pages of them, and the body that
stores one (JSON, or an upload)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from moderation.extraction import EXTRACTORS
from moderation.storage.counts import ThreadCounts
from moderation.storage.stored import StoredThread
from moderation.thread import ExcludedItem, Thread
from service.schemas.openapi import inlined


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
    def of(cls, thread: StoredThread, counts: ThreadCounts) -> ThreadSummary:
        return cls(**_summary_fields(thread), counts=Counts.of(counts))


def _summary_fields(thread: StoredThread) -> dict[str, Any]:
    """The fields a thread's summary and its detail share."""
    return {
        "id": thread.id,
        "key": thread.key,
        "url": thread.url,
        "title": thread.title,
        "published": thread.published,
        "source_format": thread.source_format,
        "language": thread.language,
        "excluded": len(thread.excluded),
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
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
    def of(cls, thread: StoredThread, counts: ThreadCounts) -> ThreadDetail:
        return cls(
            **_summary_fields(thread),
            counts=Counts.of(counts),
            article=ArticleOut(**{name: getattr(thread, name) for name in ArticleOut.model_fields}),
            announced_comments=thread.announced_comments,
            excluded_items=thread.excluded,
            metadata=thread.metadata,
        )


def thread_body() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /v1/threads``: a thread (or a list) as JSON, or a file as multipart."""
    thread = inlined(Thread.model_json_schema())
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
