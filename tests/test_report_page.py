"""The report an editor reads (issue 19, item 8): only production attributes flag; flagged, held and
reviewed mean one thing in every part of the page; placeholders for anonymity are no author; sections
with nothing to show collapse to one line; histograms draw their thresholds; the header names the
article, not a local file or an internal key; stance says what it is toward."""

from __future__ import annotations

import re

from moderation.policy import Decision, Policy, Thresholds, decide
from moderation.reports import ThreadData, render, report_for_threads
from moderation.reports.document import Report, Scope
from moderation.reports.titles import not_argumentative
from moderation.thread import Article, Comment, Thread
from tests.test_reports import made_scores, tiny_thread

STORY = "my wife passed away eight months ago, yesterday I found a post-it note she'd hidden in my office."
LISTICLE = "Buggy Python Code: The 10 Most Common Mistakes That Python Developers Make"


def _thread(title: str, authors: list[str | None], url: str | None = None) -> Thread:
    """Top-level comments only: no reply, no vote, no timestamp."""
    comments = [Comment(id=f"c{i}", author=name, text=f"Comment {i}.", position=i) for i, name in enumerate(authors)]
    return Thread(article=Article(title=title, url=url), comments=comments, source_format="html")


def _chart(html: str, label: str) -> str:
    start = html.rindex("<svg", 0, html.index(f'aria-label="{label}'))
    return html[start : html.index("</svg>", start)]


def test_an_experimental_attribute_is_shown_but_never_flags() -> None:
    # Issue 19: the one held comment of an 86-comment thread was held on experimental SEVERE_TOXICITY.
    thread = _thread(LISTICLE, ["Guest"])
    report = report_for_threads([(thread, [made_scores(0.1, extra={"SEVERE_TOXICITY": 0.64})], None)])
    [record] = report.comments
    assert not record.flagged and record.decision == "approve"
    assert (report.counts.flagged, report.counts.held, report.flagged.n) == (0, 0, 0)
    [most_toxic] = report.votes.most_toxic.comments
    assert (most_toxic.top_attribute, most_toxic.top_score) == ("TOXICITY", 0.1)
    severe = next(a for a in report.attributes if a.name == "SEVERE_TOXICITY")
    assert severe.experimental and severe.flagged == 1  # counted at or above 0.5, never a flag
    html = render(report, "html")
    assert "experimental: shown, never flags" in html and "1 at or above 0.5 (100% of" in html
    assert "flag 0.5" not in _chart(html, "SEVERE_TOXICITY scores") and "flag" in _chart(html, "TOXICITY scores")


def test_flagged_held_and_reviewed_mean_one_thing_everywhere() -> None:
    thread, scores = tiny_thread()
    policy = Policy.default()
    decisions = [decide(policy, c.text, s.attributes) for c, s in zip(thread.comments, scores, strict=True)]
    decisions[3] = Decision(action="reject", policy_digest=policy.digest)  # a moderator rejected d
    decided_by = ["policy", "policy", "policy", "ann", "policy", "policy"]
    report = report_for_threads([ThreadData(thread, scores, decisions, decided_by=decided_by)])
    # a and b score TOXICITY >= 0.5 (flagged); a, b, f by the policy and d by ann are held; ann reviewed d.
    assert (report.counts.flagged, report.counts.held, report.counts.reviewed) == (2, 4, 1)
    html = render(report, "html")
    for shown in (
        "<b>2</b><span>flagged: a score ≥ 0.5</span>",
        "<b>4</b><span>held: review or reject</span>",
        "<b>1</b><span>reviewed by a moderator</span>",
        "Flagged and held comments",
        "<b>Flagged</b>: a production attribute scores ≥ 0.5",
        "<b>Held</b>: the decision is review or reject",
        "<b>Reviewed</b>: a moderator decided",
        "score at or above the reject threshold",
    ):
        assert shown in html, shown
    assert "flagged or held" not in html and "decided by a moderator" not in html and "attribute_review" not in html
    markdown = render(report, "md")
    for row in ("| flagged | 2 |", "| held | 4 |", "| reviewed | 1 |", "## Flagged and held comments"):
        assert row in markdown, row
    assert "Held: the decision is review or reject" in markdown and "flagged or held" not in markdown


def test_placeholder_names_count_as_anonymous_not_as_one_author() -> None:
    thread = _thread("Harbour plan", ["Guest", "Guest", "guest ", "Anonymous", "alice", "alice", "alice", None])
    report = report_for_threads([(thread, [made_scores(0.6)] * 8, None)])
    assert (report.counts.authors, report.counts.anonymous) == (1, 5)
    assert [a.author for a in report.authors.authors] == ["alice"] and report.authors.n == 1
    assert "(+5 anonymous comments)" in render(report, "html")


def test_sections_with_nothing_to_show_collapse_to_one_line() -> None:
    report = report_for_threads([(_thread(LISTICLE, ["ann", "ben", "cy"]), [made_scores(0.1)] * 3, None)])
    html = render(report, "html")
    collapsed = re.findall(r'<section id="([a-z-]+)" class="collapsed"><h2>([^<]+)</h2> <span class="empty">', html)
    assert collapsed == [
        ("stance-chains", "Stance along reply chains"),
        ("flagged", "Flagged and held comments"),
        ("replies", "Replies and heated sub-threads"),
        ("activity", "Activity over time"),
        ("authors", "Authors with the highest flag rates"),
    ]
    assert "The source shows no timestamps." in html and "No replies: every comment is top level." in html
    # No votes: the most toxic comments stay, without an empty vote ranking beside them.
    assert "<h2>Most toxic comments" in html and "Most voted" not in html
    assert "Stance by reply depth" not in html and "Comments per" not in html and "Mean TOXICITY" not in html


def test_histograms_draw_the_flag_threshold_and_the_deciding_policys() -> None:
    thread, scores = tiny_thread()
    report = report_for_threads([(thread, scores, None)])
    toxicity = report.attributes[0]
    assert (toxicity.name, toxicity.review, toxicity.reject) == ("TOXICITY", 0.5, 0.9)
    chart = _chart(render(report, "html"), "TOXICITY scores")
    assert chart.count('class="threshold"') == 4  # two lines, two labels
    assert ">flag, review 0.5</text>" in chart and ">reject 0.9</text>" in chart
    assert [tick for tick in re.findall(r'class="tick">([^<]+)<', chart)] == ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    assert 'viewBox="0 0 340 ' in chart  # a third of the page: drawn at its size, so its 12px labels read
    own = Policy(thresholds={"TOXICITY": Thresholds(review=0.3)})
    mine = report_for_threads([(thread, scores, None)], policy=own).attributes[0]
    assert (mine.review, mine.reject) == (0.3, None)
    other = [decide(own, c.text, s.attributes) for c, s in zip(thread.comments, scores, strict=True)]
    stored = report_for_threads([(thread, scores, other)]).attributes[0]  # decided by a policy not at hand
    assert (stored.review, stored.reject) == (None, None)


def test_the_header_names_the_article_not_a_local_file_or_an_internal_key() -> None:
    thread, scores = tiny_thread()
    scope = Scope(kind="thread", source="/home/editor/downloads/page.html")
    report = report_for_threads([(thread, scores, None)], scope=scope, models=["english: small [149c787387cb]"])
    html = render(report, "html")
    header = html[html.index("<header>") : html.index("</header>")]
    assert '<h1><a href="https://news.example.org/tiny">Tiny article</a></h1>' in header
    assert "news.example.org" in header
    for hidden in ("/home/editor", "149c787387cb", report.decisions.policies[0]):
        assert hidden not in header
        assert hidden in html[html.index("<footer") :] or hidden == "/home/editor"
    assert "/home/editor" not in html


def test_stance_names_its_title_and_warns_when_the_title_takes_no_position() -> None:
    assert not_argumentative(STORY) == "a personal story"
    assert not_argumentative(LISTICLE) == "a how-to or a list"
    assert not_argumentative("Why the council must stop the harbour plan") is None
    assert not_argumentative("Tiny article") is None and not_argumentative(None) is None
    report: Report = report_for_threads([(_thread(STORY, ["ann"]), [made_scores(0.1, stance="favor")], None)])
    assert report.threads[0].not_argumentative == "a personal story"
    html = render(report, "html")
    assert "Stance toward the title" in html and f"Toward “{STORY}”." in html.replace("&#39;", "'")
    assert "The title reads as a personal story, not a claim to be for or against." in html
    markdown = render(report, "md")
    assert "### Stance toward the title" in markdown and "the title reads as a personal story" in markdown
    plain = render(report_for_threads([(_thread("Tiny article", ["ann"]), [made_scores(0.1)], None)]), "html")
    assert "Toward “Tiny article”." in plain and "reads as" not in plain
