"""Q&A pages and forum threads (pages in tests/pages, written here): the question or the opener is the
article, answers and replies are comments, and a comment on an answer hangs under that answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import lxml.html

from moderation import Source, extract
from moderation.extraction.html.qa import read_discussion
from moderation.thread import Article, Thread, Votes

PAGES = Path(__file__).parent / "pages"


def _thread(name: str) -> Thread:
    return extract(Source.from_path(PAGES / name))


def _rows(thread: Thread) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(c.id, c.parent, c.author, c.published_raw) for c in thread.comments]


def test_stack_exchange_shape_question_is_the_article_and_comments_hang_under_their_answer() -> None:
    thread = _thread("qa_stackexchange_like.html")
    assert thread.metadata["comment_rule"] == "qa_page"
    article = thread.article
    assert article.title == "How do I keep a sourdough starter alive while travelling?"
    # The poster's card, not the editor's card shown before it.
    assert article.byline == "Hanna K"
    assert article.published_raw == "Mar 4, 2024 at 9:12"
    assert article.body == [
        "I am away for three weeks and nobody can feed my starter.",
        "Can I dry it or freeze it, and how do I wake it up afterwards?",
    ]
    assert _rows(thread) == [
        ("comment-9001", None, "Petra", "Mar 4, 2024 at 9:40"),
        ("comment-9002", None, "Hanna K", "Mar 4, 2024 at 10:02"),
        ("answer-1002", None, "Baker Ben", "Mar 4, 2024 at 11:30"),
        ("comment-9003", "answer-1002", "Lukas", "Mar 5, 2024 at 8:15"),
        ("comment-9004", "answer-1002", "user4411", "Mar 6, 2024 at 19:01"),
        ("answer-1003", None, "Cleo W", "Mar 4, 2024 at 13:05"),
        ("answer-1004", None, "Dmitri", "Mar 7, 2024 at 17:45"),
        ("comment-9005", "answer-1004", "Petra", "Mar 7, 2024 at 18:00"),
    ]
    assert thread.metadata["question_comments"] == ["comment-9001", "comment-9002"]
    votes = {c.id: c.votes for c in thread.comments}
    assert votes["answer-1002"] == Votes(score=12)
    assert votes["answer-1004"] == Votes(score=-2)
    assert votes["comment-9003"] == Votes(score=5)
    answer = thread.comments[2]
    assert answer.text == (
        "Feed it, let it rise, then spread it thin on baking paper and let it dry for two days. "
        "Crumble the flakes into a jar. To revive, soak a spoonful in water and feed it twice a day."
    )
    # The exact time from the date's title attribute, not the minute shown.
    assert thread.comments[0].published == datetime(2024, 3, 4, 9, 40, 2, tzinfo=timezone.utc)
    assert thread.comments[0].text == "Which flour do you feed it with? Rye starters are hardier."


def test_schema_org_microdata_question_page_with_its_own_class_names() -> None:
    thread = _thread("qa_microdata.html")
    assert thread.metadata["comment_rule"] == "qa_page"
    assert (thread.article.title, thread.article.byline, thread.article.published_raw) == (
        "Why does my bike chain skip under load?",
        "Ines",
        "Jun 11, 2023",
    )
    assert thread.article.body[0] == "When I climb out of the saddle the chain jumps on the rear cassette."
    # Answers nested inside the Question scope are still answers, not the question's text.
    assert _rows(thread) == [
        ("c50", None, "Tomasz", "Jun 11, 2023"),
        ("a43", None, "Rolf", "Jun 12, 2023"),
        ("c51", "a43", "Ines", "Jun 12, 2023"),
        ("a44", None, "anonymous", "Jun 13, 2023"),
    ]
    assert thread.metadata["question_comments"] == ["c50"]
    assert [c.votes for c in thread.comments] == [Votes(), Votes(up=9), Votes(), Votes(up=2)]
    assert thread.comments[1].published == datetime(2023, 6, 12, 7, 45, tzinfo=timezone.utc)


def test_jsonld_question_page_when_the_html_shows_no_answers() -> None:
    thread = _thread("qa_jsonld.html")
    assert thread.metadata["comment_rule"] == "qa_page"
    assert thread.article.title == "Can I repot a cactus in winter?"
    assert thread.article.byline == "Jonas P."
    # HTML inside the JSON-LD text reads as paragraphs.
    assert thread.article.body == [
        "My cactus has outgrown its pot.",
        "Is it safe to repot it now, or should I wait for spring?",
    ]
    # The accepted answer repeated among the suggested ones is one comment.
    assert _rows(thread) == [
        ("comment-301", None, "Mira", "2022-12-02T16:40:00+01:00"),
        ("answer-78", None, "Greenhouse Greta", "2022-12-02T18:30:00+01:00"),
        ("comment-302", "answer-78", "Mira", "2022-12-03T08:00:00+01:00"),
        ("answer-79", None, "Sam", "2022-12-04T10:15:00+01:00"),
    ]
    assert [c.votes.up for c in thread.comments] == [None, 11, None, 1]
    assert thread.comments[1].published == datetime(2022, 12, 2, 18, 30, tzinfo=timezone(timedelta(hours=1)))


def test_forum_first_page_opener_is_the_article_and_replies_keep_quotes() -> None:
    thread = _thread("forum_xenforo_like_page1.html")
    assert thread.metadata["comment_rule"] == "forum_thread"
    article = thread.article
    # The thread prefix label ("Announcement") is not part of the title.
    assert (article.title, article.byline, article.published_raw) == (
        "Harbour swim is back on June 15",
        "Ann Admin",
        "May 2, 2024",
    )
    assert article.body == [
        "Harbour swim is back",
        "The summer harbour swim returns on June 15.",
        "Registration opens next week. Please post your questions below.",
    ]
    assert _rows(thread) == [
        ("post-7002", None, "Bob", "May 2, 2024"),
        ("post-7003", None, "Cleo", "May 3, 2024"),
        ("post-7004", None, "Dan", "Yesterday at 9:40 PM"),
    ]
    # Quote header and quoted text stay; "Click to expand...", reactions and the signature do not.
    assert [c.text for c in thread.comments] == [
        "Ann Admin said: Registration opens next week. Will there be a shorter course for kids?",
        "Last year there was a 500 m course for under 12s. I hope they keep it.",
        "The water was freezing last time, bring a wetsuit!",
    ]
    # A relative date shown is kept as shown; the post's datetime attribute dates it.
    assert thread.comments[2].published == datetime(2024, 5, 4, 21, 40, tzinfo=timezone(timedelta(hours=2)))


def test_later_forum_page_without_the_opener_has_every_post_as_a_comment() -> None:
    thread = _thread("forum_vbulletin_like_page2.html")
    assert thread.metadata["comment_rule"] == "forum_thread"
    article = thread.article
    assert (article.title, article.byline, article.published, article.body) == (
        "Descaling the Brewmaster 3000",
        None,
        None,
        [],
    )
    assert _rows(thread) == [
        ("post_88121", None, "kettle_fan", "12.04.2024, 09:03"),
        ("post_88122", None, "Rita", "12.04.2024, 09:30"),
        ("post_88123", None, "M.Berger", "13.04.2024, 17:55"),
    ]
    assert [c.text for c in thread.comments] == [
        "Quote from Rita Does the descaler void the warranty? No, the manual even recommends it twice a year.",
        "Thanks, ordered it.",
        "Mine leaked after the descaling cycle, check the seal before you start.",
    ]
    assert thread.comments[0].published == datetime(2024, 4, 12, 9, 3)


def test_forum_posts_without_numbers_open_the_thread_unless_a_previous_page_exists() -> None:
    page = (PAGES / "forum_phpbb_like_page1.html").read_bytes()
    first = extract(Source.from_bytes(page, "viewtopic.html"))
    assert (first.article.title, first.article.byline, first.article.published_raw) == (
        "Winter feeding for hens?",
        "Greta",
        "Sun Jan 14, 2024 6:02 pm",
    )
    assert _rows(first) == [
        ("p502", None, "farmer_joe", "Sun Jan 14, 2024 7:40 pm"),
        ("p503", None, "Greta", "Tue Jan 16, 2024 7:15 am"),
    ]
    assert first.comments[0].text == (
        "Greta wrote: ↑ My hens stopped laying in December. Short days. Add a lamp on a timer for 14 hours of light."
    )
    later = extract(Source.from_bytes(page.replace(b"</head>", b'<link rel="prev" href="?start=0"></head>'), "p2.html"))
    assert later.article.byline is None
    assert [c.id for c in later.comments] == ["p501", "p502", "p503"]


def test_schema_org_discussion_forum_posting_nests_replies_to_replies() -> None:
    thread = _thread("forum_microdata_discussion.html")
    assert thread.metadata["comment_rule"] == "forum_thread"
    assert (thread.article.title, thread.article.byline) == ("Best way to store winter tyres?", "oskar")
    assert thread.article.body == ["Stacked flat or standing up? I have a dry garage but no rack."]
    assert _rows(thread) == [
        ("post_2", None, "wheelwright", "October 28, 2023, 3:30pm"),
        ("post_3", "post_2", "oskar", "October 29, 2023, 8:12am"),
        ("post_4", None, "petrolhead", "October 30, 2023, 7:45pm"),
    ]


def test_blog_with_wordpress_comments_is_not_read_as_a_discussion() -> None:
    thread = _thread("blog_wordpress_comments.html")
    assert thread.metadata["comment_rule"] == "comment_list_item"
    assert "question_comments" not in thread.metadata
    assert thread.article.title == "Ten years of the allotment"
    assert _rows(thread) == [
        ("comment-41", None, "Rosa", "April 20, 2024 at 10:12 am"),
        ("comment-42", "comment-41", "June", "April 20, 2024 at 11:30 am"),
    ]
    doc = lxml.html.document_fromstring((PAGES / "blog_wordpress_comments.html").read_bytes())
    assert read_discussion(doc, Article()) is None


def test_faq_entries_are_not_a_question_page() -> None:
    """FAQPage marks its entries as Question/Answer too, with no one asking: not a discussion."""
    page = """<html><head><script type="application/ld+json">{"@context": "https://schema.org",
"@type": "FAQPage", "mainEntity": [{"@type": "Question", "name": "Do you ship abroad?",
"acceptedAnswer": {"@type": "Answer", "text": "Yes, to all EU countries."}}]}</script></head><body>
<div itemscope itemtype="https://schema.org/FAQPage"><div itemscope itemprop="mainEntity"
itemtype="https://schema.org/Question"><h3 itemprop="name">Do you ship abroad?</h3>
<div itemscope itemprop="acceptedAnswer" itemtype="https://schema.org/Answer">
<div itemprop="text">Yes, to all EU countries.</div></div></div></div></body></html>"""
    assert read_discussion(lxml.html.document_fromstring(page), Article()) is None
