"""Each benchmark's official figure, as its organisers compute it, on label ids in public order.

Labels are the public ids of ``TASK_LABELS`` (stance: 0 against, 1 neutral, 2 favor), so one
function serves every stance set: TweetEval stance and SemEval-2016 score the mean F1 of against
and favor (neutral counts only through the errors it causes); RumourEval reports support (favor)
and deny (against) F1. Toxic spans follow SemEval-2021 Task 5: character-level F1 per post,
averaged over posts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import f1_score, recall_score

from moderation.scores import TASK_LABELS

AGAINST = TASK_LABELS["stance"].index("against")
FAVOR = TASK_LABELS["stance"].index("favor")


def macro_recall(gold: np.ndarray, predicted: np.ndarray) -> float:
    """TweetEval sentiment's figure: robust to its skewed classes, unlike accuracy."""
    return float(recall_score(gold, predicted, average="macro", zero_division=0))


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(gold, predicted, average="macro", zero_division=0))


def class_f1(gold: np.ndarray, predicted: np.ndarray, label: int) -> float:
    """F1 of one class against the rest (0 when the class is never predicted nor present)."""
    return float(f1_score(gold, predicted, labels=[label], average="macro", zero_division=0))


def against_favor_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Mean of F1(against) and F1(favor): SemEval-2016 Task 6's and TweetEval stance's figure."""
    return (class_f1(gold, predicted, AGAINST) + class_f1(gold, predicted, FAVOR)) / 2


def rumour_f1(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RumourEval replies: support is read as favor and deny as against toward the source post."""
    support, deny = class_f1(gold, predicted, FAVOR), class_f1(gold, predicted, AGAINST)
    return {"F1 support": support, "F1 deny": deny, "mean F1 support/deny": (support + deny) / 2}


def span_f1(predicted: Iterable[int], gold: Iterable[int]) -> float:
    """SemEval-2021 Task 5's per-post character F1: empty gold scores 1 only for an empty prediction."""
    guess, truth = set(predicted), set(gold)
    if not truth:
        return 1.0 if not guess else 0.0
    if not guess:
        return 0.0
    return 2 * len(guess & truth) / (len(guess) + len(truth))


def mean_span_f1(predicted: Sequence[Iterable[int]], gold: Sequence[Iterable[int]]) -> float:
    """The task's figure: the per-post F1 averaged over posts (every post weighs the same)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} posts")
    return float(np.mean([span_f1(p, g) for p, g in zip(predicted, gold, strict=True)])) if gold else 0.0


def toxic_characters(spans: Sequence[tuple[int, int, float]], threshold: float = 0.5) -> frozenset[int]:
    """Offsets inside every ``(begin, end, toxicity)`` span scored at or above ``threshold``."""
    return frozenset(i for begin, end, score in spans if score >= threshold for i in range(begin, end))


def expected_calibration_error(probabilities: np.ndarray, gold: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins
    weighted by how many items fall in each (Guo et al. 2017)."""
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == gold).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)
