"""The load benchmark's fairness and open-loop scenarios (run by ``benchmarks/load.py``).

Mixed load: closed-loop honest clients, each with its own key, send one short real comment per request;
one heavy client on its own key sends, back to back, the largest ``POST /v1/comments:score`` the work
budget allows (``MODERATION_MAX_ITEMS`` comments sharing ``MODERATION_MAX_REQUEST_CHARS``). The honest
clients run alone for half a phase, beside the heavy client for a phase, then alone again for half a
phase (their baseline brackets the mixed phase in time); the heavy client then runs alone for a phase.

Open loop: single-comment requests scheduled at a fixed rate (Poisson arrivals, a fixed seed), each sent at
its time whatever the earlier ones are doing, on a pool of keep-alive connections; latency runs from the
scheduled send time, so a server that falls behind is charged for the queue it builds (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import cycle
from typing import Protocol

#: Coral's default moderation phase timeout (ms): a slower answer and Coral goes on without the desk.
CORAL_TIMEOUT_MS = 800.0
#: Issue 18's bar: honest clients' p99 beside the heavy client, as a multiple of their p99 alone.
BAR_P99_RISE = 2.0
#: Most connections the open-loop client opens; a request waits for one past that (still timed from its
#: scheduled send).
OPEN_CONNECTIONS = 256


class Target(Protocol):
    """What the scenarios need of ``benchmarks/load.py``'s ``Server``."""

    port: int
    tokens: list[str]


#: ``(port, token, comments)`` -> the bytes of one ``POST /v1/comments:score`` request.
Build = Callable[[int, str, list[str]], bytes]


@dataclass
class Tally:
    """One group of clients in one phase: latencies of answered requests (s), statuses, comments answered."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    comments: int = 0
    seconds: float = 0.0
    unfinished: int = 0  # open loop: still unanswered when the drain ended

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 200) + self.unfinished

    @property
    def comments_per_s(self) -> float:
        return self.comments / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """The ``q`` quantile in ms (nearest rank over answered requests; unfinished ones count as slowest)."""
        ordered = sorted(self.latencies) + [float("inf")] * self.unfinished
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    def share_over(self, ms: float) -> float:
        total = len(self.latencies) + self.unfinished
        late = sum(1 for latency in self.latencies if latency * 1000 > ms) + self.unfinished
        return late / total if total else float("nan")

    def absorb(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.statuses += other.statuses
        self.comments += other.comments
        self.seconds += other.seconds
        self.unfinished += other.unfinished


@dataclass
class Mixed:
    honest_clients: int
    heavy_size: int
    heavy_chars: int
    seconds: float
    alone: Tally = field(default_factory=Tally)  # honest clients without the heavy one, before and after
    beside: Tally = field(default_factory=Tally)  # honest clients beside the heavy one
    heavy: Tally = field(default_factory=Tally)  # the heavy client beside the honest ones
    heavy_alone: Tally = field(default_factory=Tally)


@dataclass
class OpenLoop:
    rate: float
    seconds: float
    tally: Tally = field(default_factory=Tally)
    lag_ms: float = 0.0  # the client's worst lateness in sending a request after its scheduled time


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read its whole answer; the status code."""
    writer.write(request)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
    await reader.readexactly(int(headers["content-length"]))
    return int(head[0].split()[1])


async def _closed_loop(port: int, requests: Iterator[tuple[bytes, int]], stop: asyncio.Event, tally: Tally) -> None:
    """One client on one connection: the next request as soon as the last is answered, until ``stop``."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not stop.is_set():
            request, size = next(requests)
            sent = time.perf_counter()
            status = await _exchange(reader, writer, request)
            tally.statuses[status] += 1
            if status == 200:
                tally.latencies.append(time.perf_counter() - sent)
                tally.comments += size
    finally:
        tally.seconds = time.perf_counter() - started
        writer.close()
        await writer.wait_closed()


async def _phase(
    port: int, honest: list[Iterator[tuple[bytes, int]]], heavy: Iterator[tuple[bytes, int]] | None, seconds: float
) -> tuple[Tally, Tally]:
    """Honest clients (each its own request stream) and perhaps the heavy client, for ``seconds``; a request
    in flight at the end is waited for. The honest clients' tally (merged) and the heavy client's."""
    stop = asyncio.Event()
    tallies = [Tally() for _ in honest]
    heavy_tally = Tally()
    tasks = [
        asyncio.ensure_future(_closed_loop(port, stream, stop, t)) for stream, t in zip(honest, tallies, strict=True)
    ]
    if heavy is not None:
        tasks.append(asyncio.ensure_future(_closed_loop(port, heavy, stop, heavy_tally)))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    merged = Tally()
    for tally in tallies:
        merged.absorb(tally)
    merged.seconds = max((t.seconds for t in tallies), default=0.0)
    return merged, heavy_tally


def heavy_texts(comments: list[str], count: int, chars: int) -> list[str]:
    """``count`` texts of exactly ``chars`` characters, real comments run together."""
    texts, source = [], cycle(comments)
    for _ in range(count):
        text = ""
        while len(text) < chars:
            text += next(source) + " "
        texts.append(text[:chars])
    return texts


def run_mixed(
    target: Target, build: Build, comments: list[str], *, clients: int, seconds: float, max_items: int, chars: int
) -> Mixed:
    """The mixed-load scenario on a running server whose ``tokens`` hold one key per honest client, then one
    for the heavy client beside them and a fresh one for it alone (so that its throughput alone is not cut
    by the characters per minute it spent beside them)."""
    per_comment = chars // max_items
    result = Mixed(clients, max_items, per_comment * max_items, seconds)
    texts = heavy_texts(comments, max_items, per_comment)
    big, big_alone = (build(target.port, token, texts) for token in target.tokens[clients : clients + 2])

    def honest() -> list[Iterator[tuple[bytes, int]]]:
        return [
            cycle([(build(target.port, token, [text]), 1) for text in comments[i::clients]])
            for i, token in enumerate(target.tokens[:clients])
        ]

    for honest_streams, heavy_stream, length, into in (
        (honest(), None, seconds / 2, "alone"),
        (honest(), cycle([(big, max_items)]), seconds, "beside"),
        (honest(), None, seconds / 2, "alone"),
        ([], cycle([(big_alone, max_items)]), seconds, "heavy_alone"),
    ):
        group, big_tally = asyncio.run(_phase(target.port, honest_streams, heavy_stream, length))
        if into == "heavy_alone":
            result.heavy_alone = big_tally
        else:
            getattr(result, into).absorb(group)
            if into == "beside":
                result.heavy = big_tally
    return result


async def _open_loop(
    port: int, requests: Iterator[bytes], times: list[float], drain_s: float, result: OpenLoop
) -> None:
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(OPEN_CONNECTIONS)
    tally = result.tally
    begin = time.perf_counter()

    async def one(at: float, request: bytes) -> None:
        await asyncio.sleep(max(0.0, begin + at - time.perf_counter()))
        scheduled = begin + at
        result.lag_ms = max(result.lag_ms, (time.perf_counter() - scheduled) * 1000)
        async with slots:
            if idle:
                reader, writer = idle.pop()
                try:
                    status = await _exchange(reader, writer, request)
                except (ConnectionError, asyncio.IncompleteReadError):  # the server closed it while idle
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    status = await _exchange(reader, writer, request)
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                status = await _exchange(reader, writer, request)
            idle.append((reader, writer))
        tally.statuses[status] += 1
        if status == 200:
            tally.latencies.append(time.perf_counter() - scheduled)
            tally.comments += 1

    tasks = [asyncio.ensure_future(one(at, next(requests))) for at in times]
    _, pending = await asyncio.wait(tasks, timeout=result.seconds + drain_s)
    tally.unfinished = len(pending)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    tally.seconds = time.perf_counter() - begin
    for _, writer in idle:
        writer.close()


def run_open_loop(
    target: Target, build: Build, comments: list[str], *, rate: float, seconds: float, seed: int = 18
) -> OpenLoop:
    """Single-comment requests at ``rate`` a second (Poisson) for ``seconds``, round-robin over the server's
    keys; requests still unanswered 30 s after the last send count as unfinished (over any bound)."""
    draw = random.Random(seed)
    times, at = [], draw.expovariate(rate)
    while at < seconds:
        times.append(at)
        at += draw.expovariate(rate)
    keys = cycle(target.tokens)
    requests = (build(target.port, next(keys), [text]) for text in cycle(comments))
    result = OpenLoop(rate, seconds)
    asyncio.run(_open_loop(target.port, requests, times, 30.0, result))
    return result


def mixed_lines(runs: dict[str, Mixed]) -> list[str]:
    """The mixed-load table, one block of rows per pass bound, its bar and what bounding passes cost."""
    lines = [
        "| passes | clients | requests | non-200 | 429 | 503 | p50 ms | p95 ms | p99 ms | comments/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for shape, mixed in runs.items():
        for name, tally in (
            ("honest, alone (before and after)", mixed.alone),
            ("honest, beside the heavy client", mixed.beside),
            ("heavy, beside the honest clients", mixed.heavy),
            ("heavy, alone", mixed.heavy_alone),
        ):
            lines.append(
                f"| {shape} | {name} | {len(tally.latencies)} | {tally.failures} | {tally.statuses[429]} | "
                f"{tally.statuses[503]} | {tally.percentile(0.5):.0f} | {tally.percentile(0.95):.0f} | "
                f"{tally.percentile(0.99):.0f} | {tally.comments_per_s:.1f} |"
            )
    lines.append("")
    for shape, mixed in runs.items():
        rise = mixed.beside.percentile(0.99) / mixed.alone.percentile(0.99)
        failures = mixed.beside.failures + mixed.alone.failures
        met = rise <= BAR_P99_RISE and failures == 0
        lines.append(
            f"- Bar, passes {shape}: honest p99 beside the heavy client at most {BAR_P99_RISE:g}x its p99 alone, "
            f"no honest request failed: {rise:.2f}x, {failures} honest failures ({'met' if met else 'missed'})."
        )
    if {"bounded", "unbounded"} <= runs.keys():
        bounded, unbounded = runs["bounded"], runs["unbounded"]
        lines.append(
            "- What bounding passes costs, bounded against unbounded: the heavy client alone "
            f"{bounded.heavy_alone.comments_per_s:.1f} against {unbounded.heavy_alone.comments_per_s:.1f} "
            f"comments/s, the honest clients alone {bounded.alone.comments_per_s:.1f} against "
            f"{unbounded.alone.comments_per_s:.1f}."
        )
    return lines


def open_lines(runs: dict[tuple[str, float], OpenLoop], offline: float, closed: float | None) -> list[str]:
    """The open-loop table, one row per pass bound and rate (a share of ``offline``)."""
    capacity = (
        f" The best closed-loop rate of single-comment requests above, batching on, was {closed:.1f}/s: what the "
        "service can answer on this machine with the client beside it."
        if closed
        else ""
    )
    seconds = next(iter(runs.values())).seconds
    lines = [
        f"Single-comment requests at fixed rates, shares of the offline {offline:.1f} comments/s measured at the "
        f"start of this run; Poisson arrivals for {seconds:g} s, keys taken in turn, latency from each request's "
        "scheduled send time (a server that falls behind is charged for its queue); a request not answered 30 s "
        f"after the last send counts as unanswered, slower than any bound.{capacity}",
        "",
        f"| passes | share of offline | offered/s | requests | non-200 | unanswered | p50 ms | p99 ms | "
        f"over {CORAL_TIMEOUT_MS:.0f} ms | client's worst lag ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (shape, share), run in runs.items():
        tally = run.tally
        lines.append(
            f"| {shape} | {100 * share:.0f} % | {run.rate:.1f} | {len(tally.latencies) + tally.unfinished} | "
            f"{tally.failures - tally.unfinished} | {tally.unfinished} | {tally.percentile(0.5):.0f} | "
            f"{tally.percentile(0.99):.0f} | {100 * tally.share_over(CORAL_TIMEOUT_MS):.1f} % | {run.lag_ms:.0f} |"
        )
    return lines
