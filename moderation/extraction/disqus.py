"""Disqus XML exports: ``<thread>`` definitions, then ``<post>`` records that point at a thread
and optionally at a ``<parent>`` post.

One export covers a whole forum, so it yields one thread per ``<thread>`` definition (in file
order, empty ones included: the export defines them) plus one per thread id that posts cite but
the file never defines (orphans, flagged in metadata). Deleted and spam posts are excluded.
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
from moderation.thread import Article, Thread

_EXCLUSION_FLAGS = (("isDeleted", "deleted"), ("isSpam", "spam"))


def _dsq_id(element: Element) -> str | None:
    """The ``dsq:id`` attribute (namespaced in real exports, matched by local name)."""
    return next((value for key, value in element.attrib.items() if local_name(key) == "id"), None)


def _record(post: Element) -> Record:
    author = child(post, "author")
    parent = child(post, "parent")
    published_raw = child_text(post, "createdAt")
    flags = [
        (kind, f"{flag}=true") for flag, kind in _EXCLUSION_FLAGS if (child_text(post, flag) or "").lower() == "true"
    ]
    return Record(
        source_id=_dsq_id(post),
        text=html_to_text(child_text(post, "message") or ""),
        author=None if author is None else (child_text(author, "name") or child_text(author, "username")),
        published_raw=published_raw,
        published=export_datetime(published_raw),
        parent_source_id=None if parent is None else _dsq_id(parent),
        exclusion=flags[0] if flags else None,
    )


class DisqusExtractor:
    name: ClassVar[str] = "disqus"
    description: ClassVar[str] = "Disqus XML export (threads and posts, with replies, deleted and spam flags)"

    def sniff(self, source: Source) -> float:
        if xml_root_name(source) != "disqus":
            return 0.0
        return 1.0 if "disqus.com" in source.head(4096) else 0.8

    def threads(self, source: Source) -> list[Thread]:
        root = parse_xml(source)
        if local_name(root.tag) != "disqus":
            raise ExtractionError(f"{source.name}: not a Disqus export: the root element is <{local_name(root.tag)}>")
        definitions: dict[str, Element | None] = {}
        posts: dict[str, list[Record]] = {}
        for element in root:
            kind = local_name(element.tag)
            if kind == "thread":
                definitions.setdefault(self._thread_id(source, element), element)
            elif kind == "post":
                posts.setdefault(self._post_thread_id(source, element), []).append(_record(element))
        for key in posts:
            definitions.setdefault(key, None)  # an orphan: posts cite a thread the file never defines
        return [self._thread(source, key, element, posts.get(key, [])) for key, element in definitions.items()]

    @staticmethod
    def _thread_id(source: Source, element: Element) -> str:
        thread_id = _dsq_id(element)
        if thread_id is None:
            raise ExtractionError(f"{source.name}: a <thread> has no dsq:id")
        return thread_id

    def _post_thread_id(self, source: Source, post: Element) -> str:
        reference = child(post, "thread")
        if reference is None:
            raise ExtractionError(f"{source.name}: post {_dsq_id(post)!r} names no <thread>")
        return self._thread_id(source, reference)

    def _thread(self, source: Source, key: str, element: Element | None, records: list[Record]) -> Thread:
        metadata: dict[str, object] = {"thread_id": key}
        if element is None:
            metadata["orphan"] = True
            article = Article()
        else:
            metadata["ident"] = child_text(element, "id")
            article = xml_article(element, "createdAt")
        return build_thread(source, self.name, article, records, metadata=metadata)
