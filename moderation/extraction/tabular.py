"""Our own flat formats, one comment per row: CSV (``csv``) and JSON Lines (``jsonl``).

Both share one schema (``docs/formats.md``): a required ``text`` column and optional ``id``,
``parent``, ``author``, ``published``, ``votes_up``, ``votes_down``, ``votes_score``, ``thread``,
``article_url``, ``article_title`` and ``article_published``. Rows are grouped into threads by
``thread``, else ``article_url``, else ``article_title``, in order of first appearance; other
columns are ignored and listed in the thread's metadata. This is how a newsroom brings comments
out of a CMS database or a spreadsheet without writing our thread JSON.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, ClassVar

from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.extraction.exports import Record, build_thread, export_datetime
from moderation.thread import Article, Thread, Votes

COLUMNS = frozenset(
    "thread article_url article_title article_published id parent author published "
    "votes_up votes_down votes_score text".split()
)
_NOT_ROWS = frozenset({"article", "children", "kind"})  # keys of thread JSON and platform exports
_SNIFF_BYTES = 65536

Row = dict[str, str]
"""One row: column -> non-blank cell text."""


def _votes(source: Source, line: int, row: Row) -> Votes:
    counts: dict[str, int | None] = {}
    for field in ("up", "down", "score"):
        cell = row.get(f"votes_{field}")
        try:
            counts[field] = int(cell) if cell is not None else None
        except ValueError as exc:
            raise ExtractionError(f"{source.name}: line {line}: votes_{field} {cell!r} is not a whole number") from exc
    return Votes(**counts)


def _record(source: Source, line: int, row: Row) -> Record:
    if "text" not in row:
        raise ExtractionError(f"{source.name}: line {line} has no text")
    published_raw = row.get("published")
    return Record(
        source_id=row.get("id"),
        text=row["text"],
        author=row.get("author"),
        published_raw=published_raw,
        published=export_datetime(published_raw),
        votes=_votes(source, line, row),
        parent_source_id=row.get("parent"),
    )


def rows_to_threads(source: Source, format_name: str, rows: list[tuple[int, Row]]) -> list[Thread]:
    """Group numbered rows into threads (see the module docstring) and build each one."""
    if not rows:
        raise ExtractionError(f"{source.name}: no comment rows")
    groups: dict[str, list[tuple[int, Row]]] = {}
    for line, row in rows:
        key = row.get("thread") or row.get("article_url") or row.get("article_title") or ""
        groups.setdefault(key, []).append((line, row))
    ignored = sorted({column for _, row in rows for column in row} - COLUMNS)
    threads = []
    for key, group in groups.items():
        # The first non-blank value of each column in the group (earlier rows overwrite later ones).
        first = {column: value for _, row in reversed(group) for column, value in row.items()}
        published_raw = first.get("article_published")
        article = Article(
            url=first.get("article_url"),
            title=first.get("article_title"),
            published=export_datetime(published_raw),
            published_raw=published_raw,
        )
        records = [_record(source, line, row) for line, row in group]
        metadata: dict[str, Any] = {"thread_id": key or None}
        if ignored:
            metadata["ignored_columns"] = ignored
        threads.append(build_thread(source, format_name, article, records, metadata=metadata))
    return threads


class CsvExtractor:
    name: ClassVar[str] = "csv"
    description: ClassVar[str] = "comments as CSV, one per row, with a header (schema: docs/formats.md)"

    def sniff(self, source: Source) -> float:
        head = source.head(_SNIFF_BYTES).lstrip()
        if not head or head[0] in "<{[":
            return 0.0
        try:
            header = {cell.strip() for cell in next(csv.reader([head.splitlines()[0]]))}
        except (csv.Error, StopIteration):
            return 0.0
        return 0.9 if "text" in header and len(header & COLUMNS) >= 2 else 0.0

    def threads(self, source: Source) -> list[Thread]:
        reader = csv.reader(io.StringIO(source.text(), newline=""), strict=True)
        rows: list[tuple[int, Row]] = []
        try:
            header = [cell.strip() for cell in next(reader, [])]
            if "text" not in header:
                raise ExtractionError(f"{source.name}: the CSV header has no 'text' column (header: {header})")
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    raise ExtractionError(
                        f"{source.name}: line {reader.line_num} has {len(cells)} cells, the header "
                        f"{len(header)} (a truncated file or an unquoted comma?)"
                    )
                row = {column: cell.strip() for column, cell in zip(header, cells, strict=True) if cell.strip()}
                rows.append((reader.line_num, row))
        except csv.Error as exc:
            raise ExtractionError(f"{source.name}: malformed CSV at line {reader.line_num}: {exc}") from exc
        return rows_to_threads(source, self.name, rows)


def _cell(source: Source, line: int, key: str, value: Any) -> str | None:
    """A JSON value as cell text: numbers as written, null as a blank cell; values of columns
    outside the schema are kept as JSON only so that they can be listed as ignored."""
    if value is None:
        return None
    if key not in COLUMNS:
        return json.dumps(value)
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise ExtractionError(f"{source.name}: line {line}: {key!r} must be a string, a number or null")


class JsonlExtractor:
    name: ClassVar[str] = "jsonl"
    description: ClassVar[str] = "comments as JSON Lines, one object per line (same schema as csv: docs/formats.md)"

    def sniff(self, source: Source) -> float:
        head = source.head(_SNIFF_BYTES).lstrip()
        if not head.startswith("{") or ("\n" not in head and len(source.data) > _SNIFF_BYTES):
            return 0.0
        try:
            first = json.loads(head.split("\n", 1)[0])
        except (ValueError, RecursionError):
            return 0.0
        if not isinstance(first, dict) or "text" not in first or _NOT_ROWS & first.keys():
            return 0.0
        return 0.9

    def threads(self, source: Source) -> list[Thread]:
        rows: list[tuple[int, Row]] = []
        for line, text in enumerate(source.text().splitlines(), start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ExtractionError(f"{source.name}: line {line} is not JSON ({exc.msg}); truncated?") from exc
            except RecursionError as exc:
                raise ExtractionError(f"{source.name}: line {line} is nested too deeply") from exc
            if not isinstance(value, dict):
                raise ExtractionError(f"{source.name}: line {line} is not a JSON object")
            cells = {key: _cell(source, line, key, item) for key, item in value.items()}
            rows.append((line, {key: cell for key, cell in cells.items() if cell is not None}))
        return rows_to_threads(source, self.name, rows)
