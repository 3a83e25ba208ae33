"""Train the linear heads on frozen encoder features (``moderation train``).

Each head is a scikit-learn logistic regression on standardised features; its regularisation
and class weighting are chosen on the task's validation split by the task's own metric, then
the scaler is folded into the weights so inference needs numpy only.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moderation.models.encoder import Encoder, PairFeatures
from moderation.models.heads import HeadSet, LinearHead, feature_matrix, softmax
from moderation.scores import TASK_LABELS
from moderation.training.attribute_heads import train_attribute_heads
from moderation.training.data import load_task
from moderation.training.evaluation import METRICS, TaskResult, score_predictions
from moderation.training.features import FeatureCache, seed_everything
from moderation.training.logistic import C_GRID, fit_temperature, folded_weights
from moderation.training.metrics import expected_calibration_error

#: What each class head reads: stance needs the target, sentiment only the comment. Toxicity and
#: the other Perspective attributes are trained from rater fractions (``attribute_heads``).
HEAD_FEATURES = {"sentiment": "comment", "stance": "pair"}
CLASS_WEIGHTS: tuple[str | None, ...] = (None, "balanced")

Log = Callable[[str], object]


@dataclass
class HeadTrainer:
    """Logistic regression with a validation-chosen C; scikit-learn's fit contract."""

    task: str
    features: str
    seed: int = 0
    c_grid: tuple[float, ...] = C_GRID

    def fit(self, train: PairFeatures, y_train: np.ndarray, val: PairFeatures, y_val: np.ndarray) -> HeadTrainer:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        if len(np.unique(y_train)) < 2:
            raise ValueError(f"{self.task}: training labels have a single class")
        x_train = feature_matrix(self.features, train)
        x_val = feature_matrix(self.features, val)
        self.scaler_ = StandardScaler().fit(x_train)
        z_train, z_val = self.scaler_.transform(x_train), self.scaler_.transform(x_val)
        _, metric = METRICS[self.task]
        best: tuple[float, float, str | None, Any] | None = None
        self.search_: list[dict[str, Any]] = []
        for class_weight in CLASS_WEIGHTS:
            for c in self.c_grid:
                model = LogisticRegression(C=c, class_weight=class_weight, max_iter=2000, random_state=self.seed)
                model.fit(z_train, y_train)
                value = metric(y_val, model.predict(z_val))
                self.search_.append({"C": c, "class_weight": class_weight, "validation": round(value, 4)})
                if best is None or value > best[0]:
                    best = (value, c, class_weight, model)
        assert best is not None
        self.validation_score_, self.c_, self.class_weight_, self.model_ = best
        self.temperature_ = fit_temperature(self._logits(z_val), y_val)
        return self

    def _logits(self, z: np.ndarray) -> np.ndarray:
        """Softmax logits of the selected model; binary models as (0, z) so softmax equals sigmoid."""
        scores = self.model_.decision_function(z)
        return np.stack([np.zeros_like(scores), scores], axis=1) if scores.ndim == 1 else scores

    def raw_proba(self, features: PairFeatures) -> np.ndarray:
        """Probabilities before temperature scaling, to show what calibration changed."""
        return softmax(self._logits(self.scaler_.transform(feature_matrix(self.features, features))))

    def head(self) -> LinearHead:
        """The fitted model with the scaler and the temperature folded in."""
        weight, bias = folded_weights(self.model_.coef_, self.model_.intercept_, self.scaler_, self.temperature_)
        return LinearHead(self.task, TASK_LABELS[self.task], self.features, weight, bias)


def train_heads(
    encoder: Encoder,
    data_dir: Path,
    *,
    seed: int = 0,
    max_train: int | None = None,
    cache_dir: Path | None = None,
    feedback: Path | None = None,
    log: Log = print,
) -> tuple[HeadSet, list[TaskResult]]:
    """Fit every head on its task's train split, select on validation, report on test; ``feedback``, an
    exported feedback file, joins the attribute data (``load_attribute_data``)."""
    seed_everything(seed)
    cache = FeatureCache(encoder, cache_dir)
    heads: dict[str, LinearHead] = {}
    results: list[TaskResult] = []
    manifest: dict[str, Any] = {
        "name": f"frozen {encoder.name} + linear heads",
        "encoder": encoder.name,
        "hidden_size": encoder.hidden_size,
        "seed": seed,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": {"python": platform.python_version(), "torch": torch.__version__},
        "heads": {},
    }
    for task, kind in HEAD_FEATURES.items():
        splits = {split: load_task(task, split, data_dir) for split in ("train", "validation", "test")}
        if max_train is not None:
            splits["train"] = splits["train"].sample(max_train, seed=seed)
        feats = {}
        for split, data in splits.items():
            log(f"{task}: encoding {len(data):,} {split} items")
            feats[split] = cache.features(data)
        trainer = HeadTrainer(task, kind, seed=seed).fit(
            feats["train"], splits["train"].labels, feats["validation"], splits["validation"].labels
        )
        head = trainer.head()
        heads[task] = head
        test = splits["test"]
        test_proba = head.predict_proba(feats["test"])
        predicted = test_proba.argmax(axis=1)
        majority = int(np.bincount(splits["train"].labels).argmax())
        result = score_predictions(task, test.source, test.labels, predicted, majority)
        results.append(result)
        log(
            f"{task}: C={trainer.c_} class_weight={trainer.class_weight_} "
            f"validation {result.metric}={trainer.validation_score_:.4f} test={result.score:.4f} "
            f"T={trainer.temperature_:.3f}"
        )
        manifest["heads"][task] = {
            "features": kind,
            "train": {"source": splits["train"].source, "n": len(splits["train"])},
            "validation": {
                "source": splits["validation"].source,
                "n": len(splits["validation"]),
                result.metric: round(trainer.validation_score_, 4),
            },
            "test": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.as_dict().items()},
            "selected": {"C": trainer.c_, "class_weight": trainer.class_weight_},
            "calibration": {
                "temperature": round(trainer.temperature_, 4),
                "test_ece": round(expected_calibration_error(test_proba, test.labels), 4),
                "test_ece_uncalibrated": round(
                    expected_calibration_error(trainer.raw_proba(feats["test"]), test.labels), 4
                ),
            },
        }
    attribute_heads, attribute_manifest = train_attribute_heads(cache, data_dir, seed=seed, feedback=feedback, log=log)
    heads.update(attribute_heads)
    manifest["heads"].update(attribute_manifest)
    # The toxicity task's own figure: TweetEval offensive test, TOXICITY >= 0.5 read as offensive.
    test = load_task("toxicity", "test", data_dir)
    test_proba = heads["toxicity"].predict_proba(cache.features(test))
    majority = int(np.bincount(load_task("toxicity", "train", data_dir).labels).argmax())
    result = score_predictions("toxicity", test.source, test.labels, test_proba.argmax(axis=1), majority)
    results.append(result)
    manifest["heads"]["toxicity"]["calibration"]["test_ece"] = round(
        expected_calibration_error(test_proba, test.labels), 4
    )
    manifest["heads"]["toxicity"]["task_test"] = {
        k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.as_dict().items()
    }
    return HeadSet(heads, manifest), results
