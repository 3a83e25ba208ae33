"""WordPress eXtended RSS (WXR) exports: ``<item>`` posts and pages carrying ``<wp:comment>`` records.

A site export holds every post, so it yields one thread per item that has comments (items without
any are skipped: they are attachments, menus and pages nobody commented on). A thread is named by
its ``wp:post_id`` (its link when it has none). Pingbacks, trackbacks and comments that were not
approved (held, spam, trash) are excluded: readers never saw them.
"""

from __future__ import annotations

from typing import ClassVar
from xml.etree.ElementTree import Element

from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.extraction.exports import (
    Record,
    build_thread,
    child,
    child_text,
    export_datetime,
    html_to_text,
    local_name,
    parse_xml,
    xml_article,
    xml_root_name,
)
from moderation.thread import Thread

_WXR_NAMESPACE = "wordpress.org/export/"
_LINK_NOTIFICATIONS = frozenset({"pingback", "trackback"})
_APPROVAL_KINDS = {"0": "unapproved", "spam": "spam", "trash": "deleted"}


def _exclusion(comment: Element) -> tuple[str, str] | None:
    """Why a reader of the site would not see this comment, if they would not."""
    comment_type = (child_text(comment, "comment_type") or "").lower()
    if comment_type in _LINK_NOTIFICATIONS:
        return comment_type, f"{comment_type} (automatic link notification), not a reader comment"
    approved = child_text(comment, "comment_approved") or "1"
    if approved != "1":
        kind = _APPROVAL_KINDS.get(approved, "unapproved")
        return kind, f"comment_approved={approved} (not publicly displayed)"
    return None


def _record(comment: Element) -> Record:
    published_raw = child_text(comment, "comment_date") or child_text(comment, "comment_date_gmt")
    parent = child_text(comment, "comment_parent")
    content = child(comment, "comment_content")
    return Record(
        source_id=child_text(comment, "comment_id"),
        text=html_to_text("" if content is None else content.text or "", newlines_are_breaks=True),
        author=child_text(comment, "comment_author"),
        published_raw=published_raw,
        published=export_datetime(published_raw),
        parent_source_id=None if parent in (None, "0") else parent,
        exclusion=_exclusion(comment),
    )


class WxrExtractor:
    name: ClassVar[str] = "wxr"
    description: ClassVar[str] = "WordPress WXR export (posts with wp:comment records, approval, pingbacks)"

    def sniff(self, source: Source) -> float:
        if xml_root_name(source) != "rss":
            return 0.0
        return 0.95 if _WXR_NAMESPACE in source.head(16384) else 0.0

    def threads(self, source: Source) -> list[Thread]:
        root = parse_xml(source)
        channel = child(root, "channel")
        if local_name(root.tag) != "rss" or channel is None:
            raise ExtractionError(f"{source.name}: not a WordPress WXR export: expected <rss><channel>")
        threads = []
        for item in channel:
            if local_name(item.tag) != "item":
                continue
            comments = [element for element in item if local_name(element.tag) == "comment"]
            if comments:
                threads.append(self._thread(source, item, comments))
        return threads

    def _thread(self, source: Source, item: Element, comments: list[Element]) -> Thread:
        article = xml_article(item, "post_date", byline_name="creator")
        thread_id = child_text(item, "post_id") or article.url
        metadata = {"thread_id": thread_id, "post_type": child_text(item, "post_type")}
        return build_thread(source, self.name, article, [_record(c) for c in comments], metadata=metadata)
