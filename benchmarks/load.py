"""API load test: the HTTP service under 1, 8 and 32 concurrent clients, micro-batching on and off, next to
offline scoring of the same comments; honest clients beside a client sending the largest requests allowed;
open-loop rates against Coral's timeout.

    .venv/bin/python benchmarks/load.py [--requests 1000] [--big-requests 16] [--time-cap 15] [--budget 570]
        [--scenarios closed,mixed,open] [--mixed-clients 8] [--phase 15] [--open-shares 0.7,0.35]
        [--passes bounded,unbounded] [--quick]

Starts the service itself (``python -m uvicorn --factory service.app:create_app`` on a free 127.0.0.1 port,
a temporary SQLite database, a key made for the run, the per-key rate limit off), twice: with the default
micro-batching wait and with ``MODERATION_BATCH_WAIT_MS=0``. Each run sends single-comment and 100-comment
``POST /v1/comments:score`` requests from closed-loop clients (each keeps one keep-alive connection and
sends its next request when the last is answered): a fixed number of requests per scenario, and no new
request after ``--time-cap`` seconds. Reports p50 / p99 latency, comments/s, the forward passes the server
made (from its /metrics) and comments/s as a share of offline throughput: ``Scorer.predict`` in this
process on the same comments, best of 3 passes before and after the server runs (the higher is the reference).
Comments: TweetEval offensive test tweets from ../shared/data, as they come.

Everything stays on 127.0.0.1. The client runs on the same machine as the server and takes some of its
CPU; it is a plain asyncio HTTP/1.1 client to keep that small. ``--budget`` bounds the whole run (about
9.5 minutes by default, 5 to 7 taken on 2 cores): scenarios that would not finish in it are skipped and say
so. ``--quick`` is a smoke run that prints the tables without writing benchmarks/results/load.md.

``--scenarios``: ``closed`` is the above; ``mixed`` and ``open`` (benchmarks/load_fairness.py) run on one more
server per ``--passes`` bound (``bounded``: the default pass bounds; ``unbounded``, the control: a pass takes
up to a whole largest request, as before issue 18), batching on, the per-key character budget at its default
(the request rate limit off), one key per client. ``mixed``: ``--mixed-clients`` honest single-comment
clients alone, beside one client sending ``MODERATION_MAX_ITEMS`` comments of ``MODERATION_MAX_REQUEST_CHARS``
characters in all back to back, then alone again (``--phase`` seconds beside it, half a phase alone before
and after), and that heavy client alone on a fresh key. ``open``: single-comment requests at fixed Poisson
rates, each of ``--open-shares`` of the offline rate measured at the start of the run (70 %: issue 18's
figure; 35 %: one the service can sustain on two cores), for ``--phase`` seconds each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import load_fairness

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parents[1]
#: Issue 7's bar for 32 concurrent single-comment clients.
BAR_P99_MS = 150.0
BAR_SHARE = 0.60


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--requests", type=int, default=1000, help="single-comment requests per scenario")
    parser.add_argument("--big-requests", type=int, default=16, help="100-comment requests per scenario")
    parser.add_argument("--big-size", type=int, default=100, help="comments in a big request")
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients, comma-separated")
    parser.add_argument("--time-cap", type=float, default=15.0, help="no new request after this many seconds")
    parser.add_argument("--budget", type=float, default=570.0, help="seconds for the whole run")
    parser.add_argument("--offline-n", type=int, default=400, help="comments scored offline, each time")
    parser.add_argument("--scenarios", default="closed,mixed,open", help="which to run, comma-separated")
    parser.add_argument("--mixed-clients", type=int, default=8, help="honest clients in the mixed scenario")
    parser.add_argument("--phase", type=float, default=15.0, help="seconds of the mixed and open-loop phases")
    parser.add_argument("--open-shares", default="0.7,0.35", help="open-loop rates, shares of offline, comma-separated")
    parser.add_argument("--passes", default="bounded,unbounded", help="pass bounds of the mixed and open runs")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few requests, nothing written")
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/load.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.big_requests, args.time_cap = 40, 4, 5.0
        args.offline_n, args.budget, args.clients = 64, 240.0, "1,4"
        args.mixed_clients, args.phase = 4, 8.0
    return args


def load_comments(data_dir: Path) -> list[str]:
    path = data_dir / "tweeteval" / "offensive" / "test_text.txt"
    if not path.exists():
        raise SystemExit(f"no comments at {path} (clone the data beside this repository, or pass --data-dir)")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# The server ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Server:
    """The service in a subprocess on a free loopback port, on its own SQLite file with ``keys`` keys of
    every scope."""

    def __init__(self, folder: Path, name: str, settings: dict[str, str], keys: int = 1) -> None:
        from moderation import keys as api_keys
        from moderation.storage import make_engine, transaction

        url = f"sqlite:///{folder / f'{name}.db'}"
        engine = make_engine(url)
        with transaction(engine) as session:
            self.tokens = [
                api_keys.create_key(session, f"load benchmark {i}", api_keys.SCOPES).token for i in range(keys)
            ]
        self.token = self.tokens[0]
        engine.dispose()
        self.port = _free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("MODERATION_")}
        env.update(DATABASE_URL=url, MODERATION_RATE_LIMIT_PER_MINUTE="0", MODERATION_RATE_LIMIT_CHARS_PER_MINUTE="0")
        env.update(settings)
        command = [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as answer:
            text: str = answer.read().decode()
        return text

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.get("/readyz")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def passes(self) -> tuple[float, float, float]:
        """Forward passes so far, the requests and the comments they served (from /metrics)."""
        from prometheus_client.parser import text_string_to_metric_families

        values = {
            sample.name: sample.value
            for family in text_string_to_metric_families(self.get("/metrics"))
            for sample in family.samples
        }
        return (
            values.get("moderation_batch_requests_count", 0.0),
            values.get("moderation_batch_requests_sum", 0.0),
            values.get("moderation_comments_scored_total", 0.0),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()


# The clients --------------------------------------------------------------------------------------------


def _request(port: int, token: str, comments: list[str]) -> bytes:
    body = json.dumps({"comments": [{"text": text} for text in comments]}).encode()
    head = (
        f"POST /v1/comments:score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read its whole answer; the status code."""
    writer.write(request)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
    await reader.readexactly(int(headers["content-length"]))
    return int(head[0].split()[1])


@dataclass
class Scenario:
    batching: str
    size: int
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    passes: float = 0.0
    pass_requests: float = 0.0
    skipped: str = ""

    @property
    def comments_per_s(self) -> float:
        return len(self.latencies) * self.size / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def _load(port: int, requests: list[bytes], clients: int, time_cap: float, scenario: Scenario) -> None:
    """Closed-loop clients send ``requests`` in turn until all are sent or ``time_cap`` has passed."""
    pending = iter(requests)
    started = time.perf_counter()
    deadline = started + time_cap

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:
                sent = time.perf_counter()
                status = await _exchange(reader, writer, request)
                if status == 200:
                    scenario.latencies.append(time.perf_counter() - sent)
                else:
                    scenario.errors += 1
                if time.perf_counter() >= deadline:
                    return
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(client() for _ in range(clients)))
    scenario.seconds = time.perf_counter() - started


def run_scenario(server: Server, scenario: Scenario, comments: list[str], count: int, time_cap: float) -> None:
    size = scenario.size
    requests = [
        _request(server.port, server.token, [comments[(i * size + k) % len(comments)] for k in range(size)])
        for i in range(count)
    ]
    before = server.passes()
    asyncio.run(_load(server.port, requests, scenario.clients, time_cap, scenario))
    after = server.passes()
    scenario.passes, scenario.pass_requests = after[0] - before[0], after[1] - before[1]


def warm_up(server: Server, comments: list[str], time_cap: float) -> None:
    """The first passes pay for lazy initialisation, and the first comment routed to the multilingual model
    loads it: a few single comments, then every comment (up to the request limit) in one request."""
    from service.config import Settings

    run_scenario(server, Scenario("warm-up", 1, 4), comments, 16, time_cap)
    every = min(len(comments), Settings.model_fields["max_items"].default)
    run_scenario(server, Scenario("warm-up", every, 1), comments, 1, time_cap)


# The run ------------------------------------------------------------------------------------------------


def offline_rate(scorer: Any, texts: list[str], rounds: int = 3) -> float:
    """Comments/s of ``Scorer.predict`` in this process, with the service's batch size: the best of
    ``rounds`` passes, as a shared machine's other work only ever slows a pass down. A first pass over all of
    ``texts`` loads every model they route to (the multilingual one loads on its first comment)."""
    scorer.predict(texts, batch_size=64)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        scorer.predict(texts, batch_size=64)
        rates.append(len(texts) / (time.perf_counter() - started))
    return max(rates)


def machine() -> str:
    import torch

    info = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line), "?")
    cores = len(os.sched_getaffinity(0))
    return f"{model}, {cores} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), " + (
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def load_average() -> str:
    path = Path("/proc/loadavg")
    return " / ".join(path.read_text().split()[:3]) if path.exists() else "?"


def _load_line(before: str) -> str:
    """The machine's load before the run (other work) and after it (this run's included)."""
    cores = len(os.sched_getaffinity(0))
    line = f"Load average (1 / 5 / 15 min) before the run {before} on {cores} cores, after it {load_average()}"
    busy = before != "?" and float(before.split(" / ")[0]) >= 0.5
    if busy:
        line += (
            ": other work was running on the machine and competed with the server and the client for the cores, "
            "so these figures are below what an idle machine gives"
        )
    return line + "."


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    began = time.monotonic()
    comments = load_comments(args.data_dir)
    clients = [int(n) for n in args.clients.split(",")]
    chosen = set(args.scenarios.split(","))
    load_before = load_average()

    from moderation import Scorer

    scorer = Scorer.load()
    mode = getattr(next(iter(scorer.backends.values())), "mode", "fp32")
    offline = [offline_rate(scorer, comments[: args.offline_n])]
    print(f"offline: {offline[0]:.1f} comments/s ({scorer.name}, {mode})", file=sys.stderr, flush=True)

    scenarios: list[Scenario] = []
    fair = Fairness()
    with tempfile.TemporaryDirectory(prefix="moderation-load-") as folder:
        for batching, settings in (("on", {}), ("off", {"MODERATION_BATCH_WAIT_MS": "0"})):
            if "closed" not in chosen:
                break
            server = Server(Path(folder), f"batching-{batching}", settings)
            try:
                server.wait_ready()
                warm_up(server, comments, args.time_cap)
                for size, count in ((1, args.requests), (args.big_size, args.big_requests)):
                    for n in clients:
                        scenario = Scenario(batching, size, n)
                        scenarios.append(scenario)
                        # One request per client, each of ``size`` comments, must fit in what is left of the
                        # budget, at half the offline rate (the service reaches 50-90 % of it).
                        floor = 2 * n * size / offline[0]
                        if time.monotonic() - began + max(floor, 1.0) > args.budget:
                            scenario.skipped = "skipped: over the run's time budget"
                            continue
                        run_scenario(server, scenario, comments, max(count, n), args.time_cap)
                        print(_row(scenario, offline[0]), file=sys.stderr, flush=True)
            finally:
                server.stop()
        if chosen & {"mixed", "open"}:
            fair = run_fairness(args, Path(folder), comments, chosen, offline[0], began)
    offline.append(offline_rate(scorer, comments[: args.offline_n]))
    reference = max(offline)  # the higher reference is the stricter bar
    text = report(args, argv, scenarios, offline, reference, mode, scorer.name, load_before, began, fair)
    print(text)
    if not args.quick or args.out:
        out = args.out or REPO / "benchmarks" / "results" / "load.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0


#: How the mixed and open-loop scenarios' servers bound a pass: as configured by default, and without a
#: bound (a pass takes up to a whole largest request, as the desk batched before issue 18), the control.
PASSES = {
    "bounded": {},
    "unbounded": {"MODERATION_BATCH_MAX_CHARS": "0", "MODERATION_BATCH_MAX_ITEMS": "{max_items}"},
}


@dataclass
class Fairness:
    mixed: dict[str, load_fairness.Mixed] = field(default_factory=dict)  # by PASSES' key
    open_loop: dict[tuple[str, float], load_fairness.OpenLoop] = field(default_factory=dict)  # by bound, share
    skipped: list[str] = field(default_factory=list)


def run_fairness(
    args: argparse.Namespace, folder: Path, comments: list[str], chosen: set[str], offline: float, began: float
) -> Fairness:
    """The mixed and open-loop scenarios on a server per pass bound: batching on, the character budget per
    key at its default, the request rate limit off, a key per client."""
    from service.config import Settings

    fields = Settings.model_fields
    max_items = fields["max_items"].default
    fair = Fairness()
    for shape in args.passes.split(","):
        settings = {name: value.format(max_items=max_items) for name, value in PASSES[shape].items()}
        settings["MODERATION_RATE_LIMIT_CHARS_PER_MINUTE"] = str(fields["rate_limit_chars_per_minute"].default)
        settings["MODERATION_RATE_LIMIT_PER_MINUTE"] = "0"
        server = Server(folder, f"fairness-{shape}", settings, keys=args.mixed_clients + 2)
        try:
            server.wait_ready()
            warm_up(server, comments, args.time_cap)
            # A phase, two halves and the heavy client alone, each perhaps waiting out one heavy request.
            if "mixed" in chosen and time.monotonic() - began + 3 * args.phase + 60 <= args.budget:
                fair.mixed[shape] = load_fairness.run_mixed(
                    server,
                    _request,
                    comments,
                    clients=args.mixed_clients,
                    seconds=args.phase,
                    max_items=max_items,
                    chars=fields["max_request_chars"].default,
                )
                print("\n".join(load_fairness.mixed_lines({shape: fair.mixed[shape]})), file=sys.stderr, flush=True)
            elif "mixed" in chosen:
                fair.skipped.append(f"mixed, passes {shape}")
            for share in (float(share) for share in args.open_shares.split(",") if "open" in chosen):
                if time.monotonic() - began + args.phase + 30 > args.budget:
                    fair.skipped.append(f"open loop at {share:g} of offline, passes {shape}")
                    continue
                run = load_fairness.run_open_loop(server, _request, comments, rate=share * offline, seconds=args.phase)
                fair.open_loop[shape, share] = run
                print(load_fairness.open_lines({(shape, share): run}, offline, None)[-1], file=sys.stderr, flush=True)
        finally:
            server.stop()
    return fair


HEADER = (
    "| batching | comments/request | clients | requests | errors | p50 ms | p99 ms | comments/s | % of offline "
    "| passes | requests/pass |"
)


def _row(scenario: Scenario, reference: float) -> str:
    name = f"| {scenario.batching} | {scenario.size} | {scenario.clients} |"
    if scenario.skipped:
        return f"{name} - | - | - | - | - | - | - | {scenario.skipped} |"
    per_pass = scenario.pass_requests / scenario.passes if scenario.passes else float("nan")
    return (
        f"{name} {len(scenario.latencies)} | {scenario.errors} | {scenario.percentile(0.5):.0f} | "
        f"{scenario.percentile(0.99):.0f} | {scenario.comments_per_s:.1f} | "
        f"{100 * scenario.comments_per_s / reference:.0f} % | {scenario.passes:.0f} | {per_pass:.1f} |"
    )


def report(
    args: argparse.Namespace,
    argv: list[str] | None,
    scenarios: list[Scenario],
    offline: list[float],
    reference: float,
    mode: str,
    model: str,
    load_before: str,
    began: float,
    fair: Fairness,
) -> str:
    command = shlex.join(["benchmarks/load.py", *(sys.argv[1:] if argv is None else argv)])
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# API load test",
        "",
        f"`{command}` on {when}: {machine()}.",
        _load_line(load_before),
        "",
        f"Model: {model}, encoder numerics `{mode}`. Offline reference: `Scorer.predict` on "
        f"{args.offline_n} of the same comments in one process, batch size 64 as the service uses, best of 3 "
        f"passes: {offline[0]:.1f} comments/s before the server runs, {offline[1]:.1f} after; the higher, "
        f"{reference:.1f}, is the reference.",
        "",
        *closed_lines(args, scenarios, reference),
        *fairness_lines(args, fair, offline[0], scenarios),
        "",
        f"Run time {(time.monotonic() - began) / 60:.1f} min.",
    ]
    return "\n".join(lines) + "\n"


def closed_lines(args: argparse.Namespace, scenarios: list[Scenario], reference: float) -> list[str]:
    if not scenarios:
        return []
    return [
        HEADER,
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(scenario, reference) for scenario in scenarios),
        "",
        *bar_lines(scenarios, reference),
        "",
        f"Comments: TweetEval offensive test tweets (`{os.path.relpath(args.data_dir, REPO)}`), no target. "
        f"Per scenario: {args.requests} single-comment or {args.big_requests} {args.big_size}-comment requests "
        f"(at least one per client), no new request after {args.time_cap:g} s; closed-loop clients on "
        "keep-alive connections; batching `on` is the default wait (`MODERATION_BATCH_WAIT_MS` unset), `off` "
        "is `MODERATION_BATCH_WAIT_MS=0`. Passes and requests/pass come from the server's "
        "`moderation_batch_requests` histogram. The per-key rate limits are off for these scenarios.",
    ]


def fairness_lines(args: argparse.Namespace, fair: Fairness, offline: float, scenarios: list[Scenario]) -> list[str]:
    lines = []
    if fair.mixed:
        mixed = next(iter(fair.mixed.values()))
        lines += [
            "",
            "## Mixed load: honest clients beside the largest requests",
            "",
            f"{mixed.honest_clients} closed-loop honest clients, each with its own key, send one tweet per request; "
            f"one heavy client on its own key sends {mixed.heavy_size:,} comments of "
            f"{mixed.heavy_chars // mixed.heavy_size:,} characters ({mixed.heavy_chars:,} in all, the request "
            "budget's maximum) back to back. Honest clients alone for "
            f"{mixed.seconds / 2:g} s, beside the heavy client for {mixed.seconds:g} s, alone again for "
            f"{mixed.seconds / 2:g} s (the two alone phases pooled); then the heavy client alone, on a fresh key, for "
            f"{mixed.seconds:g} s. A request in flight at a phase's end is waited for. Batching on, the character "
            "budget per key at its default (`MODERATION_RATE_LIMIT_CHARS_PER_MINUTE`), the request rate limit off. "
            + PASSES_NOTE,
            "",
            *load_fairness.mixed_lines(fair.mixed),
        ]
    if fair.open_loop:
        closed = max((s.comments_per_s for s in scenarios if s.size == 1 and s.batching == "on"), default=0.0)
        lines += [
            "",
            "## Open loop against Coral's moderation timeout",
            "",
            *load_fairness.open_lines(fair.open_loop, offline, closed or None),
        ]
    if fair.skipped:
        lines += ["", f"Skipped (over the run's time budget): {'; '.join(fair.skipped)}."]
    return lines


PASSES_NOTE = (
    "Passes `bounded`: the server's defaults (`MODERATION_BATCH_MAX_CHARS`, `MODERATION_BATCH_MAX_ITEMS`), "
    "waiting requests taking turns to fill a pass; `unbounded`, the control: `MODERATION_BATCH_MAX_CHARS=0` and "
    "`MODERATION_BATCH_MAX_ITEMS` at the request limit, so a pass takes up to a whole largest request, as the desk "
    "batched before."
)


def bar_lines(scenarios: list[Scenario], reference: float) -> list[str]:
    """Issue 7's bar, for each batching setting: 32 concurrent single-comment clients."""
    lines = []
    for scenario in scenarios:
        if scenario.size != 1 or scenario.clients != 32 or scenario.skipped:
            continue
        p99, share = scenario.percentile(0.99), scenario.comments_per_s / reference
        lines.append(
            f"- Bar, 32 single-comment clients, batching {scenario.batching}: p99 {p99:.0f} ms "
            f"({'met' if p99 <= BAR_P99_MS else 'missed'}: <= {BAR_P99_MS:.0f} ms), {100 * share:.1f} % of offline "
            f"throughput ({'met' if share >= BAR_SHARE else 'missed'}: >= {100 * BAR_SHARE:.0f} %)."
        )
    if lines:
        lines.append(
            "- Closed-loop clients with no pause between requests obey Little's law, mean latency = clients / "
            f"throughput: a p99 of {BAR_P99_MS:.0f} ms under 32 clients needs more than "
            f"{32 / (BAR_P99_MS / 1000):.0f} single-comment requests/s answered; offline scoring ran at "
            f"{reference:.0f} comments/s here."
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
