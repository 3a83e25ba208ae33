"""Fine-tuned encoder layers on disk: each matrix as its change from the pretrained weights, in int8.

Why: fine-tuning moves most matrices by 1-3 % of their norm (the top layer's by up to 13 %: docs/models.md),
so the change rounded to int8 with one scale per row is off by at most 1/254 of that row's largest change,
far below what the int8 runtime itself rounds away, in half the bytes of fp16 weights. The change only means
something on the weights it was made from, so those are named by a digest that loading checks: the same
change on other weights would be another, unmeasured model. Vectors (biases, LayerNorm) are small and kept
whole in fp16. A file without this format's metadata holds whole weights (how tuned layers were saved
before) and loads as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from moderation.errors import ModelError

if TYPE_CHECKING:
    import torch

FORMAT = "int8-row-delta"
#: Suffix of a matrix's per-row scales (":" is in no state-dict key).
SCALE = ":scale"


def base_digest(base: Mapping[str, torch.Tensor], keys: Iterable[str]) -> str:
    """A hash of the pretrained weights under ``keys``: what a stored change applies to."""
    sha = hashlib.sha256()
    for key in sorted(keys):
        sha.update(key.encode())
        sha.update(base[key].detach().float().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()[:16]


def save_tuned(path: Path, tuned: Mapping[str, torch.Tensor], base: Mapping[str, torch.Tensor]) -> None:
    """Write ``tuned`` weights as their int8 change from ``base`` (matrices) or whole in fp16 (vectors)."""
    import torch
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    matrices = [key for key, value in tuned.items() if value.ndim == 2]
    for key, value in tuned.items():
        value = value.detach().float().cpu()
        if key not in matrices:
            tensors[key] = value.to(torch.float16).contiguous()
            continue
        change = value - base[key].detach().float().cpu()
        scale = change.abs().amax(dim=1) / 127
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        tensors[key] = torch.round(change / scale[:, None]).to(torch.int8).contiguous()
        tensors[key + SCALE] = scale.contiguous()
    save_file(tensors, str(path), metadata={"format": FORMAT, "base": base_digest(base, matrices)})


def load_tuned(path: Path, base: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The whole tuned weights in ``path``, each stored change added to ``base`` (the pretrained weights)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            stored = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(f"cannot read encoder weights {path}: {exc}") from exc
    if metadata.get("format") != FORMAT:
        return stored
    matrices = [key.removesuffix(SCALE) for key in stored if key.endswith(SCALE)]
    missing = sorted(key for key in matrices if key not in base or base[key].ndim != 2)
    if missing:
        raise ModelError(f"{path} changes weights this encoder lacks: {', '.join(missing[:3])} ...")
    if base_digest(base, matrices) != metadata.get("base"):
        raise ModelError(f"{path} was tuned from other pretrained weights than this encoder's")
    tuned = {}
    for key, value in stored.items():
        if key.endswith(SCALE):
            continue
        if key in matrices:
            tuned[key] = base[key].detach().float().cpu() + value.float() * stored[key + SCALE][:, None]
        else:
            tuned[key] = value
    return tuned
