"""The two runners that score a corpus the same way: ``local`` in this process, ``ray`` on a pool of Ray
actors, each loading the model once from a picklable :class:`ScorerSpec`. Both score rows through
:func:`_score_rows`, so their outputs agree."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from moderation.errors import InputError
from moderation.models.runtime import settle_loaded_model
from moderation.models.scorer import Scorer, check_model_choice, load_scorer
from moderation.scale.inputs import _Chunk, _read_chunk, _read_chunks
from moderation.scale.outputs import output_schema
from moderation.scores import ATTRIBUTES, TASK_LABELS

RUNNERS = ("local", "ray")
#: Ray actors started by default: one per CPU (or GPU) the cluster reports, at most this many.
MAX_DEFAULT_ACTORS = 16


@dataclass(frozen=True)
class ScorerSpec:
    """How to load the model, picklable: each Ray actor loads its own copy from it.

    ``mode`` None leaves the model's own default (:func:`~moderation.models.scorer.load_scorer`).
    """

    encoder: str | None = None
    heads: str | Path | None = None
    models_config: str | Path | None = None
    device: str = "cpu"
    mode: str | None = None

    def __post_init__(self) -> None:
        check_model_choice(self.models_config, self.encoder, self.heads)

    @property
    def gpu(self) -> bool:
        return self.device.startswith("cuda")

    def load(self) -> Scorer:
        """The model, loaded for a corpus run: a job that owns its process, so the model's objects are
        also taken out of the cyclic collector's reach (``settle_loaded_model``)."""
        scorer = load_scorer(
            self.models_config, encoder=self.encoder, heads=self.heads, device=self.device, mode=self.mode
        )
        settle_loaded_model()
        return scorer


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


_SCORED = pa.schema([pa.field("_file", pa.int32()), *output_schema(keep_text=True)])
_DETAIL = pa.schema([pa.field("_file", pa.int32()), pa.field("id", pa.string()), pa.field("scores", pa.string())])


def _score_rows(scorer: Scorer, rows: pa.Table, batch_size: int, detail: bool) -> pa.Table:
    """Score a table of rows with the in-process ``Scorer.predict``, the one path both runners take.
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
    """The in-process runner: the model loads on first use (not at all when every output is complete)."""

    def __init__(self, model: ScorerSpec | Scorer, options: CorpusOptions) -> None:
        self.model, self.options = model, options

    @cache  # noqa: B019 - one runner per run
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
    """The Ray runner: Ray Data reads the chunks and feeds a fixed pool of :class:`_ScoreActor`, in order."""

    def __init__(self, spec: ScorerSpec, options: CorpusOptions) -> None:
        self.spec, self.options = spec, options

    @cache  # noqa: B019 - one runner per run
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
def _open_runner(runner: str, model: ScorerSpec | Scorer, options: CorpusOptions) -> Iterator[_Local | _Ray]:
    if runner not in RUNNERS:
        raise InputError(f"unknown runner {runner!r}; one of {', '.join(RUNNERS)}")
    if runner == "local":
        yield _Local(model, options)
        return
    if isinstance(model, Scorer):
        raise InputError("the Ray runner loads the model in each actor: pass a ScorerSpec, not a Scorer")
    with _ray_session(options):
        yield _Ray(model, options)


@contextmanager
def _ray_session(options: CorpusOptions) -> Iterator[None]:
    """Join ``options.address`` or start a local Ray (never a stray one found on disk); shut down only
    a Ray started here, so a caller's own ``ray.init`` is left as it was."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("the ray runner needs Ray: pip install 'moderation-desk[scale]'") from exc
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
