"""Fine-tuning's draws and what a continued fine-tune saves, on tiny models and data built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from safetensors.torch import save_file

from moderation.models.encoder import Encoder
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet
from moderation.scores import ATTRIBUTES
from moderation.training.attribute_data import _two_sided
from moderation.training.finetune import FinetuneConfig, Finetuner, _cache, _Cacher, _TaskData, load_start, task_texts
from moderation.training.frozen_heads import train_heads
from moderation.training.mixture import SOURCE_SHARES

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
    state = load_file(str(tmp_path / "continued" / ENCODER_WEIGHTS))
    assert {k.split(".")[2] for k in state} == {"0", "1"}
    for key, value in tuned_before.items():
        np.testing.assert_allclose(state[key], value.astype(np.float16), atol=1e-3)
    assert saved.manifest["finetune"]["start"]["heads"] == HeadSet.load(start).digest
    assert saved.manifest["name"].startswith(f"{encoder.name} (top 2 layers fine-tuned)")
