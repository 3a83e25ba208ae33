"""Decoding pages whose charset is declared wrongly or not at all."""

from __future__ import annotations

import pytest

from moderation import ExtractionError
from moderation.extraction.encoding import declared_charset, decode

GERMAN = "Leserkommentare: Größere Übermüdung, schöne Grüße aus Köln und München! " * 4


def test_utf8_wins_over_a_wrongly_declared_single_byte_charset() -> None:
    page = f'<html><head><meta charset="iso-8859-1"></head><body>{GERMAN}</body></html>'
    assert GERMAN in decode(page.encode("utf-8"), name="page")


def test_a_declared_charset_is_used_when_the_bytes_are_not_utf8() -> None:
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>{GERMAN}'
    assert GERMAN in decode(page.encode("cp1252"), name="page")


def test_the_http_header_charset_counts_before_detection() -> None:
    assert decode("café crème".encode("latin-1"), name="page", http_charset="ISO-8859-1") == "café crème"


def test_undeclared_latin1_is_detected() -> None:
    assert GERMAN in decode(GERMAN.encode("cp1252"), name="page")


def test_utf16_with_a_byte_order_mark_is_read() -> None:
    assert decode("\ufeffKommentare".encode("utf-16-le"), name="page") == "Kommentare"
    assert decode(b"\xff\xfe" + "Kommentare".encode("utf-16-le"), name="page") == "Kommentare"


def test_binary_data_is_refused() -> None:
    with pytest.raises(ExtractionError, match="binary"):
        decode(bytes(range(256)) * 4, name="image.png")


def test_xml_declarations_and_unknown_names() -> None:
    assert declared_charset(b'<?xml version="1.0" encoding="UTF-8"?><rss/>') == "utf-8"
    assert declared_charset(b'<meta charset="no-such-charset">') is None
