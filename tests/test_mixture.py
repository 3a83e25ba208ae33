"""Each attribute source weighs its share in training, whatever its size."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.errors import DataError
from moderation.training import mixture


@pytest.fixture(autouse=True)
def shares(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mixture, "SOURCE_SHARES", {"big": 0.5, "small": 0.25, "tiny": 0.25})


SOURCES = ["big"] * 900 + ["small"] * 90 + ["tiny"] * 10


def test_a_draw_takes_each_sources_share_whatever_its_size() -> None:
    drawn = mixture.draw_by_source(SOURCES, 200, np.random.default_rng(0))
    counts = {name: sum(SOURCES[i] == name for i in drawn) for name in ("big", "small", "tiny")}
    assert counts == {"big": 100, "small": 50, "tiny": 50}
    # A source smaller than its share repeats its items; the others never repeat one.
    big = [i for i in drawn if SOURCES[i] == "big"]
    assert len(set(big)) == len(big)
    assert {i for i in drawn if SOURCES[i] == "tiny"} == set(range(990, 1000))


def test_without_repeats_a_small_source_gives_what_it_has() -> None:
    drawn = mixture.draw_by_source(SOURCES, 200, np.random.default_rng(0), repeat=False)
    assert sum(SOURCES[i] == "tiny" for i in drawn) == 10
    assert len(set(drawn.tolist())) == len(drawn)


def test_sample_weights_sum_to_each_sources_share_of_the_whole() -> None:
    weights = mixture.source_weights(SOURCES)
    codes = np.array(SOURCES)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[codes == "big"].sum() / weights.sum() == pytest.approx(0.5)
    assert weights[codes == "tiny"].sum() / weights.sum() == pytest.approx(0.25)


def test_shares_renormalise_over_the_sources_present() -> None:
    weights = mixture.source_weights(["big"] * 30 + ["tiny"] * 10)
    assert weights[:30].sum() / weights.sum() == pytest.approx(2 / 3)


def test_a_source_without_a_share_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no training share for attribute source"):
        mixture.source_weights(["big", "unknown"])
