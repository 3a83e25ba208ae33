"""The article of a page through trafilatura (title, date, author, body); never re-implemented here."""

from __future__ import annotations

import logging
from datetime import date, datetime

from lxml.html import HtmlElement

from moderation.thread import Article

# trafilatura reports pages it finds too thin or odd through logging, not through exceptions.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


def read_article(doc: HtmlElement, url: str | None) -> Article:
    """Headline, date, byline and body paragraphs as trafilatura extracts them (comments left out)."""
    import trafilatura
    from trafilatura.settings import Document

    document = trafilatura.bare_extraction(
        doc, url=url, with_metadata=True, include_comments=False, include_tables=False
    )
    if not isinstance(document, Document):
        return Article(url=url)
    body = [line.strip() for line in (document.text or "").splitlines() if line.strip()]
    published = _date(document.date)
    return Article(
        url=document.url or url,
        title=document.title or None,
        published=published,
        published_raw=document.date or None,
        byline=document.author or None,
        body=body,
    )


def _date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None


def reference_time(article: Article) -> datetime | None:
    """The page's own date as the base for relative comment dates ("2 days ago")."""
    published = article.published
    if isinstance(published, datetime):
        return published
    if isinstance(published, date):
        return datetime(published.year, published.month, published.day)
    return None


def page_languages(doc: HtmlElement) -> tuple[str, ...]:
    """The page's declared language (``<html lang>``), the first hint for reading its dates in words."""
    declared = doc.get("lang") or doc.get("{http://www.w3.org/XML/1998/namespace}lang") or doc.get("xml:lang")
    return (declared.strip(),) if declared and declared.strip() else ()
