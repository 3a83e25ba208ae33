"""The WordPress WXR extractor on small synthetic exports: posts, replies, approval, pingbacks."""

from __future__ import annotations

import pytest

from moderation import ExtractionError, Source
from moderation.extraction import EXTRACTORS, detect_format, extract_all
from moderation.thread import Thread

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- generator="WordPress" -->
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>A blog</title>
"""


def _comment(comment_id: str, content: str, *, parent: str = "0", approved: str = "1", kind: str = "") -> str:
    return (
        f"<wp:comment><wp:comment_id>{comment_id}</wp:comment_id>"
        f"<wp:comment_author><![CDATA[Reader {comment_id}]]></wp:comment_author>"
        f"<wp:comment_date>2024-05-0{comment_id[-1]} 12:00:00</wp:comment_date>"
        f"<wp:comment_content><![CDATA[{content}]]></wp:comment_content>"
        f"<wp:comment_approved>{approved}</wp:comment_approved><wp:comment_type>{kind}</wp:comment_type>"
        f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>\n"
    )


def _item(post_id: str, title: str, *comments: str) -> str:
    post_id_tag = f"<wp:post_id>{post_id}</wp:post_id>" if post_id else ""
    return (
        f"<item><title>{title}</title><link>https://blog.example/{title.lower()}/</link>"
        f"<dc:creator><![CDATA[editor]]></dc:creator>{post_id_tag}"
        f"<wp:post_date>2024-05-01 09:00:00</wp:post_date><wp:post_type>post</wp:post_type>"
        + "".join(comments)
        + "</item>\n"
    )


def _export(*items: str) -> bytes:
    return (HEAD + "".join(items) + "</channel></rss>\n").encode()


def _threads(data: bytes, format: str | None = None) -> list[Thread]:
    return extract_all(Source.from_bytes(data, "site.wordpress.xml"), format)


def test_items_with_comments_become_threads_with_replies() -> None:
    data = _export(
        _item(
            "7", "First", _comment("1", "Hello\nsecond line"), _comment("2", "<p>Re: <em>hello</em></p>", parent="1")
        ),
        _item("8", "Quiet"),
        _item("", "Linked", _comment("1", "same id, other post")),
    )
    first, linked = _threads(data)
    assert first.source_format == "wxr"
    assert (first.metadata["thread_id"], first.metadata["post_type"]) == ("7", "post")
    assert (first.article.title, first.article.url, first.article.published_raw) == (
        "First",
        "https://blog.example/first/",
        "2024-05-01 09:00:00",
    )
    assert first.article.byline == "editor"
    hello, reply = first.comments
    assert (hello.id, hello.author, hello.published_raw, hello.text) == (
        "1",
        "Reader 1",
        "2024-05-01 12:00:00",
        "Hello\nsecond line",
    )
    assert (reply.parent, reply.parent_source_id, reply.text) == ("1", "1", "Re: hello")
    assert linked.metadata["thread_id"] == "https://blog.example/linked/"


def test_pingbacks_trackbacks_and_unapproved_comments_are_excluded() -> None:
    data = _export(
        _item(
            "7",
            "Post",
            _comment("1", "[...] linked [...]", kind="pingback"),
            _comment("2", "[...] tracked [...]", kind="trackback"),
            _comment("3", "held for moderation", approved="0"),
            _comment("4", "spam!", approved="spam"),
            _comment("5", "answer to the held one", parent="3"),
        )
    )
    (thread,) = _threads(data)
    assert [(e.source_id, e.kind) for e in thread.excluded] == [
        ("1", "pingback"),
        ("2", "trackback"),
        ("3", "unapproved"),
        ("4", "spam"),
    ]
    assert thread.excluded[2].reason == "comment_approved=0 (not publicly displayed)"
    (answer,) = thread.comments
    assert (answer.id, answer.parent, answer.parent_source_id) == ("5", None, "3")


def test_the_gmt_date_stands_in_for_a_missing_local_date() -> None:
    comment = _comment("1", "x").replace("<wp:comment_date>2024-05-01 12:00:00</wp:comment_date>", "")
    comment = comment.replace(
        "</wp:comment_id>", "</wp:comment_id><wp:comment_date_gmt>2024-05-01 10:00:00</wp:comment_date_gmt>"
    )
    (thread,) = _threads(_export(_item("7", "Post", comment)))
    assert thread.comments[0].published_raw == "2024-05-01 10:00:00"


def test_escaped_markup_stays_literal_and_markup_becomes_text() -> None:
    content = "<blockquote>Quoted</blockquote>Use &lt;code&gt; here<br/>and <a href='x'>a link</a>"
    (thread,) = _threads(_export(_item("7", "Post", _comment("1", content))))
    assert thread.comments[0].text == "Quoted\nUse <code> here\nand a link"


def test_sniffing_claims_wxr_but_not_plain_rss_or_html() -> None:
    wxr = EXTRACTORS["wxr"]
    assert detect_format(Source.from_bytes(_export(_item("7", "Post", _comment("1", "x"))))) == "wxr"
    assert wxr.sniff(Source.from_bytes(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>')) == 0.0
    assert wxr.sniff(Source.from_bytes(b"<!DOCTYPE html><html><body>wordpress.org/export/</body></html>")) == 0.0


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(ExtractionError, match=r"site\.wordpress\.xml: malformed or truncated XML"):
        _threads(_export(_item("7", "Post", _comment("1", "x")))[:-40])
    with pytest.raises(ExtractionError, match=r"not a WordPress WXR export"):
        _threads(b'<?xml version="1.0"?><disqus xmlns="http://disqus.com"/>', "wxr")
    bomb = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>'
    with pytest.raises(ExtractionError, match="refused XML with entity declarations"):
        _threads(bomb, "wxr")


def test_a_comment_id_repeated_within_one_post_is_an_error() -> None:
    with pytest.raises(ExtractionError, match=r"comment id '1' occurs twice in one thread"):
        _threads(_export(_item("7", "Post", _comment("1", "x"), _comment("1", "y"))))
