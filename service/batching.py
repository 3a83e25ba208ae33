"""Micro-batching: comments from requests that arrive within a few milliseconds share one forward pass.

Scoring runs on one worker thread, off the event loop, so the loop keeps accepting requests while
the model works; the requests queued meanwhile form the next batch. A request is never split: one
larger than ``max_items`` runs alone. ``wait_s = 0`` turns batching off (each request runs alone,
still off the loop), which the load benchmark compares against.

The queue is bounded: a request that would take the comments waiting for or in scoring past
``max_queued`` is refused at once with :class:`QueueFull` (the service's 503 with ``Retry-After``), unless
nothing is waiting (so a request larger than the bound still runs, alone). A request whose caller is
cancelled (its client went away) leaves the queue before it is scored. A shared pass that raises is run
again one request at a time, so only the request that made it fail gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from moderation.models.scorer import CommentScores

#: (texts, targets, languages (None: detect), spans) -> scores.
Predict = Callable[[list[str], list[str | None], list[str | None], bool], list[CommentScores]]
#: Called after each pass with (requests, comments, seconds).
Observe = Callable[[int, int, float], object]


class QueueFull(Exception):
    """The scoring queue holds too many comments to take a request now; retry after ``retry_after`` seconds."""

    def __init__(self, queued: int, limit: int, retry_after: int) -> None:
        super().__init__(f"{queued:,} comments are waiting to be scored; the limit is {limit:,}")
        self.queued, self.limit, self.retry_after = queued, limit, retry_after


@dataclass
class _Job:
    texts: list[str]
    targets: list[str | None]
    languages: list[str | None]
    spans: bool
    future: asyncio.Future[list[CommentScores]] = field(repr=False)
    started: bool = False
    settled: bool = False


#: Seconds per comment assumed before the first pass has been timed (for ``Retry-After``).
_FIRST_GUESS_S = 0.01


class MicroBatcher:
    def __init__(
        self,
        predict: Predict,
        *,
        wait_s: float,
        max_items: int,
        max_queued: int = 0,
        observe: Observe | None = None,
    ) -> None:
        """``max_queued``: most comments waiting for or in scoring (0: no bound)."""
        self._predict = predict
        self.wait_s = wait_s
        self.max_items = max_items
        self.max_queued = max_queued
        self._observe = observe
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer")
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.queued = 0  # comments admitted and not yet answered
        self._seconds_per_comment = _FIRST_GUESS_S

    def _admit(self, size: int) -> None:
        if self.max_queued > 0 and self.queued > 0 and self.queued + size > self.max_queued:
            retry = max(1, math.ceil(self.queued * self._seconds_per_comment))
            raise QueueFull(self.queued, self.max_queued, retry)
        self.queued += size

    def _settle(self, job: _Job) -> None:
        if not job.settled:
            job.settled = True
            self.queued -= len(job.texts)

    async def score(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        *,
        languages: Sequence[str | None] | None = None,
        spans: bool = False,
    ) -> list[CommentScores]:
        """Scores of ``texts`` toward ``targets`` (in ``languages`` where given), in order, from whichever
        pass they joined."""
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        given: list[str | None] = list(languages) if languages is not None else [None] * len(texts)
        job = _Job(list(texts), list(targets), given, spans, loop.create_future())
        self._admit(len(job.texts))
        try:
            if self.wait_s <= 0:
                await self._run(loop, [job])
            else:
                if self._queue is None:
                    self._queue = asyncio.Queue()
                    self._worker = asyncio.create_task(self._serve(self._queue))
                self._queue.put_nowait(job)
            return await job.future
        finally:
            if not job.started:  # cancelled while waiting: it leaves the queue unscored (the worker skips it)
                job.future.cancel()
                self._settle(job)

    async def _serve(self, queue: asyncio.Queue[_Job]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await queue.get()
            if first.future.done():  # its caller is gone
                continue
            jobs = [first]
            size = len(first.texts)
            deadline = loop.time() + self.wait_s
            while size < self.max_items:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                if not job.future.done():
                    jobs.append(job)
                    size += len(job.texts)
            with contextlib.suppress(Exception):
                await self._run(loop, jobs)

    async def _run(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        """Score ``jobs`` in one pass and answer each; if the pass raises, score each job alone."""
        jobs = [job for job in jobs if not job.future.done()]  # cancelled while the pass was gathered
        if not jobs:
            return
        for job in jobs:
            job.started = True
        try:
            try:
                await self._pass(loop, jobs)
            except Exception as exc:
                if len(jobs) == 1:
                    if not jobs[0].future.done():
                        jobs[0].future.set_exception(exc)
                    return
                for job in jobs:  # one bad request must not fail the others that shared its pass
                    try:
                        await self._pass(loop, [job])
                    except Exception as alone:
                        if not job.future.done():
                            job.future.set_exception(alone)
        finally:
            for job in jobs:
                self._settle(job)

    async def _pass(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        targets = [target for job in jobs for target in job.targets]
        languages = [language for job in jobs for language in job.languages]
        spans = any(job.spans for job in jobs)
        started = time.perf_counter()
        scores = await loop.run_in_executor(self._executor, self._predict, texts, targets, languages, spans)
        seconds = time.perf_counter() - started
        self._seconds_per_comment = 0.8 * self._seconds_per_comment + 0.2 * seconds / max(1, len(texts))
        if self._observe is not None:
            self._observe(len(jobs), len(texts), seconds)
        start = 0
        for job in jobs:
            part = scores[start : start + len(job.texts)]
            start += len(job.texts)
            if spans and not job.spans:
                part = [s.model_copy(update={"spans": []}) for s in part]
            if not job.future.done():
                job.future.set_result(part)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)
