"""What the database can hold, checked before anything is scored or written.

SQLite stores nearly anything; PostgreSQL refuses NUL characters in text, strings longer than their
``VARCHAR``, integers outside its column types and invalid Unicode, and would fail mid-transaction. Both
databases get the same refusals, up front, each naming where the value is: :func:`unstorable` lists
them for a thread, :func:`check_threads` and :func:`check_text` raise them as an :class:`InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import timezone
from typing import Any

from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from moderation.errors import InputError
from moderation.storage.tables import CommentRow, ThreadRow
from moderation.thread import Thread

__all__ = [
    "INT32",
    "MAX_THREAD_COMMENTS",
    "PART_COMMENTS",
    "Location",
    "check_text",
    "check_threads",
    "column_length",
    "unstorable",
]

#: PostgreSQL's ``integer`` columns (ids, positions, votes, counts).
INT32 = 2**31 - 1
_INT64 = 2**63 - 1
#: The most comments one stored thread may hold, whatever each import adds.
MAX_THREAD_COMMENTS = 50_000
#: The most comments written in one transaction (``pipeline.store_all``): a larger import is stored in parts,
#: and SQLite's one write lock is held for about a second at a time, not for the whole import.
PART_COMMENTS = 1000
_NUL = "contains a NUL character (U+0000), which the database cannot store"

#: Where a value is inside a thread, as pydantic names locations: ``("comments", 3, "votes", "up")``.
Location = tuple[str | int, ...]


def column_length(column: InstrumentedAttribute[Any]) -> int:
    """The most characters a ``String`` column holds."""
    kind = column.type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


def _bad_value(value: Any, where: Location) -> Iterator[tuple[Location, str]]:
    """Every string, number, key and item the thread holds (its JSON columns too), walked whole."""
    if isinstance(value, str):
        if "\x00" in value:
            yield where, _NUL
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                yield where, "contains an unpaired surrogate; send valid Unicode"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -_INT64 - 1 <= value <= _INT64:
            yield where, "is out of range: an integer beyond 64 bits"
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield where, "is not a finite number"
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            yield from _bad_value(getattr(value, field), (*where, field))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bad_value(key, (*where, "<key>"))
            yield from _bad_value(item, (*where, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _bad_value(item, (*where, index))


def _too_long(value: str | None, column: InstrumentedAttribute[Any], where: Location) -> Iterator[tuple[Location, str]]:
    limit = column_length(column)
    if value is not None and len(value) > limit:
        yield where, f"has {len(value):,} characters; the database holds at most {limit:,}"


def _out_of_range(value: int | None, where: Location) -> Iterator[tuple[Location, str]]:
    if value is not None and not -INT32 - 1 <= value <= INT32:
        yield where, f"is out of range: the database holds integers from {-INT32 - 1:,} to {INT32:,}"


def _key_field(thread: Thread) -> Location:
    """Which field the thread's key comes from (:meth:`Thread.key`)."""
    if thread.article.url:
        return ("article", "url")
    if thread.metadata.get("thread_id"):
        return ("metadata", "thread_id")
    return ("article", "title")


def unstorable(thread: Thread) -> list[tuple[Location, str]]:
    """Every value of ``thread`` the database would refuse (or that PostgreSQL would), with its location."""
    problems = list(_bad_value(thread, ()))
    if problems:  # lengths and ranges below assume clean strings and 64-bit integers
        return problems
    problems += _too_long(thread.source_format, ThreadRow.source_format, ("source_format",))
    problems += _too_long(thread.article.url, ThreadRow.url, ("article", "url"))
    if not thread.article.url:
        problems += _too_long(thread.key(), ThreadRow.key, _key_field(thread))
    problems += _out_of_range(thread.announced_comments, ("announced_comments",))
    for index, comment in enumerate(thread.comments):
        where: Location = ("comments", index)
        problems += _too_long(comment.id, CommentRow.source_id, (*where, "id"))
        problems += _too_long(comment.parent, CommentRow.parent, (*where, "parent"))
        problems += _too_long(comment.parent_source_id, CommentRow.parent_source_id, (*where, "parent_source_id"))
        problems += _out_of_range(comment.position, (*where, "position"))
        for name in ("up", "down", "score"):
            problems += _out_of_range(getattr(comment.votes, name), (*where, "votes", name))
        if comment.published is not None and comment.published.tzinfo is not None:
            try:
                comment.published.astimezone(timezone.utc)
            except OverflowError:
                problems.append(((*where, "published"), "is out of range"))
    return problems


def _dotted(where: Location) -> str:
    return ".".join(str(part) for part in where)


def check_threads(threads: Sequence[Thread]) -> None:
    """Raise an :class:`InputError` naming the first values (up to five) the database cannot hold."""
    found = [
        ((index, *where) if len(threads) > 1 else where, message)
        for index, thread in enumerate(threads)
        for where, message in unstorable(thread)
    ]
    if found:
        raise InputError("; ".join(f"{_dotted(where)} {message}" for where, message in found[:5]))


def check_text(value: str | None, field: str, *, max_length: int | None = None) -> None:
    """Raise an :class:`InputError` naming ``field`` when the database cannot hold (or query by) ``value``."""
    if value is None:
        return
    problems = list(_bad_value(value, (field,)))
    if max_length is not None and len(value) > max_length:
        problems.append(((field,), f"has {len(value):,} characters; the database holds at most {max_length:,}"))
    if problems:
        raise InputError("; ".join(f"{_dotted(where)} {message}" for where, message in problems))
