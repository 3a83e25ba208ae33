"""Functional suite: the bundled scorer and the default policy on hand-written cases per behaviour.

    .venv/bin/python benchmarks/functional.py [--mode fp32] [--cases tests/functional/cases.jsonl]

Threats, group attacks, slurs, insults and profanity that should fire, and hard negatives (counter-speech,
negated hate, neutral and positive mentions of groups, reclaimed slurs, violent words about things) that
should not. Prints the headline figures, a table per category and the worst cases of each, and writes
benchmarks/results/functional.md (under a minute on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from moderation import Scorer
from moderation.policy import Policy
from moderation.training.functional import evaluate_cases, load_cases

REPO = Path(__file__).resolve().parents[1]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO / "tests" / "functional" / "cases.jsonl")
    parser.add_argument(
        "--mode", default="fp32", help="encoder numerics (fp32: the reference; throughput.py compares the others)"
    )
    parser.add_argument("--worst", type=int, default=3, help="failed cases listed per category")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "functional.md")
    return parser.parse_args()


def machine() -> str:
    """The CPU's model name as ``lscpu`` gives it, and the cores this process may use."""
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        info = ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if "Model name" in line), "?")
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def main() -> int:
    args = _arguments()
    cases = load_cases(args.cases)
    scorer = Scorer.load(mode=args.mode)
    policy = Policy.default()
    started = time.perf_counter()
    report = evaluate_cases(scorer, policy, cases, worst=args.worst)
    seconds = time.perf_counter() - started
    command = shlex.join(["benchmarks/functional.py", *sys.argv[1:]])
    text = (
        f"# Functional suite\n\n`{command}`: {len(cases)} cases from `{os.path.relpath(args.cases, REPO)}`; "
        f"model `{scorer.name}` ({args.mode}); default policy `{policy.digest}`; {machine()}; "
        f"{seconds:.1f} s.\n\nAn attribute fires at 0.5 or above. Recall: the share of a category's cases whose "
        "every `fire` attribute fired; false fire: the share with any `quiet` attribute fired; approve, review, "
        "reject: the policy's actions. Group attacks are dehumanisation, derogation and the slurs that name a "
        f"protected group; hard negatives include `plain`.\n\n{report.markdown()}"
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
