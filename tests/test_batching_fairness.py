"""Fair micro-batching: a large request is scored over several bounded passes, and requests that arrive behind
it take turns with it instead of waiting for all of it; a real server answers a single comment sent behind
the largest request before that request.

Before, a request was never split: 1,000 comments of 200 characters made one pass of 3 to 11 s on two
cores, and every single comment that arrived meanwhile waited for all of it (benchmarks/load.py's mixed
scenario: honest clients' p99 over 40x their p99 alone).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from service.batching import MicroBatcher
from tests.conftest import ONE_THREAD, LiveServer, StartServer
from tests.test_batching import Recorder


async def _busy(model: Recorder, batcher: MicroBatcher) -> asyncio.Task[Any]:
    """A first request whose pass holds the worker until ``model.hold`` is set, so that the requests sent
    next all wait together."""
    first = asyncio.create_task(batcher.score(["first"], [None]))
    await asyncio.to_thread(model.busy.wait, 30)
    return first


def test_a_single_comment_behind_a_large_request_goes_into_the_next_pass() -> None:
    hold = threading.Event()
    model = Recorder(hold=hold)
    answered: list[str] = []

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=4)
        try:
            first = await _busy(model, batcher)
            big = asyncio.create_task(batcher.score([f"big {i}" for i in range(20)], [None] * 20))
            big.add_done_callback(lambda _: answered.append("big"))
            await asyncio.sleep(0.05)  # the large request is queued first
            small = asyncio.create_task(batcher.score(["small"], [None]))
            small.add_done_callback(lambda _: answered.append("small"))
            await asyncio.sleep(0.05)
            hold.set()
            await asyncio.gather(first, big, small)
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert "small" in model.passes[1] and len(model.passes[1]) <= 4
    assert answered == ["small", "big"]


def test_waiting_requests_take_turns_filling_a_pass() -> None:
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=4)
        try:
            first = await _busy(model, batcher)
            a = asyncio.create_task(batcher.score([f"a{i}" for i in range(8)], [None] * 8))
            b = asyncio.create_task(batcher.score([f"b{i}" for i in range(8)], [None] * 8))
            await asyncio.sleep(0.05)
            hold.set()
            await asyncio.gather(first, a, b)
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert model.passes[1:] == [[f"a{i}", f"a{i + 1}", f"b{i}", f"b{i + 1}"] for i in (0, 2, 4, 6)]


def test_requests_just_come_in_go_before_the_rest_of_a_large_one() -> None:
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=2)
        try:
            big = asyncio.create_task(batcher.score([f"big {i}" for i in range(6)], [None] * 6))
            await asyncio.to_thread(model.busy.wait, 30)  # its first two comments are in the pass
            small = [asyncio.create_task(batcher.score([f"small {i}"], [None])) for i in range(2)]
            await asyncio.sleep(0.05)
            hold.set()
            await asyncio.gather(big, *small)
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert model.passes == [["big 0", "big 1"], ["small 0", "small 1"], ["big 2", "big 3"], ["big 4", "big 5"]]


def test_a_large_request_is_answered_whole_and_in_order_over_several_passes() -> None:
    model = Recorder()
    texts = [f"comment number {i}" for i in range(10)]

    async def go() -> list[Any]:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=3)
        try:
            return await batcher.score(texts, [None] * len(texts))
        finally:
            await batcher.close()

    answer = asyncio.run(go())
    assert [len(p) for p in model.passes] == [3, 3, 3, 1]
    assert [a.attributes["TOXICITY"] for a in answer] == [len(t) / 100 for t in texts]


def test_a_pass_stops_growing_at_max_chars_and_a_longer_comment_runs_alone() -> None:
    model = Recorder()
    long = "x" * 25

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=100, max_chars=10)
        try:
            await batcher.score(["abcd", "abcd", "abcd", long, "abcd"], [None] * 5)
        finally:
            await batcher.close()

    asyncio.run(go())
    assert model.passes == [["abcd", "abcd"], ["abcd"], [long], ["abcd"]]


def test_the_first_comment_of_every_request_come_in_goes_into_the_next_pass_past_max_chars() -> None:
    """Single comments arriving faster than they are scored share passes as large as they need, so the
    bound on characters does not cut the throughput of many small requests."""
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=100, max_chars=10)
        try:
            first = await _busy(model, batcher)
            big = asyncio.create_task(batcher.score(["big 0", "big 1"], [None, None]))
            small = [asyncio.create_task(batcher.score([f"small {i}"], [None])) for i in range(5)]
            await asyncio.sleep(0.05)
            hold.set()
            await asyncio.gather(first, big, *small)
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert model.passes[1:] == [["big 0", *(f"small {i}" for i in range(5))], ["big 1"]]


def test_a_cancelled_large_request_scores_no_more_of_its_comments() -> None:
    hold = threading.Event()
    model = Recorder(hold=hold)

    async def go() -> None:
        batcher = MicroBatcher(model, wait_s=0.01, max_items=2)
        try:
            big = asyncio.create_task(batcher.score([f"big {i}" for i in range(6)], [None] * 6))
            await asyncio.to_thread(model.busy.wait, 30)  # its first two comments are in the pass
            big.cancel()
            await asyncio.sleep(0)
            assert batcher.queued == 6  # the pass running holds some of it until it ends
            hold.set()
            assert len(await batcher.score(["after"], [None])) == 1
            assert batcher.queued == 0
        finally:
            hold.set()
            await batcher.close()

    asyncio.run(go())
    assert model.passes == [["big 0", "big 1"], ["after"]]


def test_a_failing_part_of_a_large_request_fails_it_alone_and_its_rest_is_not_scored() -> None:
    model = Recorder(fail_on="bad")
    big = ["big 0", "big 1", "bad", "big 3", "big 4", "big 5", "big 6", "big 7"]
    small = [[f"small {i}"] for i in range(6)]

    async def go() -> list[Any]:
        batcher = MicroBatcher(model, wait_s=0.05, max_items=4)
        try:
            return await asyncio.gather(
                batcher.score(big, [None] * len(big)),
                *(batcher.score(texts, [None]) for texts in small),
                return_exceptions=True,
            )
        finally:
            await batcher.close()

    answers = asyncio.run(go())
    assert isinstance(answers[0], RuntimeError)
    assert all(not isinstance(answer, BaseException) and len(answer) == 1 for answer in answers[1:])
    assert not any("big 7" in p for p in model.passes)


# A real server --------------------------------------------------------------------------------------------

SCORE = "/v1/comments:score"
#: Seconds a pass takes per comment (the tiny models take about nothing).
PACE_S = 0.005


class Paced:
    """The wrapped scorer, taking :data:`PACE_S` per comment: a pass costs what it holds, as the real model's."""

    def __init__(self, scorer: Any) -> None:
        self._scorer = scorer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scorer, name)

    def predict(self, texts: list[str], targets: list[str | None], **options: Any) -> Any:
        time.sleep(PACE_S * len(texts))
        return self._scorer.predict(texts, targets, **options)


def paced_app() -> FastAPI:
    """The factory the test server runs (``--factory tests.test_batching_fairness:paced_app``)."""
    from moderation.models.scorer import Scorer
    from service.app import create_app
    from service.config import Settings

    settings = Settings()
    assert settings.models_config is not None
    return create_app(settings, scorer=cast(Scorer, Paced(Scorer.from_config(settings.models_config))))


@pytest.mark.slow
def test_a_single_comment_sent_behind_the_largest_request_is_answered_before_it(
    start_server: StartServer, tiny_models_config: Any
) -> None:
    """Both requests on a real server with its default pass bounds: the largest request (1,000 comments of 200
    characters, about 5 s of paced work) first, one short comment a second later."""
    server: LiveServer = start_server(
        factory="tests.test_batching_fairness:paced_app",
        models_config=tiny_models_config,
        env=ONE_THREAD,
        rate_limit_per_minute=0,
        rate_limit_chars_per_minute=0,
    )
    text = "a reader's long and winding comment " * 6
    # Languages given: no detection pass delays the large request on its way to the batcher.
    big = {"comments": [{"text": f"{i:04d} {text}"[:200], "language": "en"} for i in range(1000)]}
    answered: list[str] = []

    async def send() -> tuple[int, int]:
        async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, timeout=120) as client:

            async def post(name: str, body: dict[str, Any]) -> int:
                response = await client.post(SCORE, json=body)
                answered.append(name)
                return response.status_code

            large = asyncio.create_task(post("large", big))
            await asyncio.sleep(1.0)  # the large request is read and being scored
            small = await post("small", {"comments": [{"text": "a short comment"}]})
            return await large, small

    assert asyncio.run(send()) == (200, 200)
    assert answered == ["small", "large"]
