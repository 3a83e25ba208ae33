"""A real uvicorn server in a subprocess: micro-batching under concurrent clients, an event loop that keeps
answering while the model works, and no acknowledged or half-stored thread lost to SIGKILL.

The TestClient tests (test_api_*.py) drive every route in-process; these need a real socket, a real
process and real concurrency, so they start ``python -m uvicorn --factory service.app:create_app`` on a free
127.0.0.1 port (the ``start_server`` fixture in conftest.py).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ONE_THREAD, LiveServer, StartServer

pytestmark = pytest.mark.slow

TITLE = "Kuril islands talks stall as Lavrov rules out a deal"
#: Reader comments of the kind the desk scores; half of them are scored toward the article's title.
TEXTS = (
    "The islands belong to Japan, full stop.",
    "Great reporting, thank you for the context on the 1956 declaration.",
    "Only an idiot would believe a word Lavrov says.",
    "Give the islands back, you thieves.",
    "I disagree with the minister, but talks are better than nothing.",
    "Those islands are Russian now and they will stay Russian.",
    "What a lovely, hopeful piece. Peace is possible.",
    "Nobody in Tokyo expected anything else.",
    "Shut up and go back to your propaganda channel, troll.",
    "The fishermen on Hokkaido are the ones who pay for this stalemate.",
    "Another article, another round of nothing happening.",
    "Why does the photo show Moscow and not the islands?",
    "Japan should buy them back; everything has a price.",
    "You people are disgusting and should be ashamed.",
    "Good. A treaty on these terms would be a surrender.",
    "Thanks, this explains the background better than anything I had read.",
    "The minister is a liar and a coward.",
    "I visited Kunashir once; the people there just want a ferry that runs.",
    "Stop whining about islands nobody lives on.",
    "Diplomacy takes decades. Patience.",
    "This is pathetic journalism.",
    "Russia will never give up anything it took, look at history.",
    "Maybe a joint economic zone is the realistic way forward.",
    "I hate this government and everyone in it.",
)
CONCURRENT = len(TEXTS)


def _comment(index: int) -> dict[str, str]:
    return {"text": TEXTS[index % len(TEXTS)], **({"target": TITLE} if index % 2 else {})}


def _figures(scored: dict[str, Any]) -> dict[str, Any]:
    """A scored comment's numbers and labels, flat (``sentiment.negative``, ``TOXICITY``, ``decision``)."""
    flat: dict[str, Any] = {"decision": scored["decision"]["action"]}
    for head in ("sentiment", "stance", "toxicity"):
        if scored[head] is None:
            flat[head] = None
            continue
        flat[head] = scored[head]["label"]
        flat.update({f"{head}.{label}": value for label, value in scored[head]["probabilities"].items()})
    flat.update(scored["attributes"])
    return flat


#: How far a probability may move when its comment shares a pass: the padding differs, so the arithmetic
#: does. fp32 agrees to 1e-6 and bf16 autocast to about 3e-3; more means a comment's score depends on its
#: neighbours (as with activations quantized with one scale per batch).
TOLERANCE = 5e-3


def _same_scores(got: dict[str, Any], alone: dict[str, Any]) -> bool:
    """Equal labels and decisions, probabilities within :data:`TOLERANCE`."""
    if got.keys() != alone.keys():
        return False
    return all(
        abs(value - alone[key]) <= TOLERANCE if isinstance(value, float) else value == alone[key]
        for key, value in got.items()
    )


@dataclass(frozen=True)
class Passes:
    """The server's ``moderation_batch_requests`` histogram: forward passes, requests they served, lone ones."""

    passes: float
    requests: float
    alone: float

    def __sub__(self, other: Passes) -> Passes:
        return Passes(self.passes - other.passes, self.requests - other.requests, self.alone - other.alone)


def passes(server: LiveServer) -> Passes:
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    samples = {
        (sample.name, sample.labels.get("le")): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "moderation_batch_requests"
        for sample in family.samples
    }
    return Passes(
        passes=samples.get(("moderation_batch_requests_count", None), 0.0),
        requests=samples.get(("moderation_batch_requests_sum", None), 0.0),
        alone=samples.get(("moderation_batch_requests_bucket", "1.0"), 0.0),
    )


async def _score_each_at_once(server: LiveServer, comments: list[dict[str, str]]) -> list[httpx.Response]:
    """One single-comment request per comment, all in flight together."""
    limits = httpx.Limits(max_connections=len(comments))
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, timeout=300, limits=limits
    ) as client:
        return await asyncio.gather(
            *(client.post("/v1/comments:score", json={"comments": [comment]}) for comment in comments)
        )


@pytest.fixture(scope="module")
def batched(start_server: StartServer) -> LiveServer:
    """The bundled model with the default micro-batching wait (5 ms)."""
    return start_server()


@pytest.fixture(scope="module")
def unbatched(start_server: StartServer) -> LiveServer:
    return start_server(batch_wait_ms=0)


@pytest.fixture(scope="module")
def alone(batched: LiveServer) -> list[dict[str, Any]]:
    """Each comment's figures when it is the only one in its request and its pass."""
    figures = []
    with httpx.Client(base_url=batched.base_url, headers=batched.headers, timeout=120) as client:
        for index in range(CONCURRENT):
            response = client.post("/v1/comments:score", json={"comments": [_comment(index)]})
            assert response.status_code == 200, response.text
            figures.append(_figures(response.json()["comments"][0]))
    return figures


def test_concurrent_requests_share_forward_passes_and_score_as_if_alone(
    batched: LiveServer, alone: list[dict[str, Any]]
) -> None:
    before = passes(batched)
    responses = asyncio.run(_score_each_at_once(batched, [_comment(i) for i in range(CONCURRENT)]))
    served = passes(batched) - before
    assert [r.status_code for r in responses] == [200] * CONCURRENT, [r.text for r in responses if r.is_error]
    for index, response in enumerate(responses):
        got = _figures(response.json()["comments"][0])
        assert _same_scores(got, alone[index]), (index, got, alone[index])
    assert served.requests == CONCURRENT
    assert served.passes < CONCURRENT, served  # some passes served several requests
    assert served.passes > served.alone, served


def test_with_batching_off_every_pass_serves_one_request(unbatched: LiveServer, alone: list[dict[str, Any]]) -> None:
    before = passes(unbatched)
    responses = asyncio.run(_score_each_at_once(unbatched, [_comment(i) for i in range(CONCURRENT)]))
    served = passes(unbatched) - before
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    for index, response in enumerate(responses):
        assert _same_scores(_figures(response.json()["comments"][0]), alone[index]), index
    assert served == Passes(passes=CONCURRENT, requests=CONCURRENT, alone=CONCURRENT)


async def _probe_health_while(server: LiveServer, body: dict[str, Any]) -> tuple[httpx.Response, list[float]]:
    """Send ``body`` to comments:score and time /healthz every 50 ms until its answer comes."""
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, timeout=600) as client:
        big = asyncio.create_task(client.post("/v1/comments:score", json=body))
        await asyncio.sleep(0.5)  # the body is in and the pass has started
        latencies = []
        while not big.done():
            started = time.perf_counter()
            health = await client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert health.status_code == 200
            await asyncio.sleep(0.05)
        return await big, latencies


def test_the_event_loop_answers_while_a_thousand_comments_score(batched: LiveServer) -> None:
    body = {"comments": [_comment(i) for i in range(1000)]}
    response, latencies = asyncio.run(_probe_health_while(batched, body))
    assert response.status_code == 200, response.text
    assert len(response.json()["comments"]) == 1000
    assert len(latencies) >= 5, latencies  # the request ran long enough to probe
    latencies.sort()
    # Inference on the loop would hold every probe for the whole pass (seconds); off it, a probe waits at
    # most for the Python between two tensor operations, and for the answer's serialisation at the end.
    assert latencies[len(latencies) // 2] < 0.25, latencies
    assert latencies[-1] < 2.0, latencies


# SIGKILL during uploads -------------------------------------------------------------------------------------

WORDS = (
    "the minister said talks on the islands stall again and nobody in Tokyo or Moscow believes a treaty "
    "will come this year great article thanks fishermen pay for it"
).split()
KILLS = ("random", "on_ack", "random")
UPLOADERS = 3


def thread_version(url: str, version: int, seed: int) -> list[str]:
    """The comment texts of ``url``'s ``version``: 200 comments, 20 more with each version; every text says
    its version, so a thread mixing two uploads shows."""
    rng = random.Random(f"{url}#{seed}")
    return [
        f"{' '.join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))} (v{version} c{i})"
        for i in range(200 + 20 * version)
    ]


def thread_body(url: str, texts: list[str]) -> dict[str, Any]:
    return {
        "article": {"url": url, "title": TITLE},
        "comments": [
            {"id": f"c{i}", "author": f"reader {i % 17}", "text": t, "position": i} for i, t in enumerate(texts)
        ],
    }


@dataclass
class Uploads:
    """What the uploaders sent and what the server acknowledged, over every server life."""

    sent: dict[str, dict[int, list[str]]] = field(default_factory=dict)  # url -> version -> texts
    acked: dict[str, int] = field(default_factory=dict)  # url -> newest version answered 2xx
    acknowledgements: int = 0


async def _upload_until_killed(server: LiveServer, uploads: Uploads, life: int, kill: str, rng: random.Random) -> None:
    """Uploaders post threads (new ones, and new versions of their last) until the server dies under them:
    at a random moment after the first answer, or at the moment an answer arrives (``on_ack``)."""
    first_ack = asyncio.Event()
    started = time.perf_counter()
    first_ack_after: list[float] = []

    async def uploader(number: int, client: httpx.AsyncClient) -> None:
        url, version = "", 0
        for sequence in range(10_000):
            if url and rng.random() < 0.4:
                version += 1
            else:
                url, version = f"https://news.example/kill/{life}/{number}/{sequence}", 0
            texts = thread_version(url, version, seed=life)
            uploads.sent.setdefault(url, {})[version] = texts
            try:
                response = await client.post("/v1/threads", json=thread_body(url, texts))
            except httpx.TransportError:
                return  # killed under us: this upload was never acknowledged
            assert response.status_code == 200, response.text
            uploads.acked[url] = version
            uploads.acknowledgements += 1
            if not first_ack.is_set():
                first_ack_after.append(time.perf_counter() - started)
                first_ack.set()
            if kill == "on_ack" and uploads.acknowledgements % 3 == 0:
                server.kill()  # before anything else: the answer just read must already be durable
                return

    async def killer() -> None:
        await asyncio.wait_for(first_ack.wait(), timeout=300)
        if kill == "random":
            await asyncio.sleep(rng.uniform(0.5, 4.0) * first_ack_after[0])
            await asyncio.to_thread(server.kill)

    limits = httpx.Limits(max_connections=UPLOADERS)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, timeout=300, limits=limits
    ) as client:
        await asyncio.gather(killer(), *(uploader(n, client) for n in range(UPLOADERS)))
    server.kill()


def _walk(client: httpx.Client, path: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        response = client.get(path, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def _check_store(server: LiveServer, uploads: Uploads) -> int:
    """Every acknowledged upload is there whole, and every stored thread is one whole upload; the count stored."""
    stored = 0
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as client:
        threads = {thread["url"]: thread for thread in _walk(client, "/v1/threads")}
        assert set(uploads.acked) <= set(threads), sorted(set(uploads.acked) - set(threads))
        assert set(threads) <= set(uploads.sent), sorted(set(threads) - set(uploads.sent))
        for url, thread in threads.items():
            comments = list(_walk(client, f"/v1/threads/{thread['id']}/comments"))
            texts = [comment["text"] for comment in comments]
            versions = [v for v, sent in uploads.sent[url].items() if sent == texts]
            assert versions, f"{url} holds no upload whole: {len(texts)} comments, first {texts[:1]}"
            assert versions[0] >= uploads.acked.get(url, 0), (url, versions, uploads.acked.get(url))
            counts = thread["counts"]
            assert counts["comments"] == counts["scored"] == len(texts), (url, counts)
            assert counts["decisions"]["undecided"] == 0, (url, counts)
            assert all(c["scores"] is not None and c["decision"] is not None for c in comments), url
            stored += 1
    return stored


def test_sigkill_during_uploads_loses_no_acknowledged_thread_and_leaves_none_half_stored(
    start_server: StartServer, tiny_models_config: Path, tmp_path: Path
) -> None:
    """Three lives of the server on one SQLite file, each ended by SIGKILL while three uploaders post threads
    of 200-260 comments, then a fourth life that reads everything back. The tiny model scores in
    milliseconds, so much of each upload is validation and the store's transaction, where a kill can hurt;
    with the bundled model it would be mostly inference."""
    database = tmp_path / "killed.db"
    rng = random.Random(20260501)
    uploads = Uploads()
    token = None
    for life, kill in enumerate(KILLS):
        server = start_server(database, token=token, models_config=tiny_models_config, env=ONE_THREAD)
        token = server.token
        asyncio.run(_upload_until_killed(server, uploads, life, kill, rng))
        with closing(sqlite3.connect(database)) as check:  # the file as the killed process left it
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert uploads.acknowledgements >= len(KILLS)
    server = start_server(database, token=token, models_config=tiny_models_config, env=ONE_THREAD)
    stored = _check_store(server, uploads)
    assert stored >= len(uploads.acked)
