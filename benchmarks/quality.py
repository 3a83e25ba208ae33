"""Quality bar of the bundled scorer on every test split, next to each baseline run here.

    .venv/bin/python benchmarks/quality.py [--data-dir ../shared/data] [--limit N] [--baseline-heads DIR]

Benchmarks: TweetEval sentiment, offensive, hate and stance; VAST (all, zero-shot, few-shot);
SemEval-2016 task B; RumourEval 2017 replies; Civil Comments toxic spans; and the ROC-AUC of every
Perspective attribute on every attribute test set. Baselines: majority class, VADER, alt-profanity-check
(both from the `bench` extra; left out with the reason when missing), the foundation's frozen heads and,
with --previous, an earlier model. Then every other language's test splits: the multilingual heads next to the
English model on the same texts (``benchmarks/multilingual.py``'s table, int8 as served, features cached under
``--cache-dir``; ``--no-languages`` skips it). Prints the tables with their run time and writes
benchmarks/results/quality.md (a full run with --previous took 11.5 minutes on 2 CPU cores with AMX, before the
per-language table; that adds about 6 minutes with nothing cached).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from moderation import Scorer
from moderation.training.evaluation import evaluate_quality

REPO = Path(__file__).resolve().parents[1]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="sample at most N test items per benchmark")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit sample")
    parser.add_argument(
        "--baseline-heads",
        type=Path,
        default=REPO / "benchmarks" / "foundation_heads",
        help="heads folder of the frozen-heads baseline (default: the foundation's, kept in benchmarks/)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        default=None,
        help="an earlier model's folder (heads and tuned layers) as a column, e.g. the last bundled model: "
        "git show COMMIT:moderation/models/bundled/FILE for heads.json, heads.safetensors, encoder.safetensors",
    )
    parser.add_argument("--threshold", type=float, default=0.5, help="TOXICITY at or above this is toxic")
    parser.add_argument(
        "--mode", default="fp32", help="encoder numerics (fp32: the reference; throughput.py compares the others)"
    )
    parser.add_argument(
        "--languages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="append the per-language table (benchmarks/multilingual.py's)",
    )
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "features", help="per-language features")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "quality.md")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    if not args.data_dir.is_dir():
        print(f"no data at {args.data_dir}", file=sys.stderr)
        return 2
    report = evaluate_quality(
        Scorer.load(mode=args.mode),
        args.data_dir,
        baseline_heads=args.baseline_heads,
        previous=args.previous,
        limit=args.limit,
        seed=args.seed,
        threshold=args.threshold,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    command = shlex.join(["benchmarks/quality.py", *sys.argv[1:]])
    data = os.path.relpath(args.data_dir, REPO)
    text = f"# Quality on the test splits\n\n`{command}` (data: `{data}`)\n\n{report.markdown()}"
    if args.languages:
        text += _languages(args)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}; run time {report.seconds / 60:.1f} min")
    return 0


def _languages(args: argparse.Namespace) -> str:
    """The per-language section: each test split in its language, both models, int8 (the numerics served)."""
    import time

    from multilingual import language_rows  # this folder's benchmark: one evaluation, two reports

    from moderation.training.multilingual import figures_markdown

    started = time.perf_counter()
    rows, heads, mode, english_name, english_mode = language_rows(
        args.data_dir, args.cache_dir, "int8", log=lambda line: print(line, file=sys.stderr, flush=True)
    )
    return (
        f"\n## Per language\n\nMultilingual: {heads.manifest.get('name')} [{heads.digest}], {mode}; English: "
        f"{english_name}, {english_mode}. Each language's test splits scored by both (`benchmarks/multilingual.py` "
        "has the routing drawn from them); macro-F1 unless the metric says otherwise, attributes at 0.5 and as "
        f"ROC-AUC; `majority`: the training split's majority class. {time.perf_counter() - started:.0f} s with the "
        f"feature cache as found.\n\n{figures_markdown(rows)}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
