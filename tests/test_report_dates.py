"""Dates cannot break reports (issue 18, item 6): an implausible date is dropped at ingest (the thread model,
which every input path builds) and kept as ``published_raw``; the timeline never has more than 120 buckets for
plausible dates, nor more buckets than comments for any; a date stored before the window was enforced reads
back dropped. Also item 7's last point: the Markdown report escapes the article URL."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from moderation.extraction import Source, extract_all
from moderation.reports import render, report_for_threads, report_from_store
from moderation.reports.activity import MAX_BUCKETS
from moderation.storage import make_engine, repository, transaction
from moderation.storage.tables import CommentRow
from moderation.thread import Article, Comment, Thread, plausible_date

UTC = timezone.utc


def _thread(dates: list[datetime | None], url: str = "https://news.example/a") -> Thread:
    comments = [Comment(id=str(i), text=f"comment {i}", position=i, published=d) for i, d in enumerate(dates)]
    return Thread(article=Article(url=url, title="Story"), comments=comments, source_format="json")


@pytest.mark.parametrize(
    "published",
    [
        datetime(9999, 12, 31, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59),  # no zone
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),  # past the calendar in UTC
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        datetime(1970, 1, 1, tzinfo=UTC),  # the epoch as a placeholder
        datetime(1989, 12, 31, 23, 59, tzinfo=UTC),
        datetime.now(UTC) + timedelta(days=2),
    ],
)
def test_an_implausible_comment_date_is_dropped_and_kept_raw(published: datetime) -> None:
    assert not plausible_date(published)
    comment = Comment(id="1", text="hi", position=0, published=published)
    assert comment.published is None and comment.published_raw == published.isoformat()
    # The source's own string, when it gave one, is what stays.
    shown = Comment(id="1", text="hi", position=0, published=published, published_raw="31/12/9999")
    assert shown.published is None and shown.published_raw == "31/12/9999"


@pytest.mark.parametrize(
    "published",
    [datetime(1990, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, 10, 0), datetime.now(UTC) + timedelta(hours=20)],
)
def test_a_plausible_comment_date_is_kept(published: datetime) -> None:
    comment = Comment(id="1", text="hi", position=0, published=published, published_raw="shown")
    assert comment.published == published and comment.published_raw == "shown"


def test_an_implausible_article_date_is_dropped_and_kept_raw() -> None:
    assert Article(published=date(9999, 12, 31)).published is None
    assert Article(published=date(9999, 12, 31)).published_raw == "9999-12-31"
    assert Article(published=date(1, 1, 1), published_raw="0001-01-01").published_raw == "0001-01-01"
    assert Article(published=date(2024, 1, 2)).published == date(2024, 1, 2)


def test_every_input_format_drops_implausible_dates() -> None:
    """Our thread JSON, JSON Lines and CSV rows: the window is the model's, so every extractor has it."""
    thread = {
        "article": {"url": "https://news.example/a", "title": "Story", "published": "9999-12-31"},
        "comments": [
            {"id": "1", "text": "far", "position": 0, "published": "9999-12-31T23:59:59Z"},
            {"id": "2", "text": "near", "position": 1, "published": "2024-01-02T10:00:00Z"},
        ],
    }
    [parsed] = extract_all(Source.from_bytes(json.dumps(thread).encode(), "thread.json"), "json")
    assert parsed.article.published is None and parsed.article.published_raw == "9999-12-31"
    assert [c.published is None for c in parsed.comments] == [True, False]
    assert parsed.comments[0].published_raw == "9999-12-31T23:59:59+00:00"

    rows = [
        {"id": "1", "text": "far", "published": "31 Dec 9999 23:59", "article_url": "https://news.example/b"},
        {"id": "2", "text": "old", "published": "0002-01-01", "article_url": "https://news.example/b"},
        {"id": "3", "text": "near", "published": "2024-01-02 10:00", "article_url": "https://news.example/b"},
    ]
    lines = "\n".join(json.dumps(row) for row in rows).encode()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    for data, name, form in ((lines, "rows.jsonl", "jsonl"), (out.getvalue().encode(), "rows.csv", "csv")):
        [parsed] = extract_all(Source.from_bytes(data, name), form)
        assert [c.published is None for c in parsed.comments] == [True, True, False], form
        assert [c.published_raw for c in parsed.comments] == ["31 Dec 9999 23:59", "0002-01-01", "2024-01-02 10:00"]


def _report_sizes(thread: Thread) -> dict[str, int]:
    report = report_for_threads([(thread, [None] * len(thread.comments), None)], title="far dates")
    return {form: len(render(report, form).encode()) for form in ("json", "md", "html", "csv")}


def test_comments_9997_years_apart_yield_a_small_report() -> None:
    """Before: 9999-12-31 raised ValueError (the month after it), and 0002 to 9999 made a 14 MB page."""
    dates = [datetime(2, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)]
    dropped = _thread(dates)  # through the model: two are undated
    report = report_for_threads([(dropped, [None] * 3, None)])
    assert report.counts.undated == 2 and report.activity is not None and len(report.activity.buckets) == 1
    assert all(size < 100_000 for size in _report_sizes(dropped).values())
    # A caller that sets dates past the model's check still gets a small report: no empty year buckets.
    forced = _thread([None, None, None])
    for comment, moment in zip(forced.comments, dates, strict=True):
        comment.published = moment
    report = report_for_threads([(forced, [None] * 3, None)])
    assert report.activity is not None and report.activity.unit == "year"
    assert [b.start.year for b in report.activity.buckets] == [2, 2026, 9999]
    assert all(size < 100_000 for size in _report_sizes(forced).values()), _report_sizes(forced)


def test_a_timeline_over_decades_is_counted_per_year() -> None:
    """Before, months were the coarsest unit: 37 years made 433 buckets."""
    dates = [datetime(1990 + i, 6, 1, tzinfo=UTC) for i in range(37)]
    report = report_for_threads([(_thread(dates), [None] * len(dates), None)])
    assert report.activity is not None and report.activity.unit == "year"
    assert len(report.activity.buckets) == 37 <= MAX_BUCKETS
    assert "Comments per year" in render(report, "html")


def test_a_date_stored_before_the_window_reads_back_dropped(tmp_path: Path) -> None:
    """A database written by a build without the window holds 9999-12-31: its reports still answer."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with transaction(engine) as session:
            thread_id = repository.save_thread(session, _thread([datetime(2024, 1, 2, tzinfo=UTC)] * 2)).id
        with transaction(engine) as session:
            far = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
            session.execute(update(CommentRow).where(CommentRow.source_id == "1").values(published=far))
        with transaction(engine) as session:
            for report in (report_from_store(session, thread_id), report_from_store(session)):
                assert report.counts.undated == 1
                assert all(len(render(report, form)) < 100_000 for form in ("json", "md", "html", "csv"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://news.example/a> [click](https://evil.example) <img src=x onerror=alert(1)>\n# heading",
            "Article: <https://news.example/a%3E%20[click](https://evil.example)%20%3Cimg%20src=x%20onerror=alert(1)"
            "%3E%0A#%20heading>  ",
        ),
        ("https://news.example/a?b=1&c=`x`|y", "Article: <https://news.example/a?b=1&c=%60x%60%7Cy>  "),
        ("javascript:alert(1)//<b>", "Article: javascript:alert(1)//\\<b\\>  "),
    ],
)
def test_the_markdown_report_escapes_the_article_url(url: str, shown: str) -> None:
    """Before, the URL went into ``<...>`` as it was: a ``>`` closed the link and the rest was Markdown."""
    report = report_for_threads([(_thread([None], url=url), [None], None)])
    lines = render(report, "md").splitlines()
    assert shown in lines
    assert not any(line.startswith("# heading") for line in lines)
