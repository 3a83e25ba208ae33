"""Comparing extracted comments with gold annotations (``../shared/data/pages/gold/README.md``).

One rule for the benchmark and the tests: a predicted comment matches a gold comment one to one
when their whitespace-normalised texts are equal or have a difflib similarity of at least 0.9;
exact matches are paired first, then the most similar pairs. Gold keeps markup that a page prints as
text literally (its rule 8: toptal's ``<code>`` in Disqus' no-script fallback); where the extractor
reads such markup as HTML (``selectors.MARKUP_AS_TEXT``), the gold text is compared as read too.

The corpus is ``gold/`` with ``INDEX.tsv`` plus pages that wait in ``gold-new/`` with ``INDEX-new.tsv``
(kept apart in the shared folder until the extractor handles them; it does now, and the shared folder is
read-only here, so both are read as one corpus and a file in ``gold/`` wins over one of the same name).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path

from moderation.extraction.html.text import markup_as_text

SIMILARITY = 0.9
_GOLD_FOLDERS = ("gold", "gold-new")
_INDEXES = ("INDEX.tsv", "INDEX-new.tsv")


def gold_files(pages: Path) -> list[Path]:
    """Every gold annotation of the corpus under ``pages``, sorted by name."""
    found: dict[str, Path] = {}
    for folder in _GOLD_FOLDERS:
        for path in sorted((pages / folder).glob("*.json")):
            found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def index_rows(pages: Path) -> list[dict[str, str]]:
    """Every row of the corpus index (one per saved page or export), first listing of a file wins."""
    rows: dict[str, dict[str, str]] = {}
    for name in _INDEXES:
        index = pages / name
        if not index.is_file():
            continue
        with index.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rows.setdefault(row["file"], row)
    return list(rows.values())


def negative_pages(pages: Path) -> list[str]:
    """Saved pages the index marks ``has_comments=no``: an extractor must find nothing there."""
    return [row["file"] for row in index_rows(pages) if row["has_comments"] == "no" and (pages / row["file"]).is_file()]


def normalise(text: str | None) -> str:
    """Whitespace collapsed to single spaces, ends trimmed; None reads as empty."""
    return re.sub(r"\s+", " ", text or "").strip()


def match_texts(gold: Sequence[str], predicted: Sequence[str], *, as_markup: bool = False) -> dict[int, int]:
    """Gold index -> predicted index, one to one; ``as_markup``: the gold texts are markup the page printed
    as text, compared as a reader of that markup sees it."""
    if as_markup:
        gold = [markup_as_text(text) for text in gold]
    pairs: dict[int, int] = {}
    free = {i: normalise(text) for i, text in enumerate(predicted)}
    by_text: dict[str, list[int]] = {}
    for i, text in free.items():
        by_text.setdefault(text, []).append(i)
    for g, text in enumerate(gold):
        candidates = by_text.get(normalise(text))
        if candidates:
            pairs[g] = candidates.pop(0)
    used = set(pairs.values())
    scored = []
    for g, text in enumerate(gold):
        if g in pairs:
            continue
        wanted = normalise(text)
        for i, other in free.items():
            if i in used:
                continue
            matcher = SequenceMatcher(None, wanted, other, autojunk=False)
            if matcher.real_quick_ratio() >= SIMILARITY and matcher.quick_ratio() >= SIMILARITY:
                ratio = matcher.ratio()
                if ratio >= SIMILARITY:
                    scored.append((ratio, g, i))
    for _, g, i in sorted(scored, reverse=True):
        if g not in pairs and i not in used:
            pairs[g] = i
            used.add(i)
    return pairs
