"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from moderation import __version__
from service.deps import StateDep
from service.problems import ProblemError

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", responses={503: {"description": "The database cannot be reached."}})
def readyz(state: StateDep) -> dict[str, Any]:
    """Readiness: the model is loaded (it loads before the app starts) and the database answers."""
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise ProblemError(503, "Not ready", f"database unreachable: {type(exc).__name__}") from exc
    return {"status": "ready", "model": state.scorer.name, "modes": state.scorer.modes, "policy": state.policy.digest}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(state: StateDep) -> Response:
    """Prometheus text format: requests, latency, comments scored, micro-batch sizes."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
