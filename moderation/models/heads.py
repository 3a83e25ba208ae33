"""Linear heads over pooled encoder features: stored as safetensors plus a JSON manifest.

Inference only: numpy and safetensors, no training library. A head's feature kind says what
it reads: ``comment`` (the comment vector) or ``pair`` (comment, target and their product,
for stance toward a target).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import ModelError
from moderation.models.encoder import PairFeatures

MANIFEST = "heads.json"
WEIGHTS = "heads.safetensors"
#: Fine-tuned encoder layers saved beside the heads (absent for heads over a frozen encoder).
ENCODER_WEIGHTS = "encoder.safetensors"
FEATURE_KINDS = ("comment", "pair")


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def feature_matrix(kind: str, features: PairFeatures) -> np.ndarray:
    """The input matrix a head of ``kind`` reads."""
    comment = _unit(features.comment)
    if kind == "comment":
        return comment
    if kind == "pair":
        target = _unit(features.target)
        return np.concatenate([comment, target, comment * target], axis=1)
    raise ModelError(f"unknown head feature kind {kind!r}; known: {', '.join(FEATURE_KINDS)}")


def feature_matrices(features: PairFeatures) -> Callable[[str], np.ndarray]:
    """Each kind's feature matrix in float64, built once however many heads read it."""
    return functools.cache(lambda kind: feature_matrix(kind, features).astype(np.float64))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class LinearHead:
    """Multinomial logistic regression: ``softmax(x @ weight.T + bias)``."""

    task: str
    labels: tuple[str, ...]
    features: str
    weight: np.ndarray  # (n_labels, n_features)
    bias: np.ndarray  # (n_labels,)

    def predict_proba(self, features: PairFeatures) -> np.ndarray:
        return self.proba(feature_matrix(self.features, features))

    def proba(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities from this head's feature matrix (``feature_matrices`` shares one per kind)."""
        if matrix.shape[1] != self.weight.shape[1]:
            raise ModelError(
                f"head {self.task!r} expects {self.weight.shape[1]} features, the encoder gives {matrix.shape[1]}"
            )
        # In float64: float32 logits moved a comment's published (6-decimal) probabilities with the
        # number of rows scored beside it, and large folded-scaler weights need it against cancellation.
        return softmax(matrix.astype(np.float64, copy=False) @ self.weight.T.astype(np.float64) + self.bias)


@dataclass(frozen=True)
class HeadSet:
    """Every head of one model, with the manifest that describes how they were made."""

    heads: dict[str, LinearHead]
    manifest: dict[str, Any]

    @property
    def digest(self) -> str:
        """A short hash of the weights: names a trained version, e.g. in stored scores."""
        sha = hashlib.sha256()
        for task in sorted(self.heads):
            sha.update(task.encode())
            sha.update(np.ascontiguousarray(self.heads[task].weight, dtype=np.float32).tobytes())
            sha.update(np.ascontiguousarray(self.heads[task].bias, dtype=np.float32).tobytes())
        return sha.hexdigest()[:12]

    @classmethod
    def load(cls, folder: str | Path) -> HeadSet:
        from safetensors.numpy import load_file

        folder = Path(folder)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            tensors = load_file(str(folder / WEIGHTS))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load heads from {folder}: {exc}") from exc
        heads = {}
        for task, spec in manifest["heads"].items():
            heads[task] = LinearHead(
                task=task,
                labels=tuple(spec["labels"]),
                features=spec["features"],
                weight=tensors[f"{task}.weight"],
                bias=tensors[f"{task}.bias"],
            )
        return cls(heads, manifest)

    def save(self, folder: str | Path) -> None:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, np.ndarray] = {}
        for task, head in self.heads.items():
            tensors[f"{task}.weight"] = np.ascontiguousarray(head.weight, dtype=np.float32)
            tensors[f"{task}.bias"] = np.ascontiguousarray(head.bias, dtype=np.float32)
            self.manifest.setdefault("heads", {})[task] = {
                **self.manifest.get("heads", {}).get(task, {}),
                "labels": list(head.labels),
                "features": head.features,
            }
        save_file(tensors, str(folder / WEIGHTS))
        (folder / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
