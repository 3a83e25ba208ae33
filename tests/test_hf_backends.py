"""Any checkpoint as a task backend, pinned on tiny random checkpoints saved by the tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from moderation import ModelError
from moderation.models.backends import BackendOutput
from moderation.models.hf import Classifier, SequenceClassifierBackend
from moderation.models.nli import ZeroShotNliBackend, check_templates
from moderation.models.windows import Window

TinyClassifier = Callable[..., Path]
TEXTS = ["good great happy love", "bad awful sad hate", "the policy is a tax"]
#: Templates in the tiny vocabulary, so the three hypotheses really differ.
TEMPLATES = {"stance": {"against": "i oppose {target}", "neutral": "the {target} vote", "favor": "we support {target}"}}


def _proba(
    backend: SequenceClassifierBackend | ZeroShotNliBackend,
    texts: Sequence[str],
    targets: Sequence[str | None] | None = None,
) -> BackendOutput:
    """Everything the backend serves, in small batches so several windows share a batch."""
    targets = targets if targets is not None else [None] * len(texts)
    return backend.predict_proba(texts, targets, backend.tasks, batch_size=2, progress=None)


def _manual_logits(folder: Path, first: str, second: str | None = None) -> np.ndarray:
    classifier = Classifier.load(folder)
    inputs = classifier.tokenizer(first, second, return_tensors="pt")
    with torch.inference_mode():
        return classifier.model(**inputs).logits[0].double().numpy()


def test_a_saved_checkpoint_gives_distributions_in_our_label_order(tiny_sentiment_dir: Path) -> None:
    backend = SequenceClassifierBackend(Classifier.load(tiny_sentiment_dir), "sentiment")
    probabilities = _proba(backend, TEXTS).probabilities["sentiment"]
    assert probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    logits = _manual_logits(tiny_sentiment_dir, TEXTS[0])
    np.testing.assert_allclose(probabilities[0], np.exp(logits) / np.exp(logits).sum(), atol=1e-5)


def test_the_checkpoints_own_label_order_does_not_matter(
    tiny_sentiment_dir: Path, tiny_classifier: TinyClassifier
) -> None:
    # The same weights (same seed), with the classes declared in another order.
    permuted = tiny_classifier({0: "positive", 1: "negative", 2: "neutral"})
    ordered = _proba(SequenceClassifierBackend(Classifier.load(tiny_sentiment_dir), "sentiment"), TEXTS)
    shuffled = _proba(SequenceClassifierBackend(Classifier.load(permuted), "sentiment"), TEXTS)
    a, b = ordered.probabilities["sentiment"], shuffled.probabilities["sentiment"]
    # Column 0 of the weights is "negative" in one and "positive" in the other, and so on.
    np.testing.assert_allclose(b, a[:, [1, 2, 0]], atol=1e-6)


def test_generic_label_names_are_refused_with_the_fix(tiny_generic_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"generic label names.*\[models\.sentiment\.labels\] LABEL_0 ="):
        SequenceClassifierBackend(Classifier.load(tiny_generic_dir), "sentiment")


def test_an_explicit_mapping_reads_generic_labels(tiny_generic_dir: Path, tiny_sentiment_dir: Path) -> None:
    mapping = {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}
    generic = SequenceClassifierBackend(Classifier.load(tiny_generic_dir), "sentiment", labels=mapping)
    named = SequenceClassifierBackend(Classifier.load(tiny_sentiment_dir), "sentiment")
    np.testing.assert_allclose(
        _proba(generic, TEXTS).probabilities["sentiment"], _proba(named, TEXTS).probabilities["sentiment"], atol=1e-6
    )


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"LABEL_0": "negative", "LABEL_1": "negative", "LABEL_2": "positive"},
            r"no checkpoint label maps to \['neutral'\]",
        ),
        ({"LABEL_0": "negative", "LABEL_1": "meh", "LABEL_2": "positive"}, "not a sentiment label"),
        ({"LABEL_9": "negative"}, "does not have"),
    ],
)
def test_a_mapping_must_cover_our_labels_with_real_names(
    tiny_generic_dir: Path, mapping: dict[str, str], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        SequenceClassifierBackend(Classifier.load(tiny_generic_dir), "sentiment", labels=mapping)


def test_several_checkpoint_labels_may_add_up_to_one_of_ours(tiny_classifier: TinyClassifier) -> None:
    folder = tiny_classifier({0: "hate", 1: "normal", 2: "offensive"})
    backend = SequenceClassifierBackend(Classifier.load(folder), "toxicity")
    [row] = _proba(backend, ["you stupid idiot"]).probabilities["toxicity"]
    logits = _manual_logits(folder, "you stupid idiot")
    softmax = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(row, [softmax[1], softmax[0] + softmax[2]], atol=1e-5)


def test_a_multi_label_checkpoint_gives_perspective_attributes(tiny_toxicity_dir: Path) -> None:
    backend = SequenceClassifierBackend(Classifier.load(tiny_toxicity_dir), "toxicity")
    output = _proba(backend, ["you stupid idiot", "we love the movie"])
    expected = {"TOXICITY", "SEVERE_TOXICITY", "PROFANITY", "THREAT", "INSULT", "IDENTITY_ATTACK"}
    assert set(output.attributes) == expected
    sigmoid = 1.0 / (1.0 + np.exp(-_manual_logits(tiny_toxicity_dir, "you stupid idiot")))
    # Independent probabilities per label; TOXICITY becomes the toxicity task's "toxic".
    assert output.attributes["INSULT"][0] == pytest.approx(sigmoid[4], abs=1e-5)
    toxicity = output.probabilities["toxicity"]
    np.testing.assert_allclose(toxicity[:, 1], output.attributes["TOXICITY"])
    np.testing.assert_allclose(toxicity.sum(axis=1), 1.0)
    assert toxicity[0, 1] == pytest.approx(sigmoid[0], abs=1e-5)


def test_a_multi_label_checkpoint_serves_toxicity_only(tiny_toxicity_dir: Path) -> None:
    with pytest.raises(ModelError, match="only serve toxicity"):
        SequenceClassifierBackend(Classifier.load(tiny_toxicity_dir), "sentiment")


def test_long_texts_average_their_windows_in_any_batching(tiny_sentiment_dir: Path) -> None:
    classifier = Classifier.load(tiny_sentiment_dir, window_tokens=16)
    backend = SequenceClassifierBackend(classifier, "sentiment")
    long_text = "good great happy love " * 10 + "bad awful sad hate " * 10
    texts = [long_text, "the movie", long_text[:40]]
    windows = classifier.windows([0], [long_text], None, overflow=True)
    assert len(windows) > 3 and all(len(w.input_ids) <= 16 for w in windows)
    logits = classifier.logits(windows, batch_size=3, progress=None)
    per_window = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    together = _proba(backend, texts).probabilities["sentiment"]
    np.testing.assert_allclose(together[0], per_window.mean(axis=0), atol=1e-5)
    alone = np.stack([_proba(backend, [t]).probabilities["sentiment"][0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_stance_pairs_the_comment_with_its_target_and_skips_no_target(tiny_classifier: TinyClassifier) -> None:
    folder = tiny_classifier({0: "AGAINST", 1: "NONE", 2: "FAVOR"})
    backend = SequenceClassifierBackend(Classifier.load(folder), "stance")
    stance = _proba(backend, ["we support peace"] * 3, ["war", None, "peace"]).probabilities["stance"]
    assert np.isnan(stance[1]).all()
    expected = _manual_logits(folder, "we support peace", "war")
    np.testing.assert_allclose(stance[0], np.exp(expected) / np.exp(expected).sum(), atol=1e-5)
    assert not np.allclose(stance[0], stance[2])


def test_a_hub_id_that_is_not_cached_fails_without_downloading() -> None:
    with pytest.raises(ModelError, match="offline"):
        Classifier.load("example-org/not-a-cached-classifier")


def test_hypotheses_follow_the_templates_in_our_label_order(tiny_nli_dir: Path) -> None:
    backend = ZeroShotNliBackend(Classifier.load(tiny_nli_dir), TEMPLATES)
    assert backend.tasks == ("stance",)
    assert backend.hypotheses("stance", "war") == ["i oppose war", "the war vote", "we support war"]


def test_the_batch_pairs_each_comment_with_each_hypothesis(tiny_nli_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = {**TEMPLATES, "sentiment": {"negative": "this is bad", "neutral": "this is a", "positive": "good"}}
    backend = ZeroShotNliBackend(Classifier.load(tiny_nli_dir), templates)
    seen: list[tuple[list[str], list[str]]] = []
    original = backend.classifier.windows

    def spy(
        indices: Sequence[int], firsts: Sequence[str], seconds: Sequence[str] | None, *, overflow: bool
    ) -> list[Window]:
        seen.append((list(firsts), list(seconds or [])))
        return original(indices, firsts, seconds, overflow=overflow)

    monkeypatch.setattr(backend.classifier, "windows", spy)
    output = _proba(backend, ["we support peace", "you idiot"], ["war", None])
    [(premises, hypotheses)] = seen
    # Sentiment for every comment, stance only where there is a target; one pass for both tasks.
    assert premises == ["we support peace"] * 3 + ["you idiot"] * 3 + ["we support peace"] * 3
    sentiment = list(templates["sentiment"].values())
    assert hypotheses == [*sentiment, *sentiment, "i oppose war", "the war vote", "we support war"]
    assert np.isnan(output.probabilities["stance"][1]).all()
    np.testing.assert_allclose(output.probabilities["sentiment"].sum(axis=1), 1.0)


def test_zero_shot_is_the_softmax_over_entailment_logits(tiny_nli_dir: Path) -> None:
    backend = ZeroShotNliBackend(Classifier.load(tiny_nli_dir), TEMPLATES)
    [row] = _proba(backend, ["i oppose this war"], ["war"]).probabilities["stance"]
    entailment = np.array(
        [_manual_logits(tiny_nli_dir, "i oppose this war", h)[2] for h in backend.hypotheses("stance", "war")]
    )
    np.testing.assert_allclose(row, np.exp(entailment) / np.exp(entailment).sum(), atol=1e-5)


def test_the_entailment_label_is_found_or_named(tiny_sentiment_dir: Path) -> None:
    with pytest.raises(ModelError, match="entailment label"):
        ZeroShotNliBackend(Classifier.load(tiny_sentiment_dir), TEMPLATES)
    named = ZeroShotNliBackend(Classifier.load(tiny_sentiment_dir), TEMPLATES, entailment="positive")
    assert named.entailment == 2


def test_long_comments_are_cut_into_pieces_every_hypothesis_shares(tiny_nli_dir: Path) -> None:
    backend = ZeroShotNliBackend(Classifier.load(tiny_nli_dir, window_tokens=24), TEMPLATES)
    text = "we support peace and " * 20 + "i oppose this war"
    budget = backend._piece_budget({"stance": {0: backend.hypotheses("stance", "war")}})
    [pieces] = backend._pieces([text], budget)
    assert len(pieces) > 3
    assert text.startswith(pieces[0]) and text.endswith(pieces[-1])
    [row] = _proba(backend, [text], ["war"]).probabilities["stance"]
    per_piece = []
    for piece in pieces:
        logits = np.array([_manual_logits(tiny_nli_dir, piece, h)[2] for h in backend.hypotheses("stance", "war")])
        per_piece.append(np.exp(logits) / np.exp(logits).sum())
    np.testing.assert_allclose(row, np.mean(per_piece, axis=0), atol=1e-5)


@pytest.mark.parametrize(
    ("task", "templates", "message"),
    [
        ("stance", {"against": "no {target}", "favor": "yes {target}"}, "must name exactly"),
        ("stance", {"against": "no", "neutral": "maybe {target}", "favor": "yes {target}"}, "needs"),
        ("sentiment", {"negative": "bad {target}", "neutral": "a", "positive": "good"}, "cannot use"),
        ("sentiment", {"negative": "bad {topic}", "neutral": "a", "positive": "good"}, "only"),
    ],
)
def test_templates_cover_our_labels_and_use_the_target_for_stance_only(
    task: str, templates: dict[str, str], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        check_templates(task, templates)


def test_windows_longer_than_the_model_allows_are_refused(tiny_sentiment_dir: Path) -> None:
    with pytest.raises(ModelError, match="exceed the model's 512"):
        Classifier.load(tiny_sentiment_dir, window_tokens=1024)
