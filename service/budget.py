"""The work budget of a scoring request, checked at the edge by every route that scores
(``/v1/comments:score``, ``/v1/threads``, Perspective's ``comments:analyze``, Coral's moderation phase).

One request may hold at most ``max_items`` comments of at most ``max_comment_chars`` characters each and
``max_request_chars`` characters in all (413 otherwise); its characters are then charged to the caller's
budget of characters per minute (429 with ``Retry-After`` when spent). Text that is no Unicode (a lone
surrogate from a JSON ``"\\ud800"`` escape, in an uploaded export too) is refused with 422 naming its field
before it can reach the tokenizer. The scoring queue's bound (503) and a gone client's cancelled work are
:class:`service.batching.MicroBatcher`'s and :meth:`service.deps.AppState.score`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from service.config import Settings
from service.problems import ProblemError

#: The routes that score, with the budget above.
SCORING_PATHS = ("/v1/comments:score", "/v1/threads", "/v1alpha1/comments:analyze", "/v1/coral/moderate")


def check_limits(texts: Sequence[str], settings: Settings, *, name: Callable[[int], str] | None = None) -> int:
    """The request's characters in all, or a 413 problem naming the limit it is over (``name(i)``: how the
    problem names comment ``i``; ``comment i`` by default)."""
    if len(texts) > settings.max_items:
        raise ProblemError(413, "Too many comments", f"{len(texts):,} comments; the limit is {settings.max_items:,}")
    total = 0
    for index, text in enumerate(texts):
        if len(text) > settings.max_comment_chars:
            which = name(index) if name else f"comment {index}"
            raise ProblemError(
                413,
                "Comment too long",
                f"{which} has {len(text):,} characters; the limit is {settings.max_comment_chars:,}",
            )
        total += len(text)
    if total > settings.max_request_chars:
        raise ProblemError(
            413,
            "Request too large",
            f"{total:,} characters of comments in all; the limit is {settings.max_request_chars:,} per request",
        )
    return total


def _bad_strings(value: Any, where: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            yield where
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            yield from _bad_strings(getattr(value, field), (*where, field))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bad_strings(key, (*where, "<key>"))
            yield from _bad_strings(item, (*where, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _bad_strings(item, (*where, index))


def check_text(values: Sequence[Any], where: tuple[str | int, ...]) -> None:
    """Refuse any string in ``values`` (models, lists, dicts, walked whole) that holds a lone surrogate, with
    a 422 whose ``errors`` name each such field (``where`` + the index + the field's path)."""
    bad = [location for index, value in enumerate(values) for location in _bad_strings(value, (*where, index))]
    if bad:
        message = "contains an unpaired surrogate; send valid Unicode"
        raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": message} for loc in bad[:20]])


def limits_text(settings: Settings) -> str:
    """The limits as a route's description says them (Markdown)."""
    chars = settings.rate_limit_chars_per_minute
    rate = f"{chars:,} characters per minute per key" if chars > 0 else "no limit on characters per minute"
    return (
        f"\n\nLimits (this server's settings): at most {settings.max_items:,} comments per request, "
        f"{settings.max_comment_chars:,} characters per comment and {settings.max_request_chars:,} characters "
        f"per request (413 above them); {rate} (429 with `Retry-After` when spent); when the scoring queue "
        f"holds {settings.queue_max_comments:,} comments, 503 with `Retry-After`."
    )


def document(app: FastAPI, settings: Settings) -> None:
    """Write the server's limits into its OpenAPI schema: each scoring route's description, and ``maxItems``
    and ``maxLength`` on ``/v1/comments:score``'s body."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path in SCORING_PATHS:
            operation = schema.get("paths", {}).get(path, {}).get("post")
            if operation is not None:
                operation["description"] = operation.get("description", "") + limits_text(settings)
        components = schema.get("components", {}).get("schemas", {})
        if "ScoreRequest" in components:
            components["ScoreRequest"]["properties"]["comments"]["maxItems"] = settings.max_items
        if "CommentIn" in components:
            components["CommentIn"]["properties"]["text"]["maxLength"] = settings.max_comment_chars
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
