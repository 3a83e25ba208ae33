"""The encoder path any checkpoint goes through, pinned on a tiny model saved by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moderation import ModelError
from moderation.models.encoder import WINDOW_TOKENS, Encoder


@pytest.fixture(scope="module")
def encoder(tiny_encoder_dir: Path) -> Encoder:
    return Encoder.load(tiny_encoder_dir)


def test_a_saved_checkpoint_folder_loads_offline(encoder: Encoder) -> None:
    assert encoder.hidden_size == 16


def test_a_missing_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load encoder"):
        Encoder.load(tmp_path / "nothing-here")


def test_vectors_come_back_in_input_order_whatever_the_batching(encoder: Encoder) -> None:
    texts = ["good", "bad awful sad hate " * 5, "the movie", "i love this very nice food"]
    together = encoder.encode(texts, batch_size=4)
    one_by_one = [encoder.encode([t], batch_size=1).comment[0] for t in texts]
    np.testing.assert_allclose(together.comment, np.stack(one_by_one), atol=1e-5)


def test_the_target_changes_the_comment_vector_and_gets_its_own(encoder: Encoder) -> None:
    alone = encoder.encode(["we support peace"])
    paired = encoder.encode(["we support peace"], ["war"])
    assert not alone.has_target[0] and paired.has_target[0]
    assert np.abs(alone.target).sum() == 0 and np.abs(paired.target).sum() > 0
    assert not np.allclose(alone.comment, paired.comment)


def test_long_comments_are_windowed_not_truncated(encoder: Encoder) -> None:
    head = "good great happy " * (WINDOW_TOKENS // 3 + 10)
    long_a = encoder.encode([head + "terrible idiot stupid " * 60])
    long_b = encoder.encode([head + "love nice peace " * 60])
    assert long_a.n_windows[0] >= 2
    # The words past the first window still move the vector.
    assert not np.allclose(long_a.comment, long_b.comment)


def test_empty_text_still_gets_a_vector(encoder: Encoder) -> None:
    features = encoder.encode(["", "good"])
    assert features.comment.shape == (2, 16)
    assert np.isfinite(features.comment).all()


def test_a_hub_id_that_is_not_cached_fails_without_downloading() -> None:
    with pytest.raises(ModelError, match="offline"):
        Encoder.load("example-org/not-a-cached-model")


def test_sentences_are_encoded_alone_in_the_same_pass(encoder: Encoder) -> None:
    texts = ["good great happy. you stupid idiot.", "we love the movie"]
    features = encoder.encode(texts, ["war", None], sentences=True)
    assert features.sentences == [[(0, 17), (18, 35)], [(0, 17)]]
    alone = encoder.encode(["good great happy.", "you stupid idiot."])
    np.testing.assert_allclose(features.sentence_vectors[:2], alone.comment, atol=1e-5)
    # A one-sentence comment's sentence is the comment itself.
    np.testing.assert_allclose(features.sentence_vectors[2], features.comment[1], atol=1e-6)
    # Asking for sentences changes nothing else.
    np.testing.assert_allclose(features.comment, encoder.encode(texts, ["war", None]).comment, atol=1e-5)
