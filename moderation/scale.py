"""Corpus-scale scoring: folders of comments in, one Parquet file of scores per input file out.

Two engines run the same steps. ``local`` scores in this process, chunk by chunk; ``ray`` spreads
the chunks over a pool of Ray actors (Ray Data ``map_batches``), each loading the model once, on
this machine or a cluster (docs/scale.md). Either way the driver validates every pending input
first (a bad row is an :class:`InputError` naming file and line before anything is written),
then writes each output under a temporary name and renames it into place when complete, with
the input's digest and the model's name in its Parquet metadata, so a rerun skips finished
files and redoes the rest. :func:`analyze_corpus` does the same for thread sources, storing
each thread with the policy's decisions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from moderation.errors import InputError
from moderation.models.labels import ATTRIBUTES, TASK_LABELS
from moderation.models.scorer import CommentScores, Scorer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from moderation.pipeline import Analysis
    from moderation.policy import Policy
    from moderation.thread import Thread

__all__ = [
    "ENGINES",
    "CorpusAnalysis",
    "CorpusOptions",
    "CorpusResult",
    "ScorerSpec",
    "analyze_corpus",
    "find_inputs",
    "output_schema",
    "score_corpus",
]

ENGINES = ("local", "ray")
INPUT_SUFFIXES = (".jsonl", ".parquet")
#: Parquet key-value metadata of every output: which input (by digest) and which model made it.
METADATA_KEY = b"moderation.scale"
#: Ray actors started by default: one per CPU (or GPU) the cluster reports, at most this many.
MAX_DEFAULT_ACTORS = 16
#: Called with (rows done, rows in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScorerSpec:
    """How to load the model, picklable: each Ray actor loads its own copy from it.

    ``mode`` is forwarded to ``Scorer.load`` only when given, so the model's own default holds.
    """

    encoder: str | None = None
    heads: str | Path | None = None
    models_config: str | Path | None = None
    device: str = "cpu"
    mode: str | None = None

    def __post_init__(self) -> None:
        if self.models_config is not None and (self.encoder or self.heads):
            raise InputError("--models-config names its own encoder and heads; drop --encoder/--heads")

    @property
    def gpu(self) -> bool:
        return self.device.startswith("cuda")

    def load(self) -> Scorer:
        if self.models_config is not None:
            return Scorer.from_config(self.models_config, device=self.device)
        extra = {"mode": self.mode} if self.mode is not None else {}
        return Scorer.load(self.encoder, heads=self.heads, device=self.device, **extra)


@dataclass(frozen=True)
class CorpusOptions:
    """Everything about a corpus run but the input, the output folder and the model."""

    batch_size: int = 32
    #: Rows read and scored together: the unit of memory and of Ray's work (Parquet: one row group).
    chunk_rows: int = 512
    keep_text: bool = False
    force: bool = False
    #: Ray actors (default: one per CPU, or per GPU for cuda, that the cluster reports).
    actors: int | None = None
    #: Ray cluster to join (``ray start``'s address); None starts a local Ray for the run.
    address: str | None = None
    #: CPUs of that local Ray (default: all).
    num_cpus: int | None = None


@dataclass(frozen=True)
class CorpusResult:
    """Outputs written by this run and outputs left as they were (complete, same input and model)."""

    written: list[Path]
    skipped: list[Path]
    rows: int


@dataclass(frozen=True)
class CorpusAnalysis:
    """Threads stored by this run (in source order) and the keys of those already stored unchanged."""

    stored: list[Analysis]
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Chunk:
    """``rows`` rows of input ``file`` from row number ``first`` (counted from 1; JSONL: the line number,
    blank lines skipped). ``offset``: the byte the first row starts at (JSONL), or the row group (Parquet)."""

    file: int
    path: str
    first: int
    rows: int
    offset: int


@dataclass(frozen=True)
class _Pending:
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


def score_corpus(
    source: Path,
    out_dir: Path,
    model: ScorerSpec | Scorer,
    *,
    engine: str = "local",
    options: CorpusOptions | None = None,
    progress: Progress | None = None,
) -> CorpusResult:
    """Score every row of ``source`` (a file or folder) into ``out_dir/<input stem>.parquet``.

    ``model`` is a loaded :class:`Scorer` (local engine only) or a :class:`ScorerSpec`.
    """
    options = options or CorpusOptions()
    inputs = find_inputs(source)
    outputs = [out_dir / f"{path.stem}.parquet" for path in inputs]
    if len(set(outputs)) < len(outputs):
        raise InputError(f"two inputs in {source} share a name; each needs its own <name>.parquet")
    if source.is_dir() and out_dir.resolve() == source.resolve():
        raise InputError("--out must not be the input folder: the outputs would be read as inputs next time")
    out_dir.mkdir(parents=True, exist_ok=True)
    with _engine(engine, model, options) as runner:
        pending, skipped = _plan(inputs, outputs, options.force, runner.model_name)
        chunks = [c for i, item in enumerate(pending) for c in _index(i, item.source, options.chunk_rows)]
        scored = runner.score_chunks(chunks)
        rows = _write_outputs(pending, scored, sum(c.rows for c in chunks), options.keep_text, progress)
    return CorpusResult([item.output for item in pending], skipped, rows)


def analyze_corpus(
    source: Path,
    model: ScorerSpec | Scorer,
    database: Engine,
    *,
    engine: str = "ray",
    format: str | None = None,
    policy: Policy | None = None,
    options: CorpusOptions | None = None,
) -> CorpusAnalysis:
    """Extract every thread of ``source`` (a file or a folder of files in any extraction format) here,
    score their comments on ``engine``, then store each thread with the policy's decisions in its own
    transaction. A thread stored unchanged earlier, with this model's scores and this policy's
    decisions, is skipped."""
    from moderation.extraction import Source, extract_all
    from moderation.policy import Policy
    from moderation.storage import transaction

    options = options or CorpusOptions()
    policy = policy or Policy.default()
    paths = [source]
    if source.is_dir():
        paths = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    threads = [thread for path in paths for thread in extract_all(Source.from_path(path), format)]
    with _engine(engine, model, options) as runner:
        with transaction(database) as session:
            skipped = [t.key() for t in threads if _stored_unchanged(session, t, runner.model_name, policy)]
        pending = [t for t in threads if t.key() not in skipped]
        scored = runner.score_tables(_comment_rows(pending, options.chunk_rows))
        stored = _store_threads(pending, scored, database, policy, runner.model_name)
    return CorpusAnalysis(stored, skipped)


# --- planning and reading -------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _output_metadata(path: Path) -> dict[str, Any] | None:
    """What the output at ``path`` was made from, with its row count; None when there is none to trust."""
    try:
        stored = pq.read_metadata(path)
        return {**json.loads((stored.metadata or {})[METADATA_KEY]), "rows": stored.num_rows}
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


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


# --- scoring ----------------------------------------------------------------------------------

_SCORED = pa.schema([pa.field("_file", pa.int32()), *output_schema(keep_text=True)])
_DETAIL = pa.schema([pa.field("_file", pa.int32()), pa.field("id", pa.string()), pa.field("scores", pa.string())])


def _score_rows(scorer: Scorer, rows: pa.Table, batch_size: int, detail: bool) -> pa.Table:
    """Score a table of rows with the in-process ``Scorer.predict``, the one path both engines take.
    ``detail``: each row's whole :class:`CommentScores` as JSON (to store threads) instead of columns."""
    texts, targets = rows.column("text").to_pylist(), rows.column("target").to_pylist()
    scores = scorer.predict(texts, targets, batch_size=batch_size)
    model = pa.array([scorer.name] * len(scores), pa.string())
    if detail:
        values = [s.model_dump_json() for s in scores]
        return pa.table([rows.column("_file"), rows.column("id"), values], schema=_DETAIL).append_column("model", model)
    columns: dict[str, Any] = {name: rows.column(name) for name in ("_file", "id", "target", "text")}
    for task in ("sentiment", "stance"):
        heads = [getattr(s, task) for s in scores]
        columns[task] = [head.label if head else None for head in heads]
        for label in TASK_LABELS[task]:
            columns[f"{task}_{label}"] = [head.probabilities[label] if head else None for head in heads]
    columns.update({name: [s.attributes.get(name) for s in scores] for name in ATTRIBUTES})
    return pa.Table.from_pydict({**columns, "model": model}, schema=_SCORED)


class _Local:
    """The in-process engine: the model loads on first use (not at all when every output is complete)."""

    def __init__(self, model: ScorerSpec | Scorer, options: CorpusOptions) -> None:
        self.model, self.options = model, options

    @cache  # noqa: B019 - one engine per run
    def scorer(self) -> Scorer:
        return self.model if isinstance(self.model, Scorer) else self.model.load()

    def model_name(self) -> str:
        return self.scorer().name

    def score_chunks(self, chunks: Sequence[_Chunk]) -> Iterator[pa.Table]:
        return (_score_rows(self.scorer(), _read_chunk(c), self.options.batch_size, False) for c in chunks)

    def score_tables(self, tables: Sequence[pa.Table]) -> Iterator[pa.Table]:
        return (_score_rows(self.scorer(), t, self.options.batch_size, True) for t in tables)


class _ScoreActor:
    """One Ray actor: loads the model once, then scores every batch it is given."""

    def __init__(self, spec: ScorerSpec, batch_size: int, detail: bool) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.scorer, self.batch_size, self.detail = spec.load(), batch_size, detail

    def __call__(self, rows: pa.Table) -> pa.Table:
        return _score_rows(self.scorer, rows, self.batch_size, self.detail)


def _load_name(spec: ScorerSpec) -> str:
    return spec.load().name


class _Ray:
    """The Ray engine: Ray Data reads the chunks and feeds a fixed pool of :class:`_ScoreActor`, in order."""

    def __init__(self, spec: ScorerSpec, options: CorpusOptions) -> None:
        self.spec, self.options = spec, options

    @cache  # noqa: B019 - one engine per run
    def model_name(self) -> str:
        """Asked of a one-off Ray task, and only when an earlier output or stored thread must be checked."""
        import ray

        describe = ray.remote(_load_name).options(num_gpus=1 if self.spec.gpu else 0)
        return str(ray.get(describe.remote(self.spec)))

    def score_chunks(self, chunks: Sequence[_Chunk]) -> Iterator[pa.Table]:
        import ray.data

        if not chunks:
            return iter(())
        items = ray.data.from_items([asdict(c) for c in chunks], override_num_blocks=len(chunks))
        return self._run(items.map_batches(_read_chunks, batch_size=1, batch_format="pyarrow"), detail=False)

    def score_tables(self, tables: Sequence[pa.Table]) -> Iterator[pa.Table]:
        import ray.data

        return self._run(ray.data.from_arrow(list(tables)), detail=True) if tables else iter(())

    def _run(self, dataset: Any, *, detail: bool) -> Iterator[pa.Table]:
        import ray.data

        unit = "GPU" if self.spec.gpu else "CPU"
        available = int(ray.cluster_resources().get(unit, 0))
        if available < 1:
            raise InputError(f"the Ray cluster reports no {unit} for the scoring actors")
        scored = dataset.map_batches(
            _ScoreActor,
            fn_constructor_kwargs={"spec": self.spec, "batch_size": self.options.batch_size, "detail": detail},
            batch_size=None,  # one chunk per call: a batch size would also bundle the chunk descriptors
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=self.options.actors or min(available, MAX_DEFAULT_ACTORS)),
            **({"num_gpus": 1} if self.spec.gpu else {"num_cpus": 1}),
        )
        scored.context.execution_options.preserve_order = True  # outputs are written file by file
        return iter(scored.iter_batches(batch_size=None, batch_format="pyarrow"))


@contextmanager
def _engine(engine: str, model: ScorerSpec | Scorer, options: CorpusOptions) -> Iterator[_Local | _Ray]:
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if engine == "local":
        yield _Local(model, options)
        return
    if isinstance(model, Scorer):
        raise InputError("the Ray engine loads the model in each actor: pass a ScorerSpec, not a Scorer")
    with _ray_session(options):
        yield _Ray(model, options)


@contextmanager
def _ray_session(options: CorpusOptions) -> Iterator[None]:
    """Join ``options.address`` or start a local Ray (never a stray one found on disk); shut down only
    a Ray started here, so a caller's own ``ray.init`` is left as it was."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("the ray engine needs Ray: pip install 'moderation-desk[scale]'") from exc
    if ray.is_initialized():
        yield
        return
    ray.init(
        address=options.address or "local",
        num_cpus=None if options.address else options.num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
    )
    try:
        yield
    finally:
        ray.shutdown()


# --- writing and storing ----------------------------------------------------------------------


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


def _comment_rows(threads: Sequence[Thread], chunk_rows: int) -> list[pa.Table]:
    """Every comment as a row toward its article's title (as :func:`~moderation.pipeline.score_thread`)."""
    rows = [(i, c.id, c.text, t.article.title or None) for i, t in enumerate(threads) for c in t.comments]
    schema = pa.schema({"_file": pa.int32(), "id": pa.string(), "text": pa.string(), "target": pa.string()})
    parts = [rows[start : start + chunk_rows] for start in range(0, len(rows), chunk_rows)]
    return [pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in part], schema) for part in parts]


def _stored_unchanged(session: Session, thread: Thread, model_name: Callable[[], str], policy: Policy) -> bool:
    from moderation.storage import repository

    article_id = repository.find_article_id(session, thread.key())
    if article_id is None or repository.load_thread(session, article_id) != thread:
        return False
    scored = repository.comment_scores(session, article_id, model=model_name())
    undecided = repository.comments_to_decide(session, policy.digest, article_id=article_id, limit=1)
    return all(c.id in scored for c in thread.comments) and not undecided


def _store_threads(
    threads: Sequence[Thread],
    tables: Iterable[pa.Table],
    database: Engine,
    policy: Policy,
    model_name: Callable[[], str],
) -> list[Analysis]:
    """Store each thread, in its own transaction, as soon as its last comment's scores arrive."""
    from moderation.pipeline import store
    from moderation.storage import transaction

    stored: list[Analysis] = []
    scores: list[tuple[str, CommentScores]] = []  # the next thread's, as they arrive
    model: str | None = None

    def store_next() -> None:
        thread = threads[len(stored)]
        if [c.id for c in thread.comments] != [comment_id for comment_id, _ in scores]:
            raise RuntimeError(f"scores of {thread.key()} came back incomplete or out of order")
        values = [value for _, value in scores]
        with transaction(database) as session:
            stored.append(store(session, thread, values, model=model or model_name(), policy=policy))
        scores.clear()

    for table in tables:
        for file, part in _by_file(table):
            while len(stored) < file:
                store_next()
            model = part.column("model")[0].as_py()
            ids, values = part.column("id").to_pylist(), part.column("scores").to_pylist()
            scores.extend((i, CommentScores.model_validate_json(v)) for i, v in zip(ids, values, strict=True))
    while len(stored) < len(threads):
        store_next()
    return stored
