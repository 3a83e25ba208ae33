"""The service's operational routes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings


def test_healthz_answers_ok_and_the_store_is_created(tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    app = create_app(Settings(database_url=f"sqlite:///{database}"))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert database.exists()


def test_settings_default_to_loopback_and_read_database_url(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.database_url == "sqlite:///elsewhere.db"
