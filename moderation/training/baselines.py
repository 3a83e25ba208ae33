"""Reference systems that the quality benchmark prints beside the model.

Each answers ``labels(benchmark, data)`` with label ids in public order, or None for a benchmark
it was not made for, and ``spans(data)`` likewise, so the benchmark can put them in one table.
VADER and alt-profanity-check are optional (``pip install -e '.[bench]'``) and imported only here,
inside the function that needs them; both ship their lexicon or model in the wheel and read no
network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from moderation.errors import DataError
from moderation.scores import TASK_LABELS
from moderation.training.data import SpanSplit, TaskSplit, load_benchmark, load_toxic_spans

INSTALL = "pip install -e '.[bench]'  (vaderSentiment, alt-profanity-check)"


class MajorityBaseline:
    """Predicts, for every item, the most frequent label of the benchmark's train split.

    Sets without a labelled train split (SemEval-2016 task B) take the test split's majority,
    which flatters the baseline; ``sources`` records which split each benchmark used.
    """

    name = "majority class"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.sources: dict[str, str] = {}

    def labels(self, benchmark: str, data: TaskSplit) -> np.ndarray:
        try:
            reference = load_benchmark(benchmark, "train", self.data_dir).labels
            self.sources[benchmark] = "train"
        except DataError:
            reference = load_benchmark(benchmark, data.split, self.data_dir).labels
            self.sources[benchmark] = f"{data.split} (no train split)"
        return np.full(len(data), int(np.bincount(reference).argmax()))

    def spans(self, data: SpanSplit) -> list[frozenset[int]]:
        """Each character's majority class over the train posts: not toxic, so nothing is marked."""
        train = load_toxic_spans("train", self.data_dir)
        toxic = sum(len(s) for s in train.spans)
        total = sum(len(t) for t in train.texts)
        self.sources["toxic_spans"] = "train"
        everything = toxic * 2 > total
        return [frozenset(range(len(text))) if everything else frozenset() for text in data.texts]


class FunctionBaseline:
    """A text classifier that answers only the benchmarks it was built for."""

    def __init__(self, name: str, benchmarks: Sequence[str], classify: Callable[[list[str]], np.ndarray]) -> None:
        self.name = name
        self.benchmarks = tuple(benchmarks)
        self.classify = classify

    def labels(self, benchmark: str, data: TaskSplit) -> np.ndarray | None:
        return self.classify(data.texts) if benchmark in self.benchmarks else None

    def spans(self, data: SpanSplit) -> None:
        return None


def vader_sentiment(texts: list[str]) -> np.ndarray:
    """VADER's compound score with its authors' cut-offs: ≥ 0.05 positive, ≤ -0.05 negative, else neutral."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(text)["compound"] for text in texts])
    order = TASK_LABELS["sentiment"]
    labels = np.full(len(texts), order.index("neutral"))
    labels[compound >= 0.05] = order.index("positive")
    labels[compound <= -0.05] = order.index("negative")
    return labels


def profanity_toxicity(texts: list[str], threshold: float = 0.5) -> np.ndarray:
    """alt-profanity-check's probability read as toxic at ``threshold`` (a linear SVM on word n-grams)."""
    from profanity_check import predict_prob

    return (np.asarray(predict_prob(texts)) >= threshold).astype(int)


def optional_baselines(threshold: float = 0.5) -> tuple[list[FunctionBaseline], list[str]]:
    """The optional baselines that load here, and one line for each that does not, saying why."""
    candidates = [
        ("VADER", ("tweeteval_sentiment",), vader_sentiment),
        (
            "alt-profanity-check",
            ("tweeteval_offensive", "tweeteval_hate"),
            lambda texts: profanity_toxicity(texts, threshold),
        ),
    ]
    available, missing = [], []
    for name, benchmarks, classify in candidates:
        try:
            classify(["a first try, so a missing package or an unloadable model shows here"])
        except Exception as exc:  # an import error or a pickled model this scikit-learn cannot read
            missing.append(f"{name} left out: {type(exc).__name__}: {exc} (install with {INSTALL})")
            continue
        available.append(FunctionBaseline(name, benchmarks, classify))
    return available, missing
