"""Training and test data for the Perspective attributes, as rater fractions per comment.

Perspective's scores mean "the share of raters who would call this comment X", so each item
carries one fraction per attribute, NaN where its source says nothing about that attribute:

- **Civil Comments toxic spans (ACL 2022 release)**, news-site comments each read by 3-7 raters.
  TOXICITY is the share of raters who did not tick "not toxic"; INSULT, PROFANITY, THREAT and
  IDENTITY_ATTACK the share who marked a span of that type. SEVERE_TOXICITY has no rater
  question: its proxy is the share who judged the *whole* post toxic, and it stays experimental.
  Split as SemEval-2021 Task 5 split the same comments (trial = validation, test = test), the
  comments outside that release go to train, so the toxic-span benchmark never sees its own
  test posts in training.
- **Wikipedia talk comments (CAT-LARGE, in and out of context)**: TOXICITY only; a comment
  rated not toxic is also no insult, threat... (0), a toxic one is unknown for those (NaN).
  Split by a hash of the comment id (80/10/10) since the release has no split.
- **TweetEval offensive**: TOXICITY, with the same rule for the other attributes.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.errors import DataError
from moderation.models.data import SPLITS, _load_dataset, _require, _tweeteval
from moderation.models.labels import ATTRIBUTES

# The ACL 2022 span types (a few rows are cut short in the release) -> Perspective attribute.
_SPAN_TYPES = {
    "Insult": "INSULT",
    "Insu": "INSULT",
    "Profane/Obscene": "PROFANITY",
    "Threat": "THREAT",
    "Identity based Attack": "IDENTITY_ATTACK",
    "Identity based ": "IDENTITY_ATTACK",
}
#: One release comment carries 357 rater rows (a join artefact upstream); more than this is dropped.
_MAX_RATERS = 10


@dataclass(frozen=True)
class AttributeSplit:
    """Texts with one rater fraction per attribute (columns in ``ATTRIBUTES`` order; NaN = unknown)."""

    split: str
    texts: list[str]
    fractions: np.ndarray  # (n, len(ATTRIBUTES))
    sources: list[str]  # per item, the data set it came from

    def __len__(self) -> int:
        return len(self.texts)

    def where(self, mask: np.ndarray) -> AttributeSplit:
        keep = np.flatnonzero(mask)
        return AttributeSplit(
            self.split, [self.texts[i] for i in keep], self.fractions[keep], [self.sources[i] for i in keep]
        )

    def source(self, name: str) -> AttributeSplit:
        return self.where(np.array([s == name for s in self.sources], dtype=bool))


def _normal(text: str) -> str:
    return " ".join(text.split())


def _read_csv(path: Path) -> list[dict[str, str]]:
    with _require(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _civil_comments(root: Path, split: str) -> tuple[list[str], list[list[float]]]:
    folder = root / "civil_comments_toxic_spans"
    comments = {row["comment_id"]: row["comment_text"] for row in _read_csv(folder / "acl2022" / "comments.csv")}
    raters: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read_csv(folder / "acl2022" / "annotations.csv"):
        raters[row["comment_id"]].append(row)
    marked: dict[str, set[str]] = defaultdict(set)
    for row in _read_csv(folder / "acl2022" / "spans.csv"):
        if row["type"] in _SPAN_TYPES:
            marked[row["annotation"]].add(_SPAN_TYPES[row["type"]])
    semeval = {
        name: {_normal(row["text"]) for row in _read_csv(folder / "semeval2021" / f"tsd_{part}.csv")}
        for name, part in (("validation", "trial"), ("test", "test"))
    }

    def split_of(text: str) -> str:
        key = _normal(text)
        return next((name for name, members in semeval.items() if key in members), "train")

    texts, rows = [], []
    for comment_id, text in comments.items():
        votes = raters.get(comment_id, [])
        if not votes or len(votes) > _MAX_RATERS or split_of(text) != split:
            continue
        n = len(votes)
        share = {
            "TOXICITY": sum(v["not toxic"] != "True" for v in votes) / n,
            "SEVERE_TOXICITY": sum(v["all toxic"] == "True" for v in votes) / n,
        }
        for attribute in set(_SPAN_TYPES.values()):
            share[attribute] = sum(attribute in marked[v["annotation"]] for v in votes) / n
        texts.append(text)
        rows.append([share[a] for a in ATTRIBUTES])
    return texts, rows


def _toxicity_only(toxic: list[float]) -> list[list[float]]:
    """A binary toxicity label: not toxic says every attribute is 0; toxic says nothing about the rest."""
    nan = float("nan")
    return [[t if a == "TOXICITY" else (0.0 if t == 0 else nan) for a in ATTRIBUTES] for t in toxic]


def _hash_split(key: str) -> str:
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def _wikipedia(root: Path, split: str) -> tuple[list[str], list[list[float]]]:
    folder = root / "wikipedia_toxicity_in_context"
    texts, toxic = [], []
    for name in ("cat_large_gc_in_context.csv", "cat_large_gn_out_of_context.csv"):
        path = _require(folder / name)
        rows = _load_dataset("csv", {"rows": str(path)}, keep_default_na=False)["rows"]  # type: ignore[index]
        for comment_id, text, label in zip(rows["id"], rows["text"], rows["label"], strict=True):
            if _hash_split(str(comment_id)) == split and str(text).strip():
                texts.append(str(text))
                toxic.append(float(label))
    return texts, _toxicity_only(toxic)


CIVIL_COMMENTS = "Civil Comments toxic spans (ACL 2022)"
WIKIPEDIA = "Wikipedia talk (CAT-LARGE)"
TWEETEVAL_OFFENSIVE = "TweetEval offensive"


def load_attribute_data(split: str, data_dir: Path) -> AttributeSplit:
    """Every source's items of one split, with their attribute fractions."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    root = Path(data_dir)
    texts: list[str] = []
    rows: list[list[float]] = []
    sources: list[str] = []
    tweets, offensive = _tweeteval(root, "offensive", split)
    parts = (
        (CIVIL_COMMENTS, _civil_comments(root, split)),
        (WIKIPEDIA, _wikipedia(root, split)),
        (TWEETEVAL_OFFENSIVE, (tweets, _toxicity_only([float(y) for y in offensive]))),
    )
    for name, (part_texts, part_rows) in parts:
        texts += part_texts
        rows += part_rows
        sources += [name] * len(part_texts)
    return AttributeSplit(split, texts, np.array(rows, dtype=np.float64), sources)
