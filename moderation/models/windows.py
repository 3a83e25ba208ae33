"""What every checkpoint we run shares: offline loading, token windows, padded batches, clipped targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moderation.errors import ModelError

if TYPE_CHECKING:
    import torch

#: Longest target (article title, topic) kept in a window, so it never crowds the comment out.
MAX_TARGET_TOKENS = 48


def load_offline(source: str, model_class: Any, *, kind: str, device: str) -> tuple[Any, Any]:
    """Tokenizer and model from a folder or the local hub cache (never downloaded), in eval mode.

    A fast (Rust) tokenizer is required: windowing relies on its overflow and sequence ids.
    """
    from transformers import AutoTokenizer

    try:
        # local_files_only: a hub id resolves from the local cache or fails; nothing is downloaded.
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = model_class.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {kind} {source!r} offline: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"{kind} {source!r} needs a fast (Rust) tokenizer for windowing")
    model.eval().to(device)
    return tokenizer, model


def clip_target(tokenizer: Any, text: str, max_tokens: int = MAX_TARGET_TOKENS) -> str:
    """``text`` cut to ``max_tokens`` tokens."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= max_tokens else str(tokenizer.decode(ids[:max_tokens]))


@dataclass(frozen=True)
class Window:
    """One model input of a classifier: the ids of (part of) text ``index``, with its pair if any."""

    index: int
    input_ids: list[int]
    token_type_ids: list[int] | None


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
