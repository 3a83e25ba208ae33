"""Finding comment items in a page and their visible reply nesting.

Candidates come rule by rule (:data:`~moderation.extraction.selectors.COMMENT_ITEMS`, then comment-item
class names, then the generic repeated-block detector); the caller keeps the first rule whose items read
as comments. Nesting is a depth per item, from explicit markers (``depth-N``, "level N") or from the
reply containers and enclosing items around it; a reply's parent is the nearest earlier item one level up.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from moderation.extraction import selectors as s
from moderation.extraction.html.generic import repeated_blocks
from moderation.extraction.html.text import collapse

_ITEM_MARK = "data-moderation-item"
#: The general finder's rule name: it comes last, and no site's markup wrote it.
GENERAL_RULE = "repeated_blocks"


@dataclass
class Item:
    """One comment item: its element, any element shown before it that belongs to it, its depth."""

    node: HtmlElement
    lead: list[HtmlElement] = field(default_factory=list)
    depth: int = 0
    parent: int | None = None


def candidate_rules(doc: HtmlElement, without: frozenset[str] = frozenset()) -> Iterator[tuple[str, list[HtmlElement]]]:
    """(rule, item elements) for every rule not switched off that finds items outside link
    notifications, in order."""
    notifications = set(s.LINK_NOTIFICATIONS(doc))
    for name, selector in s.COMMENT_ITEMS:
        nodes = [node for node in selector(doc) if node not in notifications] if name not in without else []
        if nodes:
            yield name, nodes
    if "comment_item_class" not in without:
        by_class = [el for el in doc.iter() if isinstance(el.tag, str) and _has_item_class(el)]
        if by_class:
            yield "comment_item_class", by_class
    generic = repeated_blocks(doc) if GENERAL_RULE not in without else []
    if generic:
        yield GENERAL_RULE, generic


def _has_item_class(el: HtmlElement) -> bool:
    return any(s.COMMENT_ITEM_CLASS.search(token) for token in (el.get("class") or "").split())


def build_items(nodes: list[HtmlElement]) -> list[Item]:
    """Items in document order with their depth and parent index."""
    members = set(nodes)
    items = [Item(node=node, lead=_lead(node)) for node in nodes]
    depths = [_depth(item.node, members) for item in items]
    base = min(depths, default=0)
    last_at: dict[int, int] = {}
    for index, (item, depth) in enumerate(zip(items, depths, strict=True)):
        item.depth = max(depth - base, 0)
        item.parent = last_at.get(item.depth - 1) if item.depth > 0 else None
        last_at = {d: i for d, i in last_at.items() if d < item.depth}
        last_at[item.depth] = index
    return items


def _lead(node: HtmlElement) -> list[HtmlElement]:
    """A definition-list item's dt (author and time) shown before its dd (text)."""
    previous = node.getprevious()
    if node.tag == "dd" and previous is not None and previous.tag == "dt":
        return [previous]
    return []


def _depth(node: HtmlElement, members: set[HtmlElement]) -> int:
    """The larger of the depth the markup states (``depth-N``, "level N") and the one its nesting shows."""
    enclosing = sum(1 for ancestor in node.iterancestors() if ancestor in members)
    containers = sum(1 for ancestor in node.iterancestors() if s.is_reply_container(ancestor))
    sub = 1 if s.SUB_ITEM_CLASS.search(node.get("class") or "") else 0
    return max(_stated_depth(node), max(enclosing, containers) + sub)


def _stated_depth(node: HtmlElement) -> int:
    for holder in (node, node.getparent()):
        match = s.DEPTH_CLASS.search(holder.get("class") or "") if holder is not None else None
        if match:
            return int(match.group(1)) - 1
    for el in node.iter("span", "div"):
        label = s.DEPTH_LABEL.match(collapse(el.text or ""))
        if label:
            return int(label.group(1)) - 1
    return 0


def own_copy(item: Item, members: set[HtmlElement]) -> HtmlElement:
    """A detached copy of the item holding only its own comment: nested items and reply lists removed.
    ``members`` are the elements of every item; only those inside this one are looked at, so reading a
    thread's items stays linear in its size."""
    nested = [el for el in item.node.iterdescendants() if el in members]
    for el in nested:
        el.set(_ITEM_MARK, "1")
    try:
        wrapper = HtmlElement("div") if item.lead else None
        clone = copy.deepcopy(item.node)
    finally:
        for el in nested:
            el.attrib.pop(_ITEM_MARK, None)
    for nested in clone.xpath(f".//*[@{_ITEM_MARK}]"):
        nested.getparent().remove(nested)
    for replies in [el for el in clone.iterdescendants() if isinstance(el.tag, str) and s.is_reply_container(el)]:
        if replies.getparent() is not None:
            replies.getparent().remove(replies)
    if wrapper is None:
        return clone
    for lead in item.lead:
        wrapper.append(copy.deepcopy(lead))
    wrapper.append(clone)
    return wrapper
