"""The Disqus export extractor on small synthetic exports: threads, replies, exclusions, bad input."""

from __future__ import annotations

import pytest

from moderation import ExtractionError, Source
from moderation.extraction import EXTRACTORS, detect_format, extract_all
from moderation.thread import Thread

HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
)
THREADS = """
<thread dsq:id="10"><id>story-1</id><link>https://news.example/story-1</link><title>Story one</title>
  <createdAt>2024-03-01T08:00:00Z</createdAt></thread>
<thread dsq:id="20"><id/><link>https://news.example/story-2</link><title/></thread>
"""


def _post(post_id: str, thread: str, message: str, *, parent: str | None = None, flags: str = "") -> str:
    parent_tag = f'<parent dsq:id="{parent}"/>' if parent else ""
    return (
        f'<post dsq:id="{post_id}"><message><![CDATA[{message}]]></message>'
        f"<createdAt>2024-03-0{post_id[-1]}T10:00:00Z</createdAt>{flags}"
        f"<author><name>user {post_id}</name></author>"
        f'<thread dsq:id="{thread}"/>{parent_tag}</post>\n'
    )


def _export(*posts: str) -> bytes:
    return (HEAD + THREADS + "".join(posts) + "</disqus>\n").encode()


def _threads(data: bytes, format: str | None = None) -> list[Thread]:
    return extract_all(Source.from_bytes(data, "export.xml"), format)


def test_posts_land_in_their_threads_with_replies_linked() -> None:
    data = _export(
        _post("1", "10", "<p>First <b>point</b>.</p><p>Second paragraph.</p>"),
        _post("2", "10", "<p>A reply</p>", parent="1"),
        _post("3", "20", "Elsewhere"),
    )
    one, two = _threads(data)
    assert one.source_format == "disqus"
    assert (one.article.title, one.article.url, one.article.published_raw) == (
        "Story one",
        "https://news.example/story-1",
        "2024-03-01T08:00:00Z",
    )
    assert one.article.published is not None and one.article.published.year == 2024
    assert one.metadata["thread_id"] == "10" and one.metadata["ident"] == "story-1"
    first, reply = one.comments
    assert (first.id, first.author, first.published_raw) == ("1", "user 1", "2024-03-01T10:00:00Z")
    assert first.text == "First point.\nSecond paragraph."
    assert (reply.parent, reply.parent_source_id, reply.position) == ("1", "1", 1)
    assert [c.id for c in two.comments] == ["3"] and two.article.title is None


def test_deleted_and_spam_posts_are_excluded_and_their_replies_orphaned() -> None:
    data = _export(
        _post("1", "10", "<p>gone</p>", flags="<isDeleted>true</isDeleted>"),
        _post("2", "10", "buy now", flags="<isDeleted>false</isDeleted><isSpam>true</isSpam>"),
        _post("3", "10", "answer to a deleted post", parent="1"),
    )
    thread = _threads(data)[0]
    assert [(e.source_id, e.kind, e.text, e.reason) for e in thread.excluded] == [
        ("1", "deleted", "gone", "isDeleted=true"),
        ("2", "spam", "buy now", "isSpam=true"),
    ]
    (answer,) = thread.comments
    assert (answer.id, answer.parent, answer.parent_source_id) == ("3", None, "1")


def test_threads_without_posts_are_kept_and_undefined_threads_become_orphans() -> None:
    threads = _threads(_export(_post("1", "99", "lost")))
    assert [t.metadata["thread_id"] for t in threads] == ["10", "20", "99"]
    assert [len(t.comments) for t in threads] == [0, 0, 1]
    assert threads[2].metadata["orphan"] is True and threads[2].article.title is None


def test_sniffing_claims_disqus_exports_only() -> None:
    disqus = EXTRACTORS["disqus"]
    assert detect_format(Source.from_bytes(_export())) == "disqus"
    assert disqus.sniff(Source.from_bytes(b'<!DOCTYPE html><html><div id="disqus_thread"></div></html>')) == 0.0
    assert disqus.sniff(Source.from_bytes(b'<?xml version="1.0"?><rss><channel/></rss>')) == 0.0
    assert disqus.sniff(Source.from_bytes(b"\x00\xff garbage")) == 0.0


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE disqus [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<disqus xmlns="http://disqus.com">&lol3;</disqus>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE disqus [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<disqus xmlns="http://disqus.com"><thread>&secret;</thread></disqus>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_tricks_are_refused_not_expanded(data: bytes) -> None:
    with pytest.raises(ExtractionError, match=r"export\.xml: refused XML with entity declarations"):
        _threads(data)


def test_truncated_and_foreign_xml_name_the_problem() -> None:
    whole = _export(_post("1", "10", "hello"))
    with pytest.raises(ExtractionError, match=r"export\.xml: malformed or truncated XML at line \d+"):
        _threads(whole[: len(whole) // 2])
    with pytest.raises(ExtractionError, match=r"not a Disqus export: the root element is <rss>"):
        _threads(b"<?xml version='1.0'?><rss><channel/></rss>", "disqus")


def test_a_post_without_a_thread_reference_is_an_error() -> None:
    data = (HEAD + '<post dsq:id="1"><message>x</message></post></disqus>').encode()
    with pytest.raises(ExtractionError, match=r"post '1' names no <thread>"):
        _threads(data)
