"""Errors as RFC 9457 ``application/problem+json``: one handler per error family, no tracebacks."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation.errors import (
    InputError,
    InvalidJSONError,
    LimitError,
    ModerationError,
    NotAllowedError,
    NotFoundError,
)

PROBLEM = "application/problem+json"
logger = logging.getLogger("moderation.service")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> JSONResponse:
    """A problem+json answer; ``extra`` adds members (RFC 9457 allows them), ``retry_after`` also as a header."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra or {})
    all_headers = dict(headers or {})
    if extra and "retry_after" in extra:
        all_headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=all_headers or None)


class ProblemError(Exception):
    """Raised by routes and dependencies for a problem answer with a status of their choosing."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def install(app: FastAPI) -> None:
    """Map every error family to its status; a bug answers 500 with no detail (logged here)."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, extra=exc.extra)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, "Not found", str(exc))

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return problem(422, "Unprocessable input", str(exc))

    @app.exception_handler(InvalidJSONError)
    async def _invalid_json(_: Request, exc: InvalidJSONError) -> JSONResponse:
        return problem(400, "Invalid JSON", str(exc))

    @app.exception_handler(LimitError)
    async def _limit(_: Request, exc: LimitError) -> JSONResponse:
        return problem(413, "Too large", str(exc))

    @app.exception_handler(NotAllowedError)
    async def _not_allowed(_: Request, exc: NotAllowedError) -> JSONResponse:
        return problem(403, "Forbidden", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        unparsable = next((error for error in exc.errors() if error.get("type") == "json_invalid"), None)
        if unparsable is not None:  # not JSON at all: nothing to match against the schema
            return problem(400, "Invalid JSON", _json_error(unparsable))
        errors = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
            for error in exc.errors()
        ]
        return problem(422, "Invalid request", "the request does not match the schema", extra={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400 for a JSON body in no Unicode encoding
            return problem(400, "Invalid JSON", f"the body is not valid JSON: {exc.__cause__}")
        # Keep the exception's headers: a 405 must say which methods are allowed.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request) or headers.get("Allow", "")
        return problem(exc.status_code, str(exc.detail) if exc.detail else "Error", headers=headers)

    @app.exception_handler(ModerationError)
    async def _moderation(_: Request, exc: ModerationError) -> JSONResponse:
        logger.error("moderation error: %s", exc)
        return problem(503 if "model" in type(exc).__name__.lower() else 500, "Server error")

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return problem(500, "Server error")

    app.add_middleware(ServerErrors)


class ServerErrors:
    """Answer a bug with a 500 problem and let the connection live on. Starlette's own handler of
    ``Exception`` (the one above, which now sees only errors of the middleware outside this one) re-raises
    after answering, and uvicorn then closes the connection, a keep-alive client's included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # half an answer is out: only closing the connection can tell the client
                raise
            logger.exception("unhandled error", exc_info=exc)
            await problem(500, "Server error")(scope, receive, send)


def parse_json(body: bytes) -> Any:
    """``body`` parsed as FastAPI parses a JSON body (a lone surrogate's escape passes, for the schema to refuse
    with its field); not JSON at all, NaN and Infinity included, is a 400 problem with the parser's message."""
    try:
        return json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} at character {exc.pos}"
    except (ValueError, RecursionError) as exc:  # bytes in no Unicode encoding; nesting past the parser's stack
        reason = str(exc) or type(exc).__name__
    raise ProblemError(400, "Invalid JSON", f"the body is not valid JSON: {reason}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_error(error: Mapping[str, object]) -> str:
    """The JSON parser's message and where it stopped (FastAPI puts the character's index after ``body``)."""
    context = error.get("ctx")
    message = context.get("error") if isinstance(context, Mapping) else None
    location = error.get("loc")
    where = location[-1] if isinstance(location, (list, tuple)) and len(location) > 1 else None
    at = f" at character {where}" if isinstance(where, int) else ""
    return f"the body is not valid JSON: {message or 'unreadable'}{at}"


def _allowed(request: Request) -> str:
    """The methods some route answers on the request's path: Starlette's own 405 names only the first
    route's (``GET /v1/threads`` and ``POST /v1/threads`` are two routes)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
