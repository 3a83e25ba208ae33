"""Reports: figures pinned on a hand-built thread, every format of the seed and real pages, the JSON
Schema, escaping of untrusted text, the stored-thread report, the CLI command and the API routes."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from moderation.cli import app
from moderation.decisions import apply_policy, moderate
from moderation.errors import InputError, NotFoundError
from moderation.extraction import Source
from moderation.language import with_languages
from moderation.models.scorer import Scorer
from moderation.policy import Policy
from moderation.reports import (
    FORMATS,
    Report,
    committed_schema,
    json_schema,
    render,
    report_for_source,
    report_for_threads,
    report_from_store,
)
from moderation.scores import CommentScores, LabelScores, SpanScore
from moderation.storage import make_engine, repository, transaction
from moderation.thread import Article, Comment, Thread, Votes
from tests.conftest import EXAMPLE

runner = CliRunner()
REAL_PAGES = (
    "trafilatura/taz.de.html",
    "article-extraction-benchmark/bigbrandsystem.com.html",
    "article-extraction-benchmark/profootballtalk.nbcsports.com.html",
)
SENTIMENTS = ("negative", "neutral", "positive")
STANCES = ("against", "neutral", "favor")


@pytest.fixture
def scorer(bundled_scorer: Scorer) -> Scorer:
    """The bundled model, loaded once for the session (conftest's ``bundled_scorer``)."""
    return bundled_scorer


def _probabilities(labels: tuple[str, ...], label: str) -> dict[str, float]:
    return {name: (0.8 if name == label else 0.1) for name in labels}


def made_scores(
    toxicity: float,
    sentiment: str = "neutral",
    stance: str | None = "neutral",
    *,
    extra: dict[str, float] | None = None,
    spans: list[SpanScore] | None = None,
) -> CommentScores:
    """Scores written by hand, so every figure is known exactly."""
    return CommentScores(
        sentiment=LabelScores(label=sentiment, probabilities=_probabilities(SENTIMENTS, sentiment)),
        stance=LabelScores(label=stance, probabilities=_probabilities(STANCES, stance)) if stance else None,
        toxicity=LabelScores(
            label="toxic" if toxicity >= 0.5 else "not_toxic",
            probabilities={"not_toxic": 1 - toxicity, "toxic": toxicity},
        ),
        attributes={"TOXICITY": toxicity, **(extra or {})},
        spans=spans or [],
        experimental=sorted(extra or {}),
    )


def at(hour: int, minute: int) -> datetime:
    return datetime(2024, 5, 1, hour, minute, tzinfo=timezone.utc)


def tiny_thread() -> tuple[Thread, list[CommentScores]]:
    """a <- b <- c, d <- e, f: three sub-threads, six comments, one undated, one anonymous."""
    rows = [
        ("a", None, "alice", at(10, 5), 10, "Idiot. The rest is calm.", made_scores(
            0.9, "negative", "against", extra={"INSULT": 0.4},
            spans=[SpanScore(begin=0, end=6, attributes={"TOXICITY": 0.92}),
                   SpanScore(begin=7, end=24, attributes={"TOXICITY": 0.1})])),
        ("b", "a", "bob", at(10, 40), 2, "You are wrong about that.", made_scores(0.6, "negative", "against")),
        ("c", "b", "alice", at(11, 10), None, "Fair enough, I agree.", made_scores(0.2, "positive", "favor")),
        ("d", None, "carol", at(12, 0), 5, "Good article.", made_scores(0.1, "positive", "favor")),
        ("e", "d", "alice", None, None, "Hm.", made_scores(0.05, "neutral", "neutral")),
        ("f", None, None, at(13, 30), None, "What a fool.", made_scores(
            0.3, "negative", "against", extra={"INSULT": 0.7})),
    ]  # fmt: skip
    comments = [
        Comment(id=cid, parent=parent, author=author, published=when, text=text, position=i, votes=Votes(score=votes))
        for i, (cid, parent, author, when, votes, text, _) in enumerate(rows)
    ]
    thread = Thread(
        article=Article(title="Tiny article", url="https://news.example.org/tiny"),
        comments=comments,
        source_format="json",
    )
    return thread, [row[-1] for row in rows]


@pytest.fixture(scope="module")
def tiny_report() -> Report:
    thread, scores = tiny_thread()
    return report_for_threads([(thread, scores, None)])


def buckets(figure: Any) -> dict[str, tuple[int, float]]:
    return {b.label: (b.count, b.share) for b in figure.buckets}


def test_counts_and_distributions_state_their_denominators(tiny_report: Report) -> None:
    r = tiny_report
    assert r.schema_version == "1" and r.title == "Tiny article" and r.scope.kind == "thread"
    c = r.counts
    assert (c.threads, c.comments, c.scored, c.authors, c.anonymous) == (1, 6, 6, 3, 1)
    assert (c.top_level, c.replies, c.undated, c.excluded) == (3, 3, 1, 0)
    assert r.sentiment.n == 6 and r.sentiment.small_sample
    assert buckets(r.sentiment) == {"negative": (3, 0.5), "neutral": (1, 0.1667), "positive": (2, 0.3333)}
    assert buckets(r.stance) == {"against": (3, 0.5), "neutral": (1, 0.1667), "favor": (2, 0.3333)}


def test_stance_along_reply_chains(tiny_report: Report) -> None:
    by_depth = {d.depth: (d.distribution.n, buckets(d.distribution)) for d in tiny_report.stance_by_depth}
    assert by_depth[0] == (3, {"against": (2, 0.6667), "neutral": (0, 0.0), "favor": (1, 0.3333)})
    assert by_depth[1] == (2, {"against": (1, 0.5), "neutral": (1, 0.5), "favor": (0, 0.0)})
    assert by_depth[2] == (1, {"against": (0, 0.0), "neutral": (0, 0.0), "favor": (1, 1.0)})
    transitions = tiny_report.stance_transitions
    # a->b against->against, b->c against->favor, d->e favor->neutral
    assert (transitions.same_as_parent.count, transitions.same_as_parent.n) == (1, 3)
    assert transitions.same_as_parent.rate == 0.3333
    rows = {row.parent: (row.replies.n, buckets(row.replies)) for row in transitions.rows}
    assert rows["against"] == (2, {"against": (1, 0.5), "neutral": (0, 0.0), "favor": (1, 0.5)})
    assert rows["favor"] == (1, {"against": (0, 0.0), "neutral": (1, 1.0), "favor": (0, 0.0)})
    assert rows["neutral"][0] == 0


def test_attribute_rates_histograms_and_experimental_marks(tiny_report: Report) -> None:
    toxicity, insult = tiny_report.attributes
    assert (toxicity.name, toxicity.n, toxicity.flagged, toxicity.rate) == ("TOXICITY", 6, 2, 0.3333)
    assert (toxicity.mean, toxicity.max, toxicity.experimental) == (0.3583, 0.9, False)
    assert toxicity.histogram.counts == [1, 1, 1, 1, 0, 0, 1, 0, 0, 1]
    assert toxicity.histogram.edges[0] == 0.0 and toxicity.histogram.edges[-1] == 1.0
    assert (insult.name, insult.n, insult.flagged, insult.rate, insult.experimental) == ("INSULT", 2, 1, 0.5, True)
    assert insult.small_sample


def test_decisions_and_reasons_come_from_the_policy(tiny_report: Report) -> None:
    d = tiny_report.decisions
    assert buckets(d.actions) == {"approve": (3, 0.5), "review": (2, 0.3333), "reject": (1, 0.1667)}
    assert (d.undecided, d.by_moderator, d.policies) == (0, 0, [Policy.default().digest])
    assert [(x.code, x.attribute, x.count) for x in d.reasons] == [
        ("attribute_reject", "TOXICITY", 1),
        ("attribute_review", "INSULT", 1),
        ("attribute_review", "TOXICITY", 1),
    ]


def test_flagged_comments_rank_rejects_first_and_carry_span_highlights(tiny_report: Report) -> None:
    flagged = tiny_report.flagged
    # f is held (the policy reviews INSULT 0.7) but its INSULT is experimental here: it ranks by TOXICITY 0.3.
    assert flagged.n == 3 and [c.id for c in flagged.comments] == ["a", "b", "f"]
    held_only = flagged.comments[2]
    assert (held_only.decision, held_only.top_attribute, held_only.top_score) == ("review", "TOXICITY", 0.3)
    first = flagged.comments[0]
    assert (first.decision, first.top_attribute, first.top_score) == ("reject", "TOXICITY", 0.9)
    assert [(h.begin, h.end, h.label, h.score) for h in first.highlights] == [(0, 6, "TOXICITY", 0.92)]
    assert first.reasons == ["TOXICITY 0.9 is at or above the reject threshold 0.9"]


def test_most_voted_against_most_toxic(tiny_report: Report) -> None:
    votes = tiny_report.votes
    assert votes.most_voted.n == 3 and [c.id for c in votes.most_voted.comments] == ["a", "d", "b"]
    assert [c.id for c in votes.most_toxic.comments] == ["a", "b", "f", "c", "d"]
    assert votes.in_both == 3
    assert (votes.correlation.n, votes.correlation.spearman) == (3, 0.5)


def test_reply_depth_and_heated_sub_threads(tiny_report: Report) -> None:
    replies = tiny_report.replies
    assert buckets(replies.depth) == {"0": (3, 0.5), "1": (2, 0.3333), "2": (1, 0.1667)}
    assert replies.max_depth == 2 and replies.orphans == 0
    depth = {s.depth: (s.n, s.mean_toxicity, s.flagged) for s in replies.toxicity_by_depth}
    # f's INSULT 0.7 is experimental here: it never flags, so only a flags at the top level.
    assert depth == {0: (3, 0.4333, 1), 1: (2, 0.325, 1), 2: (1, 0.2, 0)}
    # b replies to flagged a and is flagged; c replies to flagged b and is not; e replies to unflagged d.
    assert (replies.replies_to_flagged.count, replies.replies_to_flagged.n) == (1, 2)
    assert (replies.replies_to_unflagged.count, replies.replies_to_unflagged.n) == (0, 1)
    heated = tiny_report.heated_subthreads
    assert heated.n == 2 and [s.root.id for s in heated.items] == ["a", "d"]
    top = heated.items[0]
    assert (top.size, top.flagged, top.mean_toxicity, top.max_toxicity, top.max_depth) == (3, 2, 0.5667, 0.9, 2)
    assert [(s.depth, s.mean_toxicity) for s in top.toxicity_by_depth] == [(0, 0.9), (1, 0.6), (2, 0.2)]


def test_activity_per_hour_and_authors_flag_rates(tiny_report: Report) -> None:
    activity = tiny_report.activity
    assert activity is not None and activity.unit == "hour" and (activity.n, activity.undated) == (5, 1)
    assert [(b.start.hour, b.comments, b.flagged) for b in activity.buckets] == [
        (10, 2, 2),
        (11, 1, 0),
        (12, 1, 0),
        (13, 1, 0),  # f: only its experimental INSULT is at or above 0.5
    ]
    authors = tiny_report.authors
    assert (authors.n, authors.min_comments) == (1, 3)
    [alice] = authors.authors
    assert (alice.author, alice.n, alice.flagged, alice.rate, alice.held, alice.small_sample) == (
        "alice",
        3,
        1,
        0.3333,
        1,
        True,
    )


def test_a_period_counts_only_comments_published_in_it() -> None:
    thread, scores = tiny_thread()
    report = report_for_threads([(thread, scores, None)], since=at(10, 30), until=at(12, 30))
    assert [c.id for c in report.comments] == ["b", "c", "d"]
    assert report.counts.comments == 3 and report.threads[0].comments == 3
    assert [c.depth for c in report.comments] == [1, 2, 0]  # depth stays the thread's
    assert report.stance_transitions.same_as_parent.n == 1
    assert report.scope.since == at(10, 30) and report.scope.until == at(12, 30)
    with pytest.raises(InputError, match="before until"):
        report_for_threads([(thread, scores, None)], since=at(12, 0), until=at(10, 0))


def test_unscored_comments_are_counted_but_left_out_of_score_figures() -> None:
    thread, scores = tiny_thread()
    report = report_for_threads([(thread, [None, *scores[1:]], None)])
    assert report.counts.comments == 6 and report.counts.scored == 5
    assert report.sentiment.n == 5 and report.decisions.undecided == 1
    with pytest.raises(InputError, match="5 scores for 6 comments"):
        report_for_threads([(thread, scores[1:], None)])


def test_an_empty_report_renders_in_every_format() -> None:
    report = report_for_threads([], title="Nothing yet")
    assert report.counts.comments == 0 and report.activity is None and report.sentiment.small_sample
    for format in FORMATS:
        assert render(report, format)
    assert "No data for sentiment" in render(report, "html")


def test_the_json_follows_the_committed_schema(tiny_report: Report) -> None:
    assert committed_schema() == json_schema(), "the model changed: run python -m moderation.reports"
    jsonschema.Draft202012Validator.check_schema(committed_schema())
    document = json.loads(render(tiny_report, "json"))
    jsonschema.validate(document, committed_schema(), cls=jsonschema.Draft202012Validator)
    assert Report.model_validate(document) == tiny_report


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> | **bold** [link](javascript:alert(1))'


def hostile_report() -> Report:
    thread = Thread(
        article=Article(title="<b>Title</b>", url="javascript:alert(1)"),
        comments=[
            Comment(id="x", author="<i>mallory</i>", text=HOSTILE, position=0),
            Comment(id="y", author='=HYPERLINK("http://evil")', text="-2+3 is a formula", position=1),
        ],
        source_format="json",
    )
    flagged = made_scores(0.95, spans=[SpanScore(begin=0, end=8, attributes={"TOXICITY": 0.95})])
    return report_for_threads([(thread, [flagged, made_scores(0.1)], None)])


def test_html_escapes_every_piece_of_comment_text() -> None:
    html = render(hostile_report(), "html")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;i&gt;mallory&lt;/i&gt;" in html
    assert '<mark title="TOXICITY 0.95">&lt;script&gt;</mark>' in html
    assert 'href="javascript' not in html
    assert not re.search(r"<[^>]*\s(src|href)=", html.replace('<a href="https://', ""))  # no asset, no link
    assert "<link" not in html and "url(" not in html


def test_markdown_and_csv_keep_comment_text_inert() -> None:
    report = hostile_report()
    markdown = render(report, "md")
    assert "<script>" not in markdown and "\\<script\\>" in markdown and "\\[link\\]" in markdown
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [row["comment_id"] for row in rows] == ["x", "y"]
    assert rows[0]["text"] == HOSTILE
    assert rows[1]["author"].startswith("'=") and rows[1]["text"].startswith("'-2+3")


def test_csv_has_one_row_per_comment_with_every_score(tiny_report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render(tiny_report, "csv"))))
    assert len(rows) == 6
    first = rows[0]
    assert first["comment_id"] == "a" and first["decision"] == "reject" and first["flagged"] == "1"
    assert float(first["TOXICITY"]) == 0.9 and float(first["INSULT"]) == 0.4
    assert first["sentiment"] == "negative" and float(first["sentiment_negative"]) == 0.8
    assert first["stance"] == "against" and float(first["stance_favor"]) == 0.1
    assert first["reasons"] == "attribute_reject:TOXICITY" and first["depth"] == "0"
    assert rows[4]["published"] == "" and rows[2]["depth"] == "2"


def check_every_format(report: Report) -> None:
    document = json.loads(render(report, "json"))
    jsonschema.validate(document, committed_schema(), cls=jsonschema.Draft202012Validator)
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == report.counts.comments
    markdown = render(report, "md")
    assert markdown.startswith("# ") and "## Toxicity" in markdown
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>") and html.count('<svg class="chart"') >= 4
    assert "<script" not in html and "<link" not in html


def test_the_seed_yields_a_report_in_every_format(scorer: Scorer) -> None:
    report = report_for_source(Source.from_path(EXAMPLE), scorer)
    assert report.counts.comments == 1 and report.threads[0].title.startswith("Territorial disputes")
    assert report.models == [scorer.name] and report.sentiment.small_sample
    check_every_format(report)
    assert {f for f in FORMATS} == {"json", "md", "html", "csv"}


@pytest.mark.shared_data
@pytest.mark.parametrize("page", REAL_PAGES)
def test_real_pages_yield_reports_in_every_format(scorer: Scorer, shared_data: Path, page: str) -> None:
    report = report_for_source(Source.from_path(shared_data / "pages" / page), scorer, spans=False)
    assert report.counts.comments >= 10 and report.counts.scored == report.counts.comments
    assert report.decisions.actions.n == report.counts.comments
    check_every_format(report)


def store_tiny(url: str) -> tuple[Any, int]:
    engine = make_engine(url)
    thread, scores = tiny_thread()
    with transaction(engine) as session:
        saved = repository.save_thread(session, thread)
        repository.save_scores(session, saved, thread, scores, "hand-made")
        apply_policy(session, Policy.default(), saved, thread, scores)
        thread_id = saved.id
    return engine, thread_id


def test_the_stored_report_reads_stored_scores_and_decisions(tmp_path: Path, tiny_report: Report) -> None:
    engine, thread_id = store_tiny(f"sqlite:///{tmp_path / 'store.db'}")
    with transaction(engine) as session:
        stored = report_from_store(session, thread_id)
    assert stored.models == ["hand-made"] and stored.threads[0].thread_id == thread_id
    same = {"generated_at", "scope", "models", "threads"}
    assert stored.model_dump(exclude=same) == tiny_report.model_dump(exclude=same)
    with transaction(engine) as session:
        comment_id = next(c.id for c in repository.list_comments(session, thread_id).items if c.source_id == "d")
        moderate(session, comment_id, "reject", actor="editor")
    with transaction(engine) as session:
        site = report_from_store(session, site="www.news.example.org", since=date(2024, 5, 1))
        elsewhere = report_from_store(session, site="elsewhere.example")
        with pytest.raises(NotFoundError):
            report_from_store(session, thread_id + 1)
    assert site.scope.kind == "site" and site.scope.site == "news.example.org" and site.counts.comments == 5
    assert site.decisions.by_moderator == 1 and buckets(site.decisions.actions)["reject"][0] == 2
    assert elsewhere.counts.threads == 0 and elsewhere.sentiment.n == 0
    engine.dispose()


def test_the_report_command_reads_stored_threads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine, thread_id = store_tiny(url)
    engine.dispose()
    result = runner.invoke(app, ["report", f"thread:{thread_id}", "--to", "json", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["comments"] == 6
    out = tmp_path / "site.csv"
    result = runner.invoke(app, ["report", "db", "-o", str(out), "--database-url", url, "--since", "2024-05-01T11:00Z"])
    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))) == 3  # c, d, f


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "4242"], "no thread 4242"),
        (["report", "thread:abc"], "thread:ID"),
        (["report", "db", "--since", "yesterday"], "not an ISO date"),
        (["report", "db", "--to", "pdf"], "unknown report format"),
        (["report", "no-such-page.html"], "cannot read"),
    ],
)
def test_report_mistakes_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_report_command_scores_a_page_in_memory(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Scorer, "load", classmethod(lambda cls, *args, **kwargs: scorer))
    out = tmp_path / "seed.md"
    url = f"sqlite:///{tmp_path / 'untouched.db'}"
    result = runner.invoke(app, ["report", str(EXAMPLE), "-o", str(out), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Territorial disputes")
    assert not (tmp_path / "untouched.db").exists()


def store_in_client(client: Any) -> int:
    thread, scores = tiny_thread()
    with transaction(client.app.state.app_state.engine) as session:
        saved = repository.save_thread(session, thread)
        repository.save_scores(session, saved, thread, scores, "hand-made")
        apply_policy(session, Policy.default(), saved, thread, scores)
        thread_id: int = saved.id
    return thread_id


def test_the_api_serves_a_thread_report_in_every_format(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=("read",))
    thread_id = store_in_client(client)
    answer = client.get(f"/v1/threads/{thread_id}/report")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    jsonschema.validate(answer.json(), committed_schema(), cls=jsonschema.Draft202012Validator)
    assert answer.json()["counts"]["comments"] == 6
    html = client.get(f"/v1/threads/{thread_id}/report.html")
    assert html.headers["content-type"].startswith("text/html") and '<svg class="chart"' in html.text
    markdown = client.get(f"/v1/threads/{thread_id}/report.md")
    assert markdown.headers["content-type"].startswith("text/markdown") and markdown.text.startswith("# Tiny")
    table = client.get(f"/v1/threads/{thread_id}/report.csv", params={"since": "2024-05-01T11:00:00Z"})
    assert table.headers["content-type"].startswith("text/csv") and len(table.text.strip().splitlines()) == 4


def test_the_api_serves_site_and_period_reports(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=("read",))
    store_in_client(client)
    site = client.get("/v1/reports", params={"since": "2024-05-01", "until": "2024-05-01T12:00:00"})
    assert site.status_code == 200 and site.json()["scope"]["kind"] == "site"
    assert site.json()["counts"]["comments"] == 3
    assert client.get("/v1/reports", params={"format": "html"}).text.startswith("<!DOCTYPE html>")
    assert client.get("/v1/reports", params={"site": "nowhere.example"}).json()["counts"]["threads"] == 0


def test_the_api_answers_problems(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=("read",))
    missing = client.get("/v1/threads/999/report.html")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/reports", params={"since": "2024-06-01", "until": "2024-05-01"}).status_code == 422
    assert client.get("/v1/reports", params={"format": "pdf"}).status_code == 422
    assert make_client(scopes=None).get("/v1/reports").status_code == 401


def test_languages_are_counted_and_shown_in_every_format() -> None:
    thread, scores = tiny_thread()
    texts = {
        "a": "Das ist ein dummer Artikel, und der Autor sollte sich schämen.",
        "b": "Die Regierung hat wieder einmal nichts verstanden.",
        "d": "Un article très intéressant, merci beaucoup.",
    }
    comments = [c.model_copy(update={"text": texts.get(c.id, c.text)}) for c in thread.comments]
    comments[5] = comments[5].model_copy(update={"language": "en"})  # "What a fool.": given by the source
    detected = with_languages(thread.model_copy(update={"comments": comments}))
    report = report_for_threads([(detected, scores, None)])
    assert report.languages is not None and report.languages.n == 6
    # Most frequent first, then by code; "und" ("Hm.": too little to tell) last.
    assert [(b.label, b.count) for b in report.languages.buckets] == [("de", 2), ("en", 2), ("fr", 1), ("und", 1)]
    records = {r.id: r for r in report.comments}
    assert records["a"].language == "de" and 0.5 <= (records["a"].language_confidence or 0) <= 1
    assert records["f"].language == "en" and records["f"].language_confidence is None
    assert records["e"].language is None and records["e"].language_confidence is None

    document = json.loads(render(report, "json"))
    jsonschema.validate(document, committed_schema(), cls=jsonschema.Draft202012Validator)
    assert [b["label"] for b in document["languages"]["buckets"]] == ["de", "en", "fr", "und"]
    rows = {row["comment_id"]: row for row in csv.DictReader(io.StringIO(render(report, "csv")))}
    assert rows["a"]["language"] == "de" and 0.5 <= float(rows["a"]["language_confidence"]) <= 1
    assert (rows["f"]["language"], rows["f"]["language_confidence"]) == ("en", "")
    assert (rows["e"]["language"], rows["e"]["language_confidence"]) == ("", "")
    markdown = render(report, "md")
    assert "### Languages (n=6 (small sample))" in markdown
    assert re.search(r"^\| de \| 2 \| 33% \|$", markdown, re.MULTILINE), markdown
    assert re.search(r"^\| und \| 1 \|", markdown, re.MULTILINE)
    html = render(report, "html")
    assert "<h3>Languages <small>" in html
    assert '<span class="lang" title="language">de</span>' in html
