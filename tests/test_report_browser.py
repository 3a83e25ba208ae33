"""The HTML report in real headless Chromium (Debian's ``chromium``), with no network.

Chromium is driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``: JSON
messages ending in NUL on file descriptors 3 and 4), so no port is opened and no client package is
needed. Each page must draw its charts (every ``svg.chart`` holds shapes), log no console error,
run no script, request nothing but itself, and print to PDF; a full-page screenshot and the PDF are
kept under ``test-artifacts/`` (with the page itself) as test artefacts.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moderation.extraction import Source, extract
from moderation.models.scorer import CommentScores, LabelScores, Scorer, SpanScore
from moderation.reports import render, report_for_source, report_for_threads
from moderation.thread import Article, Comment, Thread, Votes
from tests.conftest import EXAMPLE, REPO

ARTIFACTS = REPO / "test-artifacts"
RICHEST_PAGE = "exports/reddit/graw-thread.json"  # the most comments in ../shared/data/pages/INDEX.tsv
NO_NETWORK = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
WIDTH, HEIGHT = 1280, 900
TIMEOUT = 60.0


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _install_chromium() -> str:
    """Debian's chromium via apt-get (as root); the reason it cannot be had otherwise."""
    if os.geteuid() != 0:
        return "chromium is not installed and installing it needs root (apt-get install -y chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(command)} failed: {exc}"
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}"
    return ""


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable, installed with apt-get when missing; a failure under CI, else a skip."""
    found = _find_chromium()
    if found is None:
        problem = _install_chromium()
        found = _find_chromium()
        if found is None:
            message = problem or "apt-get installed chromium but no chromium executable was found"
            if os.environ.get("CI"):
                pytest.fail(message + "; CI must run the browser check")
            pytest.skip(message)
    return found


def _above_nine(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    """One headless Chromium and a DevTools session over its debugging pipe."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4: bash moves the pipe ends there,
        # from numbers above 9 so that neither end is already 3 or 4.
        to_browser, from_browser = (_above_nine(fd) for fd in (to_browser, from_browser))
        script = f'exec "$@" 3<&{to_browser} 4>&{from_browser} {to_browser}<&- {from_browser}>&-'
        flags = [*NO_NETWORK, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}"]
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                ["bash", "-c", script, "chromium", executable, *flags, "--remote-debugging-pipe", "about:blank"],
                pass_fds=(to_browser, from_browser),
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        os.close(to_browser)
        os.close(from_browser)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        threading.Thread(target=self._reader, daemon=True).start()
        self.session: str | None = None

    def _reader(self) -> None:
        buffer = b""
        while chunk := os.read(self._read, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                self._messages.put(json.loads(message))
        self._messages.put(None)

    def send(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False) -> dict[str, Any]:
        """Send a command (to the page's session unless ``browser``) and wait for its answer."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if not browser and self.session is not None:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._next()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result
            self.events.append(answer)

    def _next(self) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=TIMEOUT)
        except queue.Empty:
            raise TimeoutError("chromium did not answer in time") from None
        if message is None:
            raise RuntimeError(f"chromium closed its pipe (exit code {self.process.poll()})")
        return message

    def wait_for(self, method: str) -> dict[str, Any]:
        for seen in self.events:
            if seen.get("method") == method:
                return seen
        while True:
            event = self._next()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True)
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", browser=True)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    started = Browser(chromium, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        started.open_page()
        yield started
    finally:
        started.close()


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
          height: document.documentElement.scrollHeight, pwned: window.pwned === true};
})()"""


def _errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and error log entries (failed loads among them)."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(str(params.get("exceptionDetails", {}).get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(str(params["entry"].get("text")))
    return found


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]


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
    assert _errors(browser.events) == []
    assert [url for url in _requests(browser.events) if url != html.as_uri()] == []
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
    for expected in ("Sentiment", "Stance toward the article", "Decisions", "Stance by reply depth", "Comments per"):
        assert expected in labels
    assert "TOXICITY scores" in labels
    assert probe["marks"] >= 1


def test_the_seed_report_renders_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    seed = extract(Source.from_path(EXAMPLE))
    report = report_for_threads([(seed, [_scores(0.1)] * len(seed.comments), None)])
    page = tmp_path / "seed.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    probe = check_page(browser, page, "report-seed")
    assert "Territorial disputes" in probe["title"]
