"""Each head's official test figure, next to the majority-class baseline.

Figures follow the benchmarks' own conventions: TweetEval sentiment is scored by macro
recall, VAST stance by macro F1 over its three classes, TweetEval offensive by macro F1.
``evaluate_scorer`` gives the three training tasks (training and the quality floors use it).
``evaluate_quality`` runs every benchmark of the quality bar (TweetEval, VAST, SemEval-2016 task B,
RumourEval 2017, toxic spans) for the model and each baseline in :mod:`moderation.training.baselines`,
plus the foundation's frozen heads, and returns one table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from moderation.models.backends import BUNDLED_HEADS
from moderation.scores import TASK_LABELS
from moderation.training.attribute_data import AttributeSplit, load_attribute_data
from moderation.training.data import SpanSplit, TaskSplit, load_benchmark, load_task, load_toxic_spans
from moderation.training.metrics import (
    against_favor_f1,
    macro_f1,
    macro_recall,
    mean_span_f1,
    rumour_f1,
    toxic_characters,
)

if TYPE_CHECKING:
    from moderation.models.scorer import Scorer

METRICS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], float]]] = {
    "sentiment": ("macro_recall", macro_recall),
    "stance": ("macro_f1", macro_f1),
    "toxicity": ("macro_f1", macro_f1),
}


@dataclass(frozen=True)
class TaskResult:
    task: str
    source: str
    metric: str
    n: int
    score: float
    baseline: float  # the majority class of the training split, predicted for every item
    accuracy: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def score_predictions(task: str, source: str, gold: np.ndarray, predicted: np.ndarray, majority: int) -> TaskResult:
    metric_name, metric = METRICS[task]
    return TaskResult(
        task=task,
        source=source,
        metric=metric_name,
        n=len(gold),
        score=metric(gold, predicted),
        baseline=metric(gold, np.full_like(gold, majority)),
        accuracy=float((gold == predicted).mean()),
    )


def majority_label(task: str, data_dir: Path) -> int:
    """The most frequent label of the task's training split."""
    labels = load_task(task, "train", data_dir).labels
    return int(np.bincount(labels).argmax())


def evaluate_scorer(
    scorer: Scorer,
    data_dir: Path,
    *,
    tasks: tuple[str, ...] = tuple(METRICS),
    split: str = "test",
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
) -> list[TaskResult]:
    """Score each task's split through the public ``Scorer`` interface."""
    results = []
    for task in tasks:
        data: TaskSplit = load_task(task, split, data_dir)
        if limit is not None:
            data = data.sample(limit, seed=seed)
        scores = scorer.predict(data.texts, data.targets, batch_size=batch_size)
        labels = TASK_LABELS[task]
        predicted = np.array([labels.index(getattr(s, task).label) for s in scores])
        results.append(score_predictions(task, data.source, data.labels, predicted, majority_label(task, data_dir)))
    return results


#: A benchmark's figures from its data and one system's predictions: (metric, n, value) rows.
Figures = Callable[[TaskSplit, np.ndarray], list[tuple[str, int, float]]]


def _single(metric: str, compute: Callable[[np.ndarray, np.ndarray], float]) -> Figures:
    return lambda data, predicted: [(metric, len(data), compute(data.labels, predicted))]


def _vast_figures(data: TaskSplit, predicted: np.ndarray) -> list[tuple[str, int, float]]:
    """All items, then each topic slice (zero-shot: topics unseen in train; few-shot: seen) that has items."""
    rows = [("macro F1 (all)", len(data), macro_f1(data.labels, predicted))]
    for subset, mask in data.subsets.items():
        if mask.any():
            rows.append((f"macro F1 ({subset})", int(mask.sum()), macro_f1(data.labels[mask], predicted[mask])))
    return rows


def _rumour_figures(data: TaskSplit, predicted: np.ndarray) -> list[tuple[str, int, float]]:
    return [(metric, len(data), value) for metric, value in rumour_f1(data.labels, predicted).items()]


# Benchmark id -> (title, figures); toxicity sets are read as TOXICITY >= threshold.
BENCHMARKS: dict[str, tuple[str, Figures]] = {
    "tweeteval_sentiment": ("TweetEval sentiment", _single("macro recall", macro_recall)),
    "tweeteval_offensive": ("TweetEval offensive", _single("macro F1", macro_f1)),
    "tweeteval_hate": ("TweetEval hate", _single("macro F1", macro_f1)),
    "tweeteval_stance": ("TweetEval stance", _single("mean F1 against/favor", against_favor_f1)),
    "vast": ("VAST", _vast_figures),
    "semeval2016_b": ("SemEval-2016 task B (zero-shot)", _single("mean F1 against/favor", against_favor_f1)),
    "rumoureval2017": ("RumourEval 2017 replies", _rumour_figures),
}


class System(Protocol):
    """Anything the quality table has a column for; None means "not made for this benchmark"."""

    name: str

    def labels(self, benchmark: str, data: TaskSplit) -> np.ndarray | None: ...

    def spans(self, data: SpanSplit) -> list[frozenset[int]] | None: ...


class ScorerSystem:
    """A ``Scorer`` read as each benchmark needs: the head's label, TOXICITY at a threshold, span scores."""

    def __init__(self, name: str, scorer: Scorer, *, threshold: float = 0.5, batch_size: int = 64) -> None:
        self.name = name
        self.scorer = scorer
        self.threshold = threshold
        self.batch_size = batch_size
        self.span_fallbacks = 0  # posts that came back without span scores

    def labels(self, benchmark: str, data: TaskSplit) -> np.ndarray:
        scores = self.scorer.predict(data.texts, data.targets, batch_size=self.batch_size)
        if data.task == "toxicity":
            return np.array([int(s.attributes["TOXICITY"] >= self.threshold) for s in scores])
        order = TASK_LABELS[data.task]
        return np.array([order.index(getattr(s, data.task).label) for s in scores])

    def attributes(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Every Perspective attribute the scorer gives, per text."""
        scores = self.scorer.predict(texts, batch_size=self.batch_size)
        return {name: np.array([s.attributes[name] for s in scores]) for name in scores[0].attributes}

    def spans(self, data: SpanSplit) -> list[frozenset[int]]:
        """Characters of every sentence with TOXICITY >= threshold.

        A comment with no span scores (a backend without them) falls back to one span over the
        whole comment with its overall TOXICITY; ``span_fallbacks`` counts them for the report.
        """
        predicted = []
        for text, scores in zip(
            data.texts, self.scorer.predict(data.texts, batch_size=self.batch_size, spans=True), strict=True
        ):
            spans = [(s.begin, s.end, s.attributes.get("TOXICITY", 0.0)) for s in scores.spans]
            if not spans:
                self.span_fallbacks += 1
                spans = [(0, len(text), scores.attributes["TOXICITY"])]
            predicted.append(toxic_characters(spans, self.threshold))
        return predicted


@dataclass(frozen=True)
class BenchmarkRow:
    """One figure of one benchmark, for every column (None: that system does not answer it)."""

    benchmark: str
    metric: str
    n: int
    source: str
    figures: dict[str, float | None]


@dataclass
class QualityReport:
    """The quality table: ``columns`` (model first, then each baseline), its rows, the notes that qualify them."""

    columns: list[str]
    rows: list[BenchmarkRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    limit: int | None = None

    def markdown(self) -> str:
        """One table (rows: benchmark and metric; columns: the model, then each baseline) and its notes."""
        header = ["benchmark", "metric", "n", *self.columns, "data"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in self.rows:
            cells = ["-" if v is None else f"{v:.4f}" for v in (row.figures.get(c) for c in self.columns)]
            lines.append("| " + " | ".join([row.benchmark, row.metric, str(row.n), *cells, row.source]) + " |")
        sample = "Full test splits" if self.limit is None else f"Test splits sampled to at most {self.limit} items each"
        lines += ["", f"{sample}; run time {self.seconds / 60:.1f} min.", ""]
        return "\n".join(lines + [f"- {note}" for note in self.notes]) + "\n"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _scorer_systems(
    scorer: Scorer, baseline_heads: Path | None, previous: Path | None, threshold: float, batch_size: int
) -> tuple[list[ScorerSystem], dict[str, str], list[str]]:
    """The model, an earlier model (``previous``: a model folder, heads and tuned layers) and the
    foundation's frozen heads (on the bundled encoder), as columns.

    When both name the same weights, the frozen column copies the model's figures rather than
    encoding everything twice (identical weights give identical predictions); ``aliases`` says so.
    """
    from moderation.models.heads import HeadSet

    heads_dir = Path(baseline_heads or BUNDLED_HEADS)
    from moderation.models.scorer import Scorer

    modes = sorted(set(scorer.modes.values()))
    # The baseline runs in the model's numerics, so the columns differ by weights alone.
    frozen = Scorer.load(heads=heads_dir, mode=modes[0] if len(modes) == 1 else None)
    model_column = f"model: {scorer.name}"
    frozen_column = f"frozen heads (foundation) [{HeadSet.load(heads_dir).digest}]"
    systems = [ScorerSystem(model_column, scorer, threshold=threshold, batch_size=batch_size)]
    if previous is not None:
        systems.append(_previous_system(previous, modes, threshold, batch_size))
    notes = [f"Frozen heads: {heads_dir.name}/ on the bundled encoder ({frozen.name})."]
    if previous is not None:
        notes.append(
            f"Previous model: {previous} ({systems[1].scorer.name}), run by this code's encoder, so its figures "
            "can differ from those of its own model card."
        )
    if modes:
        notes.append(f"Encoder numerics: {', '.join(modes)} (docs/speed.md).")
    if frozen.name == scorer.name:
        notes.append("The frozen heads are the model's own weights: that column repeats the model's figures.")
        return systems, {frozen_column: model_column}, notes
    systems.append(ScorerSystem(frozen_column, frozen, threshold=threshold, batch_size=batch_size))
    return systems, {}, notes


def _previous_system(previous: Path, modes: list[str], threshold: float, batch_size: int) -> ScorerSystem:
    from moderation.models.heads import HeadSet
    from moderation.models.scorer import Scorer

    earlier = Scorer.load(heads=previous, mode=modes[0] if len(modes) == 1 else None)
    name = f"previous model [{HeadSet.load(previous).digest}]"
    return ScorerSystem(name, earlier, threshold=threshold, batch_size=batch_size)


def _label_rows(
    benchmark: str, data: TaskSplit, systems: list[System], log: Callable[[str], None]
) -> list[BenchmarkRow]:
    title, figures = BENCHMARKS[benchmark]
    counts: dict[str, int] = {}
    cells: dict[str, dict[str, float | None]] = {}
    for system in systems:
        start = time.perf_counter()
        predicted = system.labels(benchmark, data)
        if predicted is None:
            continue
        log(f"{title}: {system.name}, {len(data)} items, {time.perf_counter() - start:.0f}s")
        for metric, n, value in figures(data, predicted):
            counts[metric] = n
            cells.setdefault(metric, {})[system.name] = value
    return [BenchmarkRow(title, metric, counts[metric], data.source, cells[metric]) for metric in counts]


def _span_row(data: SpanSplit, systems: list[System], threshold: float, log: Callable[[str], None]) -> BenchmarkRow:
    cells: dict[str, float | None] = {}
    for system in systems:
        start = time.perf_counter()
        predicted = system.spans(data)
        if predicted is not None:
            log(f"toxic spans: {system.name}, {len(data)} posts, {time.perf_counter() - start:.0f}s")
            cells[system.name] = mean_span_f1(predicted, data.spans)
    metric = f"char F1 (sentences with TOXICITY >= {threshold:g})"
    return BenchmarkRow("Civil Comments toxic spans", metric, len(data), data.source, cells)


def _attribute_rows(
    data: AttributeSplit, systems: list[ScorerSystem], log: Callable[[str], None]
) -> list[BenchmarkRow]:
    """ROC-AUC of every attribute on every attribute test set that has both classes, for each scorer."""
    from moderation.training.attribute_heads import attribute_figures

    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for system in systems:
        start = time.perf_counter()
        scores = system.attributes(data.texts)
        log(f"attributes: {system.name}, {len(data)} items, {time.perf_counter() - start:.0f}s")
        figures[system.name] = {name: attribute_figures(p, data, name) for name, p in scores.items()}
    first = figures[systems[0].name]
    return [
        BenchmarkRow(
            f"{attribute}: {source}",
            "ROC-AUC",
            entry["n"],
            f"{source} test ({entry['positives']:,} positives)",
            {name: by.get(attribute, {}).get(source, {}).get("roc_auc") for name, by in figures.items()},
        )
        for attribute, sources in first.items()
        for source, entry in sources.items()
    ]


def evaluate_quality(
    scorer: Scorer,
    data_dir: Path,
    *,
    baseline_heads: Path | None = None,
    previous: Path | None = None,
    limit: int | None = None,
    seed: int = 0,
    threshold: float = 0.5,
    batch_size: int = 64,
    log: Callable[[str], None] = lambda line: None,
) -> QualityReport:
    """Every benchmark's test figures for ``scorer`` and each baseline, sampled to ``limit`` items each."""
    from moderation.training.baselines import MajorityBaseline, optional_baselines

    start = time.perf_counter()
    scorers, aliases, notes = _scorer_systems(scorer, baseline_heads, previous, threshold, batch_size)
    majority = MajorityBaseline(data_dir)
    optional, missing = optional_baselines(threshold)
    systems: list[System] = [*scorers, majority, *optional]
    columns = [scorers[0].name, *aliases, *(s.name for s in systems[1:])]
    report = QualityReport(columns, notes=notes + missing, limit=limit)
    for benchmark in BENCHMARKS:
        data = load_benchmark(benchmark, "test", data_dir)
        report.rows += _label_rows(benchmark, data if limit is None else data.sample(limit, seed), systems, log)
    spans = load_toxic_spans("test", data_dir)
    spans = spans if limit is None else spans.sample(limit, seed)
    report.rows.append(_span_row(spans, systems, threshold, log))
    attributes = load_attribute_data("test", data_dir)
    attributes = attributes if limit is None else attributes.where(_sampled(len(attributes), limit, seed))
    report.rows += _attribute_rows(attributes, scorers, log)
    for row in report.rows:
        row.figures.update({alias: row.figures.get(target) for alias, target in aliases.items()})
    report.notes += _run_notes(scorers, majority.sources, len(spans))
    report.seconds = time.perf_counter() - start
    return report


def _sampled(n: int, limit: int, seed: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).choice(n, size=min(n, limit), replace=False)] = True
    return mask


def _run_notes(scorers: list[ScorerSystem], majority_sources: dict[str, str], span_posts: int) -> list[str]:
    notes = ["Majority class: each benchmark's train split, predicted for every item, except where noted."]
    notes += [f"Majority class of {name}: {split}." for name, split in majority_sources.items() if split != "train"]
    notes.append("Toxicity and hate: TOXICITY >= threshold is toxic; stance sets are read through the stance head.")
    for system in scorers:
        if system.span_fallbacks:
            notes.append(
                f"{system.name}: {system.span_fallbacks} of {span_posts} toxic-span posts came back without span "
                "scores; the whole comment's TOXICITY was applied to all its characters."
            )
    return notes
