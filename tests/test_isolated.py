"""Extraction in worker processes: the same threads as in-process, errors as themselves, a read past its
deadline stopped long before it would have ended (its worker killed, the next read served by a fresh one),
and never more workers than the pool holds. Timings are ratios to the same read in this process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from moderation import Source
from moderation.errors import ExtractionError, ExtractionTimeoutError, UnknownFormatError
from moderation.extraction import extract_all
from moderation.extraction.isolated import ExtractionPool


def page(count: int) -> Source:
    """A WordPress-style page of ``count`` comments, each with a reply: about 2.5 ms a comment to read."""
    items = "".join(
        f"<li class='comment' id='comment-{i}'><cite class='fn'>u{i}</cite><span class='comment-date'>January "
        f"{i % 28 + 1}, 2020 at 4:{i % 60:02d} pm</span><p>text of comment {i}</p><ul class='children'>"
        f"<li class='comment' id='comment-r{i}'><cite class='fn'>r{i}</cite><p>reply {i}</p></li></ul></li>"
        for i in range(count)
    )
    html = f"<html><body><h1>A</h1><p>Body.</p><div id='comments'><ol class='commentlist'>{items}</ol></div>"
    return Source((html + "</body></html>").encode(), f"page-{count}.html")


def workers() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.name == "moderation-extraction"}


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractionPool]:
    with ExtractionPool(workers=2, deadline_s=120) as shared:
        yield shared


def test_a_worker_reads_a_source_as_extract_all_does(pool: ExtractionPool) -> None:
    source = page(5)
    assert pool.extract_all(source) == extract_all(source)
    assert pool.extract_all(source, "html") == extract_all(source, "html")


def test_an_input_error_reaches_the_caller_as_itself_and_the_worker_stays(pool: ExtractionPool) -> None:
    pool.extract_all(page(1))
    before = workers()
    with pytest.raises(UnknownFormatError, match="no known format"):
        pool.extract_all(Source(b"\x01\x02 nothing to read", "noise.bin"))
    assert workers() == before


def test_a_read_past_its_deadline_is_stopped_and_the_next_read_gets_a_fresh_worker() -> None:
    others = workers()
    slow = page(800)
    started = time.perf_counter()
    extract_all(slow)
    in_process = time.perf_counter() - started
    with ExtractionPool(workers=1, deadline_s=in_process / 5) as pool:
        small = page(2)
        assert pool.extract_all(small) == extract_all(small)  # the worker is up and warm
        (first,) = workers() - others
        started = time.perf_counter()
        with pytest.raises(ExtractionTimeoutError, match=r"page-800\.html: reading it took longer than"):
            pool.extract_all(slow)
        stopped_after = time.perf_counter() - started
        assert stopped_after < in_process / 2, f"stopped after {stopped_after:.2f} s of {in_process:.2f} s"
        assert not workers() - others  # killed, not left to finish
        assert pool.extract_all(small) == extract_all(small)
        (fresh,) = workers() - others
        assert fresh != first


def test_a_worker_killed_mid_read_is_an_extraction_error_and_is_replaced() -> None:
    others = workers()
    failures: list[Exception] = []

    def read(pool: ExtractionPool) -> None:
        try:
            pool.extract_all(page(800))
        except ExtractionError as exc:
            failures.append(exc)

    with ExtractionPool(workers=1, deadline_s=120) as pool:
        pool.extract_all(page(1))
        (worker,) = workers() - others
        reader = threading.Thread(target=read, args=(pool,))
        reader.start()
        time.sleep(0.2)
        os.kill(worker, signal.SIGKILL)  # as the kernel's OOM killer would
        reader.join(timeout=60)
        assert [str(failure) for failure in failures] == [
            "page-800.html: the process reading it stopped (exit code -9)"
        ]
        assert pool.extract_all(page(2)) == extract_all(page(2))


def test_concurrent_reads_never_run_more_workers_than_the_pool_holds() -> None:
    others = workers()
    source = page(40)
    expected = extract_all(source)
    results: list[object] = []
    seen: list[int] = []
    with ExtractionPool(workers=2, deadline_s=120) as pool:
        readers = [threading.Thread(target=lambda: results.append(pool.extract_all(source))) for _ in range(5)]
        for reader in readers:
            reader.start()
        while any(reader.is_alive() for reader in readers):
            seen.append(len(workers() - others))
            time.sleep(0.01)
        for reader in readers:
            reader.join()
    assert results == [expected] * 5
    assert max(seen) == pool.workers  # each read waited for one of two workers, and both were used


def test_closing_the_pool_ends_its_workers() -> None:
    others = workers()
    with ExtractionPool(workers=1, deadline_s=60) as pool:
        pool.extract_all(page(1))
        assert workers() - others
    assert not workers() - others
    with pytest.raises(RuntimeError, match="closed"):
        pool.extract_all(page(1))
