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
#: Verbs of attribution after a name ("NAME said:"); an author never ends with one.
_ATTRIBUTION = re.compile(
    r"\s*\b(?:says|said|wrote|writes|replied|commented|sagt|sagte|schreibt|schrieb|meint|meinte|antwortete|dit"
    r"|a écrit|écrit|dijo|escribió|escribe|comentó|disse|escreveu|comentou|ha scritto|scrive|napisał|napisała"
    r"|написал|написала|zei|schreef)\s*:?\s*$",
    re.IGNORECASE,
)
#: Labels before a name ("Comment by", "geschrieben von", "Bewertung von", "Par").
_AUTHOR_PREFIX = re.compile(
    r"^(?:(?:comment|kommentar|review|bewertung|rezension|posted|written|submitted|geschrieben|verfasst|publié"
    r"|écrit|escrito|publicado|scritto|inviato|reply|antwort)\s+)?(?:by|von|par|por|di|door|przez|от)\s+",
    re.IGNORECASE,
)
#: Prepositions between a name and its date ("NAME am DATE", "NAME on DATE", "NAME —").
_TRAILING_LABEL = re.compile(r"\s+(?:on|at|am|um|vom|le|el|il|em|в|o)\s*$", re.IGNORECASE)
_LABEL_WORDS = frozenset({"on", "at", "am", "um", "vom", "le", "el", "il", "em", "в", "o", "den", "the", "de", "du"})
#: Labels before a date in a line that holds more than the date ("wrote on", "am", "le").
_DATE_LABEL = re.compile(
    r"^(?:(?:wrote|posted|schrieb|geschrieben|publié|escrito)\s+)?(?:on|am|le|el|il|em|vom)\s+", re.IGNORECASE
)
#: Labels a date-classed element may hold before the date itself ("Posted on").
_DATE_BOX_LABEL = re.compile(r"^(?:wrote\s+on|posted\s+on|schrieb\s+am|geschrieben\s+am|on)\s+", re.IGNORECASE)
#: Relative ages; an item that also shows an absolute date is dated by that.
_RELATIVE = re.compile(
    r"\bago\b|\bvor\s+\d|\bil y a\b|\bhace\b|\batrás\b|\bhá\s+\d|\bfa\b|\bgeleden\b|\btemu\b|назад|前$",
    re.IGNORECASE,
)
_LINE_TAGS = frozenset({"div", "p", "li", "td", "th", "header", "footer", "dt", "dd", "section", "article", "h5", "h6"})
_SEPARATORS = " \t\u00b7|\u2022\u2013\u2014-,:"
_BRACKETS = "()[]"
_SCORE = re.compile(r"^([+\-\u2212]?\d+)\s+(?:points?|punkte?|votes?|likes?)$", re.IGNORECASE)
_FALLBACK_AUTHOR = ("strong", "b", "cite", "h5", "h4", "h3")


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
    if published_raw is not None and _RELATIVE.search(published_raw):
        absolute = _date_like_text(own, absolute=True)
        if absolute is not None:
            date_el, published_raw = absolute
    if author is None or published_raw is None:
        byline = _byline(own)
        if byline:
            author, published_raw = author or byline[0], published_raw or byline[1]
    if published_raw is None:
        found = _date_like_text(own)
        if found is not None:
            date_el, (named, published_raw) = found[0], split_byline(found[1])
            author = author or named
    if author is None and date_el is not None:
        author = _author_before(own, date_el)
    if author is None:
        author_el = _fallback_author(own)
        author = _author_text(author_el, date_el) if author_el is not None else None
    if author is not None:
        author, dated = split_byline(author)
        published_raw = published_raw or dated
    text = _text(own, [el for el in (author_el, date_el) if el is not None], (author, published_raw))
    return Parts(author=author or None, published_raw=published_raw or None, text=text, votes=votes)


def split_byline(line: str) -> tuple[str | None, str | None]:
    """(author, date) from one line that may hold both ("geschrieben von NAME am 21. Jan. 2015, 19:04",
    "NAME on September 12, 2018 at 4:47 pm said"): labels and verbs of attribution dropped, the date kept
    as shown. A line without a date is all author; a line that is all date is all date."""
    line = _ATTRIBUTION.sub("", collapse(line)).strip(_SEPARATORS)
    words = line.split(" ")
    for index in range(len(words)):
        if not _date_start(words, index):
            continue
        shown = _DATE_LABEL.sub("", " ".join(words[index:])).strip(_SEPARATORS + "()[]")
        if not looks_like_shown_date(shown):
            continue
        name = _name(" ".join(words[:index]))
        return name, shown
    if looks_like_shown_date(line) and len(line) <= _MAX_DATE_CHARS:
        return None, line.strip(_SEPARATORS + "()[]")
    return _name(line), None


def _date_start(words: list[str], index: int) -> bool:
    """Where a date can begin: a number, or a word (month, weekday, "hace") right before one."""
    word = words[index]
    if word[:1].isdigit() or (word[:1] in "([" and word[1:2].isdigit()):
        return True
    following = words[index + 1] if index + 1 < len(words) else ""
    label = word.lower() in _LABEL_WORDS or word.endswith(":") or bool(_ATTRIBUTION.fullmatch(word))
    return not label and following[:1].isdigit()


def _name(text: str) -> str | None:
    """A byline's name without the labels around it ("Bewertung von", "says:", a trailing "am")."""
    name = text.strip(_SEPARATORS)
    for _ in range(3):
        stripped = _AUTHOR_PREFIX.sub("", _TRAILING_LABEL.sub("", _ATTRIBUTION.sub("", name))).strip(_SEPARATORS)
        if stripped == name:
            break
        name = stripped
    return name if name and len(name) <= _MAX_AUTHOR_CHARS else None


def _author_before(own: HtmlElement, date_el: HtmlElement) -> str | None:
    """The name shown just before the date in its line ("NAME wrote on DATE:", "Bewertung von NAME vom
    DATE"), when the line marks it as a byline: a verb of attribution, a label, or a link."""
    line = next((el for el in date_el.iterancestors() if el.tag in _LINE_TAGS), None)
    if line is None:
        return None
    before = collapse(_text_before(line, date_el))
    if not before or len(before) > _MAX_AUTHOR_CHARS * 2:
        return None
    previous = date_el.getprevious()
    linked = previous is not None and previous.tag == "a" and not (previous.tail or "").strip(_SEPARATORS + " ")
    marked = bool(_ATTRIBUTION.search(before) or _TRAILING_LABEL.search(before) or _AUTHOR_PREFIX.search(before))
    if not (marked or linked):
        return None
    return _name(before)


def _text_before(container: HtmlElement, anchor: HtmlElement) -> str:
    parts: list[str] = []

    def walk(el: HtmlElement) -> bool:
        if el is anchor:
            return True
        if isinstance(el.tag, str) and el.text:
            parts.append(el.text)
        for child in el:
            if walk(child):
                return True
            if child.tail:
                parts.append(child.tail)
        return False

    walk(container)
    return " ".join(parts)


def _outside_quotes(elements: list[HtmlElement]) -> list[HtmlElement]:
    return [el for el in elements if not el.xpath("ancestor::blockquote")]


def _author_element(own: HtmlElement) -> HtmlElement | None:
    """The first author selector that matches, its innermost match (a name, not its container). Linear in the
    matches: a match that holds another is among the others' ancestors (pairwise, 1,000 matches took 4 s)."""
    for selector in s.AUTHOR:
        found = [el for el in _outside_quotes(selector(own)) if visible_text(el)]
        holders = {ancestor for el in found for ancestor in el.iterancestors()}
        innermost = [el for el in found if el not in holders]
        if innermost:
            return innermost[0]
    return None


def _fallback_author(own: HtmlElement) -> HtmlElement | None:
    """The first short bold, cited or heading text outside the body that is neither a date nor a title."""
    bodies = s.BODY(own)
    for el in own.iter(*_FALLBACK_AUTHOR):
        if any(_contains(body, el) for body in bodies) or s.TITLE_CLASS.search(el.get("class") or ""):
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
    return _name(name)


def _date_element(own: HtmlElement) -> HtmlElement | None:
    for selector in s.DATE:
        for el in _outside_quotes(selector(own)):
            if visible_text(el) and len(visible_text(el)) <= _MAX_DATE_CHARS * 2:
                return el
    return None


def _date_text(date_el: HtmlElement) -> str | None:
    """The date as shown; a time shown in the next element is part of it ("April 5, 2018 6:32 PM").
    Words inside a ``<time>`` element are the date as shown ("on 2010-05-24"); labels elsewhere are not."""
    shown = visible_text(date_el)
    beside = s.TIME_BESIDE_DATE(date_el)
    if beside and visible_text(beside[0]):
        shown = f"{shown} {visible_text(beside[0])}"
    shown = shown.strip(_SEPARATORS + _BRACKETS)
    if date_el.tag != "time":
        shown = _DATE_BOX_LABEL.sub("", shown).strip(_SEPARATORS + _BRACKETS)
    if not looks_like_shown_date(shown):
        own_text = collapse(date_el.text or "").strip(_SEPARATORS + _BRACKETS)
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


def _date_like_text(own: HtmlElement, *, absolute: bool = False) -> tuple[HtmlElement, str] | None:
    """The first short text of the item that reads as a date (a header's plain text, "6 years ago"),
    with its element; a date in the text after a child ("<a>NAME</a> — 05.11, 2008") gives the whole
    line, for :func:`split_byline`. With ``absolute``, only a date that is not a relative age."""
    bodies = s.BODY(own)
    for el in own.iter():
        if not isinstance(el.tag, str) or any(body is el or _contains(body, el) for body in bodies):
            continue
        shown = collapse(el.text or "").strip(_SEPARATORS + _BRACKETS)
        if not _reads_as_date(shown, absolute):
            tails = (collapse(child.tail or "").strip(_SEPARATORS + _BRACKETS) for child in el)
            if not any(_reads_as_date(tail, absolute) for tail in tails):
                continue
            shown = visible_text(el)
            if len(shown) > _MAX_DATE_CHARS * 2:
                continue
        return el, shown
    return None


def _reads_as_date(shown: str, absolute: bool) -> bool:
    return (
        bool(shown)
        and len(shown) <= _MAX_DATE_CHARS
        and looks_like_shown_date(shown)
        and not (absolute and _RELATIVE.search(shown))
    )


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
        text = collapse(" ".join(visible_text(body) for body in bodies))
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
