"""What a report's stance is toward: each comment is scored against its article's title, and some titles
take no position to be for or against.

The stance head was trained on claims and topics (VAST). Toward a personal story ("my wife passed away
...") or a how-to or a list ("The 10 Most Common Mistakes ...") "favor" mostly means sympathy or thanks,
and "against" disagreement with a detail, so the report says so beside the figures. The wording of the
title is all there is to go by: these patterns, in English, German and French, are data; a title they do
not match is taken as a claim or a topic.
"""

from __future__ import annotations

import re

#: (what the title is, the wording that shows it), tried in order.
NO_POSITION: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a personal story",
        re.compile(
            r"^\W*(?:i|i'm|i've|i'd|my|we|we're|our|ich|mein|meine|meiner|wir|unser|unsere|je|j'ai|mon|ma|mes|nous)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "a how-to or a list",
        re.compile(
            r"^\W*(?:how to|how i|wie man|so geht|comment faire)\b"
            r"|\b(?:guide|tutorial|tips|recipe|anleitung|rezept|tipps|tutoriel|recette|astuces)\b"
            r"|(?:^\W*|\b(?:the|die|les)\s+)\d+\s+(?:[\w-]+\s+){0,3}"
            r"(?:mistakes|ways|things|tips|reasons|tricks|fehler|tipps|gründe|erreurs|astuces|raisons)\b",
            re.IGNORECASE,
        ),
    ),
)


def not_argumentative(title: str | None) -> str | None:
    """What ``title`` is when its wording shows it takes no position ("a personal story", "a how-to or
    a list"); None for any other title, or none."""
    if not title:
        return None
    return next((kind for kind, pattern in NO_POSITION if pattern.search(title)), None)
