"""Where an element sits on the page: the thread's own section or a site-wide widget."""

from __future__ import annotations

from lxml.html import HtmlElement

from moderation.extraction import selectors as s


def in_sidebar(node: HtmlElement) -> bool:
    """Whether the node sits in a site-wide box: a recent-comments widget, or an ``aside``, sidebar or
    widget around it with no comment section in between that does not hold the article (themes also
    call layout columns "sidebar", and comment plug-ins call themselves widgets)."""
    for el in node.iterancestors():
        if el.tag in {"body", "html"}:
            return False
        names = [name for name in (el.get("id") or "", *(el.get("class") or "").split()) if name]
        if any(s.RECENT_COMMENTS_NAME.search(name) for name in names):
            return True
        if any(s.COMMENT_REGION_NAME.search(name) for name in names):
            return _in_recent_widget(el)
        if el.tag == "aside" or (any(s.SIDEBAR_NAME.match(name) for name in names) and not s.ARTICLE_MARK(el)):
            return True
    return False


def _in_recent_widget(region: HtmlElement) -> bool:
    """Above a comment section only a recent-comments widget still makes it a sidebar."""
    for el in region.iterancestors():
        names = [name for name in (el.get("id") or "", *(el.get("class") or "").split()) if name]
        if any(s.RECENT_COMMENTS_NAME.search(name) for name in names):
            return True
    return False
