"""Threads: store one (as JSON, or a page or export as an upload), list them, read one and its comments."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from moderation import pipeline
from moderation.actions import Action
from moderation.errors import NotFoundError
from moderation.extraction import Source
from moderation.language import with_languages
from moderation.storage import limits, repository
from moderation.storage.counts import thread_counts
from moderation.storage.stored import StoredThread
from moderation.thread import Thread
from service.budget import check_text
from service.deps import AppState, ReadKey, SessionDep, StateDep, WriteKey, actor
from service.problems import ProblemError, parse_json
from service.schemas.comments import CommentOut, CommentPage
from service.schemas.openapi import KEYED, errors
from service.schemas.params import Cursor, Id, LanguageFilter, Limit
from service.schemas.threads import ThreadDetail, ThreadPage, ThreadsStored, ThreadSummary, thread_body

router = APIRouter(tags=["threads"])

MinScore = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*:(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$")]
_UNSUPPORTED = "send a thread as application/json, or a page or export as multipart/form-data (field 'file')"


@router.post(
    "/v1/threads",
    summary="Store a thread",
    openapi_extra=thread_body(),
    responses=errors(400, *KEYED, 409, 413, 415, 503),
)
async def post_thread(request: Request, state: StateDep, session: SessionDep, key: WriteKey) -> ThreadsStored:
    """Extract (uploads), score and store a thread with the policy's decisions; an export's threads are
    stored together or not at all (up to the server's `store_part_comments`; a larger upload is stored in
    parts). Posting a thread again updates it and never duplicates it: threads are matched by URL, else
    the export's thread id, else title and date. A moderator's decisions stay while a comment's text does;
    a new text for a comment a moderator decided needs the `moderate` scope (403 without it) and sends the
    comment back to review. A thread holds at most `max_thread_comments` comments (413)."""
    threads = await _read_threads(request, max_bytes=state.settings.max_body_bytes)
    may_overwrite = key is not None and key.allows("moderate")
    limit = state.settings.max_thread_comments
    await run_in_threadpool(pipeline.check_store, session, threads, overwrite_decided=may_overwrite, max_comments=limit)
    ids = [(index, comment.id) for index, thread in enumerate(threads) for comment in thread.comments]

    def name(n: int) -> str:
        thread, comment = ids[n]
        return f"thread {thread} comment {comment!r}" if len(threads) > 1 else f"comment {comment!r}"

    state.admit(request, [comment.text for thread in threads for comment in thread.comments], name=name)
    threads = await run_in_threadpool(lambda: [with_languages(thread) for thread in threads])
    texts = [comment.text for thread in threads for comment in thread.comments]
    targets = [thread.stance_target for thread in threads for comment in thread.comments]
    languages = [comment.language for thread in threads for comment in thread.comments]
    scores = await state.score(texts, targets, languages=languages, request=request)
    try:
        stored = await run_in_threadpool(
            pipeline.store_all,
            state.engine,
            threads,
            scores,
            model=state.scorer.name,
            policy=state.policy,
            actor=actor(key),
            overwrite_decided=may_overwrite,
            max_comments=limit,
            part_comments=state.settings.store_part_comments,
        )
    except IntegrityError as exc:
        raise ProblemError(409, "Conflict", "another request stored the same thread meanwhile; retry") from exc
    return ThreadsStored(threads=await run_in_threadpool(_summaries, session, [a.thread_id for a in stored]))


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
    state: AppState = request.app.state.app_state
    threads = await state.extract(source, named or None)  # in a worker process, within the deadline
    if not threads:
        raise ProblemError(422, "Unprocessable input", f"{source.name} holds no thread")
    check_text(threads, ("file",))  # JSON exports may escape lone surrogates; the body's JSON parser refuses them
    _check_storable(threads, lambda index: ("file", index))
    return threads


def _json_threads(body: bytes) -> list[Thread]:
    """One thread object or a non-empty list; ``source_format`` defaults to ``json``; unknown fields refused."""
    payload = parse_json(body)  # as /v1/comments:score's body is parsed: 400 with the parser's message
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
    check_text(threads, ("body",))  # a lone surrogate's escape is JSON, but no text
    _check_storable(threads, lambda index: ("body", index) if isinstance(payload, list) else ("body",))
    return threads


def _summaries(session: Session, ids: list[int]) -> list[ThreadSummary]:
    counts = thread_counts(session, ids)
    return [ThreadSummary.of(_thread(session, i), counts[i]) for i in ids]


def _check_storable(threads: list[Thread], where: Callable[[int], tuple[str | int, ...]]) -> None:
    """A 422 naming every value the database cannot hold (``where``: each thread's location), before any
    scoring: NUL characters, ids and URLs longer than their columns, numbers out of range."""
    found = [
        ((*where(index), *location), message)
        for index, thread in enumerate(threads)
        for location, message in limits.unstorable(thread)
    ]
    if found:
        detail = "; ".join(f"{'.'.join(map(str, location))} {message}" for location, message in found[:5])
        problems = [{"loc": [str(part) for part in location], "msg": message} for location, message in found[:20]]
        raise ProblemError(422, "Unprocessable input", detail, errors=problems)


def _thread(session: Session, thread_id: int) -> StoredThread:
    thread = repository.get_thread(session, thread_id)
    if thread is None:
        raise NotFoundError(f"no thread {thread_id}")
    return thread


@router.get("/v1/threads", summary="List threads", responses=errors(*KEYED))
def list_threads(session: SessionDep, _: ReadKey, cursor: Cursor = None, limit: Limit = 50) -> ThreadPage:
    """Stored threads, newest first, each with its counts."""
    page = repository.list_threads(session, cursor=cursor, limit=limit)
    counts = thread_counts(session, [thread.id for thread in page.items])
    return ThreadPage(
        items=[ThreadSummary.of(thread, counts[thread.id]) for thread in page.items], next_cursor=page.next_cursor
    )


@router.get("/v1/threads/{thread_id}", summary="Read a thread", responses=errors(*KEYED, 404))
def get_thread(thread_id: Id, session: SessionDep, _: ReadKey) -> ThreadDetail:
    """The article (body, captions, credit, ...), what the source left out, and the thread's counts."""
    return ThreadDetail.of(_thread(session, thread_id), thread_counts(session, [thread_id])[thread_id])


@router.get("/v1/threads/{thread_id}/comments", summary="List a thread's comments", responses=errors(*KEYED, 404))
def list_thread_comments(
    thread_id: Id,
    session: SessionDep,
    _: ReadKey,
    decision: Annotated[Action | None, Query()] = None,
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
    _thread(session, thread_id)
    least: dict[str, float] = {}
    for condition in min_score or ():
        name, value = condition.split(":")
        least[name] = max(least.get(name, 0.0), float(value))
    filters = repository.CommentFilter(
        decision=decision, min_scores=least, stance=stance, sentiment=sentiment, language=language
    )
    page = repository.thread_comments(session, thread_id, filters, cursor=cursor, limit=limit)
    return CommentPage(items=[CommentOut.of(comment) for comment in page.items], next_cursor=page.next_cursor)
