"""The thread model every extractor produces and every other part consumes.

Pydantic models, because a thread crosses every edge: CLI JSON, the HTTP API, storage.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: A language as the desk stores it: an ISO 639-1 code (ISO 639-3 for a language without one), lower case.
LANGUAGE_CODE = r"^[a-z]{2,3}$"

#: The plausible dates of an article or comment: from 1990-01-01 (before the web had comment sections) to a day
#: after the moment the thread is read (a day of slack for clocks and zones). A date outside is a source's
#: error or a placeholder (9999-12-31, 0001-01-01, 1970-01-01): ``published`` becomes None and the date is kept
#: as ``published_raw``, so no report, chart or period filter ever works with it.
EARLIEST_PUBLISHED = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)


def plausible_date(value: date | datetime) -> bool:
    """Whether a published date lies in the plausible window (a time without a zone is read as UTC)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    moment = value if value.utcoffset() is not None else value.replace(tzinfo=timezone.utc)
    try:
        return EARLIEST_PUBLISHED <= moment <= datetime.now(timezone.utc) + FUTURE_SLACK
    except OverflowError:  # an offset pushes a time at the calendar's edge past it
        return False


def _raw_of_implausible(published: date | datetime | None, raw: str | None) -> str | None:
    """None when ``published`` is None or plausible, else what ``published_raw`` becomes (``published`` becoming
    None): the source's string where there is one, else the date itself written out."""
    if published is None or plausible_date(published):
        return None
    return raw if raw is not None else published.isoformat()


class Article(BaseModel):
    """The article a comment thread hangs under."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    title: str | None = None
    published: date | datetime | None = None
    published_raw: str | None = None
    section: str | None = None
    byline: str | None = None
    dateline: str | None = None
    captions: list[str] = Field(default_factory=list)
    body: list[str] = Field(default_factory=list, description="Body paragraphs, in order.")
    credit: str | None = Field(default=None, description="Source or agency credit, e.g. '© KYODO'.")
    language: str | None = Field(
        default=None,
        pattern=LANGUAGE_CODE,
        description="ISO 639-1 code of the article's language: given, or detected from its title and body when "
        "it is stored; None when unknown.",
    )

    @model_validator(mode="after")
    def _plausible_date(self) -> Article:
        raw = _raw_of_implausible(self.published, self.published_raw)
        if raw is not None:
            self.published, self.published_raw = None, raw
        return self

    def key(self) -> str:
        """What identifies the article across re-imports: its URL, else its title and date."""
        if self.url:
            return self.url
        return f"{self.title or ''}|{self.published or ''}"


class Votes(BaseModel):
    """Reader votes as the page shows them; ``None`` where the source shows none."""

    model_config = ConfigDict(extra="forbid")

    up: int | None = None
    down: int | None = None
    score: int | None = None


class Comment(BaseModel):
    """One reader comment. ``parent`` is the id of the comment it replies to."""

    model_config = ConfigDict(extra="forbid")

    id: str
    parent: str | None = None
    parent_source_id: str | None = Field(
        default=None,
        description="The source's id of the comment this one answers, kept even when that comment was "
        "excluded (deleted, spam, unapproved) and so is not in the thread.",
    )
    author: str | None = None
    published: datetime | None = None
    published_raw: str | None = None
    text: str
    votes: Votes = Field(default_factory=Votes)
    position: int = Field(ge=0, description="0-based order of the comment in the source.")
    language: str | None = Field(
        default=None,
        pattern=LANGUAGE_CODE,
        description="ISO 639-1 code of the comment's language: given, or detected when the comment is stored or "
        "reported; None when unknown (too little text to tell).",
    )
    language_confidence: float | None = Field(
        default=None, ge=0, le=1, description="The detector's confidence in `language`; None when it was given."
    )

    @model_validator(mode="after")
    def _confidence_of_a_language(self) -> Comment:
        if self.language_confidence is not None and self.language is None:
            raise ValueError("language_confidence needs a language")
        return self

    @model_validator(mode="after")
    def _plausible_date(self) -> Comment:
        raw = _raw_of_implausible(self.published, self.published_raw)
        if raw is not None:
            self.published, self.published_raw = None, raw
        return self


class ExcludedItem(BaseModel):
    """A record the source holds but the thread leaves out, and why (never silently dropped)."""

    model_config = ConfigDict(extra="forbid")

    source_id: str | None = None
    kind: str = Field(description="pingback, trackback, sidebar, deleted, removed, unapproved, spam, ...")
    text: str | None = None
    reason: str | None = None


class Thread(BaseModel):
    """An article and its comments, as one source presented them."""

    model_config = ConfigDict(extra="forbid")

    article: Article
    comments: list[Comment] = Field(default_factory=list)
    excluded: list[ExcludedItem] = Field(default_factory=list)
    source_format: str
    announced_comments: int | None = Field(
        default=None, description="The comment count the source itself announces, when it shows one."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parents_exist(self) -> Thread:
        ids = [c.id for c in self.comments]
        if len(set(ids)) != len(ids):
            raise ValueError("comment ids must be unique within a thread")
        known = set(ids)
        for comment in self.comments:
            if comment.parent is not None and comment.parent not in known:
                raise ValueError(f"comment {comment.id!r} replies to unknown comment {comment.parent!r}")
        return self

    def key(self) -> str:
        """What identifies the thread across re-imports: the article's URL, else the export's own
        thread id, else the title and date, else the comments themselves."""
        if self.article.url:
            return self.article.url
        thread_id = self.metadata.get("thread_id")
        if thread_id:
            return f"{self.source_format}:{thread_id}"
        if self.article.title:
            return self.article.key()
        digest = hashlib.sha256("\x1f".join(c.id for c in self.comments).encode("utf-8")).hexdigest()
        return f"{self.source_format}:comments:{digest[:16]}"

    @property
    def stance_target(self) -> str | None:
        """What every comment's stance is scored toward: the article's title (None when it has none, so no
        stance is scored)."""
        return self.article.title or None

    @property
    def is_complete(self) -> bool:
        """False when the source announced more comments than it contained."""
        return self.announced_comments is None or self.announced_comments <= len(self.comments)


def stable_comment_id(article: Article, position: int, author: str | None, text: str) -> str:
    """An id for sources that give none: the same comment re-imported gets the same id."""
    digest = hashlib.sha256("\x1f".join([article.key(), str(position), author or "", text]).encode("utf-8")).hexdigest()
    return f"h{digest[:16]}"
