"""Reader comments of a page, by layered strategy: JSON-LD, then platform markup, then repeated blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from lxml.html import HtmlElement

from moderation.dates import parse_shown_datetime
from moderation.extraction import selectors as s
from moderation.extraction.html import jsonld
from moderation.extraction.html.article import page_languages, reference_time
from moderation.extraction.html.fields import Parts, read_item
from moderation.extraction.html.items import GENERAL_RULE, Item, build_items, candidate_rules, own_copy
from moderation.extraction.html.regions import in_sidebar
from moderation.extraction.html.text import markup_as_text, visible_text
from moderation.thread import Article, Comment, ExcludedItem, stable_comment_id

_SOURCE_ID = re.compile(
    r"^(?:li-|div-)?(?P<id>(?:comment|kommentar|bb_message|t1|wc-comm|xenforo-comment)[-_]?\w+|c\d+)$"
)


@dataclass
class Found:
    """The comments of a page and what was left out, with the rule that found them."""

    comments: list[Comment] = field(default_factory=list)
    excluded: list[ExcludedItem] = field(default_factory=list)
    rule: str | None = None


def read_comments(
    doc: HtmlElement, article: Article, without: frozenset[str] = frozenset(), announced: int | None = None
) -> Found:
    """The first strategy whose items read as comments wins; pingbacks and widgets are excluded. When the
    page announces more comments than that rule found, the general finder gets its say, and its list wins
    when it holds every comment the rule found and more. Rules named in ``without`` are switched off (the
    benchmark's generalisation check)."""
    languages = page_languages(doc)
    structured = _from_jsonld(doc, article, languages) if "json_ld" not in without else []
    if structured:
        return Found(structured, [], "json_ld")
    excluded = _link_notifications(doc) + _recent_widget(doc)
    best: Found | None = None
    for rule, nodes in candidate_rules(doc, without):
        if best is not None and rule != GENERAL_RULE:
            continue
        main = [node for node in nodes if not in_sidebar(node)]
        if not main:
            continue
        items = build_items(main)
        members = {item.node for item in items}
        parts = [read_item(own_copy(item, members)) for item in items]
        if rule in s.MARKUP_AS_TEXT:
            parts = [replace(part, text=markup_as_text(part.text)) for part in parts]
        comments = _comments(items, parts, article, languages)
        if not _reads_as_comments(comments):
            continue
        sidebar = [_excluded(node, "sidebar", "a site-wide widget, not this thread") for node in nodes]
        found = Found(comments, excluded + [x for x, n in zip(sidebar, nodes, strict=True) if n not in main], rule)
        if best is None and (announced is None or len(comments) >= announced):
            return found
        if best is None or _extends(comments, best.comments):
            best = found
    return best or Found([], excluded, None)


def _extends(wider: list[Comment], found: list[Comment]) -> bool:
    """Whether the general finder's list holds every comment a rule found, and more."""
    texts = {comment.text for comment in wider}
    return len(wider) > len(found) and all(comment.text in texts for comment in found)


def _reads_as_comments(comments: list[Comment]) -> bool:
    """Most items show who wrote them or when: a comment list, not teasers or navigation."""
    shown = sum(1 for c in comments if c.author or c.published_raw)
    return bool(comments) and shown * 2 >= len(comments)


def _comments(items: list[Item], parts: list[Parts], article: Article, languages: tuple[str, ...]) -> list[Comment]:
    keep = [i for i, part in enumerate(parts) if _is_comment(part)]
    ids: dict[int, str] = {}
    comments: list[Comment] = []
    reference = reference_time(article)
    for position, index in enumerate(keep):
        part = parts[index]
        source_id = _source_id(items[index])
        ident = source_id if source_id and source_id not in ids.values() else None
        ids[index] = ident or stable_comment_id(article, position, part.author, part.text)
        parent = items[index].parent
        while parent is not None and parent not in ids:
            parent = items[parent].parent
        published = (
            parse_shown_datetime(part.published_raw, reference=reference, languages=languages)
            if part.published_raw
            else None
        )
        comments.append(
            Comment(
                id=ids[index],
                parent=ids[parent] if parent is not None else None,
                author=part.author,
                published=published,
                published_raw=part.published_raw,
                text=part.text,
                votes=part.votes,
                position=position,
            )
        )
    return comments


def _is_comment(part: Parts) -> bool:
    """Text with an author or a date; items showing neither are list controls ("Kommentieren ..."), and
    neither are counters and "no comments yet" placeholders that re-use comment markup."""
    shown = part.author is not None or part.published_raw is not None
    return bool(part.text) and shown and not s.is_placeholder(part.text)


def _source_id(item: Item) -> str | None:
    """The page's own id for the comment: the item's id when it carries a number, else a comment id on
    its first child or on the anchor just before it (Drupal's ``<a id="comment-N">``)."""
    own = item.node.get("id") or ""
    if any(ch.isdigit() for ch in own):
        match = _SOURCE_ID.match(own)
        return match.group("id") if match else own
    candidates = [*item.lead, *item.node[:1]]
    previous = item.node.getprevious()
    if previous is not None and previous.tag == "a":
        candidates.append(previous)
    for el in candidates:
        match = _SOURCE_ID.match(el.get("id") or "")
        if match:
            return match.group("id")
    return None


def _excluded(node: HtmlElement, kind: str, reason: str) -> ExcludedItem:
    return ExcludedItem(source_id=node.get("id"), kind=kind, text=visible_text(node)[:500] or None, reason=reason)


def _link_notifications(doc: HtmlElement) -> list[ExcludedItem]:
    excluded = []
    for node in s.LINK_NOTIFICATIONS(doc):
        kind = "trackback" if "trackback" in f"{node.get('class')} {node.getparent().get('id')}" else "pingback"
        excluded.append(_excluded(node, kind, "automatic link notification, not a reader comment"))
    return excluded


def _recent_widget(doc: HtmlElement) -> list[ExcludedItem]:
    return [_excluded(node, "sidebar", "recent-comments widget, not this thread") for node in s.RECENT_COMMENTS(doc)]


def _from_jsonld(doc: HtmlElement, article: Article, languages: tuple[str, ...]) -> list[Comment]:
    found = jsonld.jsonld_comments(doc)
    reference = reference_time(article)
    comments: list[Comment] = []
    for position, (node, parent) in enumerate(found):
        text = jsonld.comment_text(node)
        author = jsonld.comment_author(node)
        shown = jsonld.comment_date(node)
        source_id = str(node.get("@id") or node.get("url") or "") or None
        if source_id in {c.id for c in comments}:
            source_id = None
        comments.append(
            Comment(
                id=source_id or stable_comment_id(article, position, author, text),
                parent=comments[parent].id if parent is not None else None,
                author=author,
                published=parse_shown_datetime(shown, reference=reference, languages=languages) if shown else None,
                published_raw=shown,
                text=text,
                position=position,
            )
        )
    return comments
