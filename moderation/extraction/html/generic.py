"""The generic detector for custom comment systems that name no item "comment".

Inside a region whose id or class names comments (comments, Kommentare, réactions), it looks for blocks
of the same shape (tag and id stem such as ``bb_message_``, else tag and first class) that each show a
date-like text or a ``time`` element and some body text: the repeated unit of a comment list.
"""

from __future__ import annotations

import re
from collections import defaultdict

from lxml.html import HtmlElement

from moderation.dates import looks_like_shown_date
from moderation.extraction import selectors as s
from moderation.extraction.html.regions import in_sidebar
from moderation.extraction.html.text import collapse, visible_text

_ID_STEM = re.compile(r"^(\D+?)[-_]?\d+$")
_MIN_BLOCKS = 2
_MIN_BODY_WORDS = 3


def repeated_blocks(doc: HtmlElement) -> list[HtmlElement]:
    """The largest group of same-shaped, comment-like blocks inside a comment region, or []."""
    best: list[HtmlElement] = []
    for region in _regions(doc):
        groups: dict[tuple[str, str], list[HtmlElement]] = defaultdict(list)
        for el in region.iterdescendants():
            if isinstance(el.tag, str) and el.tag in {"li", "div", "article", "section"}:
                groups[_shape(el)].append(el)
        for shape, members in groups.items():
            if not shape[1] or len(members) < _MIN_BLOCKS or len(members) <= len(best):
                continue
            if all(_comment_like(member) for member in members):
                best = members
    return best


def _regions(doc: HtmlElement) -> list[HtmlElement]:
    regions = []
    for el in s.REGIONS(doc):
        named = f"{el.get('id') or ''} {el.get('class') or ''}"
        if s.COMMENT_REGION_NAME.search(named) and not in_sidebar(el):
            regions.append(el)
    return [region for region in regions if not any(other in regions for other in region.iterancestors())]


def _shape(el: HtmlElement) -> tuple[str, str]:
    stem = _ID_STEM.match(el.get("id") or "")
    if stem:
        return el.tag, f"#{stem.group(1)}"
    return el.tag, ""


def _comment_like(block: HtmlElement) -> bool:
    """A date shown in the block and a few words besides it."""
    dated = bool(block.xpath(".//time")) or any(
        looks_like_shown_date(collapse(el.text or "")) for el in block.iter() if isinstance(el.tag, str)
    )
    return dated and len(visible_text(block).split()) >= _MIN_BODY_WORDS
