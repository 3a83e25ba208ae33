"""OpenAPI helpers: the problem answers a route documents, and JSON schemas inlined for request bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place, as an OpenAPI request body given by
    ``openapi_extra`` needs them (the models inlined have no cycles)."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        return [inline(value) for value in node] if isinstance(node, list) else node

    result: dict[str, Any] = inline(schema)
    return result
