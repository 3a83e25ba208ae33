"""Benchmark metrics on hand-made arrays, the baselines, and the quality table on tiny data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from moderation import Scorer
from moderation.models.scorer import BUNDLED_HEADS
from moderation.scores import ATTRIBUTES
from moderation.training.baselines import MajorityBaseline, profanity_toxicity, vader_sentiment
from moderation.training.data import load_benchmark, load_toxic_spans
from moderation.training.evaluation import BENCHMARKS, BenchmarkRow, QualityReport, evaluate_quality
from moderation.training.metrics import (
    against_favor_f1,
    mean_span_f1,
    rumour_f1,
    span_f1,
    toxic_characters,
)
from tests.test_data import write_benchmark_files

# Public stance ids: 0 against, 1 neutral, 2 favor.
GOLD = np.array([0, 0, 2, 2, 1, 1])
PREDICTED = np.array([0, 2, 2, 2, 1, 0])


def test_stance_figure_is_the_mean_f1_of_against_and_favor() -> None:
    # against: 1 hit of 2 predicted, 2 gold -> 0.5; favor: 2 hits of 3 predicted, 2 gold -> 0.8
    assert against_favor_f1(GOLD, PREDICTED) == pytest.approx(0.65)
    # Neutral only counts through the errors it causes: a perfect neutral column alone scores 0.
    assert against_favor_f1(np.array([1, 1]), np.array([1, 1])) == 0.0


def test_rumour_figures_read_support_as_favor_and_deny_as_against() -> None:
    figures = rumour_f1(GOLD, PREDICTED)
    assert figures == pytest.approx({"F1 support": 0.8, "F1 deny": 0.5, "mean F1 support/deny": 0.65})


def test_span_f1_follows_semeval_2021_task_5() -> None:
    assert span_f1([], []) == 1.0  # nothing toxic and nothing predicted is right
    assert span_f1([3], []) == 0.0
    assert span_f1([], [3]) == 0.0
    assert span_f1([1, 2, 3], [2, 3, 4]) == pytest.approx(2 * 2 / 6)
    assert mean_span_f1([[], [1, 2, 3]], [[], [2, 3, 4]]) == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(ValueError):
        mean_span_f1([[]], [[], []])


def test_toxic_characters_are_those_of_spans_at_or_above_the_threshold() -> None:
    spans = [(0, 3, 0.5), (4, 6, 0.49), (6, 8, 0.9)]
    assert toxic_characters(spans) == frozenset({0, 1, 2, 6, 7})
    assert toxic_characters(spans, threshold=0.95) == frozenset()


def test_vader_uses_its_authors_cutoffs() -> None:
    pytest.importorskip("vaderSentiment")
    assert vader_sentiment(["I love this, wonderful!", "I hate this, awful.", "The table is brown."]).tolist() == [
        2,
        0,
        1,
    ]


def test_profanity_check_reads_toxic_at_the_threshold() -> None:
    pytest.importorskip("profanity_check")
    assert profanity_toxicity(["you stupid fucking idiot", "have a nice day"]).tolist() == [1, 0]


@pytest.fixture
def bench_data_dir(tiny_data_dir: Path, tmp_path: Path) -> Path:
    return write_benchmark_files(Path(shutil.copytree(tiny_data_dir, tmp_path / "data")))


def test_majority_uses_train_and_says_when_only_test_exists(bench_data_dir: Path) -> None:
    majority = MajorityBaseline(bench_data_dir)
    hate = load_benchmark("tweeteval_hate", "test", bench_data_dir)
    assert majority.labels("tweeteval_hate", hate).tolist() == [1, 1, 1]
    trump = load_benchmark("semeval2016_b", "test", bench_data_dir)
    assert len(majority.labels("semeval2016_b", trump)) == 3
    assert majority.sources == {"tweeteval_hate": "train", "semeval2016_b": "test (no train split)"}
    # Most characters of the train posts are not toxic: the majority marks nothing.
    assert majority.spans(load_toxic_spans("test", bench_data_dir)) == [frozenset(), frozenset()]


def test_markdown_marks_systems_that_do_not_answer() -> None:
    row = BenchmarkRow("TweetEval hate", "macro F1", 3, "TweetEval hate test", {"model": 0.5})
    text = QualityReport(["model", "VADER"], [row], ["a note"], seconds=90.0).markdown()
    assert "| TweetEval hate | macro F1 | 3 | 0.5000 | - | TweetEval hate test |" in text
    assert "Full test splits; run time 1.5 min" in text and "- a note" in text


def test_quality_report_covers_every_benchmark_on_tiny_data(bench_data_dir: Path) -> None:
    # The English model alone: routed, a tiny text detected as another language would go elsewhere.
    report = evaluate_quality(Scorer.load(heads=BUNDLED_HEADS), bench_data_dir, limit=5)
    attribute_rows = {row.benchmark for row in report.rows if row.metric == "ROC-AUC"}
    assert {row.benchmark for row in report.rows} - attribute_rows == {title for title, _ in BENCHMARKS.values()} | {
        "Civil Comments toxic spans"
    }
    # Every attribute the model gives, on the tiny attribute test split's sources that have both classes.
    assert {name.split(":")[0] for name in attribute_rows} <= set(ATTRIBUTES) and attribute_rows
    model, frozen = report.columns[:2]
    assert frozen.startswith("frozen heads (foundation) [") and "majority class" in report.columns
    assert all(row.figures[model] == row.figures[frozen] for row in report.rows)  # the same bundled weights
    vast = {row.metric: row.n for row in report.rows if row.benchmark == "VAST"}
    assert vast == {"macro F1 (all)": 5, "macro F1 (few-shot)": 5}  # no zero-shot item in the tiny data


def test_expected_calibration_error_on_hand_made_confidences() -> None:
    from moderation.training.metrics import expected_calibration_error

    gold = np.array([0, 0, 1, 1])
    perfect = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert expected_calibration_error(perfect, gold) == pytest.approx(0.0)
    # Always 90 % sure, right half the time: a gap of 0.4.
    unsure = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    assert expected_calibration_error(unsure, gold) == pytest.approx(0.4)
