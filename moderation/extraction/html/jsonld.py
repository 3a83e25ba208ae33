"""schema.org ``Comment`` objects in JSON-LD: the page's own structured account of its comments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

from moderation.extraction.html.text import collapse


def jsonld_comments(doc: HtmlElement) -> list[tuple[dict[str, Any], int | None]]:
    """Every Comment object with the index of the comment it answers, depth first, document order."""
    found: list[tuple[dict[str, Any], int | None]] = []
    for data in blocks(doc):
        for holder in _objects(data):
            if not _is_comment(holder):
                for comment in as_list(holder.get("comment")):
                    _collect(comment, None, found)
    return found


def blocks(doc: HtmlElement) -> Iterator[Any]:
    """The decoded value of every JSON-LD script on the page; a script that is not JSON is skipped."""
    for script in doc.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        yield data


def _collect(node: Any, parent: int | None, found: list[tuple[dict[str, Any], int | None]]) -> None:
    if not isinstance(node, dict) or not _is_comment(node):
        return
    found.append((node, parent))
    index = len(found) - 1
    for reply in as_list(node.get("comment")):
        _collect(reply, index, found)


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object, depth first (``@graph`` lists and nested values included)."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            if not isinstance(value, dict) or not _is_comment(value):
                yield from _objects(value)
    elif isinstance(data, list):
        for value in data:
            yield from _objects(value)


def as_list(value: Any) -> list[Any]:
    """A JSON-LD value as a list: a property may hold one value, a list of them or nothing."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_comment(node: dict[str, Any]) -> bool:
    kinds = as_list(node.get("@type"))
    return any(kind in {"Comment", "Answer"} for kind in kinds)


def comment_author(node: dict[str, Any]) -> str | None:
    author = node.get("author") or node.get("creator")
    if isinstance(author, list):
        author = author[0] if author else None
    if isinstance(author, dict):
        author = author.get("name") or author.get("alternateName")
    return collapse(str(author)) if author else None


def comment_text(node: dict[str, Any]) -> str:
    text = node.get("text") or node.get("commentText") or ""
    return collapse(str(text))


def comment_date(node: dict[str, Any]) -> str | None:
    shown = node.get("dateCreated") or node.get("datePublished") or node.get("commentTime")
    return str(shown) if shown else None
