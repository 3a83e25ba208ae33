"""Format detection and the input errors every extractor shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation import ExtractionError, InputError, Source, extract
from moderation.errors import UnknownFormatError
from moderation.extraction import detect_format, extract_path
from tests.conftest import EXAMPLE


def test_the_seed_is_detected_as_a_text_dump() -> None:
    assert detect_format(Source.from_path(EXAMPLE)) == "text"


def test_thread_json_round_trips_through_the_json_format() -> None:
    thread = extract_path(EXAMPLE)
    again = extract(Source.from_bytes(thread.model_dump_json().encode()))
    assert again == thread


def test_json_that_is_not_a_thread_names_the_problem() -> None:
    with pytest.raises(ExtractionError, match=r"article"):
        extract(Source.from_bytes(b'{"comments": []}'), "json")
    with pytest.raises(ExtractionError, match="invalid JSON at line 1"):
        extract(Source.from_bytes(b'{"article": '), "json")


def test_empty_input_is_refused() -> None:
    with pytest.raises(UnknownFormatError, match="empty"):
        extract(Source.from_bytes(b"  \n"))


def test_unrecognised_text_asks_for_a_format() -> None:
    with pytest.raises(UnknownFormatError, match="--format"):
        extract(Source.from_bytes(b"hello there, nothing to see"))


def test_unknown_format_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownFormatError, match="text"):
        extract(Source.from_path(EXAMPLE), "pdf")


def test_binary_input_is_refused_clearly() -> None:
    with pytest.raises(ExtractionError, match="binary"):
        extract(Source.from_bytes(b"1 Comment\x00\x00\x01"), "text")


def test_a_utf8_byte_order_mark_is_dropped() -> None:
    data = b"\xef\xbb\xbf" + EXAMPLE.read_bytes()
    assert extract(Source.from_bytes(data)).article.title == extract_path(EXAMPLE).article.title


def test_files_over_the_size_cap_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(InputError, match="over the 1,024-byte limit"):
        Source.from_path(big, max_bytes=1024)


def test_missing_files_and_folders_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        Source.from_path(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="folder"):
        Source.from_path(tmp_path)
