"""Training the heads: any encoder, data in the shared layout, artefacts that load back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation import Scorer
from moderation.models.encoder import Encoder, PairFeatures
from moderation.models.heads import HeadSet, LinearHead, softmax
from moderation.training.data import load_task
from moderation.training.frozen_heads import HeadTrainer, train_heads


def test_data_loaders_map_labels_to_public_order(tiny_data_dir: Path) -> None:
    stance = load_task("stance", "train", tiny_data_dir)
    # VAST 0=con, 1=pro, 2=neutral -> public (against, neutral, favor) = 0, 2, 1
    assert stance.labels[:3].tolist() == [0, 2, 1]
    assert stance.targets[0] == "peace" and stance.texts[0] == "i oppose this war"
    sentiment = load_task("sentiment", "validation", tiny_data_dir)
    assert len(sentiment) == 12 and sentiment.targets[0] is None


def test_folded_scaler_and_temperature_give_the_pipelines_probabilities_rescaled() -> None:
    from moderation.models.heads import feature_matrix, softmax

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8)).astype(np.float32) * 3 + 1
    y = (x[:, 0] + x[:, 1] > 2).astype(int)
    features = PairFeatures(x, np.zeros_like(x), np.zeros(60, bool), np.ones(60, int))
    trainer = HeadTrainer("toxicity", "comment").fit(features, y, features, y)
    z = trainer.scaler_.transform(feature_matrix("comment", features))
    pipeline = trainer.model_.predict_proba(z)
    np.testing.assert_allclose(trainer.raw_proba(features), pipeline, atol=1e-6)
    logits = np.log(pipeline[:, 1] / pipeline[:, 0])
    calibrated = softmax(np.stack([np.zeros_like(logits), logits], axis=1) / trainer.temperature_)
    np.testing.assert_allclose(trainer.head().predict_proba(features), calibrated, atol=1e-6)
    assert (trainer.head().predict_proba(features).argmax(axis=1) == pipeline.argmax(axis=1)).all()


def test_trained_heads_save_load_and_score_through_the_scorer(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tmp_path: Path
) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    heads, results = train_heads(encoder, tiny_data_dir, seed=0, cache_dir=tmp_path / "cache", log=lambda _: None)
    assert {r.task for r in results} == {"sentiment", "stance", "toxicity"}
    heads.save(tmp_path / "heads")
    assert any((tmp_path / "cache").iterdir())
    loaded = HeadSet.load(tmp_path / "heads")
    assert loaded.manifest["heads"]["stance"]["features"] == "pair"
    scorer = Scorer.load(tiny_encoder_dir, heads=tmp_path / "heads")
    [scores] = scorer.predict(["you stupid idiot"], ["war"])
    for head in (scores.sentiment, scores.stance, scores.toxicity):
        assert head is not None
        assert sum(head.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # The tiny data is separable: the toxicity head learns it.
    assert scores.toxicity.label == "toxic"


def test_training_is_reproducible_with_a_seed(tiny_encoder_dir: Path, tiny_data_dir: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    first, _ = train_heads(encoder, tiny_data_dir, seed=3, log=lambda _: None)
    second, _ = train_heads(encoder, tiny_data_dir, seed=3, log=lambda _: None)
    for task in first.heads:
        np.testing.assert_array_equal(first.heads[task].weight, second.heads[task].weight)


def test_temperature_scaling_calms_an_overconfident_model_without_changing_labels() -> None:
    from moderation.models.heads import softmax
    from moderation.training.logistic import fit_temperature
    from moderation.training.metrics import expected_calibration_error

    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, size=2000)
    # Right 70 % of the time but always ~99 % sure: logits five times too large.
    hit = rng.random(2000) < 0.7
    predicted = np.where(hit, gold, (gold + 1) % 3)
    logits = np.eye(3)[predicted] * 5.0 * 2.0
    temperature = fit_temperature(logits, gold)
    assert temperature > 2.0
    before, after = softmax(logits), softmax(logits / temperature)
    assert (before.argmax(axis=1) == after.argmax(axis=1)).all()
    assert expected_calibration_error(after, gold) < 0.02 < expected_calibration_error(before, gold)


def test_calibration_is_folded_into_the_saved_head(tiny_encoder_dir: Path, tiny_data_dir: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    heads, _ = train_heads(encoder, tiny_data_dir, seed=0, log=lambda _: None)
    for task, spec in heads.manifest["heads"].items():
        calibration = spec["calibration"]
        assert calibration["temperature"] > 0
        if task in ("sentiment", "stance", "toxicity"):
            assert 0.0 <= calibration["test_ece"] <= 1.0
        else:  # attributes: the gap to the rater fractions, per test set
            assert all(0.0 <= figures["calibration_gap"] <= 1.0 for figures in spec["test"].values())


def test_heads_score_in_float64_and_a_row_the_same_alone_as_in_a_batch() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(50, 8)).astype(np.float32)
    labels = ("negative", "neutral", "positive")
    moderate = LinearHead("sentiment", labels, "comment", rng.normal(size=(3, 8)) * 10, rng.normal(size=3))
    weight = rng.normal(size=(3, 8))
    weight[:, 0] *= 1e6  # a scaler folded over a near-constant feature
    large = LinearHead("sentiment", labels, "comment", weight, rng.normal(size=3))

    def exact(head: LinearHead) -> np.ndarray:
        return softmax(matrix.astype(np.float64) @ head.weight.T + head.bias)

    np.testing.assert_allclose(moderate.proba(matrix), exact(moderate), atol=1e-6)
    np.testing.assert_array_equal(large.proba(matrix), exact(large))
    # Published probabilities are rounded to 6 decimals: they must not move with the rows beside them.
    wide = rng.normal(size=(300, 384)).astype(np.float32)
    head = LinearHead("sentiment", labels, "comment", rng.normal(size=(3, 384)), rng.normal(size=3))
    alone = np.vstack([head.proba(wide[i : i + 1]) for i in range(len(wide))])
    np.testing.assert_array_equal(np.round(head.proba(wide), 6), np.round(alone, 6))


def test_the_model_card_lists_each_soup_runs_epochs_then_the_average() -> None:
    from moderation.training.card import _history_entry

    def run(seed: int, first: float, last: float) -> dict[str, Any]:
        epochs = [{"epoch": 0, "stance macro_f1": first}, {"epoch": 1, "stance macro_f1": last}]
        return {"seed": seed, **epochs[-1], "history": epochs}

    members = [run(0, 0.6, 0.7), run(1, 0.6, 0.72)]
    entry = {"epoch": "soup", "seeds": [1, 0], "members": members, "stance macro_f1": 0.73}
    assert _history_entry(entry) == (
        "seed 0: epoch 0: stance macro_f1 0.6; epoch 1: stance macro_f1 0.7 | "
        "seed 1: epoch 0: stance macro_f1 0.6; epoch 1: stance macro_f1 0.72 | "
        "greedy soup of seeds 1, 0: stance macro_f1 0.73"
    )
    assert _history_entry({"epoch": 2, "stance macro_f1": 0.7}) == "epoch 2: stance macro_f1 0.7"
