"""Keyset pagination: a page of rows and an opaque cursor that resumes after its last row.

A cursor is the sort key of the last row returned, tagged with the listing it belongs to, as
URL-safe base64 of JSON. It is stable under inserts (no OFFSET) and means nothing to clients;
one from another listing, or tampered with, is an :class:`~moderation.errors.InputError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from moderation.errors import InputError
from moderation.storage.limits import INT32

T = TypeVar("T")

#: The most rows one page may hold.
MAX_LIMIT = 1000

Key = tuple[float | int | str, ...]


@dataclass(frozen=True)
class Page(Generic[T]):
    """Rows in listing order, and the cursor of the next page (None on the last one)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(listing: str, key: Key) -> str:
    raw = json.dumps([listing, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str, kinds: tuple[type, ...]) -> Key:
    """The sort key in ``cursor``, checked against the listing and the types of its parts."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        data = None
    if (
        not isinstance(data, list)
        or len(data) != len(kinds) + 1
        or data[0] != listing
        or not all(_is(value, kind) for value, kind in zip(data[1:], kinds, strict=True))
    ):
        raise InputError(f"invalid cursor for {listing}")
    return tuple(float(v) if kind is float else v for v, kind in zip(data[1:], kinds, strict=True))


def _is(value: object, kind: type) -> bool:
    """Of ``kind`` and within what the database compares: an id or position fits its integer column, a
    risk is a finite number (an edited cursor must be a 422, not a database error)."""
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float) and abs(value) <= INT32 and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and abs(value) <= INT32
    return isinstance(value, kind)


def page_of(rows: list[T], limit: int, listing: str, key: Callable[[T], Key]) -> Page[T]:
    """The first ``limit`` rows of ``rows`` (fetched with one extra, to know whether more follow)."""
    if len(rows) <= limit:
        return Page(rows, None)
    return Page(rows[:limit], encode_cursor(listing, key(rows[limit - 1])))


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit
