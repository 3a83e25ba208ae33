"""Request dependencies: the desk's shared state, a transaction per request, API keys and rate limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from moderation import keys
from moderation.models.scorer import CommentScores, Scorer
from moderation.policy import Policy
from moderation.storage import transaction
from service.batching import MicroBatcher
from service.config import Settings
from service.metrics import Metrics
from service.problems import ProblemError
from service.ratelimit import RateLimiter


@dataclass
class Desk:
    """What every request shares: built once in the app's lifespan."""

    settings: Settings
    engine: Engine
    scorer: Scorer
    policy: Policy
    batcher: MicroBatcher
    limiter: RateLimiter
    metrics: Metrics

    async def score(
        self,
        texts: list[str],
        targets: list[str | None],
        *,
        languages: list[str | None] | None = None,
        spans: bool = False,
    ) -> list[CommentScores]:
        """Micro-batched, off the event loop; each comment in its language where given, else the detected one."""
        return await self.batcher.score(texts, targets, languages=languages, spans=spans)


async def get_desk(request: Request) -> Desk:
    """Async because it does no I/O: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
    hop on every request."""
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]


def get_session(desk: DeskDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    with transaction(desk.engine) as session:
        yield session


# scope="function": the transaction commits before the response is sent, so an acknowledged write is
# durable (FastAPI otherwise runs a yield dependency's exit after the response).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    # X-API-Key for simple clients; ?key= as Perspective's clients send it.
    return request.headers.get("x-api-key") or request.query_params.get("key")


def require(scope: str) -> Callable[..., keys.ApiKey | None]:
    """A dependency that admits a request holding a live key with ``scope`` (reads may be open)."""

    def check(request: Request, desk: DeskDep) -> keys.ApiKey | None:
        if scope == "read" and desk.settings.open_reads:
            return None
        token = _token(request)
        if not token:
            raise ProblemError(401, "API key required", "send it as 'Authorization: Bearer <key>'")
        with transaction(desk.engine) as session:
            key = keys.verify_key(session, token)
        if key is None:
            raise ProblemError(401, "Invalid API key")
        if not key.allows(scope):
            raise ProblemError(403, "Forbidden", f"this key lacks the {scope!r} scope")
        retry = desk.limiter.acquire(key.prefix)
        if retry is not None:
            raise ProblemError(
                429, "Too many requests", f"rate limit of {desk.limiter.per_minute}/minute", retry_after=retry
            )
        return key

    return check


def actor(key: keys.ApiKey | None) -> str:
    """How the audit log names whoever made a request."""
    return f"key:{key.prefix} ({key.name})" if key is not None else "anonymous"


ReadKey = Annotated[keys.ApiKey | None, Depends(require("read"))]
WriteKey = Annotated[keys.ApiKey | None, Depends(require("write"))]
ModerateKey = Annotated[keys.ApiKey | None, Depends(require("moderate"))]
