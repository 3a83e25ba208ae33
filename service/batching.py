"""Micro-batching: comments from requests that arrive within a few milliseconds share one forward pass.

Scoring runs on one worker thread, off the event loop, so the loop keeps accepting requests while
the model works; the requests queued meanwhile form the next batch. A request is never split: one
larger than ``max_items`` runs alone. ``wait_s = 0`` turns batching off (each request runs alone,
still off the loop), which the load benchmark compares against.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from moderation.models.scorer import CommentScores

#: (texts, targets, languages (None: detect), spans) -> scores.
Predict = Callable[[list[str], list[str | None], list[str | None], bool], list[CommentScores]]
#: Called after each pass with (requests, comments, seconds).
Observe = Callable[[int, int, float], object]


@dataclass
class _Job:
    texts: list[str]
    targets: list[str | None]
    languages: list[str | None]
    spans: bool
    future: asyncio.Future[list[CommentScores]] = field(repr=False)


class MicroBatcher:
    def __init__(self, predict: Predict, *, wait_s: float, max_items: int, observe: Observe | None = None) -> None:
        self._predict = predict
        self.wait_s = wait_s
        self.max_items = max_items
        self._observe = observe
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer")
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None

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
        if self.wait_s <= 0:
            return await self._run(loop, [job])
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._serve(self._queue))
        await self._queue.put(job)
        return await job.future

    async def _serve(self, queue: asyncio.Queue[_Job]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await queue.get()]
            size = len(jobs[0].texts)
            deadline = loop.time() + self.wait_s
            while size < self.max_items:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                jobs.append(job)
                size += len(job.texts)
            with contextlib.suppress(Exception):
                await self._run(loop, jobs)

    async def _run(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> list[CommentScores]:
        texts = [text for job in jobs for text in job.texts]
        targets = [target for job in jobs for target in job.targets]
        languages = [language for job in jobs for language in job.languages]
        spans = any(job.spans for job in jobs)
        started = time.perf_counter()
        try:
            scores = await loop.run_in_executor(self._executor, self._predict, texts, targets, languages, spans)
        except Exception as exc:
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            raise
        if self._observe is not None:
            self._observe(len(jobs), len(texts), time.perf_counter() - started)
        start = 0
        for job in jobs:
            part = scores[start : start + len(job.texts)]
            start += len(job.texts)
            if spans and not job.spans:
                part = [s.model_copy(update={"spans": []}) for s in part]
            if not job.future.done():
                job.future.set_result(part)
        return scores

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)
