"""Bytes to text for pages whose charset is declared wrongly, or not at all.

Order of evidence: a byte-order mark; valid UTF-8 (multi-byte UTF-8 is almost never valid by
accident, so it beats a declared single-byte charset, the commonest wrong declaration); the
declared charset (HTTP header, then ``<meta>`` or the XML declaration); then detection.
"""

from __future__ import annotations

import codecs
import re

from moderation.errors import ExtractionError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Linear in the sniffed bytes: a tag is scanned up to the next "<" (``[^>]+`` ran to the end from every
# "<meta"), and the quote holds its own spaces (``\s*["']?\s*`` split each run of spaces every way: 1 s on 8 KiB).
_DECLARED = re.compile(
    rb"""<meta[^<>]+charset\s*=\s*(?:["']\s*)?([A-Za-z0-9._:\-]+)|<\?xml[^<>]+encoding\s*=\s*["']([A-Za-z0-9._:\-]+)""",
    re.IGNORECASE,
)
_SNIFF_BYTES = 8192
# Control characters other than tab, newline, carriage return and form feed: text has almost none.
_CONTROL = bytes(range(0, 9)) + bytes([11]) + bytes(range(14, 32))


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first bytes (``<meta charset>`` or ``<?xml encoding>``)."""
    match = _DECLARED.search(data[:_SNIFF_BYTES])
    if not match:
        return None
    name = (match.group(1) or match.group(2)).decode("ascii")
    return _known(name)


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text in any single- or multi-byte charset we read."""
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return True
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    return controls > max(8, len(head) // 100)


def decode(data: bytes, *, name: str, http_charset: str | None = None) -> str:
    """Decode ``data`` by the order of evidence above, or raise ExtractionError naming the problem."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ExtractionError(f"{name}: invalid {encoding} after its byte-order mark") from exc
    if looks_binary(data):
        raise ExtractionError(f"{name} looks binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for declared in (_known(http_charset), declared_charset(data)):
        if declared and declared != "utf-8":
            try:
                return data.decode(declared)
            except UnicodeDecodeError:
                continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ExtractionError(f"{name}: not UTF-8 and no character encoding could be detected")
    return str(best)
