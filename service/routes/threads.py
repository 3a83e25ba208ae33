"""Threads: store one (as JSON, or a page or export as an upload), list them, read one and its comments."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints, ValidationError
from pydantic_core import from_json
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from moderation import pipeline
from moderation.errors import NotFoundError
from moderation.extraction import Source, extract_all
from moderation.language import with_languages
from moderation.models.scorer import CommentScores
from moderation.policy import Policy
from moderation.storage import repository
from moderation.storage.counts import thread_counts
from moderation.storage.tables import ArticleRow
from moderation.thread import Thread
from service.budget import check_text
from service.deps import DeskDep, ReadKey, SessionDep, WriteKey, actor
from service.problems import ProblemError
from service.schemas import (
    KEYED,
    CommentOut,
    CommentPage,
    LanguageFilter,
    ThreadDetail,
    ThreadPage,
    ThreadsStored,
    ThreadSummary,
    check_storable,
    errors,
    thread_body,
)

router = APIRouter(tags=["threads"])

#: Row ids, bounded so no client number overflows a database integer.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page; leave out for the first.")
]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
MinScore = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*:(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$")]
_UNSUPPORTED = "send a thread as application/json, or a page or export as multipart/form-data (field 'file')"


@router.post(
    "/v1/threads",
    summary="Store a thread",
    openapi_extra=thread_body(),
    responses=errors(400, *KEYED, 409, 413, 415, 503),
)
async def post_thread(request: Request, desk: DeskDep, session: SessionDep, key: WriteKey) -> ThreadsStored:
    """Extract (uploads), score and store a thread with the policy's decisions; an export's threads are
    stored together or not at all. Posting an article again updates it and never duplicates it: threads
    are matched by URL, else the export's thread id, else title and date. A moderator's decisions stay."""
    threads = await _read_threads(request, max_bytes=desk.settings.max_body_bytes)
    check_storable(threads)
    ids = [(index, comment.id) for index, thread in enumerate(threads) for comment in thread.comments]

    def name(n: int) -> str:
        thread, comment = ids[n]
        return f"thread {thread} comment {comment!r}" if len(threads) > 1 else f"comment {comment!r}"

    desk.admit(request, [comment.text for thread in threads for comment in thread.comments], name=name)
    threads = await run_in_threadpool(lambda: [with_languages(thread) for thread in threads])
    texts = [comment.text for thread in threads for comment in thread.comments]
    targets = [thread.article.title or None for thread in threads for comment in thread.comments]
    languages = [comment.language for thread in threads for comment in thread.comments]
    scores = await desk.score(texts, targets, languages=languages, request=request)
    try:
        stored = await run_in_threadpool(_store, session, threads, scores, desk.scorer.name, desk.policy, actor(key))
    except IntegrityError as exc:
        raise ProblemError(409, "Conflict", "another request stored the same thread meanwhile; retry") from exc
    return ThreadsStored(threads=stored)


async def _read_threads(request: Request, *, max_bytes: int) -> list[Thread]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or re.fullmatch(r"application/[\w.+-]+\+json", media_type):
        return _json_threads(await request.body())
    if media_type != "multipart/form-data":
        raise ProblemError(415, "Unsupported media type", _UNSUPPORTED)
    async with request.form(max_files=1, max_fields=10) as form:
        upload, named = form.get("file"), form.get("format")
        if upload is None:
            raise ProblemError(422, "Invalid request", "the upload has no 'file' field")
        if isinstance(upload, UploadFile):
            source = Source.from_bytes(await upload.read(), upload.filename or "upload", max_bytes=max_bytes)
        else:
            source = Source.from_bytes(upload.encode("utf-8", "replace"), "upload", max_bytes=max_bytes)
    if named is not None and not isinstance(named, str):
        raise ProblemError(422, "Invalid request", "'format' must be a form field, not a file")
    threads = await run_in_threadpool(extract_all, source, named or None)
    if not threads:
        raise ProblemError(422, "Unprocessable input", f"{source.name} holds no thread")
    check_text(threads, ("file",))  # JSON exports may escape lone surrogates; the body's JSON parser refuses them
    return threads


def _json_threads(body: bytes) -> list[Thread]:
    """One thread object or a non-empty list; ``source_format`` defaults to ``json``; unknown fields refused."""
    try:
        payload = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise ProblemError(422, "Invalid request", f"the body is not valid JSON: {exc}") from exc
    items = payload if isinstance(payload, list) and payload else [payload]
    threads, problems = [], []
    for index, item in enumerate(items):
        where = ("body", index) if isinstance(payload, list) else ("body",)
        if isinstance(item, dict):
            item.setdefault("source_format", "json")
        try:
            threads.append(Thread.model_validate(item))
        except ValidationError as exc:
            problems += [{**error, "loc": (*where, *error["loc"])} for error in exc.errors(include_url=False)]
    if problems:
        raise RequestValidationError(problems)
    return threads


def _store(
    session: Session, threads: list[Thread], scores: list[CommentScores], model: str, policy: Policy, by: str
) -> list[ThreadSummary]:
    ids, start = [], 0
    for thread in threads:
        part = scores[start : start + len(thread.comments)]
        start += len(thread.comments)
        ids.append(pipeline.store(session, thread, part, model=model, policy=policy, actor=by).article_id)
    counts = thread_counts(session, ids)
    return [ThreadSummary.from_row(_article(session, i), counts[i]) for i in ids]


def _article(session: Session, thread_id: int) -> ArticleRow:
    row = repository.get_article(session, thread_id)
    if row is None:
        raise NotFoundError(f"no thread {thread_id}")
    return row


@router.get("/v1/threads", summary="List threads", responses=errors(*KEYED))
def list_threads(session: SessionDep, _: ReadKey, cursor: Cursor = None, limit: Limit = 50) -> ThreadPage:
    """Stored threads, newest first, each with its counts."""
    page = repository.list_articles(session, cursor=cursor, limit=limit)
    counts = thread_counts(session, [row.id for row in page.items])
    return ThreadPage(
        items=[ThreadSummary.from_row(row, counts[row.id]) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/v1/threads/{thread_id}", summary="Read a thread", responses=errors(*KEYED, 404))
def get_thread(thread_id: Id, session: SessionDep, _: ReadKey) -> ThreadDetail:
    """The article (body, captions, credit, ...), what the source left out, and the thread's counts."""
    row = _article(session, thread_id)
    return ThreadDetail.from_row(row, thread_counts(session, [thread_id])[thread_id])


@router.get("/v1/threads/{thread_id}/comments", summary="List a thread's comments", responses=errors(*KEYED, 404))
def list_thread_comments(
    thread_id: Id,
    session: SessionDep,
    _: ReadKey,
    decision: Annotated[Literal["approve", "review", "reject"] | None, Query()] = None,
    min_score: Annotated[
        list[MinScore] | None,
        Query(
            max_length=20,
            description="`ATTRIBUTE:VALUE`, e.g. `TOXICITY:0.8`: only comments scoring at least VALUE (0 to 1). "
            "Repeat for several attributes; all must hold.",
        ),
    ] = None,
    stance: Annotated[Literal["against", "neutral", "favor"] | None, Query()] = None,
    sentiment: Annotated[Literal["negative", "neutral", "positive"] | None, Query()] = None,
    language: LanguageFilter = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CommentPage:
    """Comments in thread order with their language, newest scores and current decision; every filter given
    must hold."""
    _article(session, thread_id)
    least: dict[str, float] = {}
    for condition in min_score or ():
        name, value = condition.split(":")
        least[name] = max(least.get(name, 0.0), float(value))
    filters = repository.CommentFilter(
        decision=decision, min_scores=least, stance=stance, sentiment=sentiment, language=language
    )
    page = repository.list_comments(session, thread_id, filters, cursor=cursor, limit=limit)
    return CommentPage(items=[CommentOut.from_row(row) for row in page.items], next_cursor=page.next_cursor)
