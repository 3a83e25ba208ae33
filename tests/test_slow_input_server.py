"""A real uvicorn server keeps answering while it reads slow input. Uploads are read in worker processes: one
that reads for longer than the deadline is a 422 while ``/healthz`` keeps answering, and the next upload is
read by a fresh worker. A comment built to make a pattern backtrack (language detection's address finder took
33 s over one, holding the GIL) costs no more than plain words of its length.

The server's deadline is a tenth of the slow upload's read in this process, so the test means the same on a
fast machine and a slow one; a server that read the upload on its event loop would leave ``/healthz`` waiting
for the whole read, and one without a deadline would store it. Traffic goes to 127.0.0.1 only; every loop is
bounded.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from moderation import Source
from moderation.extraction import extract_all
from tests.conftest import ONE_THREAD, LiveServer, StartServer
from tests.test_isolated import page

pytestmark = pytest.mark.slow

SLOW = page(1500)
SMALL = page(2)


@dataclass
class Reading:
    server: LiveServer
    in_process_s: float  # how long SLOW takes to read in this process


@pytest.fixture(scope="module")
def reading(start_server: StartServer, tiny_models_config: Path) -> Reading:
    started = time.perf_counter()
    extract_all(SLOW)
    in_process = time.perf_counter() - started
    server = start_server(
        models_config=tiny_models_config,
        env=ONE_THREAD,
        rate_limit_per_minute=0,
        extract_workers=1,
        extract_deadline_s=round(in_process / 10, 3),
    )
    return Reading(server, in_process)


async def _healthz(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.get("/healthz")
    assert response.status_code == 200
    return time.perf_counter() - started


def _upload(client: httpx.AsyncClient, source: Source) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(client.post("/v1/threads", files={"file": (source.name, source.data, "text/html")}))


def test_an_upload_past_the_deadline_is_a_422_while_healthz_answers_and_the_next_upload_is_read(
    reading: Reading,
) -> None:
    server = reading.server

    async def exchange() -> tuple[list[float], list[float], httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, timeout=120) as client:
            before = [await _healthz(client) for _ in range(20)]
            slow = _upload(client, SLOW)
            during: list[float] = []
            for _ in range(5000):  # bounded: the upload ends within a minute, even on a slow machine
                if slow.done():
                    break
                during.append(await _healthz(client))
                await asyncio.sleep(0.01)
            refused = await slow
            return before, during, refused, await _upload(client, SMALL)

    before, during, refused, after = asyncio.run(exchange())
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["title"] == "Unprocessable input"
    assert "page-1500.html: reading it took longer than" in problem["detail"]
    assert len(during) >= 5, "the upload was answered before /healthz could be asked meanwhile"
    worst = max(during)
    assert worst < reading.in_process_s / 4, (
        f"/healthz took up to {worst:.3f} s during the upload (median {statistics.median(before):.3f} s before); "
        f"reading the upload takes {reading.in_process_s:.2f} s"
    )
    assert after.status_code == 200, after.text
    (stored,) = after.json()["threads"]
    assert stored["counts"]["comments"] == 4  # two comments and their replies: the fresh worker read it


def test_a_comment_shaped_to_backtrack_costs_what_plain_words_of_its_length_cost(reading: Reading) -> None:
    server = reading.server

    def store(text: str, n: int) -> float:
        thread = {
            "article": {"title": "A story", "url": f"https://news.example/{n}"},
            "comments": [{"id": "1", "text": text, "position": 0}],
        }
        started = time.perf_counter()
        response = httpx.post(f"{server.base_url}/v1/threads", headers=server.headers, json=thread, timeout=120)
        assert response.status_code == 200, response.text
        return time.perf_counter() - started

    plain = min(store("word " * 600, n) for n in range(3))
    shaped = min(store("a.@" * 1000, n) for n in range(3, 6))  # an "address" whose every part backtracks
    assert shaped < 4 * plain, f"{shaped:.3f} s against {plain:.3f} s for plain words"
