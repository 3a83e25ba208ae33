"""HTML pages: the article through trafilatura, and every reader comment one by one.

Comments are found by layered strategy, by markup pattern and never by domain: schema.org ``Comment``
in JSON-LD, then platform markup (:mod:`moderation.extraction.selectors`), then comment-item class
names, then a generic detector of repeated comment blocks inside a comment region.
"""

from __future__ import annotations

import re
from typing import ClassVar

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from moderation.errors import ExtractionError
from moderation.extraction import selectors as s
from moderation.extraction.base import Source
from moderation.extraction.html.article import read_article
from moderation.extraction.html.comments import Found, read_comments
from moderation.extraction.html.qa import FORUM_RULE, QA_RULE, read_discussion
from moderation.extraction.html.regions import in_sidebar
from moderation.extraction.html.text import visible_text
from moderation.thread import Thread

__all__ = ["SITE_RULES", "HtmlExtractor"]

_DOCUMENT = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_MARKUP = re.compile(r"<(?:head|body|div|p|article|section|meta|title)[\s>]", re.IGNORECASE)
_OPENED = re.compile(r"<(?:html|body)[\s>]", re.IGNORECASE)
_CLOSED = re.compile(r"</(?:html|body)\s*>", re.IGNORECASE)
# XHTML pages open with one; lxml refuses a str that declares an encoding, and the text is decoded already.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")


#: Rules written for a platform's or a site's markup; JSON-LD, schema.org microdata and the general finder
#: are not among them. The benchmark switches these off to measure how the rest generalises.
SITE_RULES = frozenset(
    [name for name, _ in s.COMMENT_ITEMS if name != "microdata"] + ["comment_item_class", QA_RULE, FORUM_RULE]
)


class HtmlExtractor:
    name: ClassVar[str] = "html"
    description: ClassVar[str] = "an HTML page: its article and every reader comment (id, parent, author, date)"

    def __init__(self, without_rules: frozenset[str] = frozenset()) -> None:
        self.without_rules = without_rules

    def sniff(self, source: Source) -> float:
        head = source.head(4096)
        if _DOCUMENT.search(head):
            return 0.9
        return 0.6 if _MARKUP.search(head) else 0.0

    def threads(self, source: Source) -> list[Thread]:
        return [self._thread(source)]

    def _thread(self, source: Source) -> Thread:
        text = source.text()
        doc = _parse(text, source.name)
        url = source.name if source.name.startswith(("http://", "https://")) else None
        article = read_article(doc, url)
        announced = _announced(doc)
        discussion = read_discussion(doc, article)  # a Q&A page or forum thread: its posts, not trafilatura's
        if discussion is not None and discussion.rule in self.without_rules:
            discussion = None
        if discussion is not None:
            article, found = discussion.article, Found(discussion.comments, [], discussion.rule)
        else:
            found = read_comments(doc, article, self.without_rules, announced)
        metadata: dict[str, object] = {"source": source.name, "comment_rule": found.rule}
        metadata.update(discussion.metadata if discussion is not None else {})
        missing = (announced or 0) - len(found.comments) - _link_count(found)
        if announced is not None and missing > 0:
            metadata["missing_comments"] = missing
        return Thread(
            article=article,
            comments=found.comments,
            excluded=found.excluded,
            source_format=self.name,
            announced_comments=announced,
            metadata=metadata,
        )


def _parse(text: str, name: str) -> HtmlElement:
    """The page as an lxml tree; a page cut off before its end is refused, never read as complete."""
    if not text.strip():
        raise ExtractionError(f"{name} is empty")
    if _OPENED.search(text) and not _CLOSED.search(text[-4096:]):
        raise ExtractionError(f"{name} looks truncated: the page has no closing </body> or </html>")
    try:
        doc = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"{name} is not readable HTML: {exc}") from exc
    return doc


def _link_count(found: Found) -> int:
    return sum(1 for item in found.excluded if item.kind in {"pingback", "trackback"})


def _announced(doc: HtmlElement) -> int | None:
    """The comment count the page announces in a heading or counter ("167 comments", "Comments (27)")."""
    for el in s.ANNOUNCEMENTS(doc):
        if in_sidebar(el):
            continue
        shown = visible_text(el)
        if len(shown) > 120:
            continue
        for pattern in s.ANNOUNCED_COUNT:
            match = pattern.search(shown)
            if match:
                return int(re.sub(r"[.,]", "", match.group(1)))
    return None
