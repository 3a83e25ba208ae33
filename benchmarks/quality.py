"""Quality bar of the bundled scorer: every head's full test split next to its majority baseline.

    .venv/bin/python benchmarks/quality.py [--data-dir ../shared/data] [--limit N]

Prints one line per head and a JSON summary; nothing is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from moderation import Scorer
from moderation.models.evaluation import evaluate_scorer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="sample at most N test items per task")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        print(f"no data at {args.data_dir}", file=sys.stderr)
        return 2
    results = evaluate_scorer(Scorer.load(), args.data_dir, limit=args.limit)
    for r in results:
        print(
            f"{r.task:10s} {r.source:28s} {r.metric:13s} n={r.n:6d} model={r.score:.4f} "
            f"majority={r.baseline:.4f} accuracy={r.accuracy:.4f}"
        )
    print(json.dumps([r.as_dict() for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
