"""Perspective attributes: rater fractions from the shared layout, heads that answer them, fine-tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation import Scorer
from moderation.models.attribute_data import CIVIL_COMMENTS, WIKIPEDIA, load_attribute_data
from moderation.models.attribute_training import calibration_gap
from moderation.models.encoder import Encoder
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet
from moderation.models.labels import ATTRIBUTES
from moderation.models.training import train_heads


def _row(data: object, text_start: str, source: str) -> dict[str, float]:
    for text, row, src in zip(data.texts, data.fractions, data.sources, strict=True):  # type: ignore[attr-defined]
        if text.startswith(text_start) and src == source:
            return dict(zip(ATTRIBUTES, row.tolist(), strict=True))
    raise AssertionError(f"no {text_start!r} from {source}")


def test_civil_comments_fractions_come_from_rater_span_types(tiny_data_dir: Path) -> None:
    train = load_attribute_data("train", tiny_data_dir)
    insult = _row(train, "you stupid idiot", CIVIL_COMMENTS)
    assert insult["INSULT"] == 1.0 and insult["TOXICITY"] == 1.0 and insult["THREAT"] == 0.0
    # Every rater judged the whole post toxic: the SEVERE_TOXICITY proxy.
    assert insult["SEVERE_TOXICITY"] == 1.0
    threat = _row(train, "i will kill you", CIVIL_COMMENTS)
    assert threat["THREAT"] == 1.0 and threat["INSULT"] == 0.0 and threat["SEVERE_TOXICITY"] == 0.0
    civil = _row(train, "we love the movie", CIVIL_COMMENTS)
    assert civil["TOXICITY"] == 0.0


def test_a_toxic_label_alone_leaves_the_other_attributes_unknown(tiny_data_dir: Path) -> None:
    data = load_attribute_data("train", tiny_data_dir)
    toxic = _row(data, "you stupid idiot", WIKIPEDIA)
    assert toxic["TOXICITY"] == 1.0 and all(np.isnan(toxic[a]) for a in ATTRIBUTES[1:])
    civil = _row(data, "we support peace", WIKIPEDIA)
    assert all(civil[a] == 0.0 for a in ATTRIBUTES)


def test_semeval_test_posts_never_reach_training(tiny_data_dir: Path) -> None:
    lines = (tiny_data_dir / "civil_comments_toxic_spans/semeval2021/tsd_test.csv").read_text().splitlines()[1:]
    test_texts = {line.rsplit('",', 1)[1] for line in lines}
    train = load_attribute_data("train", tiny_data_dir)
    test = load_attribute_data("test", tiny_data_dir)
    assert not test_texts & set(train.texts)
    assert test_texts <= set(test.source(CIVIL_COMMENTS).texts)


def test_calibration_gap_is_zero_when_scores_equal_rater_shares() -> None:
    fractions = np.array([0.0, 1 / 3, 2 / 3, 1.0] * 10)
    assert calibration_gap(fractions, fractions) == pytest.approx(0.0)
    assert calibration_gap(np.full(40, 0.9), fractions) > 0.3


@pytest.fixture(scope="module")
def tiny_heads(tiny_encoder_dir: Path, tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("heads")
    heads, _ = train_heads(Encoder.load(tiny_encoder_dir), tiny_data_dir, seed=0, log=lambda _: None)
    heads.save(folder)
    return folder


def test_scorer_answers_every_attribute_and_flags_the_unmeasured_one(tiny_encoder_dir: Path, tiny_heads: Path) -> None:
    scorer = Scorer.load(tiny_encoder_dir, heads=tiny_heads)
    [scores] = scorer.predict(["you stupid idiot. we love the movie."], spans=True)
    assert set(scores.attributes) == set(ATTRIBUTES)
    assert scores.experimental == ["SEVERE_TOXICITY"]
    assert scores.attributes["TOXICITY"] == pytest.approx(scores.toxicity.probabilities["toxic"], abs=1e-5)
    assert len(scores.spans) == 2 and all(set(span.attributes) == set(ATTRIBUTES) for span in scores.spans)
    manifest = HeadSet.load(tiny_heads).manifest["heads"]
    assert "experimental" in manifest["SEVERE_TOXICITY"] and "experimental" not in manifest["INSULT"]


def test_finetuning_saves_layers_that_the_scorer_loads_back(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path, tmp_path: Path
) -> None:
    from moderation.models.finetune import FinetuneConfig, finetune_and_measure

    config = FinetuneConfig(tune_layers=1, epochs=2, items_per_task=24, batch_size=8, lr=1e-3, seed=0)
    encoder = Encoder.load(tiny_encoder_dir)
    before = Scorer.load(tiny_encoder_dir, heads=tiny_heads).predict(["you stupid idiot"])[0]
    _, results = finetune_and_measure(
        encoder, HeadSet.load(tiny_heads), tiny_data_dir, tmp_path / "tuned", config, log=lambda _: None
    )
    assert (tmp_path / "tuned" / ENCODER_WEIGHTS).exists()
    manifest = HeadSet.load(tmp_path / "tuned").manifest
    assert [h["epoch"] for h in manifest["finetune"]["history"]] == [0, 1, 2]
    # The figures written are the saved model's, measured through the Scorer.
    assert {r.task for r in results} == {"sentiment", "stance", "toxicity"}
    assert manifest["heads"]["sentiment"]["test"]["score"] == pytest.approx(results[0].score, abs=1e-4)
    assert all("test_ece" in manifest["heads"][t]["calibration"] for t in ("sentiment", "stance", "toxicity"))
    first = Scorer.load(tiny_encoder_dir, heads=tmp_path / "tuned").predict(["you stupid idiot"])[0]
    again = Scorer.load(tiny_encoder_dir, heads=tmp_path / "tuned").predict(["you stupid idiot"])[0]
    assert first == again
    assert first.attributes != before.attributes
    # Only the top layer was tuned: the saved file holds layer 1 and nothing below.
    from safetensors.numpy import load_file

    keys = load_file(str(tmp_path / "tuned" / ENCODER_WEIGHTS))
    assert keys and all(key.startswith("encoder.layer.1.") for key in keys)


def _tiny_tasks(encoder: Encoder, data_dir: Path, config: Any) -> tuple[list[Any], list[Any]]:
    from moderation.models.finetune import _cache, _Cacher, task_texts

    rng = np.random.default_rng(config.seed)
    cacher = _Cacher(encoder, config)
    log = lambda _: None  # noqa: E731
    train = _cache(cacher, "train", task_texts("train", data_dir, config, rng), log)
    return train, _cache(cacher, "validation", task_texts("validation", data_dir, config, rng), log)


def test_finetuning_drops_head_weights_on_degenerate_features_and_still_learns(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path
) -> None:
    """Frozen heads fold a scaler into their weights: a near-constant feature gets a weight near 1e31.
    Kept, its gradients overflow, clipping scales every step to zero and nothing is learned."""
    from moderation.models.finetune import MAX_HEAD_WEIGHT, FinetuneConfig, Finetuner

    heads = HeadSet.load(tiny_heads)
    heads.heads["sentiment"].weight[:, 0] = 3e31
    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=24, batch_size=8, lr=1e-3, seed=0)
    encoder = Encoder.load(tiny_encoder_dir)
    train, validation = _tiny_tasks(encoder, tiny_data_dir, config)
    tuner = Finetuner(encoder, heads, config, log=lambda _: None)
    start = [p.detach().clone() for p in tuner.trunk.parameters()]
    weight = tuner.heads.export({})["sentiment"].weight
    assert (weight[:, 0] == 0).all() and np.abs(weight).max() <= MAX_HEAD_WEIGHT
    tuner.fit(train, validation)
    moved = max(float((p.detach() - s).abs().max()) for p, s in zip(tuner.trunk.parameters(), start, strict=True))
    assert moved > 1e-4


def test_a_soup_is_never_worse_on_validation_than_its_best_run(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path
) -> None:
    from moderation.models.finetune import FinetuneConfig, _mean_figure, fit_soup

    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=24, batch_size=8, lr=1e-3, seed=0, soup=3)
    encoder = Encoder.load(tiny_encoder_dir)
    train, validation = _tiny_tasks(encoder, tiny_data_dir, config)
    soup = fit_soup(encoder, HeadSet.load(tiny_heads), train, validation, config, log=lambda _: None)
    [entry] = soup.history_
    assert entry["epoch"] == "soup" and [m["seed"] for m in entry["members"]] == [0, 1, 2]
    assert entry["seeds"] and set(entry["seeds"]) <= {0, 1, 2}
    assert _mean_figure(entry) >= max(_mean_figure(m) for m in entry["members"])
    assert _mean_figure(soup.validate(validation)) == pytest.approx(_mean_figure(entry))


def test_runs_brought_back_from_their_state_validate_and_soup_as_the_originals(
    tiny_encoder_dir: Path, tiny_data_dir: Path, tiny_heads: Path, tmp_path: Path
) -> None:
    """The GPU driver fits a soup's runs in parallel processes and soups them in another one."""
    import torch

    from moderation.models.finetune import FinetuneConfig, Finetuner, greedy_soup

    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=24, batch_size=8, lr=1e-3, seed=0, soup=2)
    encoder = Encoder.load(tiny_encoder_dir)
    heads = HeadSet.load(tiny_heads)
    train, validation = _tiny_tasks(encoder, tiny_data_dir, config)
    log = lambda _: None  # noqa: E731
    runs = [Finetuner(encoder, heads, config.run(k), log).fit(train, validation) for k in (0, 1)]
    back = []
    for run in runs:
        torch.save(run.state(), tmp_path / f"seed{run.config.seed}.pt")
        state = torch.load(tmp_path / f"seed{run.config.seed}.pt")
        back.append(Finetuner.restore(encoder, heads, run.config, state, log))
    assert [b.validate(validation) for b in back] == [
        {k: v for k, v in r.history_[-1].items() if k != "epoch"} for r in runs
    ]
    here = greedy_soup(encoder, heads, runs, validation, config, log)
    there = greedy_soup(encoder, heads, back, validation, config, log)
    assert there.history_ == here.history_
    assert there.temperatures_ == here.temperatures_
