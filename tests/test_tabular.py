"""Our own formats: comment rows as CSV and JSON Lines (docs/formats.md), and thread JSON lists."""

from __future__ import annotations

import json

import pytest

from moderation import ExtractionError, Source
from moderation.extraction import EXTRACTORS, detect_format, extract, extract_all, extract_path
from moderation.thread import Thread
from tests.conftest import EXAMPLE

CSV = """id,parent,author,published,votes_up,votes_down,votes_score,article_url,article_title,text
1,,Ann,2024-01-02 10:00,3,1,2,https://news.example/a,Story A,"Hello, world"
2,1,Bob,2024-01-02 11:00,,,,https://news.example/a,,"Two
lines"
3,99,Cem,,,,,https://news.example/b,Story B,answers a comment not in the file
"""


def _threads(data: str, format: str | None = None) -> list[Thread]:
    return extract_all(Source.from_bytes(data.encode(), "comments"), format)


def test_csv_rows_become_threads_grouped_by_article() -> None:
    first, second = _threads(CSV)
    assert first.source_format == "csv"
    assert (first.article.url, first.article.title) == ("https://news.example/a", "Story A")
    assert first.metadata["thread_id"] == "https://news.example/a"
    hello, reply = first.comments
    assert (hello.id, hello.author, hello.published_raw, hello.text) == ("1", "Ann", "2024-01-02 10:00", "Hello, world")
    assert hello.published is not None and hello.published.hour == 10
    assert (hello.votes.up, hello.votes.down, hello.votes.score) == (3, 1, 2)
    assert (reply.parent, reply.parent_source_id, reply.text) == ("1", "1", "Two\nlines")
    (answer,) = second.comments
    assert (answer.parent, answer.parent_source_id) == (None, "99")


def test_jsonl_rows_share_the_csv_schema() -> None:
    rows = [
        {"id": 1, "text": "first", "votes_up": 2.0, "thread": "t-1", "article_title": "T"},
        {"id": 2, "parent": 1, "text": "second", "author": None, "thread": "t-1", "flagged": True},
    ]
    data = "\n".join(json.dumps(row) for row in rows) + "\n\n"
    assert detect_format(Source.from_bytes(data.encode())) == "jsonl"
    (thread,) = _threads(data)
    assert thread.source_format == "jsonl" and thread.article.title == "T"
    assert [(c.id, c.parent, c.author) for c in thread.comments] == [("1", None, None), ("2", "1", None)]
    assert thread.comments[0].votes.up == 2
    assert thread.metadata["ignored_columns"] == ["flagged"]


def test_rows_without_ids_get_stable_ids() -> None:
    data = "author,text\nAnn,same words\nAnn,same words\n"
    ids = [c.id for c in _threads(data)[0].comments]
    assert len(set(ids)) == 2 and all(i.startswith("h") for i in ids)
    assert [c.id for c in _threads(data)[0].comments] == ids


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('id,text\n1,"Hello, wor', "malformed CSV at line 2"),
        ("id,author,text\n1,Ann", "line 2 has 2 cells, the header 3"),
        ("id,text,votes_up\n1,hi,many\n", "line 2: votes_up 'many' is not a whole number"),
        ("id,author\n1,Ann\n", "the CSV header has no 'text' column"),
        ("id,author,text\n1,Ann,\n", "line 2 has no text"),
        ("id,text\n", "no comment rows"),
    ],
)
def test_bad_csv_names_the_problem(data: str, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        _threads(data, "csv")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"text": "a"}\n{"text": "b', "line 2 is not JSON"),
        ('{"text": "a"}\n[1]\n', "line 2 is not a JSON object"),
        ('{"text": {"nested": 1}}\n', "line 1: 'text' must be a string, a number or null"),
        ('{"id": 1}\n', "line 1 has no text"),
    ],
)
def test_bad_jsonl_names_the_problem(data: str, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        _threads(data, "jsonl")


def test_sniffers_leave_other_formats_alone() -> None:
    text_dump = Source.from_path(EXAMPLE)
    thread_json = Source.from_bytes(extract_path(EXAMPLE).model_dump_json().encode())
    for name in ("csv", "jsonl"):
        assert EXTRACTORS[name].sniff(text_dump) == 0.0
        assert EXTRACTORS[name].sniff(thread_json) == 0.0
    assert EXTRACTORS["csv"].sniff(Source.from_bytes(b"file\tsite\ttext\n")) == 0.0
    assert EXTRACTORS["jsonl"].sniff(Source.from_bytes(b'{"id": 1, "text": "x", "children": []}')) == 0.0
    assert detect_format(Source.from_bytes(CSV.encode())) == "csv"


def test_a_json_list_of_threads_reads_back_every_thread() -> None:
    threads = _threads(CSV)
    data = json.dumps([thread.model_dump(mode="json") for thread in threads])
    assert detect_format(Source.from_bytes(data.encode())) == "json"
    assert _threads(data) == threads
    with pytest.raises(ExtractionError, match=r"thread 1: not a thread: article"):
        _threads(json.dumps([threads[0].model_dump(mode="json"), {"comments": []}]), "json")
    with pytest.raises(ExtractionError, match="non-empty list"):
        _threads("[]", "json")
    with pytest.raises(ExtractionError, match="holds 2 threads"):
        extract(Source.from_bytes(data.encode()))
