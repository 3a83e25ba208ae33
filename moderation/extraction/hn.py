"""Hacker News items in the Algolia API shape (``/api/v1/items/<id>``): a story with nested ``children``.

Comments are read depth-first, HN's display order. A deleted comment (author and text null) is
excluded; its replies keep its id in ``parent_source_id``. HN comment bodies are HTML.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, ClassVar

from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.extraction.exports import (
    Record,
    build_thread,
    export_datetime,
    html_to_text,
    json_int,
    json_str,
    load_json,
    nested_records,
)
from moderation.thread import Article, Thread, Votes

_ITEM_URL = "https://news.ycombinator.com/item?id="
# Keys, not words: an escaped quote inside a comment's text (\"children\") does not match.
_CHILDREN_KEY = re.compile(r'"children"\s*:\s*\[')
_ITEM_KEYS = re.compile(r'"(story_id|points|created_at|type)"\s*:')
_DELETED = ("deleted", "deleted comment (author and text null); its replies are kept with parent null")


def _item_id(value: Any) -> str | None:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


def _children(source: Source, item: dict[str, Any]) -> list[dict[str, Any]]:
    children = item.get("children", [])
    if not isinstance(children, list) or not all(isinstance(child, dict) for child in children):
        raise ExtractionError(f"{source.name}: item {item.get('id')!r} has 'children' that are not item objects")
    return children


def _record(item: dict[str, Any]) -> Record:
    author, markup = json_str(item.get("author")), json_str(item.get("text"))
    published_raw = json_str(item.get("created_at"))
    return Record(
        source_id=_item_id(item.get("id")),
        text=html_to_text(markup or ""),
        author=author,
        published_raw=published_raw,
        published=export_datetime(published_raw),
        votes=Votes(score=json_int(item.get("points"))),
        exclusion=_DELETED if author is None and markup is None else None,
    )


class HackerNewsExtractor:
    name: ClassVar[str] = "hn"
    description: ClassVar[str] = "Hacker News item JSON, Algolia API shape (a story with nested children)"

    def sniff(self, source: Source) -> float:
        head = source.head(4096).lstrip()
        if not head.startswith("{") or not _CHILDREN_KEY.search(head):
            return 0.0
        return 0.95 if len(set(_ITEM_KEYS.findall(head))) >= 2 else 0.4

    def threads(self, source: Source) -> list[Thread]:
        story = load_json(source)
        if not isinstance(story, dict) or "children" not in story or _item_id(story.get("id")) is None:
            raise ExtractionError(
                f"{source.name}: not a Hacker News item: expected an object with 'id' and nested 'children'"
            )
        records = nested_records(_children(source, story), _record, partial(_children, source))
        story_id = _item_id(story["id"])
        published_raw = json_str(story.get("created_at"))
        article = Article(
            url=f"{_ITEM_URL}{story_id}",
            title=json_str(story.get("title")),
            published=export_datetime(published_raw),
            published_raw=published_raw,
            byline=json_str(story.get("author")),
            body=html_to_text(json_str(story.get("text")) or "").splitlines(),
        )
        metadata: dict[str, Any] = {"thread_id": story_id}
        if json_str(story.get("url")):
            metadata["link_url"] = story["url"]
        announced = json_int(story.get("descendants"))
        return [build_thread(source, self.name, article, records, announced=announced, metadata=metadata)]
