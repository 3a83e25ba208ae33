"""The general finder and the field rules on comment lists no platform rule names, built here in several
themes, languages and orders: no class says "comment", bylines after the text, name and date in one line."""

from __future__ import annotations

from datetime import datetime

import pytest

from moderation import Source
from moderation.extraction.html import SITE_RULES, HtmlExtractor
from moderation.extraction.html.fields import split_byline
from moderation.thread import Thread

ARTICLE = """<header><h1>Harbour plan approved</h1><time datetime="2024-03-01">March 1, 2024</time></header>
<article><p>The council approved the harbour plan on Friday after a long debate about costs and traffic.</p>
<p>Work starts in the spring and should take two years, the mayor said at a press conference.</p></article>"""
TEXTS = (
    "Finally some progress on the harbour.",
    "It costs a fortune and nobody asked us.",
    "Traffic on the bridge will be terrible for years.",
)


def _page(section: str, lang: str = "en") -> bytes:
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><title>Harbour plan approved</title></head>"
        f"<body>{ARTICLE}{section}<footer><p>© 2024 The Harbour Times</p></footer></body></html>"
    ).encode()


def _read(page: bytes, without: frozenset[str] = frozenset()) -> Thread:
    return HtmlExtractor(without_rules=without).threads(Source.from_bytes(page, "page.html"))[0]


def _classless(byline_after: bool) -> str:
    """An old theme: items with ids but no class names, "Comment by NAME — DATE" before or after the text."""
    items = []
    for number, (name, text) in enumerate(zip(("Ann", "Ben Okafor", "Chloé"), TEXTS, strict=True), start=1):
        byline = f"<p><small>Comment by <a href='/u/{name}'>{name}</a> — 0{number}.03, 2024 @ 10:1{number}</small></p>"
        body = f"<p>{text}</p>"
        items.append(f"<li id='comment-{number}'>{body + byline if byline_after else byline + body}</li>")
    return f"<h3>3 Responses</h3><ol>{''.join(items)}</ol>"


@pytest.mark.parametrize("byline_after", [False, True], ids=["byline-first", "byline-after-text"])
def test_classless_items_are_found_with_author_and_date_wherever_the_byline_sits(byline_after: bool) -> None:
    thread = _read(_page(_classless(byline_after)))
    assert thread.metadata["comment_rule"] == "repeated_blocks"
    assert [c.text for c in thread.comments] == list(TEXTS)
    assert [c.author for c in thread.comments] == ["Ann", "Ben Okafor", "Chloé"]
    assert [c.published_raw for c in thread.comments] == [
        "01.03, 2024 @ 10:11",
        "02.03, 2024 @ 10:12",
        "03.03, 2024 @ 10:13",
    ]


def _german_boxes() -> str:
    """Name and date share one span ("geschrieben von NAME am DATE"), the section is named in German."""
    items = "".join(
        f"<div class='box' id='k{number}'><span>geschrieben von {name} am {number}. März 2021, 14:0{number}</span>"
        f"<div>{text}</div></div>"
        for number, (name, text) in enumerate(zip(("berg2012", "Anna K.", "wScherf"), TEXTS, strict=True), start=1)
    )
    return f"<div class='kommentare'><h2>Kommentare</h2>{items}</div>"


def test_a_shared_byline_line_splits_into_author_and_date_and_the_date_parses_in_german() -> None:
    thread = _read(_page(_german_boxes(), lang="de"))
    assert [c.author for c in thread.comments] == ["berg2012", "Anna K.", "wScherf"]
    assert (thread.comments[0].published_raw, thread.comments[0].published) == (
        "1. März 2021, 14:01",
        datetime(2021, 3, 1, 14, 1),
    )
    assert [c.text for c in thread.comments] == list(TEXTS)


def _chinese_floors() -> str:
    """A forum-like reply list in Chinese: a counter above, member links, relative dates, no comment class."""
    replies = ("同意这个计划早该通过了", "花这么多钱谁来负责", "桥上的交通会很糟糕")
    cells = "".join(
        f"<div class='cell' id='r_{100 + n}'><table><tr><td><strong><a href='/member/user{n}'>user{n}</a></strong>"
        f" <span class='ago'>{n} 小时前</span><div class='reply_content'>{text}</div></td></tr></table></div>"
        for n, text in enumerate(replies, start=1)
    )
    return f"<div class='box'><div class='cell'><span class='gray'>3 条回复</span></div>{cells}</div>"


def test_a_chinese_reply_list_is_found_by_its_counter_and_its_relative_dates_count_back_from_the_page() -> None:
    thread = _read(_page(_chinese_floors(), lang="zh-CN"))
    assert [c.author for c in thread.comments] == ["user1", "user2", "user3"]
    assert thread.comments[0].text == "同意这个计划早该通过了"
    assert thread.comments[1].published_raw == "2 小时前"
    assert thread.comments[1].published == datetime(2024, 2, 29, 22, 0)


def _polish_with_sub_replies() -> str:
    """Replies sit in a "…comment-sub" block after their parent; dates in Polish words."""

    def item(name: str, text: str, day: int) -> str:
        return (
            f"<div class='news-item'><div><strong class='x-author'>{name}</strong>"
            f"<span>wtorek, {day} maja 2021, 23:1{day}</span></div><p>{text}</p></div>"
        )

    return (
        "<div id='comments'><p>Liczba komentarzy: 3</p>"
        f"{item('Robs', TEXTS[0], 4)}<div class='news-comment-sub'>{item('Anonim', TEXTS[1], 5)}</div>"
        f"{item('KNP', TEXTS[2], 6)}</div>"
    )


def test_replies_in_a_sub_block_after_their_parent_hang_under_it() -> None:
    thread = _read(_page(_polish_with_sub_replies(), lang="pl"))
    first, reply, last = thread.comments
    assert (reply.parent, last.parent) == (first.id, None)
    assert reply.published == datetime(2021, 5, 5, 23, 15)


def test_a_blog_owners_answer_inside_a_readers_comment_is_a_reply_of_its_own() -> None:
    readers = ("这篇文章写得很好", "我不同意作者的看法", "港口计划太贵了")
    items = "".join(
        f"<li class='item' id='c{n}'><div class='info'><a href='/u/{n}'>读者{n}</a>"
        f"<span class='time'>2019-05-1{n} 10:2{n}</span></div><p>{text}</p>"
        f"<div class='owner'><span>博主回复:</span>谢谢你的留言 <span>2019-05-1{n} 12:00</span></div></li>"
        for n, text in enumerate(readers, start=1)
    )
    thread = _read(_page(f"<div class='box'><h3>评论 (3)</h3><ul>{items}</ul></div>", lang="zh"))
    assert [c.text for c in thread.comments[::2]] == list(readers)
    for reader, answer in zip(thread.comments[::2], thread.comments[1::2], strict=True):
        assert answer.parent == reader.id
        assert answer.text.startswith("博主回复")
        assert answer.published_raw is not None and answer.published_raw.endswith("12:00")


def test_an_author_in_a_bare_h5_is_read_as_the_author() -> None:
    items = "".join(
        f"<div class='entry' id='e{n}'><h5>Signer {n}</h5><span>March {n}, 2024</span><p>{text}</p></div>"
        for n, text in enumerate(TEXTS, start=1)
    )
    thread = _read(_page(f"<section id='comments'>{items}</section>"))
    assert [(c.author, c.published_raw, c.text) for c in thread.comments] == [
        (f"Signer {n}", f"March {n}, 2024", text) for n, text in enumerate(TEXTS, start=1)
    ]


def test_teasers_with_dates_and_bylines_under_a_comment_heading_are_not_comments() -> None:
    teasers = "".join(
        f"<li class='teaser'><a href='/opinion/{n}'>Comment: why the harbour plan will fail us all, part {n}</a>"
        f"<span class='by'>By Staff</span> <time>March {n}, 2024</time></li>"
        for n in range(1, 5)
    )
    thread = _read(_page(f"<section class='comments-teasers'><h2>Comment</h2><ul>{teasers}</ul></section>"))
    assert thread.comments == []


def test_placeholders_and_counters_in_comment_markup_are_not_comments() -> None:
    section = (
        "<div id='comments'><div class='comment' id='comment-1'><span class='author'>Admin</span>"
        "<time>March 2, 2024</time><p>Be the first to comment!</p></div>"
        "<div class='comment' id='comment-2'><span class='author'>All comments</span>"
        "<time>March 2, 2024</time><p>Show more comments (20)</p></div></div>"
    )
    assert _read(_page(section)).comments == []


def test_an_absolute_date_is_preferred_over_a_relative_age_in_the_same_item() -> None:
    items = "".join(
        f"<article class='x-comment'><header><a href='/~u{n}'>u{n}</a> <a>April 1{n} 2018, 04:34:23 UTC</a>"
        f" <time>1 week ago</time></header><div class='comment__body'>{text}</div></article>"
        for n, text in enumerate(TEXTS, start=1)
    )
    thread = _read(_page(f"<div class='comments'>{items}</div>"))
    assert [c.published_raw for c in thread.comments] == [f"April 1{n} 2018, 04:34:23 UTC" for n in (1, 2, 3)]


def test_an_xhtml_page_with_an_xml_declaration_is_read() -> None:
    page = b'<?xml version="1.0" encoding="UTF-8"?>\n' + _page(_classless(False))
    assert len(_read(page).comments) == 3


def test_the_general_finder_alone_reads_a_wordpress_list_when_every_site_rule_is_off() -> None:
    items = "".join(
        f"<li id='comment-{n}' class='comment depth-1'><div class='comment-author vcard'><b class='fn'>u{n}</b>"
        f" <span class='says'>says:</span></div><div class='comment-metadata'><a>March {n}, 2024 at 9:0{n} am</a>"
        f"</div><div class='comment-content'><p>{text}</p></div></li>"
        for n, text in enumerate(TEXTS, start=1)
    )
    page = _page(f"<div id='comments'><ol class='comment-list'>{items}</ol></div>")
    assert _read(page).metadata["comment_rule"] == "comment_list_item"
    alone = _read(page, without=SITE_RULES)
    assert alone.metadata["comment_rule"] == "repeated_blocks"
    assert [(c.author, c.text) for c in alone.comments] == [(f"u{n}", text) for n, text in enumerate(TEXTS, start=1)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("geschrieben von berg2012 am 21. Jan. 2015, 19:04", ("berg2012", "21. Jan. 2015, 19:04")),
        ("Maria on September 12, 2018 at 4:47 pm said", ("Maria", "September 12, 2018 at 4:47 pm")),
        ("Bewertung von Kirschi1017 vom 23.05.2018", ("Kirschi1017", "23.05.2018")),
        ("Pedro dijo: 12 octubre 2019 a las 9:15", ("Pedro", "12 octubre 2019 a las 9:15")),
        ("Jean-Luc le mercredi 15 mai 2019 à 08h07", ("Jean-Luc", "mercredi 15 mai 2019 à 08h07")),
        ("Tommy Trussell (tommy-trussell) wrote", ("Tommy Trussell (tommy-trussell)", None)),
        ("Ursula von der Leyen", ("Ursula von der Leyen", None)),
        ("(22 juin 2018 @11h13)", (None, "22 juin 2018 @11h13")),
    ],
)
def test_a_byline_line_splits_into_author_and_date_without_labels_or_verbs(
    line: str, expected: tuple[str | None, str | None]
) -> None:
    assert split_byline(line) == expected
