"""Every platform export in ../shared/data/pages reproduces its gold annotation exactly.

Gold lists comments in document order with ``c1..cN`` ids; multi-thread exports tag each comment
with its ``thread`` and list the threads. Here each extracted thread is compared with the gold
comments of that thread, in order: text (whitespace-normalised), author, raw date, source ids and
reply structure, then the excluded records and the thread (article) fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moderation import Source
from moderation.extraction import detect_format, extract_all
from moderation.thread import Thread

EXPORTS = {
    "isso-tests-disqus.json": "disqus",
    "yesilmavihayat-disqus-export.json": "disqus",
    "wptt-themeunittestdata.wordpress.json": "wxr",
    "isso-tests-wordpress.json": "wxr",
    "graw-thread.json": "reddit",
    "the-daily-epub-reddit_comments.json": "reddit",
    "the-daily-epub-hn_item.json": "hn",
}


def _norm(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


def _load(shared_data: Path, gold_name: str) -> tuple[dict[str, Any], Source]:
    pages = shared_data / "pages"
    gold = json.loads((pages / "gold" / gold_name).read_text(encoding="utf-8"))
    return gold, Source.from_path(pages / gold["file"])


def _check_thread(thread: Thread, gold_comments: list[dict[str, Any]]) -> None:
    assert len(thread.comments) == len(gold_comments)
    our_id = {g["id"]: c.id for g, c in zip(gold_comments, thread.comments, strict=True)}
    for gold, comment in zip(gold_comments, thread.comments, strict=True):
        where = f"{gold['id']} ({comment.id})"
        assert _norm(comment.text) == _norm(gold["text"]), where
        assert comment.author == gold["author"], where
        assert comment.published_raw == gold["published"], where
        if gold["source_id"] is None:
            assert comment.id.startswith("h"), where  # a stable hash stands in for a missing id
        else:
            assert comment.id == gold["source_id"], where
        assert comment.parent_source_id == gold["parent_source_id"], where
        assert comment.parent == (our_id[gold["parent"]] if gold["parent"] else None), where


@pytest.mark.parametrize("gold_name", sorted(EXPORTS))
def test_export_reproduces_its_gold(shared_data: Path, gold_name: str) -> None:
    gold, source = _load(shared_data, gold_name)
    assert detect_format(source) == EXPORTS[gold_name]
    threads = extract_all(source)
    for thread in threads:
        thread_id = thread.metadata["thread_id"]
        _check_thread(thread, [c for c in gold["comments"] if c.get("thread", thread_id) == thread_id])
    assert sum(len(t.comments) for t in threads) == len(gold["comments"])
    excluded = [(e.source_id, e.kind, _norm(e.text)) for t in threads for e in t.excluded]
    assert excluded == [(e["source_id"], e["kind"], _norm(e["text"])) for e in gold.get("excluded", [])]


@pytest.mark.parametrize("gold_name", sorted(EXPORTS))
def test_export_threads_match_the_gold_articles(shared_data: Path, gold_name: str) -> None:
    gold, source = _load(shared_data, gold_name)
    threads = extract_all(source)
    if "threads" not in gold:
        (thread,) = threads
        assert thread.article.title == gold["article"]["title"]
        assert thread.article.published_raw == gold["article"]["published"]
        return
    defined = [t for t in threads if not t.metadata.get("orphan")]
    ours = [(t.metadata["thread_id"], t.article.title, t.article.url, t.article.published_raw) for t in defined]
    assert ours == [(g["source_id"], g["title"], g["url"], g["published"]) for g in gold["threads"]]
    for thread, expected in zip(defined, gold["threads"], strict=True):
        for key in ("ident", "post_type"):
            if key in expected:
                assert thread.metadata[key] == expected[key]


def test_announced_counts_and_more_stubs_come_from_the_export(shared_data: Path) -> None:
    _, source = _load(shared_data, "graw-thread.json")
    (thread,) = extract_all(source)
    assert thread.announced_comments == 1655 and not thread.is_complete
    assert (thread.metadata["more_stubs"], thread.metadata["more_comments"]) == (125, 1660)
