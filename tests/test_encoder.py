"""The encoder path any checkpoint goes through, pinned on a tiny model saved by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation import ModelError
from moderation.models import encoder as encoder_module
from moderation.models.encoder import WINDOW_TOKENS, Encoder, _WindowTokenizer


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


def _roberta_style(words: list[str], *, template: bool = True) -> Any:
    """A fast tokenizer with RoBERTa's layout (``<s> A </s></s> B </s>``, no token types), or none at all."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {word: i for i, word in enumerate(["<pad>", "<s>", "</s>", "<unk>", *words])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    if template:
        backend.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", model_input_names=["input_ids", "attention_mask"]
    )


@pytest.mark.parametrize("layout", ["bert", "roberta", "no special tokens"])
def test_window_segments_match_the_tokenizers_own_sequence_and_type_ids(encoder: Encoder, layout: str) -> None:
    words = "good great love happy bad awful hate the movie war peace [SEP] </s>".split()
    tokenizer = encoder.tokenizer if layout == "bert" else _roberta_style(words, template=layout == "roberta")
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=size)) for size in (1, 3, 40, WINDOW_TOKENS + 30, 2 * WINDOW_TOKENS)]
    targets = [None, "war peace", "   ", "the movie", "good"]  # a blank target still makes a pair
    tokenize = _WindowTokenizer(tokenizer)
    windows = tokenize(texts, targets)
    arrays, sequence = tokenize.batch(windows, np.arange(len(windows)))
    # The reference: every window as the tokenizer itself cuts and labels it.
    reference = tokenize.backend.encode_batch([t if g is None else (t, g) for t, g in zip(texts, targets, strict=True)])
    flat = [window for encoding in reference for window in (encoding, *encoding.overflowing)]
    assert len(flat) == len(windows) > len(texts)
    for row, window in enumerate(flat):
        size = len(window.ids)
        assert arrays["input_ids"][row, :size].tolist() == window.ids
        assert arrays["attention_mask"][row].sum() == size
        assert sequence[row, :size].tolist() == [-1 if s is None else s for s in window.sequence_ids]
        assert (sequence[row, size:] == -1).all()
        if "token_type_ids" in arrays:
            assert arrays["token_type_ids"][row, :size].tolist() == window.type_ids


def test_chunks_give_the_vectors_of_one_pass_and_progress_reaches_every_window(
    encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["good great", "bad " * (WINDOW_TOKENS + 20), "the movie. we love it.", "", "war peace vote", "i hate tax"]
    targets = ["war", None, "policy", None, None, "tax"]
    whole = encoder.encode(texts, targets, batch_size=2, sentences=True)
    monkeypatch.setattr(encoder_module, "CHUNK_INPUTS", 2)
    calls: list[tuple[int, int]] = []
    chunked = encoder.encode(texts, targets, batch_size=2, sentences=True, progress=lambda d, t: calls.append((d, t)))
    np.testing.assert_allclose(chunked.comment, whole.comment, atol=1e-6)
    np.testing.assert_allclose(chunked.target, whole.target, atol=1e-6)
    np.testing.assert_allclose(chunked.sentence_vectors, whole.sentence_vectors, atol=1e-6)
    np.testing.assert_array_equal(chunked.n_windows, whole.n_windows)
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1] == whole.n_windows.sum() + 2  # + two sentences
