"""The Hacker News (Algolia item) extractor on small synthetic items."""

from __future__ import annotations

import json
from typing import Any

import pytest

from moderation import ExtractionError, Source
from moderation.extraction import EXTRACTORS, detect_format, extract
from moderation.thread import Thread


def _item(item_id: int, author: str | None, text: str | None, *children: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "comment",
        "author": author,
        "text": text,
        "points": None,
        "created_at": "2024-02-01T10:00:00.000Z",
        "children": list(children),
    }


def _story(*children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    story = {
        "id": 1,
        "type": "story",
        "author": "poster",
        "title": "Show HN: a thing",
        "url": "https://thing.example/",
        "points": 42,
        "text": None,
        "created_at": "2024-02-01T09:00:00.000Z",
        "children": list(children),
    }
    return story | extra


def _thread(story: dict[str, Any], format: str | None = None) -> Thread:
    return extract(Source.from_bytes(json.dumps(story).encode(), "item.json"), format)


def test_children_are_read_depth_first_with_html_rendered() -> None:
    thread = _thread(
        _story(
            _item(2, "alice", "The <i>point</i>.<p>Second &amp; last.", _item(3, "bob", "Agreed")),
            _item(4, "carol", "Hm"),
        )
    )
    assert thread.source_format == "hn"
    assert [(c.id, c.parent, c.parent_source_id, c.author) for c in thread.comments] == [
        ("2", None, None, "alice"),
        ("3", "2", "2", "bob"),
        ("4", None, None, "carol"),
    ]
    first = thread.comments[0]
    assert first.text == "The point.\nSecond & last."
    assert first.published_raw == "2024-02-01T10:00:00.000Z" and first.published is not None
    assert thread.announced_comments is None


def test_the_story_becomes_the_article() -> None:
    thread = _thread(_story(text="<p>Ask: why?</p>", descendants=7))
    article = thread.article
    assert (article.title, article.byline, article.published_raw) == (
        "Show HN: a thing",
        "poster",
        "2024-02-01T09:00:00.000Z",
    )
    assert article.url == "https://news.ycombinator.com/item?id=1" and article.body == ["Ask: why?"]
    assert thread.metadata == {"source": "item.json", "thread_id": "1", "link_url": "https://thing.example/"}
    assert thread.announced_comments == 7


def test_points_become_the_score() -> None:
    comment = _item(2, "alice", "x") | {"points": 12}
    assert _thread(_story(comment)).comments[0].votes.score == 12


def test_deleted_comments_are_excluded_and_their_replies_orphaned() -> None:
    thread = _thread(_story(_item(2, None, None, _item(3, "dana", "still here"))))
    assert [(e.source_id, e.kind, e.text) for e in thread.excluded] == [("2", "deleted", None)]
    (reply,) = thread.comments
    assert (reply.id, reply.parent, reply.parent_source_id) == ("3", None, "2")


def test_sniffing_claims_algolia_items_only() -> None:
    assert detect_format(Source.from_bytes(json.dumps(_story()).encode())) == "hn"
    hn = EXTRACTORS["hn"]
    assert hn.sniff(Source.from_bytes(b'{"article": {"title": "x"}, "comments": []}')) == 0.0
    assert hn.sniff(Source.from_bytes(b"[1, 2]")) == 0.0
    quoting = {"article": {}, "comments": [{"text": '{"children": [], "type": "story", "points": 1}'}]}
    assert hn.sniff(Source.from_bytes(json.dumps(quoting).encode())) == 0.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([{"kind": "Listing"}], "not a Hacker News item"),
        ({"id": 1, "title": "no children"}, "not a Hacker News item"),
        (_story([1, 2]), "item 1 has 'children' that are not item objects"),
    ],
)
def test_wrong_shapes_are_refused(payload: Any, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        _thread(payload, "hn")


def test_truncated_json_is_refused() -> None:
    data = json.dumps(_story(_item(2, "alice", "x"))).encode()
    with pytest.raises(ExtractionError, match=r"item\.json: invalid JSON"):
        extract(Source.from_bytes(data[:-5], "item.json"), "hn")
