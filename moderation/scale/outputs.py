"""The output side of a corpus run: the schema, the metadata that lets a rerun skip a finished output, and
the writer that renames each output into place only when complete. Imports no sibling, so the planner
(:mod:`.inputs`) and the runners can both read from it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from moderation.scores import ATTRIBUTES, TASK_LABELS

#: Parquet key-value metadata of every output: which input (by digest) and which model made it.
METADATA_KEY = b"moderation.scale"
#: Called with (rows done, rows in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Pending:
    """An input to score, the output it goes to, and the input's digest for that output's metadata."""

    source: Path
    output: Path
    sha256: str


def output_schema(*, keep_text: bool = False) -> pa.Schema:
    """Columns of every output: probabilities of each label and Perspective attribute, and the model."""
    fields = [pa.field("id", pa.string(), nullable=False), pa.field("target", pa.string())]
    fields += [pa.field("text", pa.string())] if keep_text else []
    for task in ("sentiment", "stance"):
        fields.append(pa.field(task, pa.string()))
        fields += [pa.field(f"{task}_{label}", pa.float64()) for label in TASK_LABELS[task]]
    fields += [pa.field(name, pa.float64()) for name in ATTRIBUTES]
    return pa.schema([*fields, pa.field("model", pa.string(), nullable=False)])


def _output_metadata(path: Path) -> dict[str, Any] | None:
    """What the output at ``path`` was made from, with its row count; None when there is none to trust."""
    try:
        stored = pq.read_metadata(path)
        return {**json.loads((stored.metadata or {})[METADATA_KEY]), "rows": stored.num_rows}
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


def _by_file(table: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """Runs of rows from the same input, in order."""
    files = table.column("_file").to_pylist()
    start = 0
    for end in range(1, len(files) + 1):
        if end == len(files) or files[end] != files[start]:
            yield files[start], table.slice(start, end - start)
            start = end


class _Output:
    """One output, written to a hidden ``.partial`` file beside it and renamed into place when complete."""

    def __init__(self, item: _Pending, schema: pa.Schema) -> None:
        self.item, self.schema = item, schema
        self.writer: pq.ParquetWriter | None = None
        self.partial = item.output.with_name(f".{item.output.name}.partial")

    def _metadata(self, model: str | None) -> dict[bytes, bytes]:
        about = {"input": self.item.source.name, "input_sha256": self.item.sha256, "model": model}
        return {METADATA_KEY: json.dumps(about).encode()}

    def write(self, rows: pa.Table) -> None:
        if self.writer is None:
            schema = self.schema.with_metadata(self._metadata(rows.column("model")[0].as_py()))
            self.writer = pq.ParquetWriter(self.partial, schema)
        self.writer.write_table(rows.select(self.schema.names))

    def close(self) -> None:
        if self.writer is None:  # an input without rows: an empty output, so the rerun skips it
            pq.write_table(self.schema.with_metadata(self._metadata(None)).empty_table(), self.partial)
        else:
            self.writer.close()
        self.partial.replace(self.item.output)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.partial.unlink(missing_ok=True)


def _write_outputs(
    pending: Sequence[_Pending], tables: Iterable[pa.Table], total: int, keep_text: bool, progress: Progress | None
) -> int:
    """Route scored rows (in input order) to their outputs; close each when the next input's rows begin."""
    outputs = [_Output(item, output_schema(keep_text=keep_text)) for item in pending]
    current = rows = 0
    try:
        for table in tables:
            for file, part in _by_file(table):
                if file < current:
                    raise RuntimeError(f"rows of {pending[file].source} came back after later inputs")
                for output in outputs[current:file]:
                    output.close()
                current = file
                outputs[file].write(part)
                rows += part.num_rows
            if progress is not None:
                progress(rows, total)
        for output in outputs[current:]:
            output.close()
    except BaseException:
        for output in outputs[current:]:
            output.discard()
        raise
    return rows
