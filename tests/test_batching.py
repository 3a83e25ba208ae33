"""Micro-batching: concurrent requests share passes, answers keep their order, errors reach every caller."""

from __future__ import annotations

import asyncio
import threading

import pytest

from moderation.models.scorer import CommentScores, LabelScores, SpanScore
from service.batching import MicroBatcher


def _scores(text: str, spans: bool) -> CommentScores:
    label = LabelScores(label="neutral", probabilities={"neutral": 1.0})
    return CommentScores(
        sentiment=label,
        stance=None,
        toxicity=LabelScores(label="not_toxic", probabilities={"not_toxic": 1.0, "toxic": 0.0}),
        attributes={"TOXICITY": float(len(text)) / 100},
        spans=[SpanScore(begin=0, end=len(text), attributes={"TOXICITY": 0.0})] if spans else [],
    )


class Recorder:
    """A stand-in model that records each pass and the thread it ran on."""

    def __init__(self, fail: bool = False) -> None:
        self.passes: list[list[str]] = []
        self.languages: list[list[str | None]] = []
        self.threads: set[str] = set()
        self.fail = fail

    def __call__(
        self, texts: list[str], targets: list[str | None], languages: list[str | None], spans: bool
    ) -> list[CommentScores]:
        self.passes.append(texts)
        self.languages.append(languages)
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("model broke")
        return [_scores(text, spans) for text in texts]


def _run(
    batcher: MicroBatcher, requests: list[list[str]], spans: list[bool] | None = None
) -> list[list[CommentScores]]:
    async def go() -> list[list[CommentScores]]:
        flags = spans or [False] * len(requests)
        try:
            return await asyncio.gather(
                *(
                    batcher.score(texts, [None] * len(texts), spans=flag)
                    for texts, flag in zip(requests, flags, strict=True)
                )
            )
        finally:
            await batcher.close()

    return asyncio.run(go())


def test_concurrent_requests_share_a_pass_and_keep_their_order() -> None:
    model = Recorder()
    requests = [[f"r{i}-a", f"r{i}-bb"] for i in range(12)]
    answers = _run(MicroBatcher(model, wait_s=0.05, max_items=1000), requests)
    assert len(model.passes) < len(requests)
    for texts, answer in zip(requests, answers, strict=True):
        assert [a.attributes["TOXICITY"] for a in answer] == [len(t) / 100 for t in texts]
    assert all(name.startswith("scorer") for name in model.threads)  # never on the event loop's thread


def test_a_pass_stops_growing_at_max_items() -> None:
    model = Recorder()
    _run(MicroBatcher(model, wait_s=0.05, max_items=4), [["a", "b"] for _ in range(6)])
    assert max(len(p) for p in model.passes) <= 4


def test_batching_off_runs_each_request_alone() -> None:
    model = Recorder()
    _run(MicroBatcher(model, wait_s=0.0, max_items=1000), [["a"], ["b"], ["c"]])
    assert sorted(map(tuple, model.passes)) == [("a",), ("b",), ("c",)]


def test_spans_reach_only_the_requests_that_asked() -> None:
    answers = _run(MicroBatcher(Recorder(), wait_s=0.05, max_items=1000), [["one"], ["two"]], spans=[True, False])
    assert answers[0][0].spans and not answers[1][0].spans


def test_a_failing_pass_fails_every_request_in_it() -> None:
    batcher = MicroBatcher(Recorder(fail=True), wait_s=0.05, max_items=1000)
    with pytest.raises(RuntimeError, match="model broke"):
        _run(batcher, [["a"], ["b"]])


def test_each_requests_languages_travel_with_its_texts_into_the_shared_pass() -> None:
    model = Recorder()

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.05, max_items=1000)
        try:
            await asyncio.gather(
                batcher.score(["a", "b"], [None, None], languages=["de", None]),
                batcher.score(["c"], [None]),
            )
        finally:
            await batcher.close()

    asyncio.run(go())
    assert model.passes == [["a", "b", "c"]] and model.languages == [["de", None, None]]
