"""How long a moderator's decision waits while a large thread is stored on SQLite: the whole import in one
transaction, against the same import in parts (``pipeline.store_all``'s ``part_comments``), in one run.

    .venv/bin/python -m benchmarks.store_contention [COMMENTS]   # 15,000 by default

A thread of COMMENTS comments, already scored, is stored in a thread of its own while this one decides a
comment of another thread every 0.2 s until the import ends; it prints the import's time and the longest
decision. No model is loaded: the scores are made up, the point is the write lock.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from moderation import Article, Comment, CommentScores, Thread, pipeline
from moderation.decisions import moderate
from moderation.scores import LabelScores
from moderation.storage import make_engine, repository, transaction
from moderation.storage.limits import PART_COMMENTS


def _scores() -> CommentScores:
    return CommentScores(
        sentiment=LabelScores(label="neutral", probabilities={"negative": 0.2, "neutral": 0.6, "positive": 0.2}),
        stance=None,
        toxicity=LabelScores(label="not_toxic", probabilities={"not_toxic": 0.9, "toxic": 0.1}),
        attributes={"TOXICITY": 0.1},
    )


def _thread(url: str, count: int) -> Thread:
    comments = [Comment(id=f"c{i}", text=f"reader {i} writes", position=i, language="en") for i in range(count)]
    return Thread(article=Article(url=url), comments=comments, source_format="json")


def run(count: int, part_comments: int, folder: Path) -> tuple[float, float, int]:
    """The import's seconds, the longest decision's seconds (inf: one failed) and the decisions made."""
    engine = make_engine(f"sqlite:///{folder / f'store-{part_comments}.db'}")
    with transaction(engine) as session:
        other = pipeline.store(session, _thread("https://news.example/other", 1), [_scores()], model="m")
        target = repository.list_comments(session, other.thread_id).items[0].id
    done = threading.Event()
    took: list[float] = []

    def store() -> None:
        started = time.perf_counter()
        pipeline.store_all(
            engine, [_thread("https://news.example/big", count)], [_scores()] * count, model="m",
            part_comments=part_comments,
        )  # fmt: skip
        took.append(time.perf_counter() - started)
        done.set()

    importer = threading.Thread(target=store)
    importer.start()
    time.sleep(1.0)  # the import is writing
    waits: list[float] = []
    while not done.is_set():
        started = time.perf_counter()
        try:
            with transaction(engine) as session:
                moderate(session, target, "reject", actor="benchmark")
            waits.append(time.perf_counter() - started)
        except Exception:  # "database is locked"
            waits.append(float("inf"))
        time.sleep(0.2)
    importer.join()
    engine.dispose()
    return took[0], max(waits, default=0.0), len(waits)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 15_000
    with tempfile.TemporaryDirectory() as folder:
        for part in (count, PART_COMMENTS):
            seconds, longest, decisions = run(count, part, Path(folder))
            print(f"{count:,} comments, parts of {part:,}: import {seconds:.1f} s; {decisions} decisions, "
                  f"the longest waited {longest:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
