"""The encoder path any checkpoint goes through, pinned on a tiny model saved by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation import ModelError
from moderation.models import encoder as encoder_module
from moderation.models.encoder import WINDOW_TOKENS, Encoder, WindowTokenizer


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


def test_the_comment_vector_is_the_same_whatever_the_target_and_the_target_reads_the_comment(
    encoder: Encoder,
) -> None:
    texts = ["we support peace", "good great happy " * (WINDOW_TOKENS // 2)]  # the second needs two windows
    alone = encoder.encode(texts)
    for targets in (["war", "the movie"], ["a much longer title about the war and the peace talks", "good"]):
        paired = encoder.encode(texts, targets)
        assert paired.has_target.all() and np.abs(paired.target).sum() > 0
        np.testing.assert_allclose(paired.comment, alone.comment, atol=1e-5)
        np.testing.assert_array_equal(paired.n_windows, alone.n_windows)
    # The target's vector is contextualised by the comment (stance reads it).
    other = encoder.encode(["we hate peace"], ["war"])
    assert not np.allclose(encoder.encode(texts[:1], ["war"]).target, other.target)


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
    from tokenizers import Tokenizer

    words = "good great love happy bad awful hate the movie war peace [SEP] </s>".split()
    tokenizer = encoder.tokenizer if layout == "bert" else _roberta_style(words, template=layout == "roberta")
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=size)) for size in (1, 3, 40, WINDOW_TOKENS + 30, 2 * WINDOW_TOKENS)]
    targets = [None, "war peace", "   ", "the movie", "good"]  # a blank target still makes a pair
    tokenize = WindowTokenizer(tokenizer)
    windows = tokenize(texts, targets)
    arrays, sequence = tokenize.batch(windows, np.arange(len(windows)))
    # The comment is cut alone: its windows are the tokenizer's own windows of the lone text ...
    cut = [
        (i, window)
        for i, encoding in enumerate(tokenize.backend.encode_batch(texts))
        for window in (encoding, *encoding.overflowing)
    ]
    assert len(cut) == len(windows) > len(texts)
    whole = Tokenizer.from_str(tokenize.backend.to_str())
    whole.no_truncation()
    for row, (i, window) in enumerate(cut):
        # ... and a paired window is the tokenizer's own pair of that window's words and the target.
        spans = [o for o, s in zip(window.offsets, window.sequence_ids, strict=True) if s == 0]
        piece = texts[i][spans[0][0] : spans[-1][1]]
        reference = window if targets[i] is None else whole.encode(piece, targets[i])
        size = len(reference.ids)
        assert arrays["input_ids"][row, :size].tolist() == reference.ids
        assert arrays["attention_mask"][row].sum() == size
        assert sequence[row, :size].tolist() == [-1 if s is None else s for s in reference.sequence_ids]
        assert (sequence[row, size:] == -1).all()
        # The target side: the target and the specials after it (only those when the target is blank).
        first_target = next(
            (k for k, s in enumerate(reference.sequence_ids) if s == 1), size - len(tokenize.template.after_ids)
        )
        side = [int(targets[i] is not None and first_target <= k < size) for k in range(sequence.shape[1])]
        assert arrays["target_side"][row].tolist() == side
        if "token_type_ids" in arrays:
            assert arrays["token_type_ids"][row, :size].tolist() == reference.type_ids


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
