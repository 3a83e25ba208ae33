"""Path and query parameters several routes share, each defined once; the bounds on ids are the database's
(:data:`moderation.storage.limits.INT32`), so no client number overflows an integer column."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from moderation.storage.limits import INT32
from moderation.thread import LANGUAGE_CODE

#: A stored thread's or comment's id.
Id = Annotated[int, Path(ge=1, le=INT32)]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page; leave out for the first.")
]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
ThreadFilter = Annotated[int | None, Query(ge=1, le=INT32, description="Only this thread's comments.")]

#: The ``language`` filter of comment listings: a stored language code, or ``und`` for comments without one.
LanguageFilter = Annotated[
    str | None,
    Query(
        pattern=LANGUAGE_CODE,
        description="Only comments in this language: a lower-case ISO 639-1 code (`en`, `de`, ...), or `und` for "
        "comments without one (too little text to tell, or stored before languages were detected).",
        examples=["de"],
    ),
]
