"""What the platform-export extractors share: safe XML and JSON loading, HTML bodies as visible
text, the article and dates of an export, the walk of nested comment trees, and one way to turn
an export's records into a thread (ids, reply links, exclusions).

Exports name their records and their parents by the platform's own ids; a record the thread
leaves out (deleted, spam, unapproved, a pingback) still counts as a parent, so its replies keep
``parent_source_id`` while ``parent`` stays empty. Nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree
from lxml import html as lxml_html
from pydantic import ValidationError

from moderation.dates import parse_datetime
from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.thread import Article, Comment, ExcludedItem, Thread, Votes, stable_comment_id

_SNIFF_BYTES = 8192
_FIRST_TAG = re.compile(r"<([A-Za-z_][\w:.-]*)")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BREAK = "\x00"  # a block boundary while rendering; control characters are stripped from the input first
_BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr "
    "li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_HIDDEN_TAGS = frozenset({"script", "style", "template", "head", "title"})

_Item = TypeVar("_Item")


def xml_root_name(source: Source) -> str | None:
    """The local name of the document element, read from the first bytes (comments skipped);
    None for HTML pages, JSON or text. Cheap and never raises: it serves ``sniff``."""
    head = _without_comments(source.head(_SNIFF_BYTES)).lstrip()
    if not head.startswith("<"):
        return None
    match = _FIRST_TAG.search(head)
    if match is None:
        return None
    name = match.group(1).rpartition(":")[2].lower()
    return None if name == "html" else name


def _without_comments(text: str) -> str:
    """The text with its closed ``<!-- -->`` comments cut out, in one pass: a lazy ``<!--.*?-->`` rescans the
    rest of the text from every ``<!--`` that is never closed (quadratic in the sniffed bytes)."""
    kept: list[str] = []
    start = 0
    while (opened := text.find("<!--", start)) != -1 and (closed := text.find("-->", opened + 4)) != -1:
        kept.append(text[start:opened])
        start = closed + 3
    kept.append(text[start:])
    return "".join(kept)


def parse_xml(source: Source) -> Element:
    """The document element, parsed with entity declarations and external references refused."""
    try:
        return defused_fromstring(source.data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ExtractionError(
            f"{source.name}: refused XML with entity declarations or external references "
            f"(a possible XML bomb or file read): {exc}"
        ) from exc
    except ParseError as exc:
        line, column = exc.position
        raise ExtractionError(f"{source.name}: malformed or truncated XML at line {line}, column {column}") from exc


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``: export namespaces vary by version (WXR 1.0, 1.1, 1.2)."""
    return tag.rpartition("}")[2]


def child(element: Element, name: str) -> Element | None:
    """The first child called ``name`` (any namespace), or None."""
    return next((item for item in element if local_name(item.tag) == name), None)


def child_text(element: Element, name: str) -> str | None:
    """The stripped text of the first child called ``name`` (any namespace); None when absent or empty."""
    found = child(element, name)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def export_datetime(raw: str | None) -> datetime | None:
    """An export's date field as a datetime (exports write absolute dates: no reference); None when absent."""
    return parse_datetime(raw) if raw else None


def xml_article(element: Element, date_name: str, *, byline_name: str | None = None) -> Article:
    """The article an XML export's thread or item describes: its ``link``, ``title``, date and byline children
    (Disqus and WXR name the date and byline differently)."""
    published_raw = child_text(element, date_name)
    return Article(
        url=child_text(element, "link"),
        title=child_text(element, "title"),
        published=export_datetime(published_raw),
        published_raw=published_raw,
        byline=child_text(element, byline_name) if byline_name else None,
    )


def load_json(source: Source) -> Any:
    """The decoded JSON value, or an error naming where the document breaks."""
    try:
        return json.loads(source.text())
    except json.JSONDecodeError as exc:
        raise ExtractionError(
            f"{source.name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg} (malformed or truncated)"
        ) from exc
    except RecursionError as exc:
        raise ExtractionError(f"{source.name}: JSON nested too deeply to read") from exc


def json_int(value: Any) -> int | None:
    """An integer field of a JSON export, or None (JSON booleans are not counts)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_str(value: Any) -> str | None:
    """A non-blank string field of a JSON export, or None."""
    return value if isinstance(value, str) and value.strip() else None


def html_to_text(markup: str, *, newlines_are_breaks: bool = False) -> str:
    """The visible text of an HTML fragment: one line per block (paragraph, list item, ``<br>``),
    spaces collapsed, scripts and comments dropped. ``newlines_are_breaks`` keeps the line breaks
    of sources that store plain newlines for paragraphs (WordPress comment content)."""
    markup = _CONTROL_CHARS.sub("", markup)
    if not markup.strip():
        return ""
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.LxmlError, ValueError):
        return _collapse(markup)
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        tag = element.tag
        if event in ("comment", "pi"):
            parts.append(element.tail or "")
        elif event == "start":
            if tag in _HIDDEN_TAGS:
                walker.skip_subtree()
                continue
            if tag in _BLOCK_TAGS or tag == "br":
                parts.append(_BREAK)
            parts.append(element.text or "")
        else:
            if tag in _BLOCK_TAGS:
                parts.append(_BREAK)
            if element is not root:
                parts.append(element.tail or "")
    text = "".join(parts)
    if not newlines_are_breaks:
        text = text.replace("\r", " ").replace("\n", " ")
    return _collapse(text.replace(_BREAK, "\n"))


def _collapse(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass
class Record:
    """One comment-like record of an export, before it becomes a comment or an exclusion."""

    source_id: str | None
    text: str
    author: str | None = None
    published_raw: str | None = None
    published: datetime | None = None
    votes: Votes = field(default_factory=Votes)
    parent_source_id: str | None = None
    #: Nested exports (Reddit, HN) know the parent's index in the record list, even without ids.
    parent_index: int | None = None
    #: (kind, reason) when the thread leaves the record out.
    exclusion: tuple[str, str] | None = None


def nested_records(
    top: Sequence[_Item], record: Callable[[_Item], Record | None], replies: Callable[[_Item], Sequence[_Item]]
) -> list[Record]:
    """The records of a nested comment tree (HN, Reddit) in display order, depth-first, each linked to its
    parent by index and source id. Iterative: deep threads must not hit the recursion limit. ``record``
    answers None for an item that is no comment (a Reddit "more" stub); its replies are not read."""
    records: list[Record] = []
    stack: list[tuple[_Item, int | None]] = [(item, None) for item in reversed(top)]
    while stack:
        item, parent_index = stack.pop()
        made = record(item)
        if made is None:
            continue
        if parent_index is not None:
            made = replace(made, parent_index=parent_index, parent_source_id=records[parent_index].source_id)
        records.append(made)
        index = len(records) - 1
        stack.extend((reply, index) for reply in reversed(replies(item)))
    return records


def build_thread(
    source: Source,
    format_name: str,
    article: Article,
    records: list[Record],
    *,
    announced: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Thread:
    """A thread from records in document order: ids, reply links and exclusions resolved."""
    comments, excluded = _assemble(source, article, records)
    try:
        return Thread(
            article=article,
            comments=comments,
            excluded=excluded,
            source_format=format_name,
            announced_comments=announced,
            metadata={"source": source.name, **(metadata or {})},
        )
    except ValidationError as exc:
        raise ExtractionError(f"{source.name}: not a consistent thread: {exc.errors()[0]['msg']}") from exc


def _ids(source: Source, article: Article, records: list[Record]) -> tuple[dict[str, int], dict[int, str]]:
    """Record index by source id (excluded records too: they are still parents), and the comment
    id of every kept record: its source id, else a stable hash."""
    by_source_id: dict[str, int] = {}
    comment_ids: dict[int, str] = {}
    for index, record in enumerate(records):
        if record.source_id is not None:
            if record.source_id in by_source_id:
                raise ExtractionError(f"{source.name}: comment id {record.source_id!r} occurs twice in one thread")
            by_source_id[record.source_id] = index
        if record.exclusion is None:
            position = len(comment_ids)
            comment_ids[index] = record.source_id or stable_comment_id(article, position, record.author, record.text)
    return by_source_id, comment_ids


def _assemble(source: Source, article: Article, records: list[Record]) -> tuple[list[Comment], list[ExcludedItem]]:
    by_source_id, comment_ids = _ids(source, article, records)
    comments: list[Comment] = []
    excluded: list[ExcludedItem] = []
    for index, record in enumerate(records):
        if record.exclusion is not None:
            kind, reason = record.exclusion
            excluded.append(
                ExcludedItem(source_id=record.source_id, kind=kind, text=record.text or None, reason=reason)
            )
            continue
        parent_index = record.parent_index
        if parent_index is None and record.parent_source_id is not None:
            parent_index = by_source_id.get(record.parent_source_id)
        comments.append(
            Comment(
                id=comment_ids[index],
                parent=comment_ids.get(parent_index) if parent_index is not None else None,
                parent_source_id=record.parent_source_id,
                author=record.author,
                published=record.published,
                published_raw=record.published_raw,
                text=record.text,
                votes=record.votes,
                position=len(comments),
            )
        )
    return comments, excluded
