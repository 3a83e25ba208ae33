"""The parts of one comment item: author, date as shown, text (title first), votes.

Each part is found by the selectors in :mod:`moderation.extraction.selectors`, most specific first,
then by the layout most comment headers share (a short bold name, a date-like line, "Name | date").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from moderation.dates import looks_like_shown_date
from moderation.extraction import selectors as s
from moderation.extraction.html.text import collapse, drop, visible_text
from moderation.thread import Votes

_MAX_AUTHOR_CHARS = 80
_MAX_DATE_CHARS = 60
_AUTHOR_LABEL = re.compile(r"\s*(?:says|sagt|schreibt|dit|wrote|écrit|a écrit)\s*:?\s*$", re.IGNORECASE)
_AUTHOR_PREFIX = re.compile(r"^(?:by|von|par)\s+", re.IGNORECASE)
_DATE_LABEL = re.compile(r"^(?:wrote\s+on|posted\s+on|schrieb\s+am|geschrieben\s+am|on)\s+", re.IGNORECASE)
_SEPARATORS = " \t\u00b7|\u2022\u2013\u2014-,:"
_SCORE = re.compile(r"^([+\-\u2212]?\d+)\s+(?:points?|punkte?|votes?|likes?)$", re.IGNORECASE)
_FALLBACK_AUTHOR = ("strong", "b", "cite", "h4", "h3")


@dataclass
class Parts:
    """What one item shows."""

    author: str | None = None
    published_raw: str | None = None
    text: str = ""
    votes: Votes = field(default_factory=Votes)


def read_item(own: HtmlElement) -> Parts:
    """Read one item (a detached copy holding only this comment, replies removed)."""
    votes = _votes(own)
    date_el = _date_element(own)
    for junk in s.FURNITURE(own):
        if date_el is None or not (junk is date_el or _contains(junk, date_el)):
            drop(junk)
    for action in s.ACTIONS(own):
        if action.getparent() is not None and s.ACTION_TEXT.match(visible_text(action)):
            drop(action)
    author_el = _author_element(own)
    author = _author_text(author_el, date_el) if author_el is not None else None
    published_raw = _date_text(date_el) if date_el is not None else None
    if author is None or published_raw is None:
        byline = _byline(own)
        if byline:
            author, published_raw = author or byline[0], published_raw or byline[1]
    if published_raw is None:
        published_raw = _date_like_text(own)
    text = _text(own, [el for el in (author_el, date_el) if el is not None], (author, published_raw))
    return Parts(author=author or None, published_raw=published_raw or None, text=text, votes=votes)


def _outside_quotes(elements: list[HtmlElement]) -> list[HtmlElement]:
    return [el for el in elements if not el.xpath("ancestor::blockquote")]


def _author_element(own: HtmlElement) -> HtmlElement | None:
    """The first author selector that matches, its innermost match (a name, not its container)."""
    for selector in s.AUTHOR:
        found = [el for el in _outside_quotes(selector(own)) if visible_text(el)]
        innermost = [el for el in found if not any(other is not el and _contains(el, other) for other in found)]
        if innermost:
            return innermost[0]
    bodies = s.BODY(own)
    for tag in _FALLBACK_AUTHOR:
        for el in own.iter(tag):
            if any(_contains(body, el) for body in bodies):
                continue
            words = visible_text(el)
            if words and len(words) <= _MAX_AUTHOR_CHARS and not looks_like_shown_date(words):
                return el
    return None


def _contains(outer: HtmlElement, inner: HtmlElement) -> bool:
    return any(ancestor is outer for ancestor in inner.iterancestors())


def _author_text(author_el: HtmlElement, date_el: HtmlElement | None) -> str | None:
    """The name without labels ("says:"), badges beside a heading, or the date it shares a box with."""
    headings = [el for el in author_el.iter("h2", "h3", "h4", "h5", "h6") if visible_text(el)]
    name = visible_text(headings[0]) if headings else visible_text(author_el)
    if date_el is not None and _contains(author_el, date_el):
        name = name.replace(visible_text(date_el), "")
    name = _AUTHOR_PREFIX.sub("", _AUTHOR_LABEL.sub("", name.strip(_SEPARATORS)))
    name = name.strip(_SEPARATORS)
    return name if name and len(name) <= _MAX_AUTHOR_CHARS else None


def _date_element(own: HtmlElement) -> HtmlElement | None:
    for selector in s.DATE:
        for el in _outside_quotes(selector(own)):
            if visible_text(el) and len(visible_text(el)) <= _MAX_DATE_CHARS * 2:
                return el
    return None


def _date_text(date_el: HtmlElement) -> str | None:
    """The date as shown; a time shown in the next element is part of it ("April 5, 2018 6:32 PM")."""
    shown = visible_text(date_el)
    beside = s.TIME_BESIDE_DATE(date_el)
    if beside and visible_text(beside[0]):
        shown = f"{shown} {visible_text(beside[0])}"
    shown = _DATE_LABEL.sub("", shown.strip(_SEPARATORS)).strip(_SEPARATORS)
    if not looks_like_shown_date(shown):
        own_text = collapse(date_el.text or "")
        return own_text if looks_like_shown_date(own_text) else None
    return shown


def _byline(own: HtmlElement) -> tuple[str, str] | None:
    """'Name | date' in one header line, as Drupal themes print it."""
    for header in s.HEADER(own):
        line = visible_text(header)
        left, bar, right = line.rpartition("|")
        if bar and left.strip() and looks_like_shown_date(right.strip()):
            return left.strip(_SEPARATORS), right.strip()
    return None


def _date_like_text(own: HtmlElement) -> str | None:
    """The first short text of the item that reads as a date (a header's plain text, "6 years ago")."""
    bodies = s.BODY(own)
    for el in own.iter():
        if not isinstance(el.tag, str) or any(body is el or _contains(body, el) for body in bodies):
            continue
        shown = collapse(el.text or "")
        if shown and len(shown) <= _MAX_DATE_CHARS and looks_like_shown_date(shown):
            return shown
    return None


def _votes(own: HtmlElement) -> Votes:
    for el in own.iter():
        if isinstance(el.tag, str):
            match = _SCORE.match(collapse(el.text or ""))
            if match:
                return Votes(score=int(match.group(1).replace("\u2212", "-")))
    return Votes()


def _text(own: HtmlElement, header_parts: list[HtmlElement], shown: tuple[str | None, str | None]) -> str:
    """The body (the outermost body elements that hold no header part), else the item minus its header."""
    bodies = [
        body
        for body in s.BODY(own)
        if not any(body is part or _contains(body, part) for part in header_parts) and not _holds_header(body)
    ]
    bodies = [body for body in bodies if not any(other is not body and _contains(other, body) for other in bodies)]
    if bodies:
        text = " ".join(visible_text(body) for body in bodies)
        title = _title(own, bodies, header_parts)
        return collapse(f"{title} {text}") if title else text
    for part in [*header_parts, *s.HEADER(own)]:
        if part.getparent() is not None:
            drop(part)
    text = visible_text(own)
    for part_text in shown:
        if part_text and text.startswith(part_text):
            text = text[len(part_text) :].strip(_SEPARATORS)
    return text


def _holds_header(body: HtmlElement) -> bool:
    return bool(body.xpath(".//header | .//footer"))


def _title(own: HtmlElement, bodies: list[HtmlElement], header_parts: list[HtmlElement]) -> str | None:
    """A heading the commenter wrote above the text (not the author line)."""
    for heading in s.COMMENT_TITLE(own):
        if any(heading is part or _contains(heading, part) or _contains(part, heading) for part in header_parts):
            continue
        if any(_contains(body, heading) for body in bodies):
            continue
        words = visible_text(heading)
        if words:
            return words
    return None
