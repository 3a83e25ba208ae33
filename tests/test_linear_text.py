"""Hostile text costs work in proportion to its length: patterns, sentence splitting, word lists, language
detection's cleaning, charset and root sniffing, comment dates, the HTML item reader and the general finder
stay linear. Checked as a ratio in one run (four times the input may cost at most ``_RATIO`` times the time; a
quadratic path costs sixteen), never against a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import lxml.html
import pytest

from moderation import Source
from moderation.dates import looks_like_date
from moderation.extraction import patterns
from moderation.extraction.encoding import declared_charset
from moderation.extraction.exports import xml_root_name
from moderation.extraction.html import HtmlExtractor
from moderation.extraction.html.fields import read_item
from moderation.extraction.html.generic import repeated_blocks
from moderation.language import clean
from moderation.models.sentences import sentence_spans
from moderation.policy import Policy, decide

_RATIO = 8.0
T = TypeVar("T")
_POLICY = Policy.model_validate({"banned_words": ["idiot", "stupid*", "go to hell"], "suspect_words": ["moron"]})


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _scales_linearly(build: Callable[[int], T], run: Callable[[T], object], size: int) -> None:
    """Best of five of each size, taken in turns, so that a busy spell of a shared machine neither decides
    alone nor falls on one size only."""
    small, large = build(size), build(4 * size)
    best_small = best_large = float("inf")
    for _ in range(5):
        best_small = min(best_small, _seconds(lambda: run(small)))
        best_large = min(best_large, _seconds(lambda: run(large)))
    ratio = best_large / max(best_small, 1e-6)
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


def test_a_comment_date_line_is_linear_in_the_spaces_after_its_time() -> None:
    _scales_linearly(lambda n: "Dec. 18 04:15" + " " * n + "x", looks_like_date, 2_500)


def test_cleaning_text_for_language_detection_is_linear_in_address_like_runs() -> None:
    _scales_linearly(lambda n: "a.@" * (n // 3), clean, 300)


def test_sniffing_a_declared_charset_is_linear_in_the_spaces_after_charset() -> None:
    _scales_linearly(lambda n: b"<meta charset=" + b" " * n + b">", declared_charset, 2_000)


def test_sniffing_an_exports_root_is_linear_in_unclosed_comments() -> None:
    _scales_linearly(lambda n: Source(b"<!--" * (n // 4), "export.xml"), xml_root_name, 2_048)


def test_the_general_finder_is_linear_in_the_number_of_blocks_with_inline_answers() -> None:
    def page(count: int) -> lxml.html.HtmlElement:
        blocks = "".join(
            f"<div class='c-box'><b>user{i}</b> <span>{i % 28 + 1} days ago</span><p>some words here now {i}</p>"
            + "<div class='line'></div>" * 4
            + f"<div class='answer'><b>owner</b> <span>1 day ago</span><p>thanks for the words {i}</p></div></div>"
            for i in range(count)
        )
        html = f"<html><body><h1>A</h1><p>Body.</p><section class='comments'><h3>Kommentare</h3>{blocks}</section>"
        return lxml.html.document_fromstring(html + "</body></html>")

    assert len(repeated_blocks(page(10))) == 20  # each block and the answer inside it
    _scales_linearly(page, repeated_blocks, 200)


def test_reading_one_item_is_linear_in_its_author_marks() -> None:
    def item(count: int) -> str:
        marks = "".join(f"<span class='author-mark'>a{i}</span>" for i in range(count))
        return f"<li class='comment' id='comment-1'>{marks}<p>Text</p></li>"

    _scales_linearly(item, lambda markup: read_item(lxml.html.fragment_fromstring(markup)), 200)
