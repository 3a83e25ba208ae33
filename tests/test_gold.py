"""The one-to-one matching rule shared by the extraction benchmark and the gold tests."""

from __future__ import annotations

from moderation.extraction.gold import match_texts, normalise


def test_whitespace_is_normalised_before_comparing() -> None:
    assert normalise("  a\n\n b\tc ") == "a b c" and normalise(None) == ""
    assert match_texts(["a  b"], ["a\nb"]) == {0: 0}


def test_exact_matches_pair_first_and_each_prediction_is_used_once() -> None:
    gold = ["the same words here", "the same words here"]
    assert match_texts(gold, ["the same words here"]) == {0: 0}
    assert match_texts(gold, ["the same words here", "the same words here"]) == {0: 0, 1: 1}


def test_near_copies_match_at_ninety_percent_and_others_do_not() -> None:
    gold = ["This comment is long enough to differ by one character."]
    assert match_texts(gold, ["This comment is long enough to differ by one character!"]) == {0: 0}
    assert match_texts(gold, ["Something else entirely."]) == {}
