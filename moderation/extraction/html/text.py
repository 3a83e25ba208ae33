"""Visible text of an element the way a reader sees it: blocks and ``<br>`` become one space."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement, fragment_fromstring

_SPACES = re.compile(r"\s+")
BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr li"
    " main nav ol p pre section table td th tr ul".split()
)


def collapse(text: str) -> str:
    """Whitespace runs (including non-breaking spaces) as one space, trimmed."""
    return _SPACES.sub(" ", text.replace("\xa0", " ")).strip()


def visible_text(element: HtmlElement) -> str:
    """The element's text with a space at every block boundary, whitespace collapsed."""
    parts: list[str] = []
    _walk(element, parts)
    return collapse("".join(parts))


def markup_as_text(text: str) -> str:
    """What a reader sees of HTML source that a page printed as text (Disqus' no-script fallback):
    parsed by lxml, scripts and styles dropped, blocks and ``<br>`` one space, entities decoded."""
    if "<" not in text and "&" not in text:
        return text
    try:
        root = fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError):
        return text
    for hidden in root.xpath(".//script | .//style | .//template"):
        drop(hidden)
    return visible_text(root)


def _walk(element: HtmlElement, parts: list[str]) -> None:
    block = isinstance(element.tag, str) and element.tag in BLOCKS
    if block:
        parts.append(" ")
    if isinstance(element.tag, str) and element.text:
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append(" ")


def drop(element: HtmlElement) -> None:
    """Remove an element but keep its tail text in place."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
