"""A real uvicorn server: one bad comment fails only its own request, even in a shared micro-batch; the
connection that got a 500 stays usable; a full queue answers 503 at once; a disconnected client's comments
are never scored.

The server scores with the tiny checkpoints, wrapped (:func:`poisoned_app`, the factory uvicorn runs) so that
a pass holding :data:`POISON` raises, as the tokenizer did on a lone surrogate, and a pass holding :data:`SLOW`
takes :data:`SLOW_S` seconds, a busy worker on demand. Traffic goes to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ONE_THREAD, LiveServer, StartServer

pytestmark = pytest.mark.slow

SCORE = "/v1/comments:score"
POISON = "this comment breaks the model"
SLOW = "this comment takes the model a while"
SLOW_S = 4.0
CONCURRENT = 240
#: The server's queue bound: above CONCURRENT single comments, below one SLOW request and a BIG one.
QUEUE = 300
BIG = 400


class Poisoned:
    """A scorer whose passes fail on :data:`POISON` and dawdle on :data:`SLOW`; otherwise the wrapped one."""

    def __init__(self, scorer: Any) -> None:
        self._scorer = scorer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scorer, name)

    def predict(self, texts: list[str], targets: list[str | None], **options: Any) -> Any:
        if POISON in texts:
            raise ValueError("the tokenizer cannot read this text")
        if SLOW in texts:
            time.sleep(SLOW_S)
        return self._scorer.predict(texts, targets, **options)


def poisoned_app() -> FastAPI:
    """The factory the test server runs (``--factory tests.test_budget_server:poisoned_app``)."""
    from moderation.models.scorer import Scorer
    from service.app import create_app
    from service.config import Settings

    settings = Settings()
    assert settings.models_config is not None
    return create_app(settings, scorer=cast(Scorer, Poisoned(Scorer.from_config(settings.models_config))))


@pytest.fixture(scope="module")
def server(start_server: StartServer, tiny_models_config: Path) -> LiveServer:
    return start_server(
        factory="tests.test_budget_server:poisoned_app",
        models_config=tiny_models_config,
        env=ONE_THREAD,
        queue_max_comments=QUEUE,
        rate_limit_per_minute=0,
    )


def scored(server: LiveServer) -> float:
    """The server's count of comments scored so far."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "moderation_comments_scored"
        for sample in family.samples
        if sample.name == "moderation_comments_scored_total"
    )


def test_one_poisoned_comment_fails_only_its_own_request_in_a_shared_batch(server: LiveServer) -> None:
    """Before, every request that shared the poisoned request's pass got its 500 (63 of 240)."""
    comments = [f"reader {i} says the talks will stall again" for i in range(CONCURRENT)]
    comments[CONCURRENT // 2] = POISON

    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=CONCURRENT)
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=server.headers, timeout=120, limits=limits
        ) as client:
            return await asyncio.gather(*(client.post(SCORE, json={"comments": [{"text": t}]}) for t in comments))

    responses = asyncio.run(send_all())
    statuses = [response.status_code for response in responses]
    assert statuses[CONCURRENT // 2] == 500
    assert responses[CONCURRENT // 2].headers["content-type"] == "application/problem+json"
    assert statuses.count(200) == CONCURRENT - 1, {s: statuses.count(s) for s in set(statuses)}


def test_the_connection_that_got_a_500_stays_usable(server: LiveServer) -> None:
    """Starlette re-raised after its 500 answer and uvicorn then closed the keep-alive connection."""
    port = int(server.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {**server.headers, "Content-Type": "application/json"}
    try:
        statuses, sockets = [], []
        for text in (POISON, "a fine comment", POISON, "another fine comment"):
            connection.request("POST", SCORE, body=json.dumps({"comments": [{"text": text}]}), headers=headers)
            response = connection.getresponse()  # RemoteDisconnected if the server hung up after the 500
            response.read()
            statuses.append(response.status)
            sockets.append(connection.sock)
        assert statuses == [500, 200, 500, 200]
        assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)  # one connection throughout
    finally:
        connection.close()


async def _while_slow(server: LiveServer, during: Any) -> tuple[httpx.Response, Any]:
    """Keep the worker busy with a :data:`SLOW` request and run ``during()`` meanwhile."""
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, timeout=120) as client:
        slow = asyncio.create_task(client.post(SCORE, json={"comments": [{"text": SLOW}]}))
        await asyncio.sleep(SLOW_S / 4)  # its pass has started
        result = await during()
        assert not slow.done(), "the slow pass ended before the test could use it"
        return await slow, result


def test_a_full_queue_answers_503_with_retry_after_at_once(server: LiveServer) -> None:
    async def refused() -> tuple[httpx.Response, float]:
        async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, timeout=120) as client:
            started = time.perf_counter()
            response = await client.post(SCORE, json=body_of(BIG))
            return response, time.perf_counter() - started

    slow, (response, seconds) = asyncio.run(_while_slow(server, refused))
    assert slow.status_code == 200
    assert response.status_code == 503, response.text
    assert response.json()["title"] == "Server busy" and int(response.headers["Retry-After"]) >= 1
    assert seconds < SLOW_S / 2  # answered at once, not after the queue drained
    alone = httpx.post(f"{server.base_url}{SCORE}", headers=server.headers, json=body_of(BIG), timeout=120)
    assert alone.status_code == 200  # the same request fits an idle server


def body_of(count: int) -> dict[str, Any]:
    return {"comments": [{"text": f"comment {i}"} for i in range(count)]}


def _send_and_hang_up(server: LiveServer, count: int) -> None:
    """POST ``count`` comments on a raw socket, then close it before any answer can come."""
    port = int(server.base_url.rsplit(":", 1)[1])
    body = json.dumps(body_of(count)).encode()
    head = (
        f"POST {SCORE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {server.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(head + body)
        time.sleep(SLOW_S / 4)  # the request is read and queued behind the slow pass


def test_a_disconnected_clients_comments_are_never_scored(server: LiveServer) -> None:
    before = scored(server)

    async def hang_up() -> None:
        await asyncio.to_thread(_send_and_hang_up, server, 50)

    slow, _ = asyncio.run(_while_slow(server, hang_up))
    assert slow.status_code == 200
    time.sleep(1.0)  # had the queued request survived, its pass would run now
    assert scored(server) - before == 1  # the slow comment alone
