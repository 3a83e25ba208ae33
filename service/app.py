"""``create_app``: the FastAPI application. The model and the store's engine are built here, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation import __version__, keys
from moderation.extraction.isolated import ExtractionPool
from moderation.models.runtime import settle_loaded_model
from moderation.models.scorer import load_scorer
from moderation.policy import Policy
from moderation.scores import CommentScorer
from moderation.storage import make_engine
from service import budget, docs, problems
from service.batching import MicroBatcher
from service.config import Settings
from service.deps import AppState
from service.logs import redact_logs
from service.metrics import Metrics
from service.ratelimit import RateLimiter
from service.routes import comments, coral, feedback, moderation, operations, perspective, reports, threads

logger = logging.getLogger("moderation.service")

DESCRIPTION = """Score reader comments (sentiment, stance toward the article, Perspective's toxicity
attributes), store threads, decide with a policy, and moderate a review queue. Every route but the
operational ones wants an API key (`moderation keys create`), sent as `Authorization: Bearer <key>`.
Errors are `application/problem+json`."""


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = problems.problem(413, "Request body too large", f"the limit is {self.limit:,} bytes")
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class Measure:
    """Requests and latency per route for /metrics, as plain ASGI: ``@app.middleware("http")`` would
    stream every response through an extra task, a cost each single-comment request paid."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            state = getattr(scope["app"].state, "app_state", None)
            if state is not None:  # every label from a fixed set (service/metrics.py)
                state.metrics.observe_request(
                    scope["method"], scope.get("route"), status, time.perf_counter() - started
                )


class _TooLarge(Exception):
    pass


async def _write_key_uses(state: AppState) -> None:
    """Every :data:`keys.TOUCH_INTERVAL`, the keys' uses noted by requests go to the database, off every
    request's path (moderation/keys.py, ``KeyUses``)."""
    while True:
        await asyncio.sleep(keys.TOUCH_INTERVAL.total_seconds())
        await _flush_key_uses(state)


async def _flush_key_uses(state: AppState) -> None:
    """A failed write (the database busy for longer than its timeout) is retried the next time."""
    try:
        await asyncio.to_thread(state.key_uses.write, state.engine)
    except Exception:
        logger.warning("could not record the API keys' last use; retrying later", exc_info=True)


def create_app(settings: Settings | None = None, *, scorer: CommentScorer | None = None) -> FastAPI:
    """The app; ``scorer`` replaces the configured model (tests pass a tiny one)."""
    settings = settings or Settings()
    redact_logs()  # no API key in uvicorn's access log (service/logs.py)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics = Metrics()
        model = scorer or load_scorer(settings.models_config, mode=settings.mode)
        batcher = MicroBatcher(
            lambda texts, targets, languages, spans: model.predict(
                texts, targets, languages=languages, spans=spans, batch_size=64
            ),
            wait_s=settings.batch_wait_ms / 1000.0,
            max_items=settings.batch_max_items,
            max_chars=settings.batch_max_chars,
            max_queued=settings.queue_max_comments,
            observe=metrics.observe_batch,
        )
        policy = Policy.load(settings.policy) if settings.policy else Policy.default()
        engine = make_engine(settings.database_url)
        app.state.app_state = AppState(
            settings,
            engine,
            model,
            policy,
            batcher,
            RateLimiter(settings.rate_limit_per_minute),
            metrics,
            RateLimiter(settings.rate_limit_chars_per_minute),
            ExtractionPool(workers=settings.extract_workers, deadline_s=settings.extract_deadline_s),
        )
        settle_loaded_model()
        writer = asyncio.create_task(_write_key_uses(app.state.app_state))
        yield
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await batcher.close()
        app.state.app_state.extraction.close()
        await _flush_key_uses(app.state.app_state)
        engine.dispose()

    app = FastAPI(
        title="Comment moderation desk",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by service/docs.py without a CDN
        redoc_url=None,
    )
    problems.install(app)
    docs.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    app.add_middleware(Measure)

    for module in (operations, comments, threads, moderation, reports, perspective, coral, feedback):
        app.include_router(module.router)
    budget.document(app, settings)
    return app
