"""Training and evaluation data for each head, read from ``../shared/data`` with ``datasets``.

Each task maps its source's label ids onto the public label order once, here, so nothing
downstream knows that VAST calls "against" 0 and "neutral" 2. ``load_task`` gives the three
training tasks; ``load_benchmark`` adds the evaluation-only sets (TweetEval hate and stance,
SemEval-2016 task B, RumourEval 2017) read through the same heads, and ``load_toxic_spans``
the Civil Comments toxic spans, whose gold is character offsets rather than a label.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import DataError
from moderation.scores import TASK_LABELS

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class TaskSplit:
    """One split of one task: texts, optional targets and integer labels in public order.

    ``subsets`` holds boolean masks of named slices that a benchmark reports on its own
    (VAST's zero-shot and few-shot topics); sampling keeps them aligned with the items.
    """

    task: str
    split: str
    source: str
    texts: list[str]
    targets: list[str | None]
    labels: np.ndarray
    subsets: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int, seed: int = 0) -> TaskSplit:
        """A stratification-free random subset of ``n`` items (all of them when ``n`` is larger)."""
        if n >= len(self):
            return self
        order = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return TaskSplit(
            self.task,
            self.split,
            self.source,
            [self.texts[i] for i in order],
            [self.targets[i] for i in order],
            self.labels[order],
            {name: mask[order] for name, mask in self.subsets.items()},
        )


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"missing data file {path} (is ../shared/data beside the repo?)")
    return path


Columns = dict[str, list[Any]]


def _load_dataset(kind: str, files: dict[str, str], **kwargs: object) -> dict[str, Columns]:
    """Each file's columns as lists, read by ``datasets``: taken whole from Arrow, since walking a
    ``Dataset`` formats one row at a time (the Wikipedia set's two files took seconds that way)."""
    import datasets

    datasets.disable_progress_bars()
    loaded = datasets.load_dataset(kind, data_files=files, **kwargs)
    return {name: split.to_dict() for name, split in loaded.items()}


def _tweeteval(root: Path, task: str, split: str) -> tuple[list[str], list[int]]:
    name = {"validation": "val"}.get(split, split)
    folder = root / "tweeteval" / task
    text_file = _require(folder / f"{name}_text.txt")
    label_file = _require(folder / f"{name}_labels.txt")
    loaded = _load_dataset("text", {"text": str(text_file), "labels": str(label_file)})
    texts = loaded["text"]["text"]
    labels = [int(x) for x in loaded["labels"]["text"]]
    if len(texts) != len(labels):
        raise DataError(f"{folder}: {len(texts)} texts but {len(labels)} labels in {split}")
    return texts, labels


def _sentiment(root: Path, split: str) -> TaskSplit:
    # TweetEval's own train texts are missing here; SOURCE.md documents the reconstruction.
    if split == "train":
        path = _require(root / "tweeteval" / "sentiment" / "train_reconstructed_from_semeval2017.tsv.gz")
        loaded = _load_dataset("csv", {"train": str(path)}, sep="\t", quoting=csv.QUOTE_NONE)
        rows = loaded["train"]
        texts, labels = list(rows["text"]), [int(x) for x in rows["label"]]
        source = "SemEval-2017 4A train (reconstructed)"
    else:
        texts, labels = _tweeteval(root, "sentiment", split)
        source = f"TweetEval sentiment {split}"
    # TweetEval order is negative, neutral, positive: the public order already.
    return TaskSplit("sentiment", split, source, texts, [None] * len(texts), np.array(labels))


_VAST_TO_PUBLIC = {0: "against", 1: "favor", 2: "neutral"}


def _stance(root: Path, split: str) -> TaskSplit:
    name = {"train": "vast_train", "validation": "vast_dev_reduced", "test": "vast_test"}[split]
    path = _require(root / "vast" / f"{name}.csv.gz")
    loaded = _load_dataset("csv", {split: str(path)})
    rows = loaded[split]
    order = TASK_LABELS["stance"]
    labels = [order.index(_VAST_TO_PUBLIC[int(x)]) for x in rows["label"]]
    # seen? = 0: the topic never occurs in train (zero-shot); 1: it does (few-shot).
    seen = np.array([int(x) for x in rows["seen?"]]) if "seen?" in rows else None
    subsets = {} if seen is None else {"zero-shot": seen == 0, "few-shot": seen == 1}
    return TaskSplit(
        "stance",
        split,
        f"VAST {split}",
        [str(t) for t in rows["post"]],
        [str(t) for t in rows["topic_str"]],
        np.array(labels),
        subsets,
    )


def _toxicity(root: Path, split: str) -> TaskSplit:
    texts, labels = _tweeteval(root, "offensive", split)
    # TweetEval offensive: 0 not-offensive, 1 offensive == public (not_toxic, toxic).
    return TaskSplit("toxicity", split, f"TweetEval offensive {split}", texts, [None] * len(texts), np.array(labels))


_LOADERS = {"sentiment": _sentiment, "stance": _stance, "toxicity": _toxicity}


def load_task(task: str, split: str, data_dir: Path) -> TaskSplit:
    """Load one split of one head's data from the shared data folder."""
    if task not in _LOADERS:
        raise DataError(f"unknown task {task!r}; known: {', '.join(_LOADERS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return _LOADERS[task](Path(data_dir), split)


def tasks() -> Sequence[str]:
    return tuple(_LOADERS)


def _public(task: str, names: Sequence[str]) -> np.ndarray:
    order = TASK_LABELS[task]
    return np.array([order.index(name) for name in names], dtype=int)


def _hate(root: Path, split: str) -> TaskSplit:
    texts, labels = _tweeteval(root, "hate", split)
    # TweetEval hate: 0 not-hate, 1 hate, read through the toxicity head as (not_toxic, toxic).
    return TaskSplit("toxicity", split, f"TweetEval hate {split}", texts, [None] * len(texts), np.array(labels))


# TweetEval's stance folders, with the target names SemEval-2016 showed its annotators.
STANCE_TARGETS = {
    "abortion": "Legalization of Abortion",
    "atheism": "Atheism",
    "climate": "Climate Change is a Real Concern",
    "feminist": "Feminist Movement",
    "hillary": "Hillary Clinton",
}
_TWEETEVAL_STANCE = {0: "neutral", 1: "against", 2: "favor"}  # mapping.txt: 0 none, 1 against, 2 favor


def _tweeteval_stance(root: Path, split: str) -> TaskSplit:
    texts: list[str] = []
    targets: list[str | None] = []
    names: list[str] = []
    for folder, target in STANCE_TARGETS.items():
        part_texts, part_labels = _tweeteval(root, f"stance/{folder}", split)
        texts += part_texts
        targets += [target] * len(part_texts)
        names += [_TWEETEVAL_STANCE[y] for y in part_labels]
    source = f"TweetEval stance {split} (5 targets pooled)"
    return TaskSplit("stance", split, source, texts, targets, _public("stance", names))


_SEMEVAL_STANCE = {"AGAINST": "against", "NONE": "neutral", "FAVOR": "favor"}


def _semeval2016_b(root: Path, split: str) -> TaskSplit:
    if split != "test":
        raise DataError("SemEval-2016 task B (Donald Trump) has a labelled test split only")
    path = _require(root / "semeval2016_task6_stance" / "testdata-taskB-all-annotations.txt")
    # TAB-separated, CRLF, tweets with unbalanced quotes: no CSV quoting. The task B file is ASCII, but
    # this release's train file has stray 8-bit bytes, so the whole set is read as latin-1 to be safe.
    loaded = _load_dataset("csv", {"test": str(path)}, sep="\t", quoting=csv.QUOTE_NONE, encoding="latin-1")
    rows = loaded["test"]
    names = [_SEMEVAL_STANCE[str(x).strip()] for x in rows["Stance"]]
    texts = [str(t) for t in rows["Tweet"]]
    targets: list[str | None] = [str(t) for t in rows["Target"]]
    return TaskSplit(
        "stance", split, "SemEval-2016 task B test (Donald Trump)", texts, targets, _public("stance", names)
    )


# SDQC toward the rumour: support and deny are stances, querying and commenting are neither.
_RUMOUR_STANCE = {"support": "favor", "deny": "against", "query": "neutral", "comment": "neutral"}


def _rumoureval(root: Path, split: str) -> TaskSplit:
    name = {"validation": "dev"}.get(split, split)
    path = _require(root / "rumoureval2017" / f"posts_{name}.jsonl")
    columns = _load_dataset("json", {split: str(path)})[split]
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    sources = {row["thread_id"]: row["text"] for row in rows if row["is_source"]}
    # Replies only: a source post's stance toward itself would be read against its own text.
    replies = [row for row in rows if not row["is_source"]]
    texts = [str(row["text"]) for row in replies]
    targets: list[str | None] = [sources[row["thread_id"]] for row in replies]
    names = [_RUMOUR_STANCE[row["stance_sdqc"]] for row in replies]
    source = f"RumourEval 2017 {split} replies (target: source post)"
    return TaskSplit("stance", split, source, texts, targets, _public("stance", names))


_BENCHMARKS: dict[str, Callable[[Path, str], TaskSplit]] = {
    "tweeteval_sentiment": _sentiment,
    "tweeteval_offensive": _toxicity,
    "tweeteval_hate": _hate,
    "tweeteval_stance": _tweeteval_stance,
    "vast": _stance,
    "semeval2016_b": _semeval2016_b,
    "rumoureval2017": _rumoureval,
}


def load_benchmark(name: str, split: str, data_dir: Path) -> TaskSplit:
    """One split of a labelled benchmark; ``TaskSplit.task`` names the head that answers it."""
    if name not in _BENCHMARKS:
        raise DataError(f"unknown benchmark {name!r}; known: {', '.join(_BENCHMARKS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return _BENCHMARKS[name](Path(data_dir), split)


def benchmarks() -> Sequence[str]:
    return tuple(_BENCHMARKS)


@dataclass(frozen=True)
class SpanSplit:
    """Texts with their gold toxic character offsets (SemEval-2021 Task 5); empty = nothing toxic."""

    split: str
    source: str
    texts: list[str]
    spans: list[frozenset[int]]

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int, seed: int = 0) -> SpanSplit:
        """A random subset of ``n`` posts, drawn as ``TaskSplit.sample`` draws."""
        if n >= len(self):
            return self
        order = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return SpanSplit(self.split, self.source, [self.texts[i] for i in order], [self.spans[i] for i in order])


def load_toxic_spans(split: str, data_dir: Path) -> SpanSplit:
    """Civil Comments toxic spans, SemEval-2021 release (trial serves as validation)."""
    name = {"validation": "trial"}.get(split, split)
    path = _require(Path(data_dir) / "civil_comments_toxic_spans" / "semeval2021" / f"tsd_{name}.csv")
    rows = _load_dataset("csv", {split: str(path)}, keep_default_na=False)[split]
    # The spans column is a JSON list of offsets written as a string, e.g. "[84, 85, 86]".
    spans = [frozenset(int(i) for i in json.loads(cell)) for cell in rows["spans"]]
    return SpanSplit(split, f"Civil Comments toxic spans {split} (SemEval-2021 Task 5)", list(rows["text"]), spans)
