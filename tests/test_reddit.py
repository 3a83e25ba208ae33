"""The Reddit listing extractor on small synthetic listings: the reply tree, exclusions, stubs, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from moderation import ExtractionError, Source
from moderation.extraction import EXTRACTORS, detect_format, extract
from moderation.thread import Thread

POST = {
    "kind": "t3",
    "data": {
        "name": "t3_abc",
        "title": "A post",
        "author": "op",
        "subreddit": "news",
        "permalink": "/r/news/comments/abc/a_post/",
        "created_utc": 1700000000.0,
        "num_comments": 9,
        "is_self": False,
        "url": "https://news.example/story",
        "selftext": "",
    },
}


def _listing(*children: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"children": list(children)}}


def _t1(name: str, body: str, *replies: dict[str, Any], author: str = "someone") -> dict[str, Any]:
    return {
        "kind": "t1",
        "data": {
            "name": f"t1_{name}",
            "author": author,
            "body": body,
            "body_html": f'&lt;div class="md"&gt;&lt;p&gt;{body}&lt;/p&gt;&lt;/div&gt;',
            "created_utc": 1700000060,
            "score": 5,
            "ups": 6,
            "downs": 1,
            "replies": _listing(*replies) if replies else "",
        },
    }


def _more(count: int) -> dict[str, Any]:
    return {"kind": "more", "data": {"count": count, "children": ["x"]}}


def _thread(*comments: dict[str, Any]) -> Thread:
    data = json.dumps([_listing(POST), _listing(*comments)]).encode()
    return extract(Source.from_bytes(data, "thread.json"))


def test_the_tree_is_read_depth_first_with_parents_and_fields() -> None:
    thread = _thread(_t1("a", "top", _t1("b", "reply", _t1("c", "deeper")), _more(3)), _t1("d", "second"), _more(5))
    assert thread.source_format == "reddit"
    assert [(c.id, c.parent, c.parent_source_id) for c in thread.comments] == [
        ("t1_a", None, None),
        ("t1_b", "t1_a", "t1_a"),
        ("t1_c", "t1_b", "t1_b"),
        ("t1_d", None, None),
    ]
    top = thread.comments[0]
    assert (top.author, top.text, top.published_raw) == ("someone", "top", "2023-11-14T22:14:20Z")
    assert top.published is not None and top.published.tzinfo is not None
    assert (top.votes.up, top.votes.down, top.votes.score) == (6, 1, 5)
    assert thread.metadata["more_stubs"] == 2 and thread.metadata["more_comments"] == 8
    assert thread.announced_comments == 9 and not thread.is_complete


def test_the_post_becomes_the_article() -> None:
    article = _thread().article
    assert (article.title, article.byline, article.section) == ("A post", "op", "r/news")
    assert article.url == "https://www.reddit.com/r/news/comments/abc/a_post/"
    assert article.published_raw == "2023-11-14T22:13:20Z"
    assert _thread().metadata["link_url"] == "https://news.example/story"


def test_deleted_and_removed_bodies_are_excluded_but_deleted_accounts_are_kept() -> None:
    thread = _thread(
        _t1("a", "[deleted]", _t1("b", "still here"), author="[deleted]"),
        _t1("c", "[removed]"),
        _t1("d", "my account is gone, my words are not", author="[deleted]"),
    )
    assert [(e.source_id, e.kind, e.text) for e in thread.excluded] == [
        ("t1_a", "deleted", "[deleted]"),
        ("t1_c", "removed", "[removed]"),
    ]
    orphan, kept = thread.comments
    assert (orphan.id, orphan.parent, orphan.parent_source_id) == ("t1_b", None, "t1_a")
    assert (kept.id, kept.author) == ("t1_d", None)


def test_comments_without_ids_get_stable_ids_and_keep_their_nesting() -> None:
    plain = {"kind": "t1", "data": {"author": "x", "body": "no id here", "replies": _listing(_more(1))}}
    child = {"kind": "t1", "data": {"author": "y", "body_html": "&lt;p&gt;&amp;quot;quoted&amp;quot;&lt;/p&gt;"}}
    plain["data"]["replies"]["data"]["children"].insert(0, child)
    thread = _thread(plain)
    first, second = thread.comments
    assert first.id.startswith("h") and second.parent == first.id
    assert second.parent_source_id is None and second.text == '"quoted"'
    assert _thread(plain).comments[0].id == first.id


def test_deep_threads_do_not_hit_the_recursion_limit() -> None:
    comment = _t1("leaf", "bottom")
    for depth in range(150):
        comment = _t1(f"n{depth}", "level", comment)
    assert len(_thread(comment).comments) == 151


def test_sniffing_claims_listings_only() -> None:
    reddit = EXTRACTORS["reddit"]
    data = json.dumps([_listing(POST), _listing(_t1("a", "x"))]).encode()
    assert detect_format(Source.from_bytes(data)) == "reddit"
    assert reddit.sniff(Source.from_bytes(b'[{"article": {}, "comments": []}]')) == 0.0
    assert reddit.sniff(Source.from_bytes(b'{"id": 1, "children": []}')) == 0.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"id": 1, "children": []}, r"expected a JSON list \[post listing, comment listing\]"),
        ([_listing(), _listing()], "the first listing holds no t3 post"),
        ([_listing(POST), {"kind": "t1"}], r"not a Reddit listing"),
        ([_listing(POST), _listing({"kind": "t3", "data": {}})], "unexpected 't3' among Reddit comments"),
    ],
)
def test_wrong_shapes_are_refused(payload: Any, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        extract(Source.from_bytes(json.dumps(payload).encode(), "thread.json"), "reddit")


def test_truncated_json_is_refused() -> None:
    data = json.dumps([_listing(POST), _listing(_t1("a", "x"))]).encode()
    with pytest.raises(ExtractionError, match=r"thread\.json: invalid JSON at line 1.*truncated"):
        extract(Source.from_bytes(data[:-10], "thread.json"))
