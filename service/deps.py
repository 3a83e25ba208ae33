"""Request dependencies: the desk's shared state, a transaction per request, API keys and rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from moderation import keys
from moderation.extraction import Source
from moderation.extraction.isolated import ExtractionPool
from moderation.policy import Policy
from moderation.scores import CommentScorer, CommentScores
from moderation.storage import transaction
from moderation.thread import Thread
from service.batching import MicroBatcher, QueueFull
from service.budget import check_limits
from service.config import Settings
from service.metrics import Metrics
from service.problems import ProblemError
from service.ratelimit import RateLimiter


@dataclass
class AppState:
    """What every request shares: built once in the app's lifespan."""

    settings: Settings
    engine: Engine
    scorer: CommentScorer
    policy: Policy
    batcher: MicroBatcher
    limiter: RateLimiter
    metrics: Metrics
    work: RateLimiter  # characters of comment text per minute
    extraction: ExtractionPool  # reads uploads in worker processes, each read bounded by a deadline
    key_uses: keys.KeyUses = field(default_factory=keys.KeyUses)  # written by the app's lifespan, not requests
    _extracting: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._extracting = asyncio.Semaphore(self.extraction.workers)

    async def extract(self, source: Source, format: str | None) -> list[Thread]:
        """An upload's threads, read in a worker process so that no input holds the event loop or this process
        (past ``extract_deadline_s`` a 422). Uploads beyond the workers wait here, holding no pool thread."""
        async with self._extracting:
            return await run_in_threadpool(self.extraction.extract_all, source, format)

    def admit(self, request: Request, texts: Sequence[str], *, name: Callable[[int], str] | None = None) -> None:
        """The work budget of a scoring request (service/budget.py): 413 over a limit, else its characters
        are charged to its caller (429 with ``Retry-After`` when the caller's characters per minute are spent)."""
        total = check_limits(texts, self.settings, name=name)
        retry = self.work.acquire(rate_key(request), total)
        if retry is not None:
            raise ProblemError(
                429,
                "Too many characters",
                f"{total:,} characters to score; the rate limit is {self.work.per_minute:,} characters a minute",
                retry_after=retry,
            )

    async def score(
        self,
        texts: list[str],
        targets: list[str | None],
        *,
        languages: list[str | None] | None = None,
        spans: bool = False,
        request: Request | None = None,
    ) -> list[CommentScores]:
        """Micro-batched, off the event loop; each comment in its language where given, else the detected one.
        With ``request``, the work is dropped if its client disconnects before it is scored; a full scoring
        queue is a 503 with ``Retry-After``."""
        try:
            work = self.batcher.score(texts, targets, languages=languages, spans=spans)
            return await (work if request is None else unless_disconnected(request, work))
        except QueueFull as exc:
            raise ProblemError(
                503, "Server busy", f"{exc}; retry in {exc.retry_after} s", retry_after=exc.retry_after
            ) from exc


T = TypeVar("T")


async def unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """``work``'s result; as soon as the client disconnects, ``work`` is cancelled and a 499 problem raised
    (which no one reads, but the metrics count).

    Called once the body has been read: the next ASGI message is then ``http.disconnect``, which the server
    sends when the client goes away (or after the response, which cannot come before ``work`` is done)."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        gone.cancel()
    if task.done():
        return task.result()
    task.cancel()
    raise ProblemError(499, "Client closed request", "the client disconnected before its comments were scored")


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def rate_key(request: Request) -> str:
    """Whose budget a request spends: its API key's (set by :func:`require`), else its client address's."""
    key: str | None = getattr(request.state, "rate_key", None)
    if key is not None:
        return key
    return f"address:{request.client.host if request.client else 'unknown'}"


async def get_state(request: Request) -> AppState:
    """Async because it does no I/O: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
    hop on every request."""
    state: AppState = request.app.state.app_state
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    with transaction(state.engine) as session:
        yield session


# scope="function": the transaction commits before the response is sent, so an acknowledged write is
# durable (FastAPI otherwise runs a yield dependency's exit after the response).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


#: The routes whose clients cannot send a header, and so may pass their key as ``?key=``: Perspective's
#: AnalyzeComment and SuggestCommentScore (Google's API takes keys that way, and Perspective clients send nothing
#: else) and Coral's callback URL (Coral sends no header of our choosing). Anywhere else ``?key=`` is refused with
#: 401: a key in a URL lands in access logs, proxies' logs and browser histories.
QUERY_KEY_ROUTES = frozenset({"/v1alpha1/comments:analyze", "/v1alpha1/comments:suggestscore", "/v1/coral/moderate"})


def query_key_allowed(request: Request) -> bool:
    """Whether the route that matched ``request`` is one of :data:`QUERY_KEY_ROUTES`."""
    return getattr(request.scope.get("route"), "path", None) in QUERY_KEY_ROUTES


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    # X-API-Key for simple clients; ?key= only where a client cannot send a header (QUERY_KEY_ROUTES).
    return request.headers.get("x-api-key") or (request.query_params.get("key") if query_key_allowed(request) else None)


#: How the 401 for a missing key says to send one: in a header, or as ``?key=`` where the route takes it.
SEND_KEY = "send it as 'Authorization: Bearer <key>'"
SEND_KEY_OR_QUERY = f"{SEND_KEY}, or as ?key=<key> in the URL"


def require(scope: str, *, how: str | None = None) -> Callable[..., keys.ApiKey | None]:
    """A dependency that admits a request holding a live key with ``scope`` (reads may be open). ``how``: what
    the 401 for a missing key tells the client (by default, the ways this route takes a key)."""

    def check(request: Request, state: StateDep) -> keys.ApiKey | None:
        if "key" in request.query_params and not query_key_allowed(request):
            raise ProblemError(
                401,
                "API key in the URL",
                "send it as 'Authorization: Bearer <key>' (or 'X-API-Key: <key>'); only the Perspective and Coral "
                "routes take ?key=",
            )
        if scope == "read" and state.settings.open_reads:
            retry = state.limiter.acquire(rate_key(request))
            if retry is not None:
                raise ProblemError(
                    429, "Too many requests", f"rate limit of {state.limiter.per_minute}/minute", retry_after=retry
                )
            return None
        token = _token(request)
        if not token:
            raise ProblemError(
                401, "API key required", how or (SEND_KEY_OR_QUERY if query_key_allowed(request) else SEND_KEY)
            )
        with transaction(state.engine) as session:  # reads only: a write would queue behind an import
            key = keys.verify_key(session, token, touch=False)
        if key is None:
            raise ProblemError(401, "Invalid API key")
        state.key_uses.note(key.prefix)
        if not key.allows(scope):
            raise ProblemError(403, "Forbidden", f"this key lacks the {scope!r} scope")
        request.state.rate_key = f"key:{key.prefix}"
        retry = state.limiter.acquire(key.prefix)
        if retry is not None:
            raise ProblemError(
                429, "Too many requests", f"rate limit of {state.limiter.per_minute}/minute", retry_after=retry
            )
        return key

    return check


def actor(key: keys.ApiKey | None) -> str:
    """How the audit log names whoever made a request."""
    return f"key:{key.prefix} ({key.name})" if key is not None else "anonymous"


ReadKey = Annotated[keys.ApiKey | None, Depends(require("read"))]
WriteKey = Annotated[keys.ApiKey | None, Depends(require("write"))]
ModerateKey = Annotated[keys.ApiKey | None, Depends(require("moderate"))]
