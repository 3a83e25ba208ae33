"""Comparing extracted comments with gold annotations (``../shared/data/pages/gold/README.md``).

One rule for the benchmark and the tests: a predicted comment matches a gold comment one to one
when their whitespace-normalised texts are equal or have a difflib similarity of at least 0.9;
exact matches are paired first, then the most similar pairs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

SIMILARITY = 0.9


def normalise(text: str | None) -> str:
    """Whitespace collapsed to single spaces, ends trimmed; None reads as empty."""
    return re.sub(r"\s+", " ", text or "").strip()


def match_texts(gold: Sequence[str], predicted: Sequence[str]) -> dict[int, int]:
    """Gold index -> predicted index, one to one."""
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
