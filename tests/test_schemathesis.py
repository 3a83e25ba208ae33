"""A bounded schemathesis run against the live server's OpenAPI schema: no server error (5xx) in at least
2,000 generated requests across every route, and answers that match the schema (status codes, content
types, bodies, headers, ``Allow`` on 405).

Schemathesis's CLI runs in a subprocess against a real uvicorn server (``start_server``) with a key of every
scope, in every phase: the schema's examples, coverage (boundary and invalid values of every parameter and
body field, and methods the route does not allow), fuzzing (``--max-examples`` per operation, valid and
invalid data) and stateful sequences through the links it infers (store a thread, then read it). The count
is the server's own: its ``moderation_requests`` counter before and after.

The server scores with the tiny checkpoints (``tiny_models_config``): the run is about the HTTP layer,
validation and storage, and the bundled model would make it take several times longer on two cores. The
rate limit is off, or most requests would be 429s. Schemathesis keeps its state (``.hypothesis``,
``.schemathesis``) in the test's temporary folder, never in the repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import EXAMPLE, ONE_THREAD, LiveServer, StartServer

pytestmark = pytest.mark.slow

MIN_REQUESTS = 2000
#: Per operation and generation mode in the fuzzing phase; with the examples, coverage and stateful phases
#: this gives about 2,700 requests for the 19 operations.
MAX_EXAMPLES = 50
SEED = 20260501
#: Checks left out, by design rather than by fault: pydantic's lax mode takes ``"spans": 0`` as false and
#: ``until=0.5`` as a Unix time (negative_data_rejection); a cursor, a language or an upload may fit the
#: schema and still be refused with 422 as docs/api.md says: an edited cursor, ``fr``, a PNG
#: (positive_data_acceptance). Every other check runs, ``not_a_server_error`` first among them.
LENIENT = ("negative_data_rejection", "positive_data_acceptance")


@pytest.fixture(scope="module")
def server(start_server: StartServer, tiny_models_config: Path) -> LiveServer:
    """A server holding one stored thread, so generated ids can find a thread, its comments and reports."""
    live = start_server(models_config=tiny_models_config, env=ONE_THREAD, rate_limit_per_minute=0)
    with EXAMPLE.open("rb") as upload:
        stored = httpx.post(f"{live.base_url}/v1/threads", headers=live.headers, files={"file": upload}, timeout=120)
    assert stored.status_code == 200, stored.text
    return live


def answered(server: LiveServer) -> dict[str, float]:
    """Requests the server has answered so far, by status code."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    statuses: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "moderation_requests":
            for sample in family.samples:
                if sample.name == "moderation_requests_total":
                    status = sample.labels["status"]
                    statuses[status] = statuses.get(status, 0.0) + sample.value
    return statuses


def test_no_generated_request_gets_a_server_error(server: LiveServer, tmp_path: Path) -> None:
    before = answered(server)
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.base_url}/openapi.json"]
    command += ["--header", f"Authorization: Bearer {server.token}", "--checks", "all"]
    command += ["--exclude-checks", ",".join(LENIENT)]
    command += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-database", "none"]
    command += ["--request-timeout", "120", "--no-color"]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SCHEMATHESIS_")}
    run = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=900, check=False
    )
    after = answered(server)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-8000:]
    delta = {status: after[status] - before.get(status, 0.0) for status in after}
    server_errors = {status: count for status, count in delta.items() if status.startswith("5") and count}
    assert not server_errors, (server_errors, output[-6000:], server.log_tail())
    assert sum(delta.values()) >= MIN_REQUESTS, (delta, output[-3000:])
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None and int(generated.group(1)) >= MIN_REQUESTS, output[-3000:]
