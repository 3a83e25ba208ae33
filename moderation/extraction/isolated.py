"""Extraction in worker processes, each read bounded by a deadline.

Extraction is pure Python (regexes, lxml, dateparser): in a thread, each regex or parser call holds the GIL for
as long as it runs, stalling whatever else the process runs (an event loop), and a read that never ends holds
its thread for good.
An :class:`ExtractionPool` reads each source in a worker process instead. A read that passes its deadline
raises :class:`~moderation.errors.ExtractionTimeoutError` and its worker is killed; the next read starts a
fresh one. At most ``workers`` reads run at once (more wait for a free worker), so concurrent uploads never
fork without bound.

Workers start on first use, import extraction only (never a model), warm it up on a tiny page before their
first read (so a cold worker's imports, about 3 s, never count against a read's deadline) and then serve one
read after another until the pool closes. They start from a fork server where the platform has one (a clean,
single-threaded parent with extraction already imported), else by spawning.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType

from moderation.errors import ExtractionError, ExtractionTimeoutError, InputError
from moderation.extraction import extract_all
from moderation.extraction.base import Source
from moderation.thread import Thread

__all__ = ["ExtractionPool"]

#: How long a new worker may take to import and warm up before the pool gives up on it.
START_TIMEOUT_S = 120.0
#: Read once by every new worker: it imports what a page's article and dates need (trafilatura, dateparser).
_WARM_UP = Source(
    b"<html lang='de'><body><h1>Titel</h1><p>Ein Artikel.</p><ol>"
    b"<li class='comment' id='comment-1'><cite class='fn'>A</cite><span class='comment-date'>3. Januar 2020</span>"
    b"<p>Ein Kommentar.</p></li></ol></body></html>",
    "warm-up.html",
)
_READY = "ready"


def _context() -> multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Only read when the fork server starts: its workers then fork with extraction imported.
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _serve(connection: Connection) -> None:
    """A worker: warm up, say so, then answer each ``(source, format)`` with its threads or its error."""
    extract_all(_WARM_UP)
    connection.send(_READY)
    while True:
        try:
            source, format = connection.recv()
        except EOFError:  # the pool closed, or its process ended
            return
        try:
            answer: tuple[str, object] = ("threads", extract_all(source, format))
        except InputError as exc:
            answer = ("input_error", exc)
        except Exception as exc:  # a bug: its traceback goes back as text, for the caller's log
            answer = ("bug", "".join(traceback.format_exception(exc)))
        connection.send(answer)


@dataclass(eq=False)  # compared and hashed by identity: the pool keeps them in a set
class _Worker:
    process: BaseProcess
    connection: Connection

    def kill(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)


class ExtractionPool:
    """``extract_all`` in at most ``workers`` worker processes, each read stopped after ``deadline_s`` seconds.

    Thread-safe; :meth:`close` (or leaving a ``with`` block) ends the workers."""

    def __init__(self, *, workers: int, deadline_s: float) -> None:
        if workers < 1 or deadline_s <= 0:
            raise ValueError(f"need at least one worker and a positive deadline, not {workers} and {deadline_s}")
        self.workers = workers
        self.deadline_s = deadline_s
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._closed = False

    def extract_all(self, source: Source, format: str | None = None) -> list[Thread]:
        """The threads of ``source``, as :func:`moderation.extraction.extract_all` reads them; its
        :class:`~moderation.errors.InputError`, or :class:`~moderation.errors.ExtractionTimeoutError` when the
        read takes longer than the deadline. Blocks while every worker is busy."""
        with self._slots:
            worker = self._take()
            try:
                worker.connection.send((source, format))
                if not worker.connection.poll(self.deadline_s):
                    raise ExtractionTimeoutError(
                        f"{source.name}: reading it took longer than the {self.deadline_s:g} s allowed; "
                        "send a smaller file, or split it"
                    )
                kind, payload = worker.connection.recv()
            except (EOFError, OSError) as exc:  # the worker died (out of memory, a crash in a parser)
                self._discard(worker)
                code = worker.process.exitcode
                raise ExtractionError(f"{source.name}: the process reading it stopped (exit code {code})") from exc
            except BaseException:
                self._discard(worker)
                raise
            self._give_back(worker)
        if kind == "threads":
            threads: list[Thread] = payload
            return threads
        if kind == "input_error":
            raise payload
        raise RuntimeError(f"extraction failed in a worker process:\n{payload}")

    def close(self) -> None:
        """End every worker (a read in progress gets an :class:`~moderation.errors.ExtractionError`)."""
        with self._lock:
            self._closed = True
            workers, self._idle, self._live = list(self._live), [], set()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the extraction pool is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                self._live.discard(worker)
                worker.kill()
        return self._start()

    def _start(self) -> _Worker:
        context = _context()
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs,), name="moderation-extraction", daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._lock:
            self._live.add(worker)
        try:
            ready = ours.poll(START_TIMEOUT_S) and ours.recv() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._discard(worker)
            raise RuntimeError(f"an extraction worker did not start (exit code {process.exitcode})")
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.kill()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()
