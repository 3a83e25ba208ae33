"""English comments the language detector gives no language: which bundled model scores them better.

    .venv/bin/python benchmarks/undetected.py [--data-dir ../shared/data] [--mode int8]

A comment whose language cannot be told goes to the routing table's fallback, the multilingual model. This
measures what that costs where another route exists, English (every other measured language routes to the
multilingual model either way), and so whether an unknown comment in an English thread should go to the English
model on its thread's word: the English test texts on which ``detect_language`` abstains, from TweetEval
sentiment's test split and from every English attribute test split in ../shared/data, scored by both routes of
the bundled ``RoutedScorer``. Sentiment: macro-recall (TweetEval's metric) and macro-F1;
attributes: ROC-AUC where the abstained texts hold at least 5 positives. Writes benchmarks/results/undetected.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MIN_POSITIVES = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--mode", default="int8", help="numerics of both encoders (fp32, int8, bf16)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "undetected.md")
    args = parser.parse_args(argv)

    from functional import machine  # this folder's benchmark: the CPU as every result names it
    from sklearn.metrics import f1_score, recall_score, roc_auc_score

    from moderation.language import detect_language
    from moderation.models.scorer import RoutedScorer, Scorer
    from moderation.scores import ATTRIBUTES, TASK_LABELS
    from moderation.training.attribute_data import load_attribute_data
    from moderation.training.data import load_task

    routed = Scorer.load(mode=args.mode)
    if not isinstance(routed, RoutedScorer):
        raise SystemExit("the bundled models are not routed by language (no routes.json)")
    english, fallback = routed.table.route("en"), routed.table.fallback
    scorers = {name: routed.scorer(name) for name in (english, fallback)}

    def abstained(texts: list[str]) -> list[int]:
        return [i for i, text in enumerate(texts) if detect_language(text) is None]

    sentiment = load_task("sentiment", "test", args.data_dir)
    rows = abstained(sentiment.texts)
    labels = list(TASK_LABELS["sentiment"])
    gold = sentiment.labels[rows]
    lines = [
        "# English texts without a detected language",
        "",
        f"`benchmarks/undetected.py --mode {args.mode}` on {machine()}; "
        f"routes: `{english}` ({scorers[english].name}) and the fallback `{fallback}` ({scorers[fallback].name}).",
        "",
        f"TweetEval sentiment test: the detector gives no language to {len(rows)} of {len(sentiment)} tweets.",
        "",
        "| figure | n (positives) | " + " | ".join(scorers) + " |",
        "|---|---|" + "---|" * len(scorers),
    ]
    answers = {
        name: np.array([labels.index(s.sentiment.label) for s in scorer.predict([sentiment.texts[i] for i in rows])])
        for name, scorer in scorers.items()
    }
    for metric, figure in (("macro-recall", recall_score), ("macro-F1", f1_score)):
        values = [f"{figure(gold, answers[name], average='macro'):.4f}" for name in scorers]
        lines.append(f"| sentiment {metric} | {len(rows)} | " + " | ".join(values) + " |")

    split = load_attribute_data("test", args.data_dir)
    rows = abstained(split.texts)
    texts = [split.texts[i] for i in rows]
    scored = {name: scorer.predict(texts) for name, scorer in scorers.items()}
    for attribute in ATTRIBUTES:
        column = split.fractions[rows, ATTRIBUTES.index(attribute)]
        known = ~np.isnan(column)
        truth = column[known] >= 0.5
        if truth.sum() < MIN_POSITIVES or truth.all():
            continue
        values = []
        for name in scorers:
            probabilities = np.array([s.attributes[attribute] for s in scored[name]])[known]
            values.append(f"{roc_auc_score(truth, probabilities):.4f}")
        lines.append(f"| {attribute} ROC-AUC | {int(known.sum())} ({int(truth.sum())}) | " + " | ".join(values) + " |")
    lines += [
        "",
        f"Attribute test splits (every source in ../shared/data, English): the detector gives no language to "
        f"{len(rows)} of {len(split)} texts.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
