"""Refit some attribute heads of a trained model on its own frozen features, each pulled toward its old weights.

New attribute data (the written threats, a site's feedback) can then reach a fine-tuned model without a GPU:
the encoder and every other head stay exactly as they were, so only the refitted attributes' figures can move.
The pull toward the old head (an L2 penalty on the distance, not on the weights) keeps what the fine-tune
learnt from data the frozen features alone would fit worse; its strength is chosen on validation.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import DataError, InputError
from moderation.models.encoder import Encoder, PairFeatures
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet, LinearHead, feature_matrix
from moderation.scores import ATTRIBUTES
from moderation.training.attribute_data import AttributeSplit, load_attribute_data
from moderation.training.attribute_heads import head_name, rated_rows
from moderation.training.features import FeatureCache
from moderation.training.logistic import fit_binary_temperature, folded_weights, soft_log_loss
from moderation.training.mixture import source_weights

#: Candidate strengths of the pull toward the old head (per unit of mean weighted log-loss).
PRIOR_STRENGTHS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)

Log = Callable[[str], object]


@dataclass
class PriorRefit:
    """Soft-label logistic regression for one attribute, penalised by its distance from ``prior``'s weights
    (on standardised features, the bias free), the strength chosen by validation soft log-loss with each
    source weighted by its share, then temperature-scaled on validation as ``AttributeTrainer`` is."""

    attribute: str
    prior: LinearHead
    strengths: tuple[float, ...] = PRIOR_STRENGTHS
    #: Each source's share of the sample weight; default ``mixture.SOURCE_SHARES``.
    shares: Mapping[str, float] | None = None
    search_: list[dict[str, Any]] = field(default_factory=list)

    def fit(
        self, train: PairFeatures, train_data: AttributeSplit, val: PairFeatures, val_data: AttributeSplit
    ) -> PriorRefit:
        from scipy.optimize import minimize
        from scipy.special import expit
        from sklearn.preprocessing import StandardScaler

        x_train, f_train, sources = rated_rows(self.attribute, feature_matrix(self.prior.features, train), train_data)
        x_val, f_val, val_sources = rated_rows(self.attribute, feature_matrix(self.prior.features, val), val_data)
        if not (f_train > 0).any() or not (f_train < 1).any():
            raise DataError(f"{self.attribute}: the training items are all rated alike; nothing to learn")
        weights = source_weights(sources, self.shares)
        weights = weights / weights.sum()
        # Validation weighs its sources as training does: pooled, a small new source would not count at all.
        val_weights = source_weights(val_sources, self.shares)
        self.scaler_ = StandardScaler().fit(x_train)
        z_train, z_val = self.scaler_.transform(x_train), self.scaler_.transform(x_val)
        # The old head's binary logit, x @ u + c, in the standardised coordinates.
        u = self.prior.weight[-1] - self.prior.weight[0]
        c = float(self.prior.bias[-1] - self.prior.bias[0])
        v0 = u * self.scaler_.scale_
        start = np.concatenate([v0, [c + float(u @ self.scaler_.mean_)]])
        self.prior_validation_ = -soft_log_loss(expit(z_val @ start[:-1] + start[-1]), f_val, val_weights)

        best: tuple[float, float, np.ndarray] | None = None
        for strength in self.strengths:

            def objective(theta: np.ndarray, strength: float = strength) -> tuple[float, np.ndarray]:
                v, b = theta[:-1], theta[-1]
                p = np.clip(expit(z_train @ v + b), 1e-12, 1 - 1e-12)
                loss = -(weights * (f_train * np.log(p) + (1 - f_train) * np.log1p(-p))).sum()
                residual = weights * (p - f_train)
                gap = v - v0
                grad = np.concatenate([z_train.T @ residual + strength * gap, [residual.sum()]])
                return float(loss + 0.5 * strength * gap @ gap), grad

            theta = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
            value = -soft_log_loss(expit(z_val @ theta[:-1] + theta[-1]), f_val, val_weights)
            self.search_.append({"prior_strength": strength, "validation": round(value, 4)})
            if best is None or value > best[0]:
                best = (value, strength, theta)
        assert best is not None
        self.validation_score_, self.strength_, self.theta_ = best
        self.temperature_ = fit_binary_temperature(z_val @ self.theta_[:-1] + self.theta_[-1], f_val)
        return self

    def head(self) -> LinearHead:
        """The refitted head on raw features, scaler and temperature folded in, as two rows (0, z)."""
        weight, bias = folded_weights(self.theta_[None, :-1], self.theta_[-1:], self.scaler_, self.temperature_)
        return LinearHead(self.prior.task, self.prior.labels, self.prior.features, weight, bias)


def refit_heads(
    encoder: Encoder,
    start_from: Path,
    attributes: Sequence[str],
    data_dir: Path,
    out_dir: Path,
    *,
    feedback: Path | None = None,
    cache_dir: Path | None = None,
    command: str | None = None,
    log: Log = print,
) -> HeadSet:
    """Load the model ``start_from`` (tuned layers into ``encoder``), refit the heads of ``attributes`` on its
    features of the attribute data, and save the whole model to ``out_dir`` (``command``, what refitted it,
    in its manifest beside the command that made it); the other heads are copied. ``cache_dir`` keeps the
    features, keyed by the model's heads."""
    from moderation.training.finetune import load_start

    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown or not attributes:
        raise InputError(f"--refit takes attributes among {', '.join(ATTRIBUTES)}; got {list(attributes) or 'none'}")
    heads = load_start(encoder, start_from)
    cache = FeatureCache(encoder, cache_dir, model=f"{encoder.name} tuned as {heads.digest}")
    splits = {split: load_attribute_data(split, data_dir, feedback=feedback) for split in ("train", "validation")}
    wanted = [ATTRIBUTES.index(a) for a in attributes]
    features: dict[str, PairFeatures] = {}
    for split, data in splits.items():
        rated = ~np.isnan(data.fractions[:, wanted]).all(axis=1)
        splits[split] = data.where(rated)
        log(f"refit: encoding {int(rated.sum()):,} {split} items")
        features[split] = cache.features(splits[split].task_split())
    for attribute in attributes:
        name = head_name(attribute)
        refit = PriorRefit(attribute, heads.heads[name]).fit(
            features["train"], splits["train"], features["validation"], splits["validation"]
        )
        heads.heads[name] = refit.head()
        spec = heads.manifest["heads"][name]
        spec["refit"] = {
            "prior_strength": refit.strength_,
            "metric": "negative soft log-loss, sources weighted by their shares",
            "validation": round(refit.validation_score_, 4),
            "before": round(refit.prior_validation_, 4),
            "search": refit.search_,
            "temperature": round(refit.temperature_, 4),
        }
        log(
            f"refit {attribute}: strength {refit.strength_}, validation {refit.validation_score_:.4f} "
            f"(before {refit.prior_validation_:.4f}), T={refit.temperature_:.3f}"
        )
    heads.manifest["refit"] = {
        "from": str(start_from),
        "attributes": list(attributes),
        "refitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **({"command": command} if command is not None else {}),
    }
    if (start_from / ENCODER_WEIGHTS).exists() and start_from.resolve() != out_dir.resolve():
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(start_from / ENCODER_WEIGHTS, out_dir / ENCODER_WEIGHTS)
    heads.save(out_dir)
    return heads
