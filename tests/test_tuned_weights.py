"""Fine-tuned layers stored as their int8 change from the pretrained weights, on a tiny model the tests save."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from moderation import ModelError
from moderation.models.encoder import Encoder
from moderation.models.tuned_weights import load_tuned, save_tuned

LAYER = "encoder.layer.1."


def _tuned(encoder: Encoder) -> dict[str, torch.Tensor]:
    """Layer 1 moved by about 2 % of its weights, as a fine-tune moves a layer."""
    generator = torch.Generator().manual_seed(0)
    return {
        key: value + 0.02 * value.abs().mean() * torch.randn(value.shape, generator=generator)
        for key, value in encoder.model.state_dict().items()
        if key.startswith(LAYER)
    }


def test_tuned_layers_load_back_within_a_hundredth_of_their_change(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    tuned = _tuned(encoder)
    pretrained = encoder.model.state_dict()
    save_tuned(tmp_path / "encoder.safetensors", tuned, pretrained)

    fresh = Encoder.load(tiny_encoder_dir)
    fresh.load_weights(tmp_path / "encoder.safetensors")
    loaded = fresh.model.state_dict()
    assert fresh.loaded_keys == frozenset(tuned)
    for key, value in tuned.items():
        change = (value - pretrained[key]).abs().max()
        error = (loaded[key] - value).abs().max()
        if value.ndim == 2:
            assert error <= change / 127, key  # half a step of the row's scale at most
        else:
            assert error <= value.abs().max() * 1e-3, key  # vectors: whole, in fp16


def test_a_matrix_is_stored_in_one_byte_a_weight_and_one_scale_a_row(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    """Half of fp16's bytes for a real layer (384 weights a row, 4 bytes of scale)."""
    from safetensors import safe_open

    encoder = Encoder.load(tiny_encoder_dir)
    tuned = _tuned(encoder)
    save_tuned(tmp_path / "encoder.safetensors", tuned, encoder.model.state_dict())
    with safe_open(str(tmp_path / "encoder.safetensors"), framework="pt") as handle:
        stored = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
    for key, value in tuned.items():
        if value.ndim == 2:
            assert stored[key].dtype == torch.int8 and stored[key].shape == value.shape
            assert stored[f"{key}:scale"].shape == (value.shape[0],)
        else:
            assert stored[key].dtype == torch.float16


def test_a_change_refuses_to_load_onto_other_pretrained_weights(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    save_tuned(tmp_path / "encoder.safetensors", _tuned(encoder), encoder.model.state_dict())
    other = Encoder.load(tiny_encoder_dir)
    with torch.no_grad():
        next(p for n, p in other.model.named_parameters() if n.startswith(LAYER) and p.ndim == 2).add_(0.01)
    with pytest.raises(ModelError, match="other pretrained weights"):
        other.load_weights(tmp_path / "encoder.safetensors")
    # Loaded twice, the second change would apply to the first one's result: refused the same way.
    encoder.load_weights(tmp_path / "encoder.safetensors")
    with pytest.raises(ModelError, match="other pretrained weights"):
        encoder.load_weights(tmp_path / "encoder.safetensors")


def test_whole_weights_saved_without_the_format_load_as_they_are(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    tuned = {k: v.half().contiguous() for k, v in _tuned(encoder).items()}
    save_file(tuned, str(tmp_path / "whole.safetensors"))
    loaded = load_tuned(tmp_path / "whole.safetensors", encoder.model.state_dict())
    assert all(torch.equal(loaded[key], value) for key, value in tuned.items())


def test_an_unreadable_file_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "encoder.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot read encoder weights"):
        load_tuned(tmp_path / "encoder.safetensors", {})


def test_the_pretrained_weights_of_loaded_layers_are_read_again_from_the_checkpoint(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    pretrained = {k: v.clone() for k, v in encoder.model.state_dict().items()}
    tuned = _tuned(encoder)
    save_tuned(tmp_path / "encoder.safetensors", tuned, pretrained)
    encoder.load_weights(tmp_path / "encoder.safetensors")
    again = encoder.pretrained_state([*tuned, "embeddings.word_embeddings.weight"])
    assert all(torch.equal(again[key], pretrained[key]) for key in again)
