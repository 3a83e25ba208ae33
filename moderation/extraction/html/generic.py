"""The general finder: comment lists that no platform rule names, found by their structure.

A comment list is a run of same-shaped blocks (same tag and id stem such as ``comment-12`` / ``r_88``,
else same tag and first class) where most blocks show a date and some text of their own, and that sits
where comments sit: in a section named for comments or replies in some language, under a heading or
counter that names them ("32 Kommentare", "25 条回复"), or with a byline that links to a user's page.
The largest such run wins; of two equal runs the outer one (each block holds one whole comment, and its
wrapper holds the byline and the body where an inner run might hold only the byline).
"""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import islice

from lxml.etree import XPath
from lxml.html import HtmlElement

from moderation.dates import looks_like_shown_date
from moderation.extraction import selectors as s
from moderation.extraction.html.regions import in_sidebar
from moderation.extraction.html.text import collapse, visible_text

_ID_STEM = re.compile(r"^(\D+?)[-_]?\d+$")
_ITEM_TAGS = ("li", "div", "article", "section", "dd", "tr", "table")
_MIN_BLOCKS = 2
_SHARE = 0.75
_MIN_BODY_TOKENS = 3
_MIN_SIGNED = 3  # a byline alone places a run among comments only when the run is no pair of wrappers
_MAX_LABEL_CHARS = 80
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_MAX_LINKED = 0.5
_NEAR = 4  # ancestors looked at for a section or heading naming the comments
_LINK_WORDS = 5
_REGION_TAGS = ("div", "section", "ul", "ol", "article", "aside", "main", "dl", "table")
_WRAPPER = XPath(".//h1 | .//nav")
_REPLY_TAGS = ("div", "li", "dd", "section", "aside")
# Headings, labels and counters; not links, which jump to the comments from elsewhere ("Vos réactions (11)").
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "span", "div", "p", "label"})


def repeated_blocks(doc: HtmlElement) -> list[HtmlElement]:
    """The longest run of same-shaped, comment-like blocks in a comment context, or []; of two as long,
    the one with more signs of a comment section around it, then the outer one."""
    groups: dict[tuple[str, str], list[HtmlElement]] = defaultdict(list)
    for el in doc.iter(*_ITEM_TAGS):
        shape = _shape(el)
        if shape is not None:
            groups[shape].append(el)
    best: list[HtmlElement] = []
    best_signs = 0
    for members in sorted(groups.values(), key=len, reverse=True):
        if len(members) < _MIN_BLOCKS:
            break
        read = [(member, _body_tokens(member)) for member in members if not _furniture(member)]
        signed = [member for member, tokens in read if tokens is not None and tokens > 0]
        liked = [member for member, tokens in read if tokens is not None and tokens >= _MIN_BODY_TOKENS]
        written = sum(1 for _, tokens in read if tokens != 0)  # collapsed stubs show a byline and no text
        if len(liked) < _MIN_BLOCKS or len(liked) < _SHARE * written:
            continue
        signs = _comment_signs(signed)
        if not signs:
            continue
        if len(signed) > len(best) or (len(signed) == len(best) and (signs > best_signs or _outer(signed, best))):
            best, best_signs = signed, signs
    return _with_inline_replies(best)


def _with_inline_replies(blocks: list[HtmlElement]) -> list[HtmlElement]:
    """The blocks, and inside each the answers shown within it (a blog owner's "博主回复", an author's reply
    under the reader's comment): a later part with a date of its own and text besides it. Linear in the number
    of blocks: whether a part lies inside an answer found before is asked of its ancestors, not of every find."""
    members = set(blocks)
    found: list[HtmlElement] = []
    answers: set[HtmlElement] = set()
    for block in blocks:
        found.append(block)
        first = _date_holder(block)
        if first is None:
            continue
        for el in block.iterdescendants(*_REPLY_TAGS):
            if el in members or any(ancestor in members and ancestor is not block for ancestor in el.iterancestors()):
                continue
            if el.xpath("ancestor::blockquote") or first is el or _contains(el, first) or _contains(first, el):
                continue
            answer = _follows(first, el, block) and _date_holder(el) is not None
            inside = any(ancestor in answers for ancestor in el.iterancestors())
            if answer and not inside and (_body_tokens(el) or 0) >= _MIN_BODY_TOKENS:
                found.append(el)
                answers.add(el)
    return found


def _date_holder(block: HtmlElement) -> HtmlElement | None:
    """The first element of the block showing a date."""
    found = _first_date(block)
    return found[0] if found is not None else None


def _contains(outer: HtmlElement, inner: HtmlElement) -> bool:
    return any(ancestor is outer for ancestor in inner.iterancestors())


def _follows(first: HtmlElement, later: HtmlElement, block: HtmlElement) -> bool:
    """Whether ``later`` comes after ``first`` inside ``block``, in document order."""
    for holder in (first, *first.iterancestors()):
        if holder is block:
            return False
        if any(el is later or _contains(el, later) for el in holder.itersiblings()):
            return True
    return False


def _shape(el: HtmlElement) -> tuple[str, str] | None:
    stem = _ID_STEM.match(el.get("id") or "")
    if stem:
        return el.tag, f"#{stem.group(1)}"
    classes = (el.get("class") or "").split()
    return (el.tag, f".{classes[0]}") if classes else None


def _furniture(el: HtmlElement) -> bool:
    """Page chrome (navigation, the page's own header and footer, sidebars) never holds the thread, and
    a block that holds the page's headline or navigation is a layout wrapper, not a comment. Themes do
    put the comments in an article's footer."""
    return (
        in_sidebar(el)
        or any(_chrome(ancestor) for ancestor in el.iterancestors("nav", "header", "footer"))
        or bool(_WRAPPER(el))
    )


def _chrome(el: HtmlElement) -> bool:
    parent = el.getparent()
    return el.tag == "nav" or (parent is not None and parent.tag == "body")


def _outer(candidate: list[HtmlElement], best: list[HtmlElement]) -> bool:
    """Of two runs as long, the one around the other's blocks."""
    return len(candidate) == len(best) and any(ancestor is candidate[0] for ancestor in best[0].iterancestors())


def _body_tokens(block: HtmlElement) -> int | None:
    """How many words (or CJK characters) the block shows besides its date, author and controls, or None
    when it shows neither a date nor an author (in itself or in the ``dt`` before a ``dd``), or is mostly
    links."""
    parts = [block]
    previous = block.getprevious()
    if block.tag == "dd" and previous is not None and previous.tag == "dt":
        parts.insert(0, previous)
    shown = next((found for found in map(_shown_date, parts) if found is not None), None)
    named = next((found[0] for part in parts for selector in s.AUTHOR if (found := selector(part))), None)
    if shown is None and named is None:
        return None
    text = visible_text(block)
    if _linked(block) >= _MAX_LINKED * len(text):
        return None
    byline = _tokens(shown or "") + (_tokens(visible_text(named)) if named is not None else 0)
    return max(_tokens(text) - byline - _control_tokens(block), 0)


def _control_tokens(block: HtmlElement) -> int:
    """Words in controls ("Reply", "Expand", "Flag"): a collapsed stub shows those and a byline only."""
    actions = [el for el in s.ACTIONS(block) if s.ACTION_TEXT.match(visible_text(el))]
    return sum(_tokens(visible_text(el)) for el in actions)


def _linked(block: HtmlElement) -> int:
    """Characters in links, leaving out the first two short ones (a comment links its author and date; a
    teaser links its headline, a profile card its many menu entries)."""
    shown = [visible_text(link) for link in block.iter("a")]
    short = [words for words in shown if len(words.split()) <= _LINK_WORDS]
    return sum(len(words) for words in shown) - sum(len(words) for words in short[:2])


def _tokens(text: str) -> int:
    return len(text.split()) + len(_CJK.findall(text))


def _shown_date(block: HtmlElement) -> str | None:
    """The first date the block shows, in a ``time`` element or as a short text."""
    found = _first_date(block)
    return found[1] if found is not None else None


def _first_date(block: HtmlElement) -> tuple[HtmlElement, str] | None:
    for el in block.iter():
        if el.tag == "time":
            return el, visible_text(el)
        for shown in (el.text, el.tail if el is not block else None):
            if shown and len(shown) < _MAX_LABEL_CHARS * 2 and looks_like_shown_date(collapse(shown)):
                return el, collapse(shown)
    return None


def _comment_signs(members: list[HtmlElement]) -> int:
    """How many signs place the run among comments: a section named for them, a heading or counter naming
    them, bylines linking to user pages on most blocks (runs of three or more)."""
    if not members:
        return 0
    users = sum(1 for member in members if _user_byline(member))
    return (
        any(_in_named_region(member) for member in members[:3])
        + _under_comment_heading(members[0])
        + (len(members) >= _MIN_SIGNED and users >= _SHARE * len(members))
    )


def _in_named_region(el: HtmlElement) -> bool:
    """A section named for comments close around the block (not a site-wide "forum" wrapper)."""
    for ancestor in islice(el.iterancestors(*_REGION_TAGS), _NEAR):
        named = f"{ancestor.get('id') or ''} {ancestor.get('class') or ''}"
        if s.COMMENT_REGION_NAME.search(named):
            return True
    return False


def _under_comment_heading(first: HtmlElement) -> bool:
    """A short heading, label or counter naming comments just before the run or its containers."""
    node: HtmlElement | None = first
    for _ in range(_NEAR):
        if node is None:
            return False
        sibling = node.getprevious()
        for _ in range(6):
            if sibling is None:
                break
            if _names_comments(sibling):
                return True
            sibling = sibling.getprevious()
        node = node.getparent()
    return False


def _names_comments(el: HtmlElement) -> bool:
    if not isinstance(el.tag, str):
        return False
    candidates = [el] if el.tag in _HEADINGS else []
    candidates += [child for child in el.iter(*_HEADINGS) if child is not el][:20]
    for candidate in candidates:
        shown = visible_text(candidate)
        if shown and len(shown) <= _MAX_LABEL_CHARS and s.COMMENT_WORDS.search(shown):
            return True
    return False


def _user_byline(block: HtmlElement) -> bool:
    """A link to a user's page or an author attribute: the block says who wrote it."""
    return bool(s.USER_MARK(block))
