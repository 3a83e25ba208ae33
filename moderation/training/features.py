"""Where every trainer starts: a seeded process and encoder features cached on disk."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import torch

from moderation.models.encoder import Encoder, PairFeatures
from moderation.training.data import TaskSplit


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class FeatureCache:
    """Encoder features per (encoder, task, split, sample) on disk, so retraining heads is cheap."""

    def __init__(self, encoder: Encoder, folder: Path | None, *, model: str | None = None) -> None:
        """``model`` names what the features come from when it is more than the encoder (tuned layers loaded
        into it); default the encoder's name."""
        self.encoder = encoder
        self.folder = folder
        self.model = model or encoder.name

    def features(self, data: TaskSplit, *, batch_size: int = 64) -> PairFeatures:
        path = None
        if self.folder is not None:
            digest = hashlib.sha256(
                "\x1f".join([self.model, data.task, data.split, str(len(data)), *data.texts[:50]]).encode()
            ).hexdigest()[:16]
            path = self.folder / f"{data.task}-{data.split}-{digest}.npz"
            if path.exists():
                stored = np.load(path)
                return PairFeatures(stored["comment"], stored["target"], stored["has_target"], stored["n_windows"])
        features = self.encoder.encode(data.texts, data.targets, batch_size=batch_size)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                path,
                comment=features.comment,
                target=features.target,
                has_target=features.has_target,
                n_windows=features.n_windows,
            )
        return features
