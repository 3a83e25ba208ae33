"""Reddit listing JSON: what ``/comments/<id>.json`` returns, ``[post listing, comment listing]``.

Comments (``t1``) nest through ``replies`` listings and are read depth-first, which is the order
Reddit shows them. Bodies ``[deleted]``/``[removed]`` are excluded (their replies keep the parent's
fullname in ``parent_source_id``); a deleted account with an intact body is kept without an author.
``more`` stubs stand for comments the file does not hold: they are counted in metadata, and the
post's ``num_comments`` becomes the thread's announced count.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any, ClassVar

from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.extraction.exports import (
    Record,
    build_thread,
    html_to_text,
    json_int,
    json_str,
    load_json,
    nested_records,
)
from moderation.thread import Article, Thread, Votes

_REDDIT = "https://www.reddit.com"
_GONE_BODIES = {"[deleted]": "deleted", "[removed]": "removed"}
_GONE_AUTHOR = "[deleted]"
# Keys, not words: an escaped quote inside a comment's text (\"kind\") does not match.
_LISTING = re.compile(r'"kind"\s*:\s*"Listing"')
_THING = re.compile(r'"kind"\s*:\s*"t[13]"')


def _utc(epoch: Any) -> tuple[str | None, datetime | None]:
    """Reddit's epoch seconds as an ISO-8601 UTC string and datetime (the export has no display string)."""
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return None, None
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment


def _rendered(data: dict[str, Any], html_key: str, text_key: str) -> str:
    """The visible text: the HTML rendering (stored HTML-escaped) when present, else the markdown source."""
    markup = data.get(html_key)
    if isinstance(markup, str) and markup.strip():
        return html_to_text(html.unescape(markup))
    text = data.get(text_key)
    return text.strip() if isinstance(text, str) else ""


def _record(data: dict[str, Any]) -> Record:
    text = _rendered(data, "body_html", "body")
    raw_author = data.get("author")
    author = raw_author if isinstance(raw_author, str) and raw_author != _GONE_AUTHOR else None
    published_raw, published = _utc(data.get("created_utc"))
    exclusion = None
    if text in _GONE_BODIES:
        by = f" (author {raw_author})" if raw_author == _GONE_AUTHOR else ""
        exclusion = (_GONE_BODIES[text], f"body is {text}{by}; its replies are kept with parent null")
    name = data.get("name") or (f"t1_{data['id']}" if data.get("id") else None)
    return Record(
        source_id=name if isinstance(name, str) else None,
        text=text,
        author=author,
        published_raw=published_raw,
        published=published,
        votes=Votes(up=json_int(data.get("ups")), down=json_int(data.get("downs")), score=json_int(data.get("score"))),
        exclusion=exclusion,
    )


class RedditExtractor:
    name: ClassVar[str] = "reddit"
    description: ClassVar[str] = "Reddit comments listing JSON ([post, comments], nested replies, 'more' stubs)"

    def sniff(self, source: Source) -> float:
        head = source.head(4096).lstrip()
        if not head.startswith("[") or not _LISTING.search(head):
            return 0.0
        return 0.95 if _THING.search(head) else 0.6

    def threads(self, source: Source) -> list[Thread]:
        payload = load_json(source)
        if not (isinstance(payload, list) and len(payload) == 2):
            raise ExtractionError(
                f"{source.name}: not a Reddit comments listing: expected a JSON list [post listing, comment listing]"
            )
        post = self._post(source, payload[0])
        records, stubs = self._walk(source, self._children(source, payload[1]))
        published_raw, published = _utc(post.get("created_utc"))
        permalink = post.get("permalink")
        article = Article(
            url=_REDDIT + permalink if isinstance(permalink, str) else None,
            title=json_str(post.get("title")),
            published=published,
            published_raw=published_raw,
            byline=json_str(post.get("author")),
            section=f"r/{post['subreddit']}" if isinstance(post.get("subreddit"), str) else None,
            body=_rendered(post, "selftext_html", "selftext").splitlines(),
        )
        metadata = {"thread_id": json_str(post.get("name")), "more_stubs": len(stubs), "more_comments": sum(stubs)}
        if not post.get("is_self", True) and json_str(post.get("url")):
            metadata["link_url"] = post["url"]
        announced = json_int(post.get("num_comments"))
        return [build_thread(source, self.name, article, records, announced=announced, metadata=metadata)]

    def _post(self, source: Source, listing: Any) -> dict[str, Any]:
        children = self._children(source, listing)
        if len(children) != 1 or children[0].get("kind") != "t3" or not isinstance(children[0].get("data"), dict):
            raise ExtractionError(f"{source.name}: not a Reddit comments listing: the first listing holds no t3 post")
        data: dict[str, Any] = children[0]["data"]
        return data

    @staticmethod
    def _children(source: Source, listing: Any) -> list[dict[str, Any]]:
        data = listing.get("data") if isinstance(listing, dict) and listing.get("kind") == "Listing" else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
            raise ExtractionError(f"{source.name}: not a Reddit listing: expected {{'kind': 'Listing', 'data': ...}}")
        return children

    def _walk(self, source: Source, top: list[dict[str, Any]]) -> tuple[list[Record], list[int]]:
        """The comment tree's records in Reddit's order, and the ``count`` of every "more" stub met."""
        stubs: list[int] = []

        def record(child: dict[str, Any]) -> Record | None:
            data = child.get("data")
            if not isinstance(data, dict):
                raise ExtractionError(f"{source.name}: a Reddit listing child has no data object")
            if child.get("kind") == "more":
                stubs.append(json_int(data.get("count")) or 0)
                return None
            if child.get("kind") != "t1":
                raise ExtractionError(f"{source.name}: unexpected {child.get('kind')!r} among Reddit comments")
            return _record(data)

        def replies(child: dict[str, Any]) -> list[dict[str, Any]]:
            listing = child["data"].get("replies")
            return self._children(source, listing) if listing else []  # "" when there are none

        return nested_records(top, record, replies), stubs
