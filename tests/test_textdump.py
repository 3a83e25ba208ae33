"""The text-dump extractor: the seed exactly, and variants of the same layout."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from moderation import ExtractionError, Source, extract
from tests.conftest import EXAMPLE

SEED = EXAMPLE.read_text(encoding="utf-8")
SEED_COMMENT = (
    "The Soviet Union was willing to return the two islands closest to Hokkaido in the compromise.\n"
    "The US told Japan not to make any deal with Moscow.\n"
    "Now they will never get anything back."
)
FURNITURE = (
    "Newsletter",
    "Register / Login",
    "Login",
    "GPlusMedia",
    "Cash and Debit Card",
    "Learn More",
    "Facebook",
    "Forgot password",
    "trending",
    "Savvy Tokyo",
    "GaijinPot",
)


def _extract(text: str):
    return extract(Source.from_bytes(text.encode("utf-8"), "variant.txt"))


def _with_comments(section: str, counter: str) -> str:
    """The seed with its comment list (counter, comments, votes) replaced."""
    head, _, rest = SEED.partition("1 Comment\nLogin to comment\n")
    _, _, tail = rest.partition("Login to leave a comment")
    return f"{head}{counter}\nLogin to comment\n\n{section}\nLogin to leave a comment{tail}"


def test_seed_article_fields_are_exact() -> None:
    thread = extract(Source.from_path(EXAMPLE))
    article = thread.article
    assert thread.source_format == "text"
    assert article.title == "Territorial disputes with Japan over, says Russian foreign minister"
    assert article.published == date(2023, 12, 18)
    assert article.section == "politics"
    assert article.dateline == "TOKYO"
    assert article.captions == ["Russian Foreign Minister Sergey Lavrov Photo: AP/Alexander Zemlianichenko"]
    assert article.credit == "© KYODO"
    assert len(article.body) == 8
    assert article.body[0].startswith("Russian Foreign Minister Sergey Lavrov said Monday")
    assert article.body[-1].endswith("while Tokyo's sanctions against Russia remain in place.")


def test_seed_has_one_comment_with_three_lines_and_zero_votes() -> None:
    thread = extract(Source.from_path(EXAMPLE))
    assert thread.announced_comments == 1
    assert thread.is_complete
    [comment] = thread.comments
    assert comment.text == SEED_COMMENT
    assert (comment.votes.score, comment.votes.up, comment.votes.down) == (0, 0, 0)
    assert comment.parent is None and comment.position == 0


def test_seed_leaks_no_page_furniture() -> None:
    thread = extract(Source.from_path(EXAMPLE))
    article = thread.article
    everything = "\n".join(
        [
            article.title or "",
            article.section or "",
            article.dateline or "",
            *article.body,
            *article.captions,
            *(c.text for c in thread.comments),
            *(c.author or "" for c in thread.comments),
        ]
    )
    for word in FURNITURE:
        assert word not in everything, word
    assert "©2023" not in everything
    assert "Photo:" not in "\n".join(article.body)


def test_several_comments_with_negative_scores_keep_order_and_votes() -> None:
    section = (
        "First comment here.\n\n3 ( +5 / -2 )\n\n"
        "Second one, first line.\n\nSecond one, second line.\n\n-4 ( +1 / -5 )\n\n"
        "Third.\n\n0 ( +0 / -0 )\n"
    )
    thread = _extract(_with_comments(section, "3 Comments"))
    assert [c.text for c in thread.comments] == [
        "First comment here.",
        "Second one, first line.\nSecond one, second line.",
        "Third.",
    ]
    assert [(c.votes.score, c.votes.up, c.votes.down) for c in thread.comments] == [(3, 5, 2), (-4, 1, 5), (0, 0, 0)]
    assert [c.position for c in thread.comments] == [0, 1, 2]
    assert thread.announced_comments == 3 and thread.is_complete
    # The article does not change when the comment list does.
    assert len(thread.article.body) == 8 and thread.article.credit == "© KYODO"


def test_no_comments_gives_an_empty_complete_thread() -> None:
    thread = _extract(_with_comments("", "0 Comments").replace("1 Comment\nTOKYO", "0 Comments\nTOKYO"))
    assert thread.comments == []
    assert thread.announced_comments == 0 and thread.is_complete
    assert thread.article.title == "Territorial disputes with Japan over, says Russian foreign minister"


def test_fewer_comments_than_announced_is_marked_incomplete() -> None:
    thread = _extract(_with_comments("Only one shown.\n\n1 ( +1 / -0 )\n", "5 Comments"))
    assert len(thread.comments) == 1
    assert thread.announced_comments == 5
    assert not thread.is_complete
    assert thread.metadata["missing_comments"] == 4


def test_author_and_date_lines_open_a_comment() -> None:
    section = "sakura_fan\nDec. 18 04:15 pm JST\n\nThey will never agree.\n\n2 ( +2 / -0 )\n"
    [comment] = _extract(_with_comments(section, "1 Comment")).comments
    assert comment.author == "sakura_fan"
    assert comment.published_raw == "Dec. 18 04:15 pm JST"
    assert comment.published is not None
    assert comment.published.replace(tzinfo=None) == datetime(2023, 12, 18, 16, 15)
    assert comment.published.utcoffset().total_seconds() == 9 * 3600  # type: ignore[union-attr]
    assert comment.text == "They will never agree."


def test_a_one_line_comment_that_looks_like_nothing_special_keeps_its_text() -> None:
    [comment] = _extract(_with_comments("Dec. 18\n\n1 ( +1 / -0 )\n", "1 Comment")).comments
    assert comment.text == "Dec. 18" and comment.author is None


def test_comment_ids_are_stable_and_distinct() -> None:
    section = "Same text.\n\n0 ( +0 / -0 )\n\nSame text.\n\n0 ( +0 / -0 )\n"
    first = _extract(_with_comments(section, "2 Comments"))
    second = _extract(_with_comments(section, "2 Comments"))
    assert [c.id for c in first.comments] == [c.id for c in second.comments]
    assert len({c.id for c in first.comments}) == 2


def test_a_dump_without_a_comment_counter_is_refused() -> None:
    with pytest.raises(ExtractionError, match="comment counter"):
        extract(Source.from_bytes(b"Just a headline\n\nAnd a paragraph.\n"), "text")
