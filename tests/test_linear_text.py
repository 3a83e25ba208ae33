"""Hostile text costs work in proportion to its length: patterns, sentence splitting, word lists and the HTML
item reader stay linear. Checked as a ratio in one run (four times the input may cost at most ``_RATIO`` times
the time; a quadratic path costs sixteen), never against a clock."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from moderation import Source
from moderation.extraction import patterns
from moderation.extraction.html import HtmlExtractor
from moderation.models.sentences import sentence_spans
from moderation.policy import Policy, decide

_RATIO = 8.0
_POLICY = Policy.model_validate({"banned_words": ["idiot", "stupid*", "go to hell"], "suspect_words": ["moron"]})


def _seconds(work: Callable[[], object]) -> float:
    """Best of five, so one noisy run on a shared machine does not decide."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def _scales_linearly(build: Callable[[int], str], run: Callable[[str], object], size: int) -> None:
    small, large = build(size), build(4 * size)
    ratio = _seconds(lambda: run(large)) / max(_seconds(lambda: run(small)), 1e-6)
    assert ratio < _RATIO, f"4x the input took {ratio:.1f}x the time"


@pytest.mark.parametrize(
    "build",
    [
        lambda n: "photo" + " " * n + "x",
        lambda n: " " * n + "\n",
        lambda n: "a." * (n // 2),
    ],
    ids=["caption-then-spaces", "spaces-then-newline", "dots"],
)
def test_the_caption_pattern_and_sentence_splitting_are_linear_in_long_runs_of_spaces(
    build: Callable[[int], str],
) -> None:
    _scales_linearly(build, patterns.PHOTO_CAPTION.search, 50_000)
    _scales_linearly(build, sentence_spans, 50_000)


@pytest.mark.parametrize(
    "build",
    [lambda n: "i " * (n // 2), lambda n: "i" + " ." * (n // 2) + "d", lambda n: "idi" + "o" * n + "t"],
    ids=["spaced-letters", "separators", "stretched"],
)
def test_word_lists_are_linear_on_obfuscation_shaped_input(build: Callable[[int], str]) -> None:
    _scales_linearly(build, lambda text: decide(_POLICY, text, {}), 50_000)


def test_reading_a_pages_comments_is_linear_in_their_number() -> None:
    def page(count: int) -> str:
        items = "".join(
            f"<li id='comment-{i}'><p><small>Comment by <a href='/u/x{i}'>x{i}</a> — 01.03, 2024 @ 10:11</small></p>"
            f"<p>Some words here, number {i}.</p></li>"
            for i in range(count)
        )
        return f"<html><body><h1>A</h1><p>Body.</p><h3>{count} Responses</h3><ol>{items}</ol></body></html>"

    def read(html: str) -> object:
        return HtmlExtractor().threads(Source.from_bytes(html.encode(), "page.html"))

    read(page(10))  # warm caches (date parser, trafilatura) before measuring
    _scales_linearly(lambda n: page(n), read, 250)
