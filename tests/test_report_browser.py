"""The HTML report in real headless Chromium (Debian's ``chromium``, driven as tests/browser.py says), with
no network. Each page must draw its charts (every ``svg.chart`` holds shapes), log no console error,
run no script, request nothing but itself, and print to PDF; a full-page screenshot and the PDF are
kept under ``test-artifacts/`` (with the page itself) as test artefacts.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import pytest

from moderation.extraction import Source, extract
from moderation.models.scorer import Scorer
from moderation.reports import render, report_for_source, report_for_threads
from moderation.scores import CommentScores, LabelScores, SpanScore
from moderation.thread import Article, Comment, Thread, Votes
from tests.browser import WIDTH, Browser, errors, requests
from tests.conftest import EXAMPLE, REPO

ARTIFACTS = REPO / "test-artifacts"
RICHEST_PAGE = "exports/reddit/graw-thread.json"  # the most comments in ../shared/data/pages/INDEX.tsv
# 86 flat comments from Disqus' no-script fallback: no reply, vote or date, "Guest" authors, <pre><code> inside.
DISQUS_PAGE = "trafilatura/toptal.com.html"


PROBE = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const shapes = [...svg.querySelectorAll('rect, path, line, circle, polygon, polyline')];
    return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
            shapes: shapes.length, drawn: shapes.filter(s => s.getBBox().width * s.getBBox().height > 0).length};
  });
  return {title: document.title, charts, scripts: document.scripts.length,
          marks: document.querySelectorAll('mark').length, canvases: document.querySelectorAll('canvas').length,
          sections: [...document.querySelectorAll('section h2')].map(h => h.textContent.trim()),
          collapsed: [...document.querySelectorAll('section.collapsed')].map(s => s.id),
          header: document.querySelector('main > header').innerText,
          thresholds: document.querySelectorAll('svg.chart line.threshold').length,
          markup: /<\\/?(pre|code|p|br)\\b/i.test(document.body.innerText),
          height: document.documentElement.scrollHeight, pwned: window.pwned === true};
})()"""


def check_page(browser: Browser, html: Path, name: str) -> dict[str, Any]:
    """Load ``html``, check it as the module docstring says, keep its screenshot and PDF; the probe's findings."""
    browser.send("Page.navigate", {"url": html.as_uri()})
    browser.wait_for("Page.loadEventFired")
    probe = browser.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True})["result"]["value"]
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(html, ARTIFACTS / f"{name}.html")
    height = min(int(probe["height"]), 16000)
    shot = browser.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
        },
    )
    png = base64.b64decode(shot["data"])
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    pdf = base64.b64decode(browser.send("Page.printToPDF", {"printBackground": True})["data"])
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)

    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert pdf.startswith(b"%PDF")
    assert probe["charts"] or probe["canvases"], "no chart on the page"
    for chart in probe["charts"]:
        assert chart["width"] > 100 and chart["height"] > 20, chart
        assert chart["drawn"] > 0, f"chart {chart['label']!r} draws nothing"
    assert probe["scripts"] == 0 and not probe["pwned"]
    assert errors(browser.events) == []
    assert [url for url in requests(browser.events) if url != html.as_uri()] == []
    return probe


def _scores(toxicity: float, stance: str = "favor") -> CommentScores:
    spans = [SpanScore(begin=0, end=14, attributes={"TOXICITY": toxicity})]
    return CommentScores(
        sentiment=LabelScores(label="negative", probabilities={"negative": 0.7, "neutral": 0.2, "positive": 0.1}),
        stance=LabelScores(label=stance, probabilities={"against": 0.1, "neutral": 0.1, "favor": 0.8}),
        toxicity=LabelScores(label="toxic", probabilities={"not_toxic": 1 - toxicity, "toxic": toxicity}),
        attributes={"TOXICITY": toxicity},
        spans=spans,
    )


def test_a_hostile_comment_is_shown_as_text_and_runs_nothing(browser: Browser, tmp_path: Path) -> None:
    hostile = "<script>window.pwned = true; console.error('ran')</script><img src=x onerror=\"window.pwned=true\">"
    thread = Thread(
        article=Article(title="A test article", url="javascript:alert(1)"),
        comments=[
            Comment(id="a", author="<b>mallory</b>", text=hostile, position=0, votes=Votes(score=3)),
            Comment(id="b", parent="a", author="bob", text="You are an idiot and a liar.", position=1),
        ],
        source_format="json",
    )
    report = report_for_threads([(thread, [_scores(0.2), _scores(0.95, "against")], None)])
    page = tmp_path / "hostile.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    probe = check_page(browser, page, "report-hostile")
    assert probe["title"] == "Report: A test article"
    assert probe["marks"] >= 1


@pytest.mark.shared_data
def test_the_report_of_the_richest_page_draws_every_chart(
    browser: Browser, shared_data: Path, tmp_path: Path, bundled_scorer: Scorer
) -> None:
    report = report_for_source(Source.from_path(shared_data / "pages" / RICHEST_PAGE), bundled_scorer)
    page = tmp_path / "richest.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    probe = check_page(browser, page, "report-richest-page")
    assert report.counts.comments > 150 and report.activity is not None
    labels = " ".join(chart["label"] for chart in probe["charts"])
    for expected in ("Sentiment", "Stance toward the title", "Decisions", "Stance by reply depth", "Comments per"):
        assert expected in labels
    assert "TOXICITY scores" in labels
    assert probe["marks"] >= 1
    assert probe["collapsed"] == [] and probe["thresholds"] >= 6
    assert "reddit.com" in probe["header"] and str(shared_data) not in probe["header"]
    assert "published 2013-04-15" in probe["header"] and "policy" not in probe["header"]


@pytest.mark.shared_data
def test_a_page_without_replies_votes_or_dates_collapses_those_sections(
    browser: Browser, shared_data: Path, tmp_path: Path, bundled_scorer: Scorer
) -> None:
    report = report_for_source(Source.from_path(shared_data / "pages" / DISQUS_PAGE), bundled_scorer)
    page = tmp_path / "disqus.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    probe = check_page(browser, page, "report-disqus-page")
    assert report.counts.comments == 86 and report.counts.anonymous == 3  # "Guest" three times: no author
    assert {"stance-chains", "replies", "activity"} <= set(probe["collapsed"])
    assert not probe["markup"], "markup that Disqus printed as text is shown as text"
    assert "toptal.com" in probe["header"] and str(shared_data) not in probe["header"]
    assert "Most toxic comments" in " ".join(probe["sections"])


def test_the_seed_report_renders_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    seed = extract(Source.from_path(EXAMPLE))
    report = report_for_threads([(seed, [_scores(0.1)] * len(seed.comments), None)])
    page = tmp_path / "seed.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    probe = check_page(browser, page, "report-seed")
    assert "Territorial disputes" in probe["title"]
