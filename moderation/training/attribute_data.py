"""Training and test data for the Perspective attributes, as rater fractions per comment.

Perspective's scores mean "the share of raters who would call this comment X", so each item
carries one fraction per attribute, NaN where its source says nothing about that attribute.
``attribute_sources`` reads each data set and maps its labels; this module registers them in
order, composes a split of any of them and holds two rules every source shares:

- **Each text once per source** (compared by ``normal``: whitespace collapsed, lower case); a source
  read whole keeps a text found in several of its splits in the test split.
- **Two-sided labels only**: an attribute a source only ever rates present is left unknown for that
  source (``_two_sided``): positives alone teach topics, not attributes.
- **No benchmark test text in training**: the train and validation items of every source added for
  the attribute heads (all but the first three) whose text is in a benchmark's test split (TweetEval
  hate, offensive and sentiment; Civil Comments SemEval-2021) are dropped and counted in ``leaked``.

A site's moderator feedback (``feedback``: the file ``moderation feedback export`` writes,
:mod:`moderation.training.feedback_data`) joins as one more source, last, under the same rules.

docs/models.md gives every source's mapping and the reason for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np

from moderation.errors import DataError
from moderation.scores import ATTRIBUTES
from moderation.training import attribute_sources as readers
from moderation.training.attribute_sources import Reader, match_key, normal
from moderation.training.data import SPLITS, TaskSplit, load_benchmark, load_toxic_spans
from moderation.training.feedback_data import FEEDBACK, read_feedback


@dataclass(frozen=True)
class AttributeSplit:
    """Texts with one rater fraction per attribute (columns in ``ATTRIBUTES`` order; NaN = unknown).

    ``leaked``: per source, the items dropped from this split because a benchmark tests on their text.
    """

    split: str
    texts: list[str]
    fractions: np.ndarray  # (n, len(ATTRIBUTES))
    sources: list[str]  # per item, the data set it came from
    leaked: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def task_split(self) -> TaskSplit:
        """The comments as encoder input (no targets, no class labels), for ``FeatureCache``."""
        return TaskSplit(
            "attributes", self.split, "attributes", self.texts, [None] * len(self), np.zeros(len(self), int)
        )

    def where(self, mask: np.ndarray) -> AttributeSplit:
        keep = np.flatnonzero(mask)
        return AttributeSplit(
            self.split,
            [self.texts[i] for i in keep],
            self.fractions[keep],
            [self.sources[i] for i in keep],
            self.leaked,
        )

    def source(self, name: str) -> AttributeSplit:
        return self.where(np.array([s == name for s in self.sources], dtype=bool))


CIVIL_COMMENTS = "Civil Comments toxic spans (ACL 2022)"
WIKIPEDIA = "Wikipedia talk (CAT-LARGE)"
TWEETEVAL_OFFENSIVE = "TweetEval offensive"
ETHOS = "ETHOS (YouTube, Reddit)"
EDOS = "EDOS sexism (Reddit, Gab)"
IMPLICIT_HATE = "Implicit Hate Corpus (extremist Twitter)"
DAVIDSON = "Davidson hate and offensive (Twitter)"
REDDIT_MISOGYNY = "Expert-annotated misogyny (Reddit)"
TRAC = "TRAC-1 aggression (Facebook news pages)"
CONAN = "CONAN and Multitarget-CONAN (NGO-written)"
REDDIT_NORMS = "Reddit norm violations (moderator removals)"
WRITTEN = "Threats and near misses (written by this project)"


class Source(NamedTuple):
    #: Under the data folder; by default a source whose folder is absent is not loaded. None: ships with the code.
    folder: str | None
    read: Reader


SOURCES: dict[str, Source] = {
    CIVIL_COMMENTS: Source("civil_comments_toxic_spans", readers.civil_comments),
    WIKIPEDIA: Source("wikipedia_toxicity_in_context", readers.wikipedia),
    TWEETEVAL_OFFENSIVE: Source("tweeteval/offensive", readers.tweeteval_offensive),
    ETHOS: Source("ethos", readers.ethos),
    EDOS: Source("edos_sexism", readers.edos),
    IMPLICIT_HATE: Source("implicit_hate", readers.implicit_hate),
    DAVIDSON: Source("davidson_hate_offensive", readers.davidson),
    REDDIT_MISOGYNY: Source("reddit_misogyny_eacl2021", readers.reddit_misogyny),
    TRAC: Source("trac1_aggression", readers.trac),
    CONAN: Source("conan_counter_narratives", readers.conan),
    REDDIT_NORMS: Source("reddit_norm_violations", readers.reddit_norm_violations),
    WRITTEN: Source(None, readers.written_threats),
}
#: Sources held to the benchmark leakage guard: all but the three the heads were first trained on.
GUARDED = frozenset(SOURCES) - {CIVIL_COMMENTS, WIKIPEDIA, TWEETEVAL_OFFENSIVE}


def source_names() -> tuple[str, ...]:
    """Every source, in the order ``load_attribute_data`` stacks them."""
    return tuple(SOURCES)


def benchmark_test_keys(data_dir: Path) -> frozenset[str]:
    """``match_key`` of every text in the benchmark test splits no training item may share."""
    root = Path(data_dir)
    tweets = ("tweeteval_hate", "tweeteval_offensive", "tweeteval_sentiment")
    texts = [text for name in tweets for text in load_benchmark(name, "test", root).texts]
    return frozenset(match_key(text) for text in texts + load_toxic_spans("test", root).texts)


def _selected(root: Path, sources: Sequence[str] | None) -> list[str]:
    if sources is None:
        present = [name for name, source in SOURCES.items() if source.folder and (root / source.folder).is_dir()]
        if not present:
            raise DataError(f"no attribute data in {root} (is ../shared/data beside the repo?)")
        return [name for name, source in SOURCES.items() if name in present or source.folder is None]
    unknown = [name for name in sources if name not in SOURCES]
    if unknown:
        raise DataError(f"unknown attribute sources {unknown}; known: {', '.join(SOURCES)}")
    return [name for name in SOURCES if name in sources]


def load_attribute_data(
    split: str, data_dir: Path, sources: Sequence[str] | None = None, *, feedback: Path | None = None
) -> AttributeSplit:
    """One split of the named sources (default: every source whose folder is in ``data_dir``, and those that
    ship with the code), stacked in ``SOURCES`` order, each text once per source; an item that says nothing
    about any attribute is left out.
    ``feedback``: an exported feedback file, stacked last as the source ``FEEDBACK``."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    root = Path(data_dir)
    names = _selected(root, sources)
    parts = {name: partial(SOURCES[name].read, root, split) for name in names}
    if feedback is not None:
        parts[FEEDBACK] = partial(read_feedback, Path(feedback), split)
    guarded_names = GUARDED | {FEEDBACK}
    guarded = split != "test" and bool(guarded_names.intersection(parts))
    benchmark = benchmark_test_keys(root) if guarded else frozenset()
    texts: list[str] = []
    rows: list[list[float]] = []
    origins: list[str] = []
    leaked = dict.fromkeys([name for name in parts if name in guarded_names], 0) if guarded else {}
    for name, read in parts.items():
        part_texts, part_rows = read()
        part_rows = _two_sided(part_rows)
        seen: set[str] = set()
        for text, fractions in zip(part_texts, part_rows, strict=True):
            key = normal(text)
            if not key or key in seen or all(np.isnan(fractions)):
                continue
            seen.add(key)
            if name in guarded_names and match_key(text) in benchmark:
                leaked[name] += 1
                continue
            texts.append(text)
            rows.append(fractions)
            origins.append(name)
    fractions_array = np.array(rows, dtype=np.float64).reshape(len(rows), len(ATTRIBUTES))
    return AttributeSplit(split, texts, fractions_array, origins, leaked)


def _two_sided(rows: list[list[float]]) -> list[list[float]]:
    """``rows`` with every attribute that the source only ever rates present (every known fraction at least
    0.5) made unknown: labels that name positives alone (EDOS's toxic sexism with nothing said of the other
    posts, ETHOS's toxic hate) teach a head the source's topics rather than the attribute, and every
    neutral mention of those topics would score high. Sources that rate an attribute absent keep it."""
    if not rows:
        return rows
    array = np.array(rows, dtype=np.float64)
    known = ~np.isnan(array)
    one_sided = known.any(axis=0) & ~((array < 0.5) & known).any(axis=0)
    array[:, one_sided] = np.nan
    return array.tolist()
