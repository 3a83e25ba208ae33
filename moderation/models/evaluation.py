"""Each head's official test figure, next to the majority-class baseline.

Figures follow the benchmarks' own conventions: TweetEval sentiment is scored by macro
recall, VAST stance by macro F1 over its three classes, TweetEval offensive by macro F1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, recall_score

from moderation.models.data import TaskSplit, load_task
from moderation.models.labels import TASK_LABELS
from moderation.models.scorer import Scorer

METRICS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], float]]] = {
    "sentiment": ("macro_recall", lambda y, p: float(recall_score(y, p, average="macro"))),
    "stance": ("macro_f1", lambda y, p: float(f1_score(y, p, average="macro"))),
    "toxicity": ("macro_f1", lambda y, p: float(f1_score(y, p, average="macro"))),
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
