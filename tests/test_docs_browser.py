"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) render the API's operations in real headless Chromium with no
network beyond 127.0.0.1 (tests/browser.py), served by a real uvicorn server: every script and style comes
from the desk itself (service/docs.py), none from a CDN. Screenshots are kept under ``test-artifacts/``."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from tests.browser import Browser, errors, requests
from tests.conftest import ONE_THREAD, REPO, LiveServer, StartServer

ARTIFACTS = REPO / "test-artifacts"
#: Routes whose operations both pages must show: ours, Perspective's and Coral's.
ROUTES = ("/v1/comments:score", "/v1/threads", "/v1alpha1/comments:analyze", "/v1/coral/moderate")
RENDER_TIMEOUT_S = 60.0
#: The one outside address the ReDoc bundle names, unconditionally: the Redocly logo beside "API docs by
#: Redocly" at the foot of its menu. Offline it fails to load and ReDoc hides the image (its ``onError``).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"

SWAGGER_PROBE = """(() => ({
  operations: [...document.querySelectorAll('.opblock')].length,
  paths: [...document.querySelectorAll('.opblock-summary-path')].map(p => p.getAttribute('data-path')),
  title: document.querySelector('.information-container .title')?.textContent ?? null,
}))()"""

REDOC_PROBE = """(() => ({
  operations: document.querySelectorAll('[data-section-id^="operation/"]').length,
  paths: [...document.querySelectorAll('[data-section-id^="operation/"]')].map(s => s.textContent),
  title: document.querySelector('h1')?.textContent ?? null,
}))()"""


@pytest.fixture(scope="module")
def server(start_server: StartServer, tiny_models_config: Any) -> LiveServer:
    return start_server(models_config=tiny_models_config, env=ONE_THREAD)


def rendered(browser: Browser, url: str, probe: str) -> dict[str, Any]:
    """Open ``url`` and evaluate ``probe`` until it finds operations (or the time is up); its last answer."""
    browser.send("Page.navigate", {"url": url})
    browser.wait_for("Page.loadEventFired")
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while True:
        found: dict[str, Any] = browser.send("Runtime.evaluate", {"expression": probe, "returnByValue": True})[
            "result"
        ]["value"]
        if found["operations"] > 0 or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def keep_screenshot(browser: Browser, name: str) -> None:
    shot = browser.send("Page.captureScreenshot", {"format": "png"})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def outside(browser: Browser, server: LiveServer) -> list[str]:
    """Every URL the page asked for that is not on the desk (``data:`` and ``blob:`` URLs aside)."""
    local = (server.base_url + "/", "data:", "blob:")
    return [url for url in requests(browser.events) if not url.startswith(local)]


def test_swagger_ui_renders_every_operation_with_no_network(browser: Browser, server: LiveServer) -> None:
    found = rendered(browser, f"{server.base_url}/docs", SWAGGER_PROBE)
    keep_screenshot(browser, "docs-swagger-ui")
    assert found["operations"] >= 10, json.dumps(found)[:2000]
    assert set(ROUTES) <= set(found["paths"])
    assert found["title"] and "Comment moderation desk" in found["title"]
    assert outside(browser, server) == []
    assert errors(browser.events) == []


def test_redoc_renders_every_operation_with_no_network(browser: Browser, server: LiveServer) -> None:
    found = rendered(browser, f"{server.base_url}/redoc", REDOC_PROBE)
    keep_screenshot(browser, "docs-redoc")
    assert found["operations"] >= 10, json.dumps(found)[:2000]
    text = " ".join(found["paths"])
    assert all(route in text for route in ROUTES)
    assert found["title"] and "Comment moderation desk" in found["title"]
    assert set(outside(browser, server)) <= {REDOC_LOGO}
    logo_failed = {"method": "Log.entryAdded", "url": REDOC_LOGO}
    assert errors([e for e in browser.events if _failed_load(e) != logo_failed]) == []


def _failed_load(event: dict[str, Any]) -> dict[str, Any]:
    return {"method": event.get("method"), "url": event.get("params", {}).get("entry", {}).get("url")}
