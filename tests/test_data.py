"""Benchmark loaders: the shared layout read from tiny files, label mappings, and the real row counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from moderation.errors import DataError
from moderation.training.data import STANCE_TARGETS, load_benchmark, load_task, load_toxic_spans

# Public stance ids: 0 against, 1 neutral, 2 favor.
AGAINST, NEUTRAL, FAVOR = 0, 1, 2


def _lines(path: Path, lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())


def write_benchmark_files(root: Path) -> Path:
    """Add the evaluation-only sets, in the shared layout, beside conftest's tiny task files."""
    for split in ("train", "val", "test"):
        _lines(root / f"tweeteval/hate/{split}_text.txt", ["we love the movie", "you stupid idiot", "they hate you"])
        _lines(root / f"tweeteval/hate/{split}_labels.txt", ["0", "1", "1"])
        for folder in STANCE_TARGETS:
            _lines(root / f"tweeteval/stance/{folder}/{split}_text.txt", ["i support this", "i oppose it", "the vote"])
            _lines(root / f"tweeteval/stance/{folder}/{split}_labels.txt", ["2", "1", "0"])
    # CRLF, an unbalanced quote and a latin-1 byte, as in the real release.
    semeval = ["ID\tTarget\tTweet\tStance\tOpinion towards\tSentiment"]
    semeval += ['20001\tDonald Trump\ttake "arms now\tAGAINST\tTARGET\tNEGATIVE']
    semeval += ["20002\tDonald Trump\tvote caf\xe9 Trump\tFAVOR\tTARGET\tPOSITIVE"]
    semeval += ["20003\tDonald Trump\tthe weather\tNONE\tOTHER\tNEITHER"]
    _lines(root / "semeval2016_task6_stance/testdata-taskB-all-annotations.txt", semeval, "\r\n", "latin-1")
    for split in ("train", "dev", "test"):
        posts = [("s1", "s1", True, "the rumour", "support")]
        posts += [("s1", f"r{i}", False, f"reply {i}", label) for i, label in enumerate(("support", "deny", "query"))]
        posts += [("s2", "s2", True, "another rumour", "deny"), ("s2", "r9", False, "really?", "comment")]
        rows = [{"thread_id": t, "tweet_id": i, "is_source": s, "text": x, "stance_sdqc": y} for t, i, s, x, y in posts]
        _lines(root / f"rumoureval2017/posts_{split}.jsonl", [json.dumps(row) for row in rows])
    for name in ("train", "trial", "test"):
        spans = ["spans,text", '"[4, 5, 6, 7, 8]","you idiot, go"', '[],"a fine, multi-line\ncomment"']
        _lines(root / f"civil_comments_toxic_spans/semeval2021/tsd_{name}.csv", spans)
    return root


@pytest.fixture
def bench_data_dir(tiny_data_dir: Path, tmp_path: Path) -> Path:
    """conftest's tiny task files plus every benchmark set, in a folder of this test's own."""
    return write_benchmark_files(Path(shutil.copytree(tiny_data_dir, tmp_path / "data")))


def test_hate_is_read_through_the_toxicity_head(bench_data_dir: Path) -> None:
    hate = load_benchmark("tweeteval_hate", "test", bench_data_dir)
    assert hate.task == "toxicity" and hate.labels.tolist() == [0, 1, 1] and hate.targets == [None] * 3


def test_tweeteval_stance_pools_five_targets_under_semeval_names(bench_data_dir: Path) -> None:
    stance = load_benchmark("tweeteval_stance", "test", bench_data_dir)
    assert len(stance) == 15 and stance.task == "stance"
    assert stance.targets[:3] == ["Legalization of Abortion"] * 3
    assert set(stance.targets) == set(STANCE_TARGETS.values())
    # TweetEval 2 favor, 1 against, 0 none.
    assert stance.labels[:3].tolist() == [FAVOR, AGAINST, NEUTRAL]


def test_semeval_task_b_reads_crlf_quotes_and_latin1(bench_data_dir: Path) -> None:
    trump = load_benchmark("semeval2016_b", "test", bench_data_dir)
    assert trump.texts == ['take "arms now', "vote caf\xe9 Trump", "the weather"]
    assert trump.targets == ["Donald Trump"] * 3
    assert trump.labels.tolist() == [AGAINST, FAVOR, NEUTRAL]
    with pytest.raises(DataError, match="test split only"):
        load_benchmark("semeval2016_b", "train", bench_data_dir)


def test_rumoureval_pairs_each_reply_with_its_source_post(bench_data_dir: Path) -> None:
    rumours = load_benchmark("rumoureval2017", "validation", bench_data_dir)
    assert rumours.texts == ["reply 0", "reply 1", "reply 2", "really?"]
    assert rumours.targets == ["the rumour"] * 3 + ["another rumour"]
    # support -> favor, deny -> against, query and comment -> neutral
    assert rumours.labels.tolist() == [FAVOR, AGAINST, NEUTRAL, NEUTRAL]


def test_vast_keeps_its_seen_flag_through_sampling(bench_data_dir: Path) -> None:
    vast = load_benchmark("vast", "test", bench_data_dir)
    assert vast.subsets["few-shot"].all() and not vast.subsets["zero-shot"].any()
    assert load_task("stance", "test", bench_data_dir).labels.tolist() == vast.labels.tolist()
    sample = vast.sample(5, seed=1)
    assert all(len(mask) == 5 for mask in sample.subsets.values())


def test_toxic_spans_parse_offsets_and_empty_gold(bench_data_dir: Path) -> None:
    spans = load_toxic_spans("test", bench_data_dir)
    assert spans.texts == ["you idiot, go", "a fine, multi-line\ncomment"]
    assert spans.spans == [frozenset(range(4, 9)), frozenset()]
    assert spans.texts[0][4:9] == "idiot"
    assert len(spans.sample(1)) == 1 and load_toxic_spans("validation", bench_data_dir).source.endswith("Task 5)")


def test_unknown_benchmark_or_split_is_a_data_error(bench_data_dir: Path) -> None:
    with pytest.raises(DataError, match="unknown benchmark"):
        load_benchmark("imdb", "test", bench_data_dir)
    with pytest.raises(DataError, match="unknown split"):
        load_benchmark("tweeteval_hate", "dev", bench_data_dir)


@pytest.mark.shared_data
def test_real_test_splits_have_the_rows_their_source_files_state(shared_data: Path) -> None:
    # Counts from each SOURCE.md; RumourEval's 1,049 test tweets include 28 source posts.
    expected = {
        "tweeteval_sentiment": 12284,
        "tweeteval_offensive": 860,
        "tweeteval_hate": 2970,
        "tweeteval_stance": 1249,
        "vast": 3006,
        "semeval2016_b": 707,
        "rumoureval2017": 1021,
    }
    data = {name: load_benchmark(name, "test", shared_data) for name in expected}
    assert {name: len(split) for name, split in data.items()} == expected
    assert np.bincount(data["tweeteval_stance"].labels).tolist() == [715, 230, 304]  # SemEval-2016 test A A/N/F
    assert np.bincount(data["semeval2016_b"].labels).tolist() == [299, 260, 148]
    assert np.bincount(data["rumoureval2017"].labels).tolist() == [69, 884, 68]
    assert {k: int(v.sum()) for k, v in data["vast"].subsets.items()} == {"zero-shot": 1460, "few-shot": 1546}
    spans = load_toxic_spans("test", shared_data)
    assert len(spans) == 2000 and sum(not s for s in spans.spans) == 394
