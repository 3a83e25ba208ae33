"""The HTML page extractor on small pages built here: one per markup pattern and failure mode."""

from __future__ import annotations

from datetime import datetime

import pytest

from moderation import ExtractionError, Source, extract
from moderation.dates import looks_like_shown_date, parse_shown_datetime
from moderation.extraction import detect_format
from moderation.thread import Thread

ARTICLE = """<header><h1>Harbour plan approved</h1><time datetime="2024-03-01">March 1, 2024</time></header>
<article><p>The council approved the harbour plan on Friday after a long debate about costs and traffic.</p>
<p>Work starts in the spring and should take two years, the mayor said at a press conference.</p></article>"""


def _page(comments: str, head: str = "") -> bytes:
    head = f"<!DOCTYPE html><html><head><title>Harbour plan approved</title>{head}</head>"
    return f"{head}<body>{ARTICLE}{comments}</body></html>".encode()


def _extract(page: bytes) -> Thread:
    return extract(Source.from_bytes(page, "page.html"))


def _wp_comment(number: int, author: str, text: str, children: str = "") -> str:
    return f"""<li id="comment-{number}" class="comment depth-1"><article class="comment-body">
<footer class="comment-meta"><div class="comment-author vcard"><b class="fn">{author}</b>
<span class="says">says:</span></div>
<div class="comment-metadata"><a href="#">
<time datetime="2024-03-02">March 2, 2024 at 9:1{number} am</time></a></div></footer>
<div class="comment-content"><p>{text}</p></div><div class="reply"><a class="comment-reply-link">Reply</a></div>
</article>{children}</li>"""


REPLY = f'<ol class="children">{_wp_comment(2, "Ben", "Progress? It costs a fortune.")}</ol>'
WORDPRESS = f"""<div id="comments"><h2>4 thoughts on “Harbour plan approved”</h2><ol class="comment-list">
{_wp_comment(1, "Ann", "Finally some progress.", REPLY)}
{_wp_comment(3, "Cleo", "Traffic will be a mess for two years.")}
<li id="comment-4" class="pingback"><div class="comment-body">Pingback: <a href="#">Another blog</a></div></li>
</ol><div id="respond"><form><textarea></textarea><button>Post Comment</button></form></div></div>"""


def test_wordpress_nesting_authors_dates_and_pingbacks() -> None:
    thread = _extract(_page(WORDPRESS))
    assert thread.source_format == "html"
    assert thread.article.title == "Harbour plan approved"
    assert [(c.id, c.parent, c.author) for c in thread.comments] == [
        ("comment-1", None, "Ann"),
        ("comment-2", "comment-1", "Ben"),
        ("comment-3", None, "Cleo"),
    ]
    assert [c.text for c in thread.comments] == [
        "Finally some progress.",
        "Progress? It costs a fortune.",
        "Traffic will be a mess for two years.",
    ]
    assert thread.comments[0].published_raw == "March 2, 2024 at 9:11 am"
    assert thread.comments[0].published == datetime(2024, 3, 2, 9, 11)
    assert [(x.kind, x.source_id) for x in thread.excluded] == [("pingback", "comment-4")]
    assert thread.announced_comments == 4
    assert "missing_comments" not in thread.metadata  # the pingback accounts for the fourth


def test_sibling_reply_lists_and_drupal_indented_blocks_nest_under_the_item_before() -> None:
    drupal = """<div id="comments">
<a id="comment-10"></a><div class="comment"><span class="username">Dora</span>
<div class="field-comment-body">First.</div>
<ul class="links"><li class="comment-reply"><a>reply</a></li>
<li class="date">May 1, 2024</li><li class="time">6:32 PM</li></ul></div>
<div class="indented"><a id="comment-11"></a><div class="comment"><span class="username">Eli</span>
<div class="field-comment-body">Second.</div><ul class="links"><li class="date">May 2, 2024</li></ul></div></div>
</div>"""
    thread = _extract(_page(drupal))
    assert [(c.id, c.parent, c.author, c.text) for c in thread.comments] == [
        ("comment-10", None, "Dora", "First."),
        ("comment-11", "comment-10", "Eli", "Second."),
    ]
    assert thread.comments[0].published_raw == "May 1, 2024 6:32 PM"


def test_jsonld_comments_come_first_with_their_replies() -> None:
    jsonld = """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Harbour plan approved", "comment": [{"@type": "Comment", "@id": "#c1", "text": "Good news.",
"author": {"@type": "Person", "name": "Fay"}, "dateCreated": "2024-03-02T10:00:00",
"comment": [{"@type": "Comment", "@id": "#c2", "text": "Is it?", "author": "Gus"}]}]}</script>"""
    thread = _extract(_page("", head=jsonld))
    assert [(c.id, c.parent, c.author, c.text) for c in thread.comments] == [
        ("#c1", None, "Fay", "Good news."),
        ("#c2", "#c1", "Gus", "Is it?"),
    ]
    assert thread.comments[0].published == datetime(2024, 3, 2, 10, 0)
    assert thread.metadata["comment_rule"] == "json_ld"


def test_microdata_comments() -> None:
    microdata = """<section class="discussion">
<div itemscope itemtype="https://schema.org/Comment"><span itemprop="author" itemscope itemtype="https://schema.org/Person">
<span itemprop="name">Hal</span></span><span itemprop="dateCreated">3 March 2024</span>
<div itemprop="text"><p>Who pays for this?</p></div></div></section>"""
    thread = _extract(_page(microdata))
    assert [(c.author, c.published_raw, c.text) for c in thread.comments] == [
        ("Hal", "3 March 2024", "Who pays for this?")
    ]


def test_markup_that_disqus_prints_as_text_is_read_as_text() -> None:
    """Disqus' no-script fallback prints each message's HTML source escaped; the reader of the comment
    wants its text: tags dropped (blocks and ``<br>`` one space), entities decoded, scripts gone."""
    body = (
        "Use a slice:&lt;pre&gt;&lt;code class=&quot;python&quot;&gt;numbers[:] = [n for n in numbers]"
        "&lt;/code&gt;&lt;/pre&gt;&lt;p&gt;Fish &amp;amp; chips&lt;br&gt;later&lt;/p&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    fallback = f"""<div id="disqus_thread"><div class="d-noscript-comments">
<div class="comment"><div class="comment-author">Yaw</div><div class="comment-body">{body}</div></div>
<div class="comment"><div class="comment-author">Guest</div>
<div class="comment-body">A sense of humor, perhaps.</div></div>
</div></div>"""
    thread = _extract(_page(fallback))
    assert thread.metadata["comment_rule"] == "disqus_noscript"
    assert [(c.author, c.text) for c in thread.comments] == [
        ("Yaw", "Use a slice: numbers[:] = [n for n in numbers] Fish & chips later"),
        ("Guest", "A sense of humor, perhaps."),
    ]
    # Elsewhere a page shows what the commenter typed: markup written as text stays as written.
    shown = "Wrap it in &lt;code&gt; tags &amp; it shows."
    wordpress = _extract(_page(WORDPRESS.replace("Traffic will be a mess for two years.", shown)))
    assert wordpress.comments[-1].text == "Wrap it in <code> tags & it shows."


def test_generic_repeated_blocks_in_a_comment_region_with_no_comment_class() -> None:
    def block(number: int, author: str, text: str, replies: str = "") -> str:
        return f"""<li id="msg_{number}"><a class="person"><h4>{author}</h4></a>
<time>1{number}. 03. 2024, 13:4{number}</time><div class="objlink"><p>{text}</p></div>
<ul class="toolbar"><li><a>antworten</a></li><li><a>melden</a></li></ul>{replies}</li>"""

    reply = block(2, "Jan", "@Ida Nicht unbedingt, finde ich.")
    region = f"""<div class="sect_leserkommentare"><h2>Leserkommentare</h2><ul>
{block(1, "Ida", "Das wird teuer für alle hier.", f'<ul class="thread">{reply}</ul>')}
{block(3, "Kai", "Endlich passiert etwas im Hafen.")}</ul></div>"""
    thread = _extract(_page(region))
    assert [(c.id, c.parent, c.author, c.published_raw, c.text) for c in thread.comments] == [
        ("msg_1", None, "Ida", "11. 03. 2024, 13:41", "Das wird teuer für alle hier."),
        ("msg_2", "msg_1", "Jan", "12. 03. 2024, 13:42", "@Ida Nicht unbedingt, finde ich."),
        ("msg_3", None, "Kai", "13. 03. 2024, 13:43", "Endlich passiert etwas im Hafen."),
    ]
    assert thread.metadata["comment_rule"] == "repeated_blocks"


def test_recent_comments_sidebar_is_excluded_not_read_as_the_thread() -> None:
    sidebar = """<aside id="recent-comments-2" class="widget"><h3>Recent Comments</h3><ol class="commentlist">
<li id="comment-90" class="comment"><b class="fn">Zed</b>
<time>Jan 1, 2024</time><div class="comment-content">Old post!</div></li>
</ol><ul><li class="recentcomments">Zed on Another story</li></ul></aside>"""
    thread = _extract(_page(WORDPRESS + sidebar))
    assert [c.author for c in thread.comments] == ["Ann", "Ben", "Cleo"]
    assert {x.kind for x in thread.excluded} == {"pingback", "sidebar"}
    only_sidebar = _extract(_page(sidebar))
    assert only_sidebar.comments == []


def test_announced_more_than_present_is_recorded() -> None:
    box = """<div id="comments"><h3>[ 167 comments ]</h3>
<div class="comment"><div class="username">Lou</div><div class="date">2 days ago at 07:52 am</div>
<div class="content">Nice update.</div><div class="rating"><strong>Rating:</strong> 12 Votes</div></div>
<a href="/forum">View all</a></div>"""
    thread = _extract(_page(box))
    assert [(c.author, c.published_raw, c.text) for c in thread.comments] == [
        ("Lou", "2 days ago at 07:52 am", "Nice update.")
    ]
    assert thread.comments[0].published == datetime(2024, 2, 28, 7, 52)
    assert thread.announced_comments == 167
    assert thread.metadata["missing_comments"] == 166
    assert not thread.is_complete


def test_page_without_comments_gives_the_article_and_no_comments() -> None:
    related = """<div class="related"><h3>More stories</h3><ul><li class="comment"><a>Opinion: the harbour</a></li>
<li><a>Opinion: the budget, March 1, 2024</a></li></ul></div>
<div id="comments"><h3>Leave a Reply</h3><form><textarea></textarea></form></div>"""
    thread = _extract(_page(related))
    assert thread.comments == []
    assert thread.article.title == "Harbour plan approved"
    assert any("harbour plan" in paragraph for paragraph in thread.article.body)


def test_truncated_and_empty_pages_are_refused_clearly() -> None:
    page = _page(WORDPRESS)
    with pytest.raises(ExtractionError, match="truncated"):
        _extract(page[: len(page) // 2])
    with pytest.raises(ExtractionError, match="empty"):
        extract(Source.from_bytes(b"   ", "blank.html"), "html")


def test_html_is_detected_and_text_dumps_are_not_taken_for_it() -> None:
    assert detect_format(Source.from_bytes(_page(""), "page.html")) == "html"
    assert detect_format(Source.from_bytes(b"<div><p>fragment</p></div>", "part.html")) == "html"


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("2 days ago at 07:52 am", datetime(2024, 2, 28, 7, 52)),
        ("3. November 2023 um 20:14 Uhr", datetime(2023, 11, 3, 20, 14)),
        ("Le 11 septembre 2018 à 12:57", datetime(2018, 9, 11, 12, 57)),
        ("Di, 21. April 2020 - 16:40", datetime(2020, 4, 21, 16, 40)),
        ("14. 01. 2020, 13:47", datetime(2020, 1, 14, 13, 47)),
    ],
)
def test_shown_dates_parse_in_english_german_and_french(shown: str, expected: datetime) -> None:
    assert looks_like_shown_date(shown)
    assert parse_shown_datetime(shown, reference=datetime(2024, 3, 1)) == expected


@pytest.mark.parametrize("text", ["Montana", "39 points", "level 2", "dabei seit 12/2006", "Reply"])
def test_names_and_labels_are_not_dates(text: str) -> None:
    assert not looks_like_shown_date(text)
