"""Throughput on CPU: the scorer in each numerics mode next to the peer way, on one corpus of real comments.

    .venv/bin/python benchmarks/throughput.py [--n 2000] [--peer-n 200] [--quality-limit 500] [--rounds 2] [--quick]

Corpus: comments from ../shared/data as they come (Civil Comments toxic spans test posts and TweetEval
test tweets, half each), each paired with a VAST test topic as its target, so every head (sentiment,
stance, toxicity) answers, as when a desk pairs comments with their article's title.

Systems, each timed in its own process (so peak RSS is its own):
- peer, one at a time: a transformers ``pipeline("text-classification")`` per task, one comment per call,
  three calls per comment (stance with the target as text pair); timed on at most ``--peer-n`` comments
  (and ``--peer-cap`` seconds per task) and extrapolated, with torch's default threads and with one
  thread, the faster counting per task. The peer checkpoints are the bundled MiniLM with a randomly
  initialised classification head: the same encoder compute as ours; their answers are meaningless,
  only their speed counts.
- peer, batched: the same pipelines given the comments in lists, ``batch_size`` as ours (``--peer-batched-n``).
- ours in every CPU mode (fp32, int8 through ONNX Runtime when installed, bf16 autocast): one
  ``Scorer.predict`` call for all heads on ``--n`` comments (bf16 on ``--bf16-n``: it is emulated and
  slow on CPUs without bf16 units).
- the multilingual model (multilingual-e5-small with its heads, the route non-English comments take) in
  the same modes on the same comments (``--multilingual-n``; 0 skips it), its agreement with its own fp32.
Every system is timed ``--rounds`` times, round-robin, and its best rate counts, so a burst of load
from other work on a shared machine hits all of them alike. Then each mode's quality on the sampled
test splits (``evaluate_scorer``, ``--quality-limit`` items per head; bf16 only with ``--bf16-quality``
or where the CPU has bf16 units) and its label agreement with fp32 on the corpus. Writes
benchmarks/results/throughput.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parents[1]
MODES = ("fp32", "int8", "bf16")
PEER_TASKS = {"sentiment": 3, "stance": 3, "toxicity": 2}
BAR_RATE, BAR_RATIO, BAR_POINTS = 250.0, 15.0, 0.5


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=2000, help="comments timed for each of our modes")
    parser.add_argument("--peer-n", type=int, default=200, help="comments timed for the one-at-a-time peer")
    parser.add_argument("--peer-batched-n", type=int, default=600, help="comments timed for the batched peer")
    parser.add_argument("--peer-cap", type=float, default=30.0, help="seconds at most per peer task and setting")
    parser.add_argument("--bf16-n", type=int, default=200, help="comments timed in bf16 (0: skip bf16)")
    parser.add_argument("--bf16-quality", action="store_true", help="measure bf16's quality even where it is slow")
    parser.add_argument(
        "--multilingual-n", type=int, default=1000, help="comments timed for the multilingual model (0: skip it)"
    )
    parser.add_argument("--only", default="", help="comma-separated systems to time (default: all)")
    parser.add_argument("--batch-size", type=int, default=64, help="our batch size (windows per forward pass)")
    parser.add_argument("--sweep", default="32,64,128", help="batch sizes tried in int8 ('' to skip)")
    parser.add_argument("--quality-limit", type=int, default=500, help="test items per head (0: whole splits)")
    parser.add_argument("--rounds", type=int, default=2, help="round-robin timings of each system; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny samples, no sweep")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "throughput.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.peer_n, args.peer_batched_n, args.bf16_n, args.peer_cap = 200, 20, 60, 40, 5.0
        args.quality_limit, args.sweep, args.rounds = 40, "", 1
    return args


# --- the corpus ---------------------------------------------------------------------------------


def build_corpus(data_dir: Path, n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` real comments (toxic-spans posts and TweetEval tweets, half each), each with a VAST topic."""
    import numpy as np

    from moderation.training.data import load_task, load_toxic_spans

    rng = np.random.default_rng(seed)
    posts = load_toxic_spans("test", data_dir).texts
    tweets = [
        line
        for task in ("sentiment", "offensive", "hate")
        for line in (data_dir / "tweeteval" / task / "test_text.txt").read_text(encoding="utf-8").splitlines()
    ]
    half = min(len(posts), n // 2)
    texts = [posts[i] for i in rng.choice(len(posts), half, replace=False)]
    texts += [tweets[i] for i in rng.choice(len(tweets), n - half, replace=False)]
    texts = [texts[i] for i in rng.permutation(len(texts))]
    topics = sorted({str(t) for t in load_task("stance", "test", data_dir).targets if t})
    return texts, [topics[i] for i in rng.integers(0, len(topics), len(texts))]


def token_counts(texts: list[str], targets: list[str]) -> list[int]:
    """Tokens of each comment with its target as one pair (specials included), untruncated."""
    from transformers import AutoTokenizer

    from moderation.models.encoder import bundled_encoder_path

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_encoder_path()), local_files_only=True)
    return [len(ids) for ids in tokenizer(texts, targets, truncation=False, verbose=False)["input_ids"]]


# --- children: one system each, in its own process ------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _peer_pipelines(folder: Path) -> dict[str, Any]:
    from transformers import pipeline

    return {task: pipeline("text-classification", model=str(folder / task), device=-1) for task in PEER_TASKS}


def _peer_inputs(task: str, texts: list[str], targets: list[str]) -> list[Any]:
    if task == "stance":
        return [{"text": t, "text_pair": p} for t, p in zip(texts, targets, strict=True)]
    return list(texts)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peer_task(pipe: Any, inputs: list[Any], batch_size: int | None, cap: float) -> tuple[int, float, float]:
    """Items done, wall seconds and CPU seconds: one call per item (or per batch) until done or ``cap`` passes."""
    step = batch_size * 2 if batch_size else 1
    done, start, cpu = 0, time.perf_counter(), _cpu_seconds()
    while done < len(inputs) and time.perf_counter() - start < cap:
        chunk = inputs[done : done + step]
        if batch_size:
            pipe(chunk, batch_size=batch_size, truncation=True)
        else:
            pipe(chunk[0], truncation=True)
        done += len(chunk)
    return done, time.perf_counter() - start, _cpu_seconds() - cpu


def child_peer(job: dict[str, Any], batched: bool) -> dict[str, Any]:
    """Each task's pipeline, with torch's default threads and with one thread: the faster counts for each
    task (on a busy machine torch's multi-threaded kernels can collapse; the peer gets its best)."""
    import torch

    pipes = _peer_pipelines(Path(job["peer_dir"]))
    n = job["peer_batched_n"] if batched else job["peer_n"]
    texts, targets = job["texts"][:n], job["targets"][:n]
    best: dict[str, tuple[float, float, int]] = {}  # task -> (seconds per comment, CPU s per comment, threads)
    for threads in dict.fromkeys((torch.get_num_threads(), 1)):
        torch.set_num_threads(threads)
        for task, pipe in pipes.items():
            inputs = _peer_inputs(task, texts, targets)
            pipe(inputs[:4], truncation=True)  # warm-up
            done, wall, cpu = _peer_task(pipe, inputs, job["batch_size"] if batched else None, job["peer_cap"])
            if task not in best or wall / done < best[task][0]:
                best[task] = (wall / done, cpu / done, threads)
    per_comment = sum(seconds for seconds, _, _ in best.values())
    return {
        "n": n,
        "seconds": per_comment * n,
        "cpu": sum(cpu for _, cpu, _ in best.values()) * n,
        "per_task": {task: {"rate": 1 / s, "threads": t} for task, (s, _, t) in best.items()},
        "rss": _peak_rss_mib(),
    }


def child_ours(job: dict[str, Any], system: str) -> dict[str, Any]:
    """One timed ``predict`` of the corpus; in the first round also the batch-size sweep (int8), the
    probabilities (for agreement with fp32) and the quality on the test splits (the English model's)."""
    from moderation import Scorer
    from moderation.models.multilingual import MULTILINGUAL_NAME
    from moderation.models.scorer import BUNDLED_HEADS

    multilingual = system.startswith("multilingual-")
    mode = system.removeprefix("multilingual-")
    if multilingual:
        scorer = Scorer.load(MULTILINGUAL_NAME, heads=BUNDLED_HEADS / "multilingual", mode=mode)
        n = min(job["multilingual_n"], job["bf16_n"] if mode == "bf16" else job["n"])
    else:
        scorer = Scorer.load(heads=BUNDLED_HEADS, mode=mode)  # the English model alone, not routed
        n = job["bf16_n"] if mode == "bf16" else job["n"]
    texts, targets = job["texts"][:n], job["targets"][:n]
    scorer.predict(texts[:64], targets[:64], batch_size=job["batch_size"])  # warm-up

    def timed(batch_size: int) -> tuple[float, list[Any]]:
        start = time.perf_counter()
        scores = scorer.predict(texts, targets, batch_size=batch_size)
        return time.perf_counter() - start, scores

    cpu = _cpu_seconds()
    seconds, scores = timed(job["batch_size"])
    cpu = _cpu_seconds() - cpu
    result: dict[str, Any] = {"n": n, "seconds": seconds, "cpu": cpu, "rss": _peak_rss_mib(), "sweep": {}}
    result["mode"] = scorer.backends["sentiment"].mode  # type: ignore[attr-defined]
    result["quality"] = []
    if job["first_round"]:
        if system == "int8":
            result["sweep"] = {size: n / timed(size)[0] for size in job["sweep"]}
        _save_probabilities(scores, Path(job["dir"]) / f"{system}.npz")
        if system in job["quality_modes"]:
            result["quality"] = _quality(scorer, job)
    return result


def _save_probabilities(scores: list[Any], path: Path) -> None:
    import numpy as np

    tasks = ("sentiment", "stance", "toxicity")
    np.savez(path, **{t: np.array([list(getattr(s, t).probabilities.values()) for s in scores]) for t in tasks})


def _quality(scorer: Any, job: dict[str, Any]) -> list[dict[str, Any]]:
    from moderation.training.evaluation import evaluate_scorer

    limit = job["quality_limit"] or None
    results = evaluate_scorer(scorer, Path(job["data_dir"]), limit=limit, seed=job["seed"])
    return [r.as_dict() for r in results]


def child_prepare(job: dict[str, Any]) -> dict[str, Any]:
    """Build the peer checkpoints and the int8 export (cached), and say what ``auto`` picks here."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from moderation import Scorer
    from moderation.models.encoder import bundled_encoder_path
    from moderation.models.runtime import has_native_bf16, has_onnxruntime

    source = str(bundled_encoder_path())
    for task, labels in PEER_TASKS.items():
        model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=labels, local_files_only=True)
        model.save_pretrained(Path(job["peer_dir"]) / task)
        AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(Path(job["peer_dir"]) / task)
    auto = Scorer.load(mode="auto").backends["sentiment"].encoder  # type: ignore[attr-defined]
    return {
        "auto": auto.mode,
        "reason": auto.mode_reason,
        "onnxruntime": has_onnxruntime(),
        "native_bf16": has_native_bf16(),
    }


def run_child(system: str, job_file: Path, when: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", system, "--job", str(job_file)]
    print(f"{when}: {system} (load average {os.getloadavg()[0]:.1f}) ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child_main(system: str, job_file: Path) -> int:
    job = json.loads(job_file.read_text(encoding="utf-8"))
    if system == "prepare":
        result = child_prepare(job)
    elif system.startswith("peer"):
        result = child_peer(job, batched=system == "peer-batched")
    else:
        result = child_ours(job, system)
    print(json.dumps(result))
    return 0


# --- the report -----------------------------------------------------------------------------------


@dataclass
class Row:
    system: str
    numerics: str
    n: int
    seconds: float
    cpu: float
    rss: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.n / self.seconds


def machine() -> str:
    import torch

    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    units = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16") if f" {f}" in flags]
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines() if "model name" in line), "?")
    versions = [f"torch {torch.__version__}", f"transformers {_version('transformers')}"]
    versions.append(f"onnxruntime {_version('onnxruntime')}")
    return (
        f"{model}, {len(os.sched_getaffinity(0))} cores ({', '.join(units)}), {torch.get_num_threads()} torch threads; "
        f"{', '.join(versions)}; Python {platform.python_version()}"
    )


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def speed_table(rows: list[Row], tokens_per_comment: float) -> list[str]:
    single = next((r.rate for r in rows if r.system.startswith("peer, one")), float("nan"))
    batched = next((r.rate for r in rows if r.system.startswith("peer, batched")), float("nan"))
    lines = [
        "| system | numerics | comments timed | comments/s (all heads) | tokens/s | CPU ms per comment "
        "| peak RSS (MiB) | x peer one at a time | x peer batched |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def times(rate: float, peer: float) -> str:
        return f"{rate / peer:.1f}" if peer == peer else "-"  # no peer timed (--only)

    for r in rows:
        lines.append(
            f"| {r.system} | {r.numerics} | {r.n} | {r.rate:.1f} | {r.rate * tokens_per_comment:,.0f} "
            f"| {1000 * r.cpu / r.n:.1f} | {r.rss:.0f} | {times(r.rate, single)} | {times(r.rate, batched)} |"
        )
    return lines


def quality_table(quality: dict[str, list[dict[str, Any]]]) -> list[str]:
    modes = [m for m in MODES if quality.get(m)]
    if "fp32" not in modes:
        return ["(no fp32 quality: nothing to compare against)"]
    lines = ["| head | test split (n) | metric | " + " | ".join(modes) + " |", "|---|---|---|" + "---|" * len(modes)]
    for i, ref in enumerate(quality["fp32"]):
        cells = []
        for mode in modes:
            score = quality[mode][i]["score"]
            delta = 100 * (score - ref["score"])
            cells.append(f"{score:.4f}" if mode == "fp32" else f"{score:.4f} ({delta:+.2f} pts)")
        lines.append(f"| {ref['task']} | {ref['source']} ({ref['n']}) | {ref['metric']} | " + " | ".join(cells) + " |")
    return lines


def agreement_lines(folder: Path, modes: list[str], prefix: str = "") -> list[str]:
    """Each mode's labels and probabilities against fp32's (of the same model), on the comments both scored."""
    import numpy as np

    if not (folder / f"{prefix}fp32.npz").exists():
        return []
    ref = np.load(folder / f"{prefix}fp32.npz")
    lines = ["| mode | sentiment labels = fp32 | stance labels = fp32 | toxicity labels = fp32 | max abs prob diff |"]
    lines.append("|---|---|---|---|---|")
    for mode in modes:
        if mode == "fp32" or not (folder / f"{prefix}{mode}.npz").exists():
            continue
        other = np.load(folder / f"{prefix}{mode}.npz")
        cells, worst = [], 0.0
        for task in ("sentiment", "stance", "toxicity"):
            n = len(other[task])
            same = (other[task].argmax(axis=1) == ref[task][:n].argmax(axis=1)).mean()
            worst = max(worst, float(np.abs(other[task] - ref[task][:n]).max()))
            cells.append(f"{100 * same:.1f} %")
        lines.append(
            f"| {prefix}{mode} ({len(other['sentiment'])} comments) | " + " | ".join(cells) + f" | {worst:.3f} |"
        )
    return lines


def bar_lines(rows: list[Row], quality: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Issue 7's CPU bar, read off this run."""
    single = next((r.rate for r in rows if r.system.startswith("peer, one")), None)
    ours = [r for r in rows if r.system.startswith("ours")]
    if not ours or single is None:
        return []
    within = [r for r in ours if _loss_points(quality, r.numerics) <= BAR_POINTS]
    best = max(within or ours, key=lambda r: r.rate)
    loss = _loss_points(quality, best.numerics)
    return [
        f"- Fastest mode within {BAR_POINTS} points of fp32 on every head: **{best.numerics}**, "
        f"{best.rate:.0f} comments/s (bar {BAR_RATE:.0f}: {'met' if best.rate >= BAR_RATE else 'NOT met'}), "
        f"{best.rate / single:.1f}x the per-task peer one at a time (bar {BAR_RATIO:.0f}x: "
        f"{'met' if best.rate / single >= BAR_RATIO else 'NOT met'}); largest quality loss {loss:.2f} points.",
    ]


def _loss_points(quality: dict[str, list[dict[str, Any]]], mode: str) -> float:
    if mode == "fp32" or not quality.get(mode) or not quality.get("fp32"):
        return 0.0
    return max(100 * (ref["score"] - own["score"]) for ref, own in zip(quality["fp32"], quality[mode], strict=True))


SYSTEMS = {
    "peer-single": "peer, one at a time",
    "peer-batched": "peer, batched",
    **{mode: f"ours, {mode}" for mode in MODES},
    **{f"multilingual-{mode}": f"multilingual, {mode}" for mode in MODES},
}


def _systems(args: argparse.Namespace, job: dict[str, Any]) -> list[str]:
    skip = {"bf16", "multilingual-bf16"} if not args.bf16_n else set()
    if not job["onnxruntime"]:
        skip |= {"int8", "multilingual-int8"}
    if not args.multilingual_n:
        skip |= {f"multilingual-{mode}" for mode in MODES}
    only = {s for s in args.only.split(",") if s}
    return [system for system in SYSTEMS if system not in skip and (not only or system in only)]


def collect(args: argparse.Namespace, work: Path, job: dict[str, Any]) -> tuple[list[Row], dict[str, Any], str]:
    """Time every system ``--rounds`` times, round-robin; rows of best rates, each mode's quality, the sweep."""
    best: dict[str, Row] = {}
    quality: dict[str, Any] = {}
    sweep = ""
    for round_ in range(args.rounds):
        job_file = work / f"job-{round_}.json"
        job_file.write_text(json.dumps({**job, "first_round": round_ == 0}), encoding="utf-8")
        for system in _systems(args, job):
            result = run_child(system, job_file, f"round {round_ + 1}/{args.rounds}")
            if "error" in result:
                print(f"{system} failed: {result['error']}", file=sys.stderr)
                continue
            row = _row(system, result)
            if system not in best or row.rate > best[system].rate:
                best[system] = row
            quality.update({system: result["quality"]} if result.get("quality") else {})
            if result.get("sweep"):
                sweep = ", ".join(f"batch {size}: {rate:.0f}/s" for size, rate in result["sweep"].items())
    return [best[s] for s in SYSTEMS if s in best], quality, sweep


def _row(system: str, result: dict[str, Any]) -> Row:
    if system.startswith("peer"):
        note = ", ".join(
            f"{task} {task_result['rate']:.1f}/s ({task_result['threads']} torch threads)"
            for task, task_result in result["per_task"].items()
        )
        return Row(SYSTEMS[system], "fp32 (torch)", result["n"], result["seconds"], result["cpu"], result["rss"], note)
    return Row(SYSTEMS[system], result["mode"], result["n"], result["seconds"], result["cpu"], result["rss"])


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.child:
        return child_main(args.child, args.job)
    if not args.data_dir.is_dir():
        print(f"no data at {args.data_dir}", file=sys.stderr)
        return 2
    start, load_before = time.perf_counter(), os.getloadavg()
    texts, targets = build_corpus(args.data_dir, args.n, args.seed)
    tokens = token_counts(texts, targets)
    with tempfile.TemporaryDirectory(prefix="throughput-") as work:
        job: dict[str, Any] = {
            **{
                k: v
                for k, v in vars(args).items()
                if k in ("n", "peer_n", "peer_batched_n", "peer_cap", "bf16_n", "multilingual_n")
            },
            "seed": args.seed,
            **{"batch_size": args.batch_size, "quality_limit": args.quality_limit},
            "sweep": [int(s) for s in args.sweep.split(",") if s],
            "texts": texts,
            "targets": targets,
            "data_dir": str(args.data_dir),
            "dir": work,
            "peer_dir": str(Path(work) / "peers"),
        }
        (Path(work) / "job.json").write_text(json.dumps(job), encoding="utf-8")
        job.update(run_child("prepare", Path(work) / "job.json", "once"))
        bf16_quality = args.bf16_quality or job.get("native_bf16", False)
        job["quality_modes"] = [m for m in MODES if m != "bf16" or bf16_quality]
        rows, quality, sweep = collect(args, Path(work), job)
        agreement = agreement_lines(Path(work), list(MODES))
        agreement += ["", *agreement_lines(Path(work), list(MODES), prefix="multilingual-")]
    seconds = time.perf_counter() - start
    text = report(args, job, rows, quality, agreement, sweep, tokens, (load_before, os.getloadavg(), seconds))
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}; run time {seconds / 60:.1f} min", file=sys.stderr)
    return 0


def report(
    args: argparse.Namespace,
    job: dict[str, Any],
    rows: list[Row],
    quality: dict[str, Any],
    agreement: list[str],
    sweep: str,
    tokens: list[int],
    timing: tuple[tuple[float, ...], tuple[float, ...], float],
) -> str:
    before, after, seconds = timing
    mean_tokens = sum(tokens) / len(tokens)
    command = shlex.join(["benchmarks/throughput.py", *sys.argv[1:]])
    lines = [
        "# Throughput on CPU",
        "",
        f"`{command}` on {machine()}.",
        f"Load average {before[0]:.1f} at the start, {after[0]:.1f} at the end; run time {seconds / 60:.1f} min.",
        "",
        f"Corpus: {len(tokens)} comments ({mean_tokens:.1f} tokens on average with their target, longest "
        f"{max(tokens)}); half Civil Comments toxic-spans test posts, half TweetEval test tweets, each paired "
        "with a VAST test topic so all three heads answer. Our batch size: "
        f"{args.batch_size}; `auto` picks **{job.get('auto', '?')}** here ({job.get('reason', '?')}).",
        "",
        *speed_table(rows, mean_tokens),
        "",
        *bar_lines(rows, quality),
        f"- int8 batch sizes: {sweep}." if sweep else "",
        "",
        "## Quality of each mode",
        "",
        f"Test splits sampled to {args.quality_limit} items per head (seed {args.seed}); the same items in every mode."
        if args.quality_limit
        else "Whole test splits.",
        "",
        *quality_table(quality),
        "",
        "Agreement with fp32 on the corpus above:",
        "",
        *agreement,
        "",
        "## Notes",
        "",
        *_notes(args, job, rows),
        "",
    ]
    return "\n".join(lines)


def _notes(args: argparse.Namespace, job: dict[str, Any], rows: list[Row]) -> list[str]:
    notes = [f"- {r.system}: {r.note}." for r in rows if r.note]
    notes += [
        "- The peer checkpoints are the bundled MiniLM with randomly initialised classification heads: equal "
        "encoder compute, meaningless answers; only their speed is compared. The one-at-a-time rate is timed on "
        f"up to {args.peer_n} comments (three pipeline calls each) and the batched one on up to "
        f"{args.peer_batched_n} (batch size as ours, in corpus order: pipelines do not sort by length), at most "
        f"{args.peer_cap:g} s per task and thread setting, and extrapolated. Each task counts at its faster "
        "setting, torch's default threads or one: on a busy machine two-thread torch kernels can collapse.",
        "- CPU ms per comment: the process's user and system CPU time during the timed run, per comment (what a "
        "comment costs whatever else runs; busy-waiting threads count too).",
        f"- bf16 is timed on the first {args.bf16_n} comments only"
        + (
            "."
            if "bf16" in job["quality_modes"]
            else "; its quality is not measured (no bf16 units here: pass --bf16-quality), its agreement with fp32 is."
        ),
        "- tokens/s: the comment and target tokens (specials included) of the comments scored, per second.",
        "- Every system runs in its own process, so peak RSS is that process's maximum resident memory "
        f"(the peers hold three models). Each system was timed {args.rounds} time(s), round-robin with the others, "
        "and its best rate is shown; on a shared machine the ratios, from one run, are what to compare.",
    ]
    return notes


if __name__ == "__main__":
    raise SystemExit(main())
