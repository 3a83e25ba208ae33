"""Micro-batching: comments from requests that arrive within a few milliseconds share one forward pass.

Scoring runs on one worker thread, off the event loop, so the loop keeps accepting requests while
the model works; the requests queued meanwhile form the next batch. A pass holds at most ``max_items``
comments: first the first comment of every request not started yet (a comment never waits for more than
the pass running), then the waiting requests' other comments, the requests taking turns a comment each,
while the pass holds fewer than ``max_chars`` characters (a longer comment runs alone). So a large request
is scored over several short passes, and a single comment that arrives behind it goes into the next pass
instead of waiting for all of it (benchmarks/load.py's mixed scenario).
``wait_s = 0`` turns batching off (each request runs alone, whole, still off the loop), which the load
benchmark compares against.

The queue is bounded: a request that would take the comments waiting for or in scoring past
``max_queued`` is refused at once with :class:`QueueFull` (the service's 503 with ``Retry-After``), unless
nothing is waiting (so a request larger than the bound still runs). A request whose caller is cancelled
(its client went away) leaves the queue: what of it is not yet in a pass is never scored. A shared pass
that raises is run again one request at a time, so only the request that made it fail gets the error
(and the rest of that request is not scored).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from moderation.scores import CommentScores

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
    in_pass: bool = False  # some of its comments are in the pass running now
    settled: bool = False
    taken: int = 0  # comments handed to passes, from the first
    scores: list[CommentScores] = field(default_factory=list, repr=False)


#: A job's comments ``[begin, end)`` in one pass.
_Slice = tuple[_Job, int, int]


#: Seconds per comment assumed before the first pass has been timed (for ``Retry-After``).
_FIRST_GUESS_S = 0.01


class MicroBatcher:
    def __init__(
        self,
        predict: Predict,
        *,
        wait_s: float,
        max_items: int,
        max_chars: int = 0,
        max_queued: int = 0,
        observe: Observe | None = None,
    ) -> None:
        """``max_chars``: most characters in one pass (0: no bound); ``max_queued``: most comments waiting for
        or in scoring (0: no bound)."""
        self._predict = predict
        self.wait_s = wait_s
        self.max_items = max_items
        self.max_chars = max_chars
        self.max_queued = max_queued
        self._observe = observe
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer")
        self._waiting: list[_Job] = []  # in arrival order, each with comments not yet in a pass
        self._arrived = asyncio.Event()
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
                job.taken = len(job.texts)
                await self._run(loop, [(job, 0, len(job.texts))])
            else:
                if self._worker is None:
                    self._worker = asyncio.create_task(self._serve())
                self._waiting.append(job)
                self._arrived.set()
            return await job.future
        finally:
            if not job.future.done():  # cancelled: what is not yet in a pass is never scored (the worker skips it)
                job.future.cancel()
            if not job.in_pass:  # else the pass running now settles it
                self._settle(job)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            self._waiting = [job for job in self._waiting if not job.future.done()]  # callers gone
            if not self._waiting:
                continue
            deadline = loop.time() + self.wait_s
            while not self._full() and (remaining := deadline - loop.time()) > 0:  # others may join the pass
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                self._arrived.clear()
            with contextlib.suppress(Exception):
                await self._run(loop, self._take())
            if self._waiting:
                self._arrived.set()

    def _full(self) -> bool:
        """Whether the comments waiting would fill a pass already."""
        items = chars = 0
        for job in self._waiting:
            for text in job.texts[job.taken :]:
                items, chars = items + 1, chars + len(text)
                if items >= self.max_items or 0 < self.max_chars <= chars:
                    return True
        return False

    def _take(self) -> list[_Slice]:
        """The next pass. Each request not started yet puts its first comment in (up to ``max_items``), so that
        a comment never waits for more than the pass running; then the waiting requests take turns adding a
        comment, those with the fewest comments in earlier passes first (then in arrival order), until the pass
        holds ``max_items`` comments or ``max_chars`` characters (at least one comment)."""
        jobs = sorted((job for job in self._waiting if not job.future.done()), key=lambda job: job.taken)
        counts = [0] * len(jobs)
        items = chars = 0
        for index, job in enumerate(jobs):  # those not started come first
            if job.taken or items >= self.max_items:
                break
            counts[index], items, chars = 1, items + 1, chars + len(job.texts[0])
        turn = [index for index, job in enumerate(jobs) if job.taken + counts[index] < len(job.texts)]
        full = False
        while turn and not full:
            left = []
            for index in turn:
                job = jobs[index]
                length = len(job.texts[job.taken + counts[index]])
                if items and (items >= self.max_items or 0 < self.max_chars < chars + length):
                    full = True
                    break
                counts[index] += 1
                items, chars = items + 1, chars + length
                if job.taken + counts[index] < len(job.texts):
                    left.append(index)
            turn = left
        slices = []
        for job, count in zip(jobs, counts, strict=True):
            if count:
                slices.append((job, job.taken, job.taken + count))
                job.taken += count
        self._waiting = [job for job in self._waiting if job.taken < len(job.texts) and not job.future.done()]
        return slices

    async def _run(self, loop: asyncio.AbstractEventLoop, slices: list[_Slice]) -> None:
        """Score ``slices`` in one pass and answer each job whose last comment it holds; if the pass raises,
        score each slice alone, and a slice that fails alone fails its job."""
        slices = [piece for piece in slices if not piece[0].future.done()]  # cancelled while the pass was gathered
        if not slices:
            return
        for job, _, _ in slices:
            job.in_pass = True
        try:
            try:
                await self._pass(loop, slices)
            except Exception as exc:
                if len(slices) == 1:
                    if not slices[0][0].future.done():
                        slices[0][0].future.set_exception(exc)
                    return
                for piece in slices:  # one bad request must not fail the others that shared its pass
                    try:
                        await self._pass(loop, [piece])
                    except Exception as alone:
                        if not piece[0].future.done():
                            piece[0].future.set_exception(alone)
        finally:
            for job, _, _ in slices:
                job.in_pass = False
                if job.future.done():
                    self._settle(job)

    async def _pass(self, loop: asyncio.AbstractEventLoop, slices: list[_Slice]) -> None:
        slices = [piece for piece in slices if not piece[0].future.done()]  # failed in an earlier slice
        if not slices:
            return
        texts = [text for job, begin, end in slices for text in job.texts[begin:end]]
        targets = [target for job, begin, end in slices for target in job.targets[begin:end]]
        languages = [language for job, begin, end in slices for language in job.languages[begin:end]]
        spans = any(job.spans for job, _, _ in slices)
        started = time.perf_counter()
        scores = await loop.run_in_executor(self._executor, self._predict, texts, targets, languages, spans)
        seconds = time.perf_counter() - started
        self._seconds_per_comment = 0.8 * self._seconds_per_comment + 0.2 * seconds / max(1, len(texts))
        if self._observe is not None:
            self._observe(len(slices), len(texts), seconds)
        start = 0
        for job, begin, end in slices:
            part = scores[start : start + end - begin]
            start += end - begin
            if spans and not job.spans:
                part = [s.model_copy(update={"spans": []}) for s in part]
            job.scores += part
            if len(job.scores) == len(job.texts) and not job.future.done():
                job.future.set_result(job.scores)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)
