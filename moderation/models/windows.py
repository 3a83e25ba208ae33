"""Model inputs shared by every checkpoint we run: token windows and their padded batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Window:
    """One model input: the ids of (part of) text ``index``, with its pair if any.

    ``sequence_ids`` (0 for the first text's tokens, 1 for the pair's, None for specials) is kept
    where pooling needs to tell them apart.
    """

    index: int
    input_ids: list[int]
    token_type_ids: list[int] | None
    sequence_ids: list[int | None] | None = None


def model_inputs(batch: list[Window], pad_id: int, device: str) -> dict[str, torch.Tensor]:
    """The batch right-padded into ``input_ids``, ``attention_mask`` (and ``token_type_ids``) tensors."""
    import torch

    length = max(len(w.input_ids) for w in batch)
    ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    types = torch.zeros((len(batch), length), dtype=torch.long)
    for row, window in enumerate(batch):
        size = len(window.input_ids)
        ids[row, :size] = torch.tensor(window.input_ids)
        mask[row, :size] = 1
        if window.token_type_ids is not None:
            types[row, :size] = torch.tensor(window.token_type_ids)
    inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    if batch[0].token_type_ids is not None:
        inputs["token_type_ids"] = types.to(device)
    return inputs
