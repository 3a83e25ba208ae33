"""Sentence spans: the units of per-sentence span scores."""

from __future__ import annotations

from moderation.models.sentences import sentence_spans


def _pieces(text: str) -> list[str]:
    return [text[begin:end] for begin, end in sentence_spans(text)]


def test_sentences_end_at_terminal_punctuation_and_line_breaks() -> None:
    text = 'You are wrong. I said "no!" Really?\nSecond line… ok'
    assert _pieces(text) == ["You are wrong.", 'I said "no!"', "Really?", "Second line…", "ok"]


def test_offsets_point_into_the_original_text_with_whitespace_trimmed() -> None:
    text = "  First one.   Second one  \n\n"
    spans = sentence_spans(text)
    assert spans == [(2, 12), (15, 25)]


def test_blank_text_has_no_sentences() -> None:
    assert sentence_spans("") == [] and sentence_spans(" \n ") == []
