"""Train the Perspective attribute heads on frozen comment vectors, from rater fractions.

Each attribute is a binary logistic regression fitted to soft labels: an item rated INSULT by
2 of 3 raters counts as 2/3 of a positive and 1/3 of a negative (sample weights), so the
probability reads as Perspective's does, the share of raters who would say so. Items whose
source says nothing about the attribute (NaN) are left out of that head only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import DataError
from moderation.models.encoder import PairFeatures
from moderation.models.heads import LinearHead, feature_matrix
from moderation.scores import ATTRIBUTES, TASK_LABELS
from moderation.training.attribute_data import AttributeSplit, load_attribute_data
from moderation.training.features import FeatureCache
from moderation.training.logistic import C_GRID, fit_binary_temperature, folded_weights, soft_log_loss
from moderation.training.metrics import macro_f1
from moderation.training.mixture import source_shares, source_weights

#: No rater question measures it: trained on a proxy and marked experimental everywhere.
EXPERIMENTAL = {
    "SEVERE_TOXICITY": "no rater question asks for it; trained on Davidson's hate votes against merely offensive "
    "tweets and EDOS's threats and harshest sexism against its milder kinds, and measured only on their held-out splits"
}
ATTRIBUTE_LABELS = ("absent", "present")


def head_name(attribute: str) -> str:
    """TOXICITY's head is the toxicity task's head; every other attribute's head carries its name."""
    return "toxicity" if attribute == "TOXICITY" else attribute


def rated_rows(attribute: str, x: np.ndarray, data: AttributeSplit) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The rows whose source rates ``attribute``: features, rater fractions and sources."""
    column = data.fractions[:, ATTRIBUTES.index(attribute)]
    known = ~np.isnan(column)
    return x[known], column[known], [s for s, k in zip(data.sources, known, strict=True) if k]


def _soft_rows(
    x: np.ndarray, fractions: np.ndarray, weights: np.ndarray, balanced: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each item twice, as a positive weighted by its fraction and a negative weighted by the rest,
    both times its source weight (``mixture.source_weights``)."""
    y = np.concatenate([np.ones(len(x), int), np.zeros(len(x), int)])
    w = np.concatenate([fractions * weights, (1.0 - fractions) * weights])
    if balanced:
        positive = w[y == 1].sum()
        w = np.where(y == 1, w * (w[y == 0].sum() / max(positive, 1e-9)), w)
    keep = w > 0
    return np.vstack([x, x])[keep], y[keep], w[keep]


def mean_source_f1(p: np.ndarray, fractions: np.ndarray, sources: list[str]) -> float:
    """Macro-F1 at 0.5 against the majority label, averaged over the data sets, so no one set dominates."""
    names = sorted(set(sources))
    gold, guess = (fractions >= 0.5).astype(int), (p >= 0.5).astype(int)
    masks = [np.array([s == name for s in sources]) for name in names]
    return float(np.mean([macro_f1(gold[m], guess[m]) for m in masks]))


@dataclass
class AttributeTrainer:
    """Soft-label logistic regression for one attribute; C (and, for TOXICITY, class weighting)
    chosen on validation: TOXICITY by macro-F1 per data set, the others by log-loss, which stays
    stable with a handful of validation positives."""

    attribute: str
    seed: int = 0
    c_grid: tuple[float, ...] = C_GRID
    search_: list[dict[str, Any]] = field(default_factory=list)
    #: Each source's share of the sample weight; default ``mixture.SOURCE_SHARES`` (the English sources).
    shares: Mapping[str, float] | None = None

    def fit(
        self, train: PairFeatures, train_data: AttributeSplit, val: PairFeatures, val_data: AttributeSplit
    ) -> AttributeTrainer:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        x_train, f_train, train_sources = rated_rows(self.attribute, feature_matrix("comment", train), train_data)
        w_train = source_weights(train_sources, self.shares)
        if not (f_train > 0).any() or not (f_train < 1).any():
            raise DataError(f"{self.attribute}: the training items are all rated alike; nothing to learn")
        x_val, f_val, val_sources = rated_rows(self.attribute, feature_matrix("comment", val), val_data)
        self.scaler_ = StandardScaler().fit(x_train)
        z_train, z_val = self.scaler_.transform(x_train), self.scaler_.transform(x_val)
        by_f1 = self.attribute == "TOXICITY"
        best: tuple[float, Any, float, bool] | None = None
        for balanced in (False, True) if by_f1 else (False,):
            x, y, w = _soft_rows(z_train, f_train, w_train, balanced)
            for c in self.c_grid:
                model = LogisticRegression(C=c, max_iter=2000, random_state=self.seed).fit(x, y, sample_weight=w)
                p = model.predict_proba(z_val)[:, 1]
                value = mean_source_f1(p, f_val, val_sources) if by_f1 else -soft_log_loss(p, f_val)
                self.search_.append({"C": c, "balanced": balanced, "validation": round(value, 4)})
                if best is None or value > best[0]:
                    best = (value, model, c, balanced)
        assert best is not None
        self.validation_score_, self.model_, self.c_, self.balanced_ = best
        self.validation_metric_ = "mean macro-F1 per data set" if by_f1 else "negative soft log-loss"
        # Balanced weights move the decision point on purpose: calibrating them would move it back.
        logits = self.model_.decision_function(z_val)
        self.temperature_ = 1.0 if self.balanced_ else fit_binary_temperature(logits, f_val)
        return self

    def head(self, task: str | None = None) -> LinearHead:
        """The fitted model as a two-class softmax head, scaler and temperature folded in.

        ``task="toxicity"`` labels it as the toxicity task's head (not_toxic, toxic).
        """
        weight, bias = folded_weights(self.model_.coef_, self.model_.intercept_, self.scaler_, self.temperature_)
        labels = TASK_LABELS[task] if task else ATTRIBUTE_LABELS
        return LinearHead(task or self.attribute, labels, "comment", weight, bias)


def attribute_figures(p: np.ndarray, data: AttributeSplit, attribute: str) -> dict[str, Any]:
    """Per data set: ROC-AUC and average precision against the majority label, macro-F1 at 0.5,
    and the calibration gap against the rater fractions; every figure with its counts."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    column = ATTRIBUTES.index(attribute)
    figures: dict[str, Any] = {}
    known = ~np.isnan(data.fractions[:, column])
    groups = {name: np.array([s == name for s in data.sources]) for name in sorted(set(data.sources))}
    # Pooled: every item that says something about the attribute, the civil ones included, as a feed would.
    groups["all sources pooled"] = np.ones(len(data), dtype=bool)
    for name, members in groups.items():
        mask = members & known
        fractions, scores = data.fractions[mask, column], p[mask]
        gold = (fractions >= 0.5).astype(int)
        if not mask.any() or gold.min() == gold.max():
            continue
        figures[name] = {
            "n": int(mask.sum()),
            "positives": int(gold.sum()),
            "roc_auc": round(float(roc_auc_score(gold, scores)), 4),
            "average_precision": round(float(average_precision_score(gold, scores)), 4),
            "macro_f1_at_0.5": round(macro_f1(gold, (scores >= 0.5).astype(int)), 4),
            "calibration_gap": round(calibration_gap(scores, fractions), 4),
        }
    return figures


def calibration_gap(p: np.ndarray, fractions: np.ndarray, bins: int = 15) -> float:
    """ECE for soft labels: per equal-width bin of predicted probability, |mean prediction -
    mean rater fraction|, weighted by the bin's share of items."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    return float(
        sum(
            (which == b).mean() * abs(p[which == b].mean() - fractions[which == b].mean())
            for b in range(bins)
            if (which == b).any()
        )
    )


Log = Callable[[str], object]


def train_attribute_heads(
    cache: FeatureCache, data_dir: Path, *, seed: int = 0, feedback: Path | None = None, log: Log = print
) -> tuple[dict[str, LinearHead], dict[str, dict[str, Any]]]:
    """Every attribute's head (TOXICITY as the toxicity task's head) and its manifest entry; ``feedback``, an
    exported feedback file, joins the data as one more source."""
    splits = {
        split: load_attribute_data(split, data_dir, feedback=feedback) for split in ("train", "validation", "test")
    }
    feats = {}
    for split, data in splits.items():
        log(f"attributes: encoding {len(data):,} {split} items")
        feats[split] = cache.features(data.task_split())
    heads: dict[str, LinearHead] = {}
    manifest: dict[str, dict[str, Any]] = {}
    for attribute in ATTRIBUTES:
        trainer = AttributeTrainer(attribute, seed=seed).fit(
            feats["train"], splits["train"], feats["validation"], splits["validation"]
        )
        task = "toxicity" if attribute == "TOXICITY" else None
        head = trainer.head(task)
        heads[task or attribute] = head
        test = attribute_figures(head.predict_proba(feats["test"])[:, -1], splits["test"], attribute)
        manifest[task or attribute] = {
            "features": "comment",
            "attribute": attribute,
            "train": {
                **attribute_train_entry(splits["train"], attribute),
                "shares": source_shares(splits["train"].sources),
            },
            "validation": {trainer.validation_metric_: round(trainer.validation_score_, 4)},
            "selected": {"C": trainer.c_, "balanced": trainer.balanced_},
            "calibration": {"temperature": round(trainer.temperature_, 4)},
            "test": test,
            **({"experimental": EXPERIMENTAL[attribute]} if attribute in EXPERIMENTAL else {}),
        }
        log(f"{attribute}: C={trainer.c_} balanced={trainer.balanced_} T={trainer.temperature_:.3f} test {test}")
    return heads, manifest


def attribute_train_entry(data: AttributeSplit, attribute: str) -> dict[str, Any]:
    """The manifest's account of an attribute head's training data: known items per source."""
    known = ~np.isnan(data.fractions[:, ATTRIBUTES.index(attribute)])
    counts = {
        name: int(sum(k for s, k in zip(data.sources, known, strict=True) if s == name))
        for name in sorted(set(data.sources))
    }
    return {"sources": {name: n for name, n in counts.items() if n}, "labels": "share of raters (soft labels)"}
