"""Attribute sources weighed against each other, on frozen features of the bundled encoder.

    .venv/bin/python benchmarks/attribute_sources.py [--data-dir ../shared/data] [--mode int8]

Fine-tuning with every source takes a GPU; what each source adds or costs can be read more cheaply
by refitting the six attribute heads (the ``AttributeTrainer`` of ``moderation train``) on the
bundled encoder's features, as the TweetEval-hate measurement of docs/models.md was made. The
configurations: the three sources the model had before, every source by its share
(``mixture.SOURCE_SHARES``), and every source but one. For each: ROC-AUC of every attribute on each
source's test split (and pooled over the news comments of Civil Comments), TweetEval offensive and
hate macro-F1 read as TOXICITY >= 0.5, and the functional suite's three figures under the default
policy. Regularisation is chosen on validation once, with every source, and kept for the others, so
the rows differ by their data alone. Writes benchmarks/results/attribute_sources.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np

from moderation.errors import DataError
from moderation.models.backends import BUNDLED_HEADS, EncoderHeadsBackend
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet, LinearHead
from moderation.models.scorer import Scorer
from moderation.policy import Policy
from moderation.scores import ATTRIBUTES, TASK_LABELS
from moderation.training import attribute_data
from moderation.training.attribute_data import AttributeSplit, load_attribute_data
from moderation.training.attribute_heads import AttributeTrainer, attribute_figures
from moderation.training.data import load_benchmark
from moderation.training.features import FeatureCache
from moderation.training.functional import evaluate_cases, load_cases
from moderation.training.metrics import macro_f1

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "functional" / "cases.jsonl"
#: A coarser grid than ``moderation train``'s: the rows compare data, and each fit of every source takes minutes.
C_CHOICES = (0.003, 0.03, 0.3)
BEFORE = (attribute_data.CIVIL_COMMENTS, attribute_data.WIKIPEDIA, attribute_data.TWEETEVAL_OFFENSIVE)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--mode", default="int8", help="encoder numerics of the features (int8: as the desk scores)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "features-bundled")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "attribute_sources.md")
    return parser.parse_args()


def _features(cache: FeatureCache, data: AttributeSplit) -> Any:
    return cache.features(data.task_split())


def _fit(
    feats: dict[str, Any],
    data: dict[str, AttributeSplit],
    keep: set[str],
    grids: dict[str, tuple[float, ...]],
    fallback: dict[str, LinearHead] | None = None,
) -> dict[str, LinearHead]:
    """The six heads fitted on the train items of the ``keep`` sources, selected on their validation items;
    an attribute those sources never rate positive keeps ``fallback``'s head (the every-source one)."""
    subsets = {}
    for split in ("train", "validation"):
        mask = np.array([s in keep for s in data[split].sources])
        subsets[split] = (data[split].where(mask), _rows(feats[split], mask))
    heads = {}
    for attribute in ATTRIBUTES:
        name = "toxicity" if attribute == "TOXICITY" else attribute
        try:
            trainer = AttributeTrainer(attribute, c_grid=grids[attribute]).fit(
                subsets["train"][1], subsets["train"][0], subsets["validation"][1], subsets["validation"][0]
            )
        except DataError:
            if fallback is None:
                raise
            heads[name] = fallback[name]
            continue
        grids.setdefault(f"{attribute} chosen", (trainer.c_,))
        heads[name] = trainer.head("toxicity" if attribute == "TOXICITY" else None)
    return heads


def _rows(features: Any, mask: np.ndarray) -> Any:
    from moderation.models.encoder import PairFeatures

    return PairFeatures(
        features.comment[mask], features.target[mask], features.has_target[mask], features.n_windows[mask]
    )


def _measure(
    heads: dict[str, LinearHead],
    bundled: HeadSet,
    encoder: Any,
    feats: Any,
    test: AttributeSplit,
    extra: dict[str, Any],
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for attribute in ATTRIBUTES:
        head = heads["toxicity" if attribute == "TOXICITY" else attribute]
        figures[attribute] = attribute_figures(head.predict_proba(feats)[:, -1], test, attribute)
    for name, (features, labels) in extra.items():
        guess = heads["toxicity"].predict_proba(features).argmax(axis=1)
        figures[name] = round(macro_f1(labels, guess), 4)
    scorer = Scorer(dict.fromkeys(TASK_LABELS, EncoderHeadsBackend(encoder, HeadSet({**bundled.heads, **heads}, {}))))
    report = evaluate_cases(scorer, Policy.default(), load_cases(CASES))
    figures["functional"] = {
        "threat_recall": report.threat_recall,
        "group_attack_recall": report.group_attack_recall,
        "hard_negative_flagged": report.hard_negative_flagged,
    }
    return figures


def _row(name: str, figures: dict[str, Any]) -> str:
    def auc(attribute: str, source: str) -> str:
        entry = figures[attribute].get(source)
        return f"{entry['roc_auc']:.3f}" if entry else "-"

    def mean_auc(attribute: str) -> str:
        values = [v["roc_auc"] for k, v in figures[attribute].items() if k != "all sources pooled"]
        return f"{np.mean(values):.3f}" if values else "-"

    head = figures["functional"]
    cells = [
        name,
        *(mean_auc(a) for a in ATTRIBUTES),
        *(auc(a, attribute_data.CIVIL_COMMENTS) for a in ("TOXICITY", "INSULT", "THREAT", "IDENTITY_ATTACK")),
        f"{figures['TweetEval offensive']:.4f}",
        f"{figures['TweetEval hate']:.4f}",
        f"{head['threat_recall']:.3f}",
        f"{head['group_attack_recall']:.3f}",
        f"{head['hard_negative_flagged']:.3f}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    args = _arguments()
    started = time.perf_counter()
    backend = EncoderHeadsBackend.load(mode=args.mode)
    bundled = HeadSet.load(BUNDLED_HEADS)
    cache = FeatureCache(backend.encoder, args.cache_dir / args.mode)
    data = {split: load_attribute_data(split, args.data_dir) for split in ("train", "validation", "test")}
    feats = {split: _features(cache, d) for split, d in data.items()}
    extra = {}
    for name, benchmark in (("TweetEval offensive", "tweeteval_offensive"), ("TweetEval hate", "tweeteval_hate")):
        split = load_benchmark(benchmark, "test", args.data_dir)
        extra[name] = (cache.features(split), split.labels)
    print(f"features ready after {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    sources = attribute_data.source_names()
    grids: dict[str, tuple[float, ...]] = dict.fromkeys(ATTRIBUTES, C_CHOICES)
    configs: dict[str, set[str]] = {"every source, by share": set(sources)}
    full = _fit(feats, data, configs["every source, by share"], grids)
    grids = {a: grids[f"{a} chosen"] for a in ATTRIBUTES}
    results = {"every source, by share": _measure(full, bundled, backend.encoder, feats["test"], data["test"], extra)}
    print(_row("every source, by share", results["every source, by share"]), file=sys.stderr, flush=True)
    configs["the three sources before"] = set(BEFORE)
    configs.update({f"without {name}": set(sources) - {name} for name in sources})
    for name, keep in list(configs.items())[1:]:
        heads = _fit(feats, data, keep, dict(grids), full)
        results[name] = _measure(heads, bundled, backend.encoder, feats["test"], data["test"], extra)
        print(_row(name, results[name]), f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model_name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "")
    lines = [
        "# Attribute sources weighed against each other (frozen features of the bundled encoder)",
        "",
        f"`benchmarks/attribute_sources.py --mode {args.mode}` on {model_name}, "
        f"{time.perf_counter() - started:.0f} s; encoder: `{backend.name}` (its `{ENCODER_WEIGHTS}`), heads refitted. "
        "Mean ROC-AUC: over the sources whose test split has positives of that attribute. Civil Comments: the "
        "news comments' test split. Functional: `tests/functional/cases.jsonl` under the default policy "
        "(threats with THREAT >= 0.5, group attacks with IDENTITY_ATTACK >= 0.5, hard negatives not approved).",
        "",
        "| heads fitted on | TOX | SEV | INS | PROF | THR | IA | CC TOX | CC INS | CC THR | CC IA | offensive F1 | "
        "hate F1 | threats | group attacks | hard neg. flagged |",
        "|---" * 16 + "|",
        *(_row(name, figures) for name, figures in results.items()),
        "",
        f"Regularisation (C) per attribute, chosen with every source: "
        f"{', '.join(f'{a} {grids[a][0]}' for a in ATTRIBUTES)}.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
