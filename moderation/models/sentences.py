"""Sentence spans of a comment, by character offsets: the units of per-sentence span scores.

A plain rule, not a parser: a sentence ends at ., !, ? or … (with any closing quote or bracket)
followed by whitespace, or at a line break. Abbreviations ("Mr. Smith") split early; for
highlighting which part of a comment is toxic that costs little.
"""

from __future__ import annotations

import re

# A line break starts the match (spaces before it are trimmed off the sentence): a leading ``\s*`` would
# rescan every run of spaces from each of its positions, quadratic in the run.
_BOUNDARY = re.compile(r"(?:(?<=[.!?\u2026])|(?<=[.!?\u2026][\"'\u201d\u2019)\]]))\s+|\n\s*")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(begin, end)`` character offsets of each non-empty sentence, in order, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        _add(text, start, boundary.start(), spans)
        start = boundary.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, begin: int, end: int, spans: list[tuple[int, int]]) -> None:
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    if end > begin:
        spans.append((begin, end))
