"""Training and evaluation data for each head, read from ``../shared/data`` with ``datasets``.

Each task maps its source's label ids onto the public label order once, here, so nothing
downstream knows that VAST calls "against" 0 and "neutral" 2.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.errors import DataError
from moderation.models.labels import TASK_LABELS

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class TaskSplit:
    """One split of one task: texts, optional targets and integer labels in public order."""

    task: str
    split: str
    source: str
    texts: list[str]
    targets: list[str | None]
    labels: np.ndarray

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
        )


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"missing data file {path} (is ../shared/data beside the repo?)")
    return path


def _load_dataset(kind: str, files: dict[str, str], **kwargs: object) -> object:
    import datasets

    datasets.disable_progress_bars()
    return datasets.load_dataset(kind, data_files=files, **kwargs)


def _tweeteval(root: Path, task: str, split: str) -> tuple[list[str], list[int]]:
    name = {"validation": "val"}.get(split, split)
    folder = root / "tweeteval" / task
    text_file = _require(folder / f"{name}_text.txt")
    label_file = _require(folder / f"{name}_labels.txt")
    loaded = _load_dataset("text", {"text": str(text_file), "labels": str(label_file)})
    texts = [row["text"] for row in loaded["text"]]  # type: ignore[index]
    labels = [int(row["text"]) for row in loaded["labels"]]  # type: ignore[index]
    if len(texts) != len(labels):
        raise DataError(f"{folder}: {len(texts)} texts but {len(labels)} labels in {split}")
    return texts, labels


def _sentiment(root: Path, split: str) -> TaskSplit:
    # TweetEval's own train texts are missing here; SOURCE.md documents the reconstruction.
    if split == "train":
        path = _require(root / "tweeteval" / "sentiment" / "train_reconstructed_from_semeval2017.tsv.gz")
        loaded = _load_dataset("csv", {"train": str(path)}, sep="\t", quoting=csv.QUOTE_NONE)
        rows = loaded["train"]  # type: ignore[index]
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
    rows = loaded[split]  # type: ignore[index]
    order = TASK_LABELS["stance"]
    labels = [order.index(_VAST_TO_PUBLIC[int(x)]) for x in rows["label"]]
    return TaskSplit(
        "stance",
        split,
        f"VAST {split}",
        [str(t) for t in rows["post"]],
        [str(t) for t in rows["topic_str"]],
        np.array(labels),
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
