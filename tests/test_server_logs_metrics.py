"""A real uvicorn server (issue 18, items 6 and 7): no API key reaches the access log, ``?key=`` is taken only
by the Perspective and Coral routes, ``/metrics`` does not grow with the methods clients make up, and comments
dated at the calendar's ends break no report.

The server scores with the tiny checkpoints; :func:`access_logged_app` (the factory uvicorn runs) turns the
access log on, as ``moderation serve`` has it (the fixture starts uvicorn with ``--log-level warning``).
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import logging
import random
import string
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ONE_THREAD, LiveServer, StartServer

ANALYZE = "/v1alpha1/comments:analyze"
CORAL = "/v1/coral/moderate"
CORAL_BODY = {
    "action": "NEW",
    "comment": {"body": "Thanks for the article.", "parentID": None},
    "author": {"id": "a1", "role": "COMMENTER"},
    "story": {"id": "s1", "url": "https://news.example/story"},
    "site": {"id": "site1"},
    "tenantID": "t1",
    "tenantDomain": "news.example",
}


def access_logged_app() -> FastAPI:
    """The factory the test server runs: the app, with uvicorn's access log at INFO (``moderation serve``'s level)."""
    from service.app import create_app

    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    return create_app()


@pytest.fixture(scope="module")
def server(start_server: StartServer, tiny_models_config: Path) -> LiveServer:
    return start_server(
        factory="tests.test_server_logs_metrics:access_logged_app",
        models_config=tiny_models_config,
        env=ONE_THREAD,
        rate_limit_per_minute=0,
    )


def _secret(token: str) -> str:
    return token.split("_", 2)[2]


def test_a_key_in_the_query_string_never_reaches_the_access_log(server: LiveServer) -> None:
    """Before, uvicorn logged ``POST /v1alpha1/comments:analyze?key=md_..._<secret>`` verbatim."""
    analyze = {"comment": {"text": "Thanks for the article."}, "requestedAttributes": {"TOXICITY": {}}}
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        assert client.post(ANALYZE, params={"key": server.token}, json=analyze).status_code == 200
        assert client.post(CORAL, params={"key": server.token, "x": "1"}, json=CORAL_BODY).status_code in (200, 204)
        # Refused (below), and still not logged.
        assert client.get("/v1/threads", params={"limit": 5, "key": server.token}).status_code == 401
        # Headers are not logged by uvicorn; a wrong key in a URL is a credential too.
        assert client.get("/v1/threads", headers=server.headers).status_code == 200
        wrong = {"api_key": "leaked-secret", "key": "md_00000000_wrong"}
        assert client.post(ANALYZE, params=wrong, json=analyze).status_code == 401
    log = server.log_tail(1_000_000).replace("%3A", ":")  # httpx sends the path's ':' percent-encoded
    assert f"{ANALYZE}?key=" in log, log[-2000:]  # the access log is on, and these lines are in it
    assert _secret(server.token) not in log
    assert "md_00000000_wrong" not in log and "leaked-secret" not in log
    prefix = server.token.split("_")[1]
    assert f"{ANALYZE}?key=md_{prefix}_[redacted] " in log  # the prefix names the key, the secret is gone
    assert f"{CORAL}?key=md_{prefix}_[redacted]&x=1 " in log
    assert "/v1/threads?limit=5&key=md_" in log and f"{ANALYZE}?api_key=[redacted]&key=md_00000000_[redacted] " in log


def test_query_keys_are_taken_only_where_a_client_cannot_send_a_header(server: LiveServer) -> None:
    """Before, ``?key=`` was a key on every route."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        for method, path in [("GET", "/v1/threads"), ("GET", "/v1/queue"), ("GET", "/v1/reports")]:
            refused = client.request(method, path, params={"key": server.token})
            assert refused.status_code == 401, (path, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "Authorization: Bearer" in refused.json()["detail"]
            # ... even alongside a header: the key in the URL has already leaked into logs on the way.
            assert client.request(method, path, params={"key": "x"}, headers=server.headers).status_code == 401
            assert client.request(method, path, headers=server.headers).status_code == 200
        analyze = {"comment": {"text": "Thanks for the article."}, "requestedAttributes": {"TOXICITY": {}}}
        assert client.post(ANALYZE, params={"key": server.token}, json=analyze).status_code == 200
        assert client.post(CORAL, params={"key": server.token}, json=CORAL_BODY).status_code in (200, 204)


def _metrics(server: LiveServer) -> str:
    return httpx.get(f"{server.base_url}/metrics", timeout=30).text


def _label_values(text: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if label in sample.labels
    }


def _series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_made_up_methods_and_paths_do_not_grow_the_metrics(server: LiveServer) -> None:
    """Before, each method a client sent became a ``method`` label value: 2,000 requests grew /metrics from
    36 KB to 16 MB."""
    address = urlsplit(server.base_url)
    rng = random.Random(18)

    def send(count: int) -> None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        try:
            for _ in range(count):
                method = "".join(rng.choices(string.ascii_uppercase, k=12))
                path = rng.choice(["/v1/threads", "/healthz", f"/nope/{rng.randrange(10**9)}"])
                connection.request(method, path, headers={"Authorization": f"Bearer {server.token}"})
                response = connection.getresponse()
                response.read()
                assert response.status < 500
        finally:
            connection.close()

    send(30)  # every kind of label value these requests can make, at least once
    _metrics(server)
    before = _metrics(server)
    send(200)
    after = _metrics(server)
    assert _series(after) == _series(before), _series(after) - _series(before)
    assert len(after) < len(before) + 1000, (len(before), len(after))  # counters' and histograms' digits only
    assert _label_values(after, "method") <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert "OTHER" in _label_values(after, "method")
    assert not any(route.startswith("/nope/") for route in _label_values(after, "route"))


def test_comments_dated_at_the_calendars_ends_break_no_report(server: LiveServer) -> None:
    """Before, a comment dated 9999-12-31 made its thread's reports and the site report answer 500, and two
    comments 9,997 years apart made a 14 MB HTML page."""
    thread = {
        "article": {"url": "https://news.example/far-dates", "title": "Far dates", "published": "9999-12-31"},
        "comments": [
            {"id": "1", "text": "Long ago", "position": 0, "published": "0002-01-01T00:00:00Z"},
            {"id": "2", "text": "Far ahead", "position": 1, "published": "9999-12-31T23:59:59Z"},
            {"id": "3", "text": "Now", "position": 2, "published": "2026-01-02T10:00:00Z", "published_raw": "today"},
        ],
    }
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120) as client:
        stored = client.post("/v1/threads", json=thread)
        assert stored.status_code == 200, stored.text
        thread_id = stored.json()["threads"][0]["id"]
        comments = client.get(f"/v1/threads/{thread_id}/comments").json()["items"]
        assert [c["published"] is None for c in comments] == [True, True, False]
        report = client.get(f"/v1/threads/{thread_id}/report")
        assert report.status_code == 200, report.text
        assert report.json()["counts"]["undated"] == 2 and report.json()["activity"]["n"] == 1
        for path in (f"/v1/threads/{thread_id}/report.html", f"/v1/threads/{thread_id}/report.md"):
            answer = client.get(path)
            assert answer.status_code == 200 and len(answer.content) < 200_000, (path, len(answer.content))
        for form in ("json", "html", "md", "csv"):
            answer = client.get("/v1/reports", params={"format": form})
            assert answer.status_code == 200 and len(answer.content) < 200_000, (form, len(answer.content))
        assert client.get(f"/v1/threads/{thread_id}").json()["published"] is None


def test_the_redaction_survives_uvicorns_logging_setup_as_moderation_serve_runs_it(tmp_path: Path) -> None:
    """``moderation serve`` builds the app, then ``uvicorn.run`` configures logging (``dictConfig``): the
    filter :func:`create_app` put on ``uvicorn.access`` must still be there when a request is logged."""
    import uvicorn

    from service.app import create_app
    from service.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'desk.db'}"))
    uvicorn.Config(app, log_level="info")  # what uvicorn.run does first: configures logging
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    access, ours = logging.getLogger("uvicorn.access"), logging.getLogger("moderation.service")
    handler = Keep()
    access.addHandler(handler)
    ours.addHandler(handler)
    try:
        token = "md_0a1b2c3d_" + "s3cr3t" * 7
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", f"{ANALYZE}?key={token}", "1.1", 200)
        ours.error("moderation error: %s", f"Authorization: Bearer {token}")
    finally:
        access.removeHandler(handler)
        ours.removeHandler(handler)
    assert seen == [
        f'127.0.0.1:5 - "POST {ANALYZE}?key=md_0a1b2c3d_[redacted] HTTP/1.1" 200',
        "moderation error: Authorization: Bearer md_0a1b2c3d_[redacted]",
    ]
