"""Fine-tuning's draws and what a continued fine-tune or a refit of some heads saves, on tiny models and data
built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from safetensors.torch import save_file
from typer.testing import CliRunner

from moderation.cli import app
from moderation.errors import InputError
from moderation.models.encoder import Encoder, PairFeatures
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet, LinearHead
from moderation.scores import ATTRIBUTES
from moderation.training.attribute_data import AttributeSplit, _two_sided
from moderation.training.card import write_model_card
from moderation.training.data import TaskSplit
from moderation.training.features import FeatureCache
from moderation.training.finetune import FinetuneConfig, Finetuner, _cache, _Cacher, _TaskData, load_start, task_texts
from moderation.training.frozen_heads import train_heads
from moderation.training.mixture import SOURCE_SHARES
from moderation.training.refit import PRIOR_STRENGTHS, PriorRefit, refit_heads

NAN = float("nan")


def _attribute_task(threats: int, others: int) -> _TaskData:
    rows = [[NAN] * len(ATTRIBUTES) for _ in range(threats + others)]
    for i, row in enumerate(rows):
        row[ATTRIBUTES.index("THREAT")] = 1.0 if i < threats else 0.0
    source = next(iter(SOURCE_SHARES))
    return _TaskData("attributes", [], np.array(rows), [source] * len(rows))


def test_a_threat_share_repeats_the_few_threats_until_they_number_that_share_of_the_draw() -> None:
    task = _attribute_task(threats=3, others=997)
    rng = np.random.default_rng(0)
    plain = task.draw(400, rng)
    boosted = task.draw(400, rng, threat_share=0.1)
    assert np.isin(plain, [0, 1, 2]).sum() <= 3
    assert np.isin(boosted, [0, 1, 2]).sum() == 40  # 0.1 of the 400 drawn, the rest of them repeats
    # The rest of the draw is untouched: every other item at most once.
    others = boosted[~np.isin(boosted, [0, 1, 2])]
    assert len(set(others.tolist())) == len(others)


def test_shares_in_the_config_replace_the_default_ones_for_the_draw() -> None:
    names = list(SOURCE_SHARES)[:2]
    task = _TaskData("attributes", [], np.zeros((200, len(ATTRIBUTES))), [names[0]] * 100 + [names[1]] * 100)
    drawn = task.draw(100, np.random.default_rng(0), shares={names[0]: 0.9, names[1]: 0.1})
    assert (drawn < 100).sum() == 90


def test_an_attribute_a_source_only_rates_present_becomes_unknown_and_one_it_rates_absent_stays() -> None:
    rows = _two_sided([[1.0, 0.0, NAN, 0.6], [0.5, 0.0, 1.0, NAN], [NAN, 0.0, 0.0, 0.3]])
    assert np.isnan([r[0] for r in rows]).all()  # present or unknown only: topics, not the attribute
    assert [r[1] for r in rows] == [0.0, 0.0, 0.0]  # absent only: kept (a civil comment is no threat)
    assert rows[1][2] == 1.0 and rows[2][2] == 0.0
    assert rows[0][3] == 0.6 and np.isnan(rows[1][3]) and rows[2][3] == 0.3


@pytest.fixture(scope="module")
def start(tiny_encoder_dir: Path, tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose bottom layer was tuned before: its frozen heads and a changed layer 0."""
    folder = tmp_path_factory.mktemp("start")
    encoder = Encoder.load(tiny_encoder_dir)
    heads, _ = train_heads(encoder, tiny_data_dir, seed=0, log=lambda _: None)
    heads.save(folder)
    layer = {k: v + 0.01 for k, v in encoder.model.state_dict().items() if k.startswith("encoder.layer.0.")}
    save_file({k: v.contiguous() for k, v in layer.items()}, str(folder / ENCODER_WEIGHTS))
    return folder


def test_a_continued_fine_tune_keeps_the_layers_its_start_tuned_below_its_own(
    tiny_encoder_dir: Path, tiny_data_dir: Path, start: Path, tmp_path: Path
) -> None:
    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=16, batch_size=8, lr=1e-3, seed=0)
    encoder = Encoder.load(tiny_encoder_dir)
    heads = load_start(encoder, start)
    tuned_before = load_file(str(start / ENCODER_WEIGHTS))
    rng = np.random.default_rng(0)
    cacher = _Cacher(encoder, config)
    train, validation = (
        _cache(cacher, split, task_texts(split, tiny_data_dir, config, rng), lambda _: None)
        for split in ("train", "validation")
    )
    run = Finetuner(encoder, heads, config, lambda _: None).fit(train, validation)
    saved = run.save(tmp_path / "continued")
    reloaded = Encoder.load(tiny_encoder_dir)
    reloaded.load_weights(tmp_path / "continued" / ENCODER_WEIGHTS)
    assert {k.split(".")[2] for k in reloaded.loaded_keys} == {"0", "1"}
    state = reloaded.model.state_dict()
    for key, value in tuned_before.items():
        np.testing.assert_allclose(state[key].numpy(), value, atol=1e-3)
    assert saved.manifest["finetune"]["start"]["heads"] == HeadSet.load(start).digest
    assert saved.manifest["name"].startswith(f"{encoder.name} (top 2 layers fine-tuned)")


def test_a_refit_changes_only_the_named_head_and_keeps_the_tuned_layers_and_every_other_head(
    tiny_encoder_dir: Path, tiny_data_dir: Path, start: Path, tmp_path: Path
) -> None:
    out = tmp_path / "refit"
    refit = refit_heads(
        Encoder.load(tiny_encoder_dir), start, ["THREAT"], tiny_data_dir, out, command="test", log=lambda _: None
    )
    before, after = HeadSet.load(start), HeadSet.load(out)
    assert (out / ENCODER_WEIGHTS).read_bytes() == (start / ENCODER_WEIGHTS).read_bytes()
    for name, head in before.heads.items():
        same = np.array_equal(after.heads[name].weight, head.weight) and np.array_equal(
            after.heads[name].bias, head.bias
        )
        assert same == (name != "THREAT"), name
    assert after.manifest["refit"]["attributes"] == ["THREAT"] and after.manifest["refit"]["command"] == "test"
    assert after.manifest.get("command") == before.manifest.get("command")
    search = after.manifest["heads"]["THREAT"]["refit"]["search"]
    assert [row["prior_strength"] for row in search] == list(PRIOR_STRENGTHS)
    assert refit.heads["THREAT"].weight.shape == before.heads["THREAT"].weight.shape
    card = write_model_card(out, after, []).read_text()
    assert "Then the heads of THREAT were refitted" in card
    reproduce = card.split("## Reproduce")[1].split("```")[1].strip().splitlines()
    assert reproduce == [before.manifest.get("command", "moderation train"), "test"]


def _refit_data(n: int, rng: np.random.Generator) -> tuple[PairFeatures, AttributeSplit]:
    """Items whose THREAT fraction follows the first feature, not the second (the one the old head reads)."""
    x = rng.normal(size=(n, 4))
    fractions = np.full((n, len(ATTRIBUTES)), np.nan)
    fractions[:, ATTRIBUTES.index("THREAT")] = (x[:, 0] > 0).astype(float)
    features = PairFeatures(x, np.zeros_like(x), np.zeros(n, bool), np.ones(n, int))
    return features, AttributeSplit("train", ["t"] * n, fractions, [next(iter(SOURCE_SHARES))] * n)


def _old_threat_head() -> LinearHead:
    weight = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]])
    return LinearHead("THREAT", ("absent", "present"), "comment", weight, np.zeros(2))


def test_a_weak_pull_learns_what_the_data_says_and_a_strong_one_keeps_the_old_heads_direction() -> None:
    rng = np.random.default_rng(0)
    (train, train_data), (val, val_data) = _refit_data(400, rng), _refit_data(200, rng)
    directions = {}
    for strength in (1e-4, 1e4):
        refit = PriorRefit("THREAT", _old_threat_head(), strengths=(strength,)).fit(train, train_data, val, val_data)
        logit = refit.head().weight[1]
        directions[strength] = logit / np.linalg.norm(logit)
    assert abs(directions[1e-4][0]) > 0.9  # the data's feature
    assert abs(directions[1e4][1]) > 0.9  # the old head's feature


def test_the_pull_is_chosen_on_validation_among_the_candidate_strengths() -> None:
    rng = np.random.default_rng(1)
    (train, train_data), (val, val_data) = _refit_data(400, rng), _refit_data(200, rng)
    refit = PriorRefit("THREAT", _old_threat_head(), strengths=(1e-4, 1e4)).fit(train, train_data, val, val_data)
    assert refit.strength_ == 1e-4
    assert refit.validation_score_ > refit.prior_validation_
    assert [row["prior_strength"] for row in refit.search_] == [1e-4, 1e4]


def test_features_of_a_model_with_tuned_layers_are_cached_apart_from_its_plain_encoders(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    data = TaskSplit("attributes", "train", "attributes", ["we love the movie"], [None], np.zeros(1, int))
    FeatureCache(encoder, tmp_path).features(data)
    FeatureCache(encoder, tmp_path, model=f"{encoder.name} tuned as 0123").features(data)
    assert len(list(tmp_path.glob("attributes-train-*.npz"))) == 2


def test_train_refuses_a_refit_without_a_model_to_refit_or_beside_a_fine_tune(start: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = ["--out", str(tmp_path)]
    alone = runner.invoke(app, ["train", "--refit", "THREAT", *out])
    assert alone.exit_code != 0 and "--start-from" in alone.output
    both = runner.invoke(
        app, ["train", "--start-from", str(start), "--refit", "THREAT", "--finetune-epochs", "1", *out]
    )
    assert both.exit_code != 0 and "without --finetune-epochs" in both.output
    assert not any(tmp_path.iterdir())


def test_a_refit_of_an_unknown_attribute_names_the_known_ones(
    tiny_encoder_dir: Path, tiny_data_dir: Path, start: Path, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="THREAT"):
        refit_heads(Encoder.load(tiny_encoder_dir), start, ["THREATS"], tiny_data_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_validation_weighs_a_small_source_by_its_share_so_its_lesson_is_not_pulled_back() -> None:
    rng = np.random.default_rng(2)
    shares = {"big": 0.5, "small": 0.5}

    def split(n_big: int, n_small: int) -> tuple[PairFeatures, AttributeSplit]:
        """The big source agrees with the old head (feature 1); the small one follows feature 0 alone."""
        x = rng.normal(size=(n_big + n_small, 4))
        fractions = np.full((len(x), len(ATTRIBUTES)), np.nan)
        fractions[:, ATTRIBUTES.index("THREAT")] = np.where(np.arange(len(x)) < n_big, x[:, 1] > 0, x[:, 0] > 0)
        sources = ["big"] * n_big + ["small"] * n_small
        features = PairFeatures(x, np.zeros_like(x), np.zeros(len(x), bool), np.ones(len(x), int))
        return features, AttributeSplit("train", ["t"] * len(x), fractions, sources)

    (train, train_data), (val, val_data) = split(2000, 100), split(2000, 100)
    refit = PriorRefit("THREAT", _old_threat_head(), strengths=(1e-4, 1e4), shares=shares)
    assert refit.fit(train, train_data, val, val_data).strength_ == 1e-4
