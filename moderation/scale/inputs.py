"""The input side of a corpus run: find the inputs, plan which need scoring, validate every row and cut
each input into chunks before anything is written, then read a chunk's rows back (here or in a Ray task)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from moderation.errors import InputError
from moderation.scale.outputs import _output_metadata, _Pending

INPUT_SUFFIXES = (".jsonl", ".parquet")


@dataclass(frozen=True)
class _Chunk:
    """``rows`` rows of input ``file`` from row number ``first`` (counted from 1; JSONL: the line number,
    blank lines skipped). ``offset``: the byte the first row starts at (JSONL), or the row group (Parquet)."""

    file: int
    path: str
    first: int
    rows: int
    offset: int


def find_inputs(source: Path) -> list[Path]:
    """The ``*.jsonl`` and ``*.parquet`` files of a folder (not its subfolders), by name; or the one file."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix in INPUT_SUFFIXES and not p.name.startswith("."))
        if not files:
            raise InputError(f"{source} holds no {' or '.join('*' + s for s in INPUT_SUFFIXES)} files")
        return files
    if not source.is_file():
        raise InputError(f"cannot read {source}: no such file or folder")
    if source.suffix not in INPUT_SUFFIXES:
        raise InputError(f"{source}: corpus inputs are {' or '.join(INPUT_SUFFIXES)} files")
    return [source]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _plan(
    inputs: Sequence[Path], outputs: Sequence[Path], force: bool, model_name: Callable[[], str]
) -> tuple[list[_Pending], list[Path]]:
    """Inputs to score, and outputs already complete: same input bytes, same model (an empty one: any)."""
    pending, skipped = [], []
    for source, output in zip(inputs, outputs, strict=True):
        sha = _sha256(source)
        done = None if force else _output_metadata(output)
        if done and done.get("input_sha256") == sha and (done.get("rows") == 0 or done.get("model") == model_name()):
            skipped.append(output)
        else:
            pending.append(_Pending(source, output, sha))
    return pending, skipped


def _index(file: int, path: Path, chunk_rows: int) -> list[_Chunk]:
    """Validate every row of one input and cut it into chunks; nothing is written before this passes."""
    return _index_parquet(file, path) if path.suffix == ".parquet" else _index_jsonl(file, path, chunk_rows)


def _check_row(path: Path, number: int, row: Any) -> None:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise InputError(f"{path}:{number}: each row needs a string field 'text'")
    if row.get("target") is not None and not isinstance(row["target"], str):
        raise InputError(f"{path}:{number}: 'target' must be a string when given")
    if "id" in row and (isinstance(row["id"], bool) or not isinstance(row["id"], (str, int))):
        raise InputError(f"{path}:{number}: 'id' must be a string or an integer when given")


def _index_jsonl(file: int, path: Path, chunk_rows: int) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    start = first = rows = 0
    position = 0
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        _check_row(path, number, json.loads(line))
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise InputError(f"{path}:{number}: not JSON ({exc})") from exc
                    if rows == 0:
                        start, first = position, number
                    rows += 1
                    if rows == chunk_rows:
                        chunks.append(_Chunk(file, str(path), first, rows, start))
                        rows = 0
                position += len(line)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return [*chunks, _Chunk(file, str(path), first, rows, start)] if rows else chunks


def _index_parquet(file: int, path: Path) -> list[_Chunk]:
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from exc
    schema = parquet.schema_arrow
    if "text" not in schema.names:
        raise InputError(f"{path}: no 'text' column")
    for name in ("text", "target", "id"):
        kind = schema.field(name).type if name in schema.names else pa.null()
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
        if not text and not (name == "id" and pa.types.is_integer(kind)):
            raise InputError(f"{path}: column {name!r} is {kind}, not text")
    chunks, first = [], 1
    for group in range(parquet.num_row_groups):
        texts = parquet.read_row_group(group, columns=["text"]).column("text")
        if texts.null_count:
            missing = texts.is_null().to_pylist().index(True)
            raise InputError(f"{path}:{first + missing}: each row needs a string field 'text'")
        chunks.append(_Chunk(file, str(path), first, len(texts), group))
        first += len(texts)
    return [c for c in chunks if c.rows]


def _read_chunk(chunk: _Chunk) -> pa.Table:
    """The chunk's rows as ``_file, id, text, target`` (ids as text; default ``<file stem>:<row number>``)."""
    path = Path(chunk.path)
    rows = _parquet_rows(path, chunk) if path.suffix == ".parquet" else _jsonl_rows(path, chunk)
    ids = [str(row["id"]) if row.get("id") is not None else f"{path.stem}:{n}" for n, row in rows]
    return pa.table(
        {
            "_file": pa.array([chunk.file] * len(rows), pa.int32()),
            "id": pa.array(ids, pa.string()),
            "text": pa.array([row["text"] for _, row in rows], pa.string()),
            "target": pa.array([row.get("target") for _, row in rows], pa.string()),
        }
    )


def _jsonl_rows(path: Path, chunk: _Chunk) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    with path.open("rb") as handle:
        handle.seek(chunk.offset)
        for number, line in enumerate(handle, start=chunk.first):
            if line.strip():
                rows.append((number, json.loads(line)))
                if len(rows) == chunk.rows:
                    break
    return rows


def _parquet_rows(path: Path, chunk: _Chunk) -> list[tuple[int, dict[str, Any]]]:
    parquet = pq.ParquetFile(path)
    columns = [name for name in ("id", "text", "target") if name in parquet.schema_arrow.names]
    return list(enumerate(parquet.read_row_group(chunk.offset, columns=columns).to_pylist(), start=chunk.first))


def _read_chunks(batch: pa.Table) -> pa.Table:
    """Ray Data's read step: chunk descriptors in, their rows out."""
    return pa.concat_tables([_read_chunk(_Chunk(**row)) for row in batch.to_pylist()])
