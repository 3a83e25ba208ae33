"""Extraction: any supported source in, one :class:`~moderation.thread.Thread` out.

Sources are plug-ins behind :class:`~moderation.extraction.base.Extractor`; ``extract``
auto-detects the format unless one is named.
"""

from __future__ import annotations

from pathlib import Path

from moderation.errors import ExtractionError, UnknownFormatError
from moderation.extraction.base import DEFAULT_MAX_BYTES, Extractor, Source
from moderation.extraction.disqus import DisqusExtractor
from moderation.extraction.hn import HackerNewsExtractor
from moderation.extraction.html import HtmlExtractor
from moderation.extraction.jsonthread import JsonThreadExtractor
from moderation.extraction.reddit import RedditExtractor
from moderation.extraction.tabular import CsvExtractor, JsonlExtractor
from moderation.extraction.textdump import TextDumpExtractor
from moderation.extraction.wxr import WxrExtractor
from moderation.thread import Thread

EXTRACTORS: dict[str, Extractor] = {
    extractor.name: extractor
    for extractor in (
        TextDumpExtractor(),
        JsonThreadExtractor(),
        DisqusExtractor(),
        WxrExtractor(),
        RedditExtractor(),
        HackerNewsExtractor(),
        JsonlExtractor(),
        CsvExtractor(),
        HtmlExtractor(),
    )
}
_MIN_CONFIDENCE = 0.3

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EXTRACTORS",
    "Extractor",
    "Source",
    "detect_format",
    "extract",
    "extract_all",
    "extract_path",
]


def detect_format(source: Source) -> str:
    """The name of the extractor surest it can read ``source``."""
    if not source.data.strip():
        raise UnknownFormatError(f"{source.name} is empty")
    scores = {name: extractor.sniff(source) for name, extractor in EXTRACTORS.items()}
    best = max(scores, key=lambda name: scores[name])
    if scores[best] < _MIN_CONFIDENCE:
        raise UnknownFormatError(
            f"{source.name}: no known format recognised; name one with --format ({', '.join(EXTRACTORS)})"
        )
    return best


def extract_all(source: Source, format: str | None = None) -> list[Thread]:
    """Every thread in ``source`` (exports may hold several), with the named or detected format."""
    name = format or detect_format(source)
    if name not in EXTRACTORS:
        raise UnknownFormatError(f"unknown format {name!r}; known: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name].threads(source)


def extract(source: Source, format: str | None = None) -> Thread:
    """The one thread in ``source``; a source holding several is an error (use ``extract_all``)."""
    threads = extract_all(source, format)
    if len(threads) != 1:
        raise ExtractionError(f"{source.name} holds {len(threads)} threads; use extract_all (CLI: --all)")
    return threads[0]


def extract_path(path: str | Path, format: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Thread:
    """Extract the thread in a local file."""
    return extract(Source.from_path(path, max_bytes=max_bytes), format)
