"""Corpus-scale scoring on Ray: throughput and memory of ``score_corpus(runner="ray")`` over N real comments.

    .venv/bin/python benchmarks/scale.py [--n 100000] [--parts 20] [--cpus 2] [--sample 1000] [--out FILE]

Builds a corpus of N comments cycled from ../shared/data (Civil Comments toxic-spans comments, TweetEval
sentiment test tweets, VAST test posts with their topic as target; 2:2:1) into ``--parts`` JSONL files in a
temporary folder, then scores it with the Ray runner on a local Ray with ``--cpus`` CPUs (one actor per CPU)
while a thread samples, every 0.5 s, the resident memory of this driver and of every process under it (the
Ray daemons and the actor workers). Prints and writes comments/s, peak total RSS, RSS at 10 / 50 / 90 % of
the rows written (flat memory shows as equal figures), and checks the Ray scores against ``Scorer.predict``
in this process on a random ``--sample`` of the rows. Writes benchmarks/results/scale.md unless ``--out -``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=100_000, help="comments in the corpus")
    parser.add_argument("--parts", type=int, default=20, help="JSONL files the corpus is split into")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray (one actor each)")
    parser.add_argument("--sample", type=int, default=1000, help="rows checked against the in-process path")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "scale.md"), help="- : print only")
    return parser.parse_args(argv)


def load_comments(data_dir: Path) -> list[tuple[str, str | None]]:
    """Real comments, interleaved 2:2:1 from Civil Comments, TweetEval and VAST (with its topic as target)."""
    from moderation.training.data import load_task

    civil_path = data_dir / "civil_comments_toxic_spans" / "acl2022" / "comments.csv"
    if not civil_path.exists():
        raise SystemExit(f"no comments at {civil_path} (clone the data beside this repository, or pass --data-dir)")
    with civil_path.open(encoding="utf-8", newline="") as handle:
        civil: list[tuple[str, str | None]] = [
            (row["comment_text"], None) for row in csv.DictReader(handle) if row["comment_text"].strip()
        ]
    tweets: list[tuple[str, str | None]] = [(text, None) for text in load_task("sentiment", "test", data_dir).texts]
    vast = load_task("stance", "test", data_dir)
    posts: list[tuple[str, str | None]] = list(zip(vast.texts, vast.targets, strict=True))
    pools: dict[str, list[tuple[str, str | None]]] = {"civil": civil, "tweets": tweets, "vast": posts}
    pattern = ("civil", "tweets", "civil", "tweets", "vast")
    taken = dict.fromkeys(pools, 0)
    mixed = []
    for i in range(sum(map(len, pools.values()))):
        name = pattern[i % len(pattern)]
        mixed.append(pools[name][taken[name] % len(pools[name])])
        taken[name] += 1
    return mixed


def write_corpus(comments: list[tuple[str, str | None]], n: int, parts: int, folder: Path) -> list[dict[str, Any]]:
    """N rows cycled from ``comments`` into ``parts`` JSONL files; the rows, in order."""
    cycled = (comments[i % len(comments)] for i in range(n))
    rows = [{"id": f"doc-{i}", "text": text, "target": target} for i, (text, target) in enumerate(cycled)]
    size = -(-n // parts)
    for part in range(parts):
        lines = [json.dumps(row, ensure_ascii=False) for row in rows[part * size : (part + 1) * size]]
        (folder / f"part-{part:03d}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return rows


@dataclass(frozen=True)
class Sample:
    seconds: float
    rows: int
    driver_mib: float
    workers_mib: float
    total_mib: float


class MemorySampler(threading.Thread):
    """RSS of this process and every process under it (Ray daemons, actor workers), every ``every`` s."""

    def __init__(self, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every, self.rows, self.samples = every, 0, list[Sample]()
        self.start_time = time.perf_counter()
        self._done = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self._done.is_set():
            driver, workers, total = me.memory_info().rss, 0, me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                    total += rss
                    workers += rss if child.name().startswith("ray::") else 0
                except psutil.Error:
                    continue  # a process that ended between the listing and the reading
            elapsed = time.perf_counter() - self.start_time
            self.samples.append(Sample(elapsed, self.rows, driver / MIB, workers / MIB, total / MIB))
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def at_progress(self, share: float, total_rows: int) -> Sample:
        return next(s for s in self.samples if s.rows >= share * total_rows)


def run_ray(folder: Path, out: Path, spec: Any, cpus: int) -> tuple[Any, MemorySampler, float, tuple[float, int]]:
    """The run's result, its memory samples, its seconds, and when (s) and with how many rows the first
    chunk was written (the actors had started and loaded the model by then)."""
    from moderation.scale import CorpusOptions, score_corpus

    sampler = MemorySampler()
    first_rows: list[tuple[float, int]] = []

    def progress(done: int, _total: int) -> None:
        sampler.rows = done
        if not first_rows:
            first_rows.append((time.perf_counter(), done))

    sampler.start()
    start = time.perf_counter()
    result = score_corpus(folder, out, spec, runner="ray", options=CorpusOptions(num_cpus=cpus), progress=progress)
    seconds = time.perf_counter() - start
    sampler.stop()
    return result, sampler, seconds, (first_rows[0][0] - start, first_rows[0][1]) if first_rows else (seconds, 0)


def check_sample(rows: list[dict[str, Any]], out: Path, spec: Any, size: int) -> dict[str, Any]:
    """Scores of a random sample of rows from the Ray outputs next to ``Scorer.predict`` in this process."""
    from moderation.scale import output_schema

    picked = sorted(random.Random(0).sample(range(len(rows)), min(size, len(rows))))
    wanted = {rows[i]["id"] for i in picked}
    table = pa.concat_tables([pq.read_table(path) for path in sorted(out.glob("*.parquet"))])
    ray_rows = {row["id"]: row for row in table.to_pylist() if row["id"] in wanted}
    scorer = spec.load()
    start = time.perf_counter()
    scores = scorer.predict([rows[i]["text"] for i in picked], [rows[i]["target"] for i in picked])
    seconds = time.perf_counter() - start
    columns = [f.name for f in output_schema() if pa.types.is_floating(f.type)]
    differences, labels_equal = [0.0], 0
    for i, score in zip(picked, scores, strict=True):
        on_ray, stance = ray_rows[rows[i]["id"]], score.stance
        local = {f"sentiment_{label}": p for label, p in score.sentiment.probabilities.items()}
        local |= {f"stance_{label}": p for label, p in (stance.probabilities.items() if stance else [])}
        local |= score.attributes
        differences += [abs(local[c] - on_ray[c]) if c in local else float(on_ray[c] is not None) for c in columns]
        same = on_ray["sentiment"] == score.sentiment.label and on_ray["stance"] == (stance.label if stance else None)
        labels_equal += same
    return {
        "rows": len(picked),
        "max_abs_difference": max(differences),
        "labels_equal": labels_equal,
        "allclose_1e-5": max(differences) <= 1e-5 and labels_equal == len(picked),
        "in_process_per_s": len(picked) / seconds,
        "model": scorer.name,
        "mode": getattr(scorer.backends["sentiment"], "mode", "?"),
    }


def machine(cpus: int) -> str:
    import ray
    import torch

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return (
        f"{model}, {len(os.sched_getaffinity(0))} cores, local Ray {ray.__version__} with {cpus} CPUs; "
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def report(args: argparse.Namespace, facts: dict[str, Any]) -> str:
    sampler: MemorySampler = facts["sampler"]
    n, seconds = args.n, facts["seconds"]
    first_seconds, first_rows = facts["first_rows"]
    points = {share: sampler.at_progress(share, n) for share in (0.1, 0.5, 0.9)}
    peak = max(sampler.samples, key=lambda s: s.total_mib)
    # Not Ray's start or shutdown; a tiny run may have no sample between its first and last chunk.
    steady = [s.total_mib for s in sampler.samples if 0.1 * n <= s.rows < n] or [peak.total_mib]
    check = facts["check"]
    lines = [
        "# Corpus-scale scoring on Ray",
        "",
        f"`benchmarks/scale.py --n {n} --parts {args.parts} --cpus {args.cpus}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {machine(args.cpus)}.",
        f"Load average (1 / 5 / 15 min) before the run {facts['load_before']}, after it {facts['load_after']}"
        f" on {len(os.sched_getaffinity(0))} cores: other work shared the machine, so rates are below an idle one's.",
        "",
        f"Corpus: {n:,} comments ({facts['mean_chars']:.0f} characters on average; Civil Comments, TweetEval "
        f"sentiment test and VAST test posts with their topic as target, 2:2:1, cycled) in {args.parts} JSONL files.",
        f"Model: {check['model']}, encoder numerics `{check['mode']}`; {args.cpus} actors, one per CPU.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| comments scored | {facts['rows']:,} |",
        f"| wall time (Ray start, model loads, scoring, writing) | {seconds:.0f} s |",
        f"| first chunk written after (Ray start, model loads) | {first_seconds:.0f} s |",
        f"| comments/s over the whole run | {facts['rows'] / seconds:.1f} |",
        f"| comments/s from the first chunk on | {(facts['rows'] - first_rows) / (seconds - first_seconds):.1f} |",
        f"| in-process `Scorer.predict` on the {check['rows']} sampled rows | {check['in_process_per_s']:.1f} |",
        f"| peak RSS, driver + Ray daemons + actors | {peak.total_mib:,.0f} MiB (at {peak.seconds:.0f} s) |",
        f"| of which actor workers (`ray::*`) at the peak | {peak.workers_mib:,.0f} MiB |",
        f"| driver RSS at the peak | {peak.driver_mib:,.0f} MiB |",
    ]
    lines += [
        f"| total RSS at {share:.0%} of rows written | {point.total_mib:,.0f} MiB (driver {point.driver_mib:,.0f}) |"
        for share, point in points.items()
    ]
    lines += [
        f"| total RSS from 10 % to the last rows: min / max | {min(steady):,.0f} / {max(steady):,.0f} MiB |",
        f"| samples (every 0.5 s) | {len(sampler.samples)} |",
        "",
        f"Equality with the in-process path on {check['rows']:,} random rows: largest probability difference "
        f"{check['max_abs_difference']:.2g}, labels equal on {check['labels_equal']:,}; "
        f"{'allclose within 1e-5' if check['allclose_1e-5'] else 'NOT within 1e-5'}.",
        "",
        "RSS counts shared pages (the model's read-only weights, Ray's object store in /dev/shm) once per process",
        "that maps them, so the total overstates the machine's use; its flatness is the point: it stays level from",
        "10 % to 90 % of the rows because each actor reads and scores one chunk at a time and the driver writes each",
        "chunk as it arrives.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from moderation.models.scorer import BUNDLED_HEADS
    from moderation.scale import ScorerSpec

    args = _arguments(argv)
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    comments = load_comments(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as work:
        folder, out = Path(work) / "in", Path(work) / "out"
        folder.mkdir()
        # The bundled heads as they are now, for the actors and the check alike: a retraining in the
        # same working tree during the run must not change the model halfway.
        spec = ScorerSpec(heads=shutil.copytree(BUNDLED_HEADS, Path(work) / "model"))
        rows = write_corpus(comments, args.n, args.parts, folder)
        print(f"corpus: {args.n:,} comments in {args.parts} files; scoring on Ray ...", file=sys.stderr, flush=True)
        result, sampler, seconds, first_rows = run_ray(folder, out, spec, args.cpus)
        print(
            f"scored {result.rows:,} in {seconds:.0f} s; checking {args.sample} rows ...", file=sys.stderr, flush=True
        )
        check = check_sample(rows, out, spec, args.sample)
    facts = {
        "sampler": sampler,
        "seconds": seconds,
        "first_rows": first_rows,
        "rows": result.rows,
        "check": check,
        "mean_chars": float(np.mean([len(row["text"]) for row in rows])),
        "load_before": load_before,
        "load_after": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    text = report(args, facts)
    sys.stdout.write(text)
    if args.out != "-":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0 if check["allclose_1e-5"] and result.rows == args.n else 1


if __name__ == "__main__":
    raise SystemExit(main())
