"""The service's frame: settings, operations routes, keys, errors as problem+json, body limits, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.config import Settings
from service.ratelimit import RateLimiter


def test_settings_default_to_loopback_and_read_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.open_reads is False


def test_unknown_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODERATION_OPEN_READZ", "1")
    with pytest.raises(ValueError, match="MODERATION_OPEN_READZ"):
        Settings()


def test_health_readiness_and_metrics_answer_without_a_key(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=None)
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "moderation_requests_total" in metrics.text


def test_metrics_count_each_answer_by_route_and_status(make_client: Callable[..., Any]) -> None:
    client = make_client(scopes=None)
    client.get("/healthz")
    client.get("/healthz")
    client.post("/v1/comments:score", json={"comments": [{"text": "hi"}]})  # no key: 401
    text = client.get("/metrics").text
    assert 'moderation_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'moderation_requests_total{method="POST",route="/v1/comments:score",status="401"} 1.0' in text
    assert 'moderation_request_seconds_count{route="/healthz"} 2.0' in text


def test_unknown_routes_answer_problem_json(make_client: Callable[..., Any]) -> None:
    response = make_client(scopes=None).get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_a_body_over_the_limit_is_refused_with_413(make_client: Callable[..., Any]) -> None:
    client = make_client(max_body_bytes=1000)
    response = client.post("/healthz", content=b"x" * 5000)
    assert response.status_code == 413
    assert response.json()["title"] == "Request body too large"


def test_the_rate_limiter_refills_and_says_when_to_retry() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.acquire("k") is None for _ in range(60))
    assert limiter.acquire("k") == 1
    assert limiter.acquire("other") is None
    now[0] += 1.0
    assert limiter.acquire("k") is None
    assert limiter.acquire("k") == 1
