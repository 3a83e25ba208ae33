"""Micro-batching: concurrent requests share passes, answers keep their order, an error reaches only the request
that caused it, a cancelled request is never scored and a full queue refuses at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from moderation.scores import CommentScores, LabelScores, SpanScore
from service.batching import MicroBatcher, QueueFull


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

    def __init__(self, fail: bool = False, *, fail_on: str | None = None, hold: threading.Event | None = None) -> None:
        """``fail_on``: a text that makes any pass holding it raise (as a tokenizer on bad input); ``hold``: the
        first pass waits for it (a busy worker)."""
        self.passes: list[list[str]] = []
        self.languages: list[list[str | None]] = []
        self.threads: set[str] = set()
        self.fail = fail
        self.fail_on = fail_on
        self.hold = hold
        self.busy = threading.Event()

    def __call__(
        self, texts: list[str], targets: list[str | None], languages: list[str | None], spans: bool
    ) -> list[CommentScores]:
        self.passes.append(texts)
        self.languages.append(languages)
        self.threads.add(threading.current_thread().name)
        self.busy.set()
        if self.hold is not None:
            assert self.hold.wait(timeout=30)
            self.hold = None
        if self.fail or self.fail_on in texts:
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


def test_a_failing_request_fails_alone_and_the_others_in_its_pass_are_scored() -> None:
    model = Recorder(fail_on="bad")
    requests = [[f"good {i}"] for i in range(5)] + [["bad"]] + [[f"good {i}", "too"] for i in range(5, 10)]

    async def go() -> list[list[CommentScores] | BaseException]:
        batcher = MicroBatcher(model, wait_s=0.05, max_items=1000)
        try:
            return await asyncio.gather(
                *(batcher.score(texts, [None] * len(texts)) for texts in requests), return_exceptions=True
            )
        finally:
            await batcher.close()

    answers = asyncio.run(go())
    assert any("bad" in p and len(p) > 1 for p in model.passes)  # it did share a pass, which failed
    assert isinstance(answers[5], RuntimeError)
    for texts, answer in zip(requests[:5] + requests[6:], answers[:5] + answers[6:], strict=True):
        assert not isinstance(answer, BaseException), answer
        assert [a.attributes["TOXICITY"] for a in answer] == [len(t) / 100 for t in texts]


def test_a_cancelled_request_leaves_the_queue_unscored() -> None:
    """A client that disconnects cancels its request's coroutine: its comments must not be scored after all."""
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=1000)
        try:
            first = asyncio.create_task(batcher.score(["first"], [None]))
            await asyncio.to_thread(model.busy.wait, 30)  # the worker is in the first pass
            gone = asyncio.create_task(batcher.score(["gone", "also gone"], [None, None]))
            await asyncio.sleep(0.05)
            assert batcher.queued == 3
            gone.cancel()
            await asyncio.sleep(0)
            assert batcher.queued == 1  # no longer counted against the queue's bound
            hold.set()
            assert len(await first) == 1
            after = await batcher.score(["after"], [None])
            assert len(after) == 1
            assert gone.cancelled()
            assert batcher.queued == 0
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert model.passes == [["first"], ["after"]]


def test_a_full_queue_refuses_at_once_and_says_when_to_retry() -> None:
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=1000, max_queued=4)
        try:
            big = asyncio.create_task(batcher.score(["a"] * 6, [None] * 6))  # over the bound, but the queue was empty
            await asyncio.to_thread(model.busy.wait, 30)
            with pytest.raises(QueueFull) as refused:
                await batcher.score(["b"], [None])
            assert refused.value.retry_after >= 1 and refused.value.queued == 6
            hold.set()
            assert len(await big) == 6
            assert batcher.queued == 0
            small = [batcher.score(["c", "d"], [None, None]), batcher.score(["e", "f"], [None, None])]
            assert [len(answer) for answer in await asyncio.gather(*small)] == [2, 2]  # 4 fit
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert ["b"] not in model.passes


def test_a_full_queue_refuses_with_batching_off_too() -> None:
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.0, max_items=1000, max_queued=2)
        try:
            first = asyncio.create_task(batcher.score(["a", "b"], [None, None]))
            await asyncio.to_thread(model.busy.wait, 30)
            with pytest.raises(QueueFull):
                await batcher.score(["c"], [None])
            hold.set()
            await first
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
