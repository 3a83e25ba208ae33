"""The GPU work of issues 4 and 7 as one prepared run on a lent CUDA machine.

Why a driver instead of ``moderation train --device cuda``: the lent machine has PyTorch and
transformers but neither ``datasets`` nor the service's dependencies, and ``../shared`` does not
travel. So ``prepare`` (here, with the data) writes what the run needs into ``.device/`` (ignored
by git, never committed): the task texts exactly as ``moderation train`` draws them
(``finetune.task_texts``), and the bundled encoder's weights in fp16 with its tokenizer. ``run``
(there) imports only ``moderation.models``' training and encoder modules and fine-tunes as
``moderation train --soup S`` does (``fit_soup``: S seeds, then ``greedy_soup``), but with the S runs
at once in S processes, since one run's small steps leave the GPU mostly idle. It also measures GPU
throughput of ``Encoder.encode`` in bf16 against the per-task pipeline way. The tuned layers come
back split in two files (the device returns files of at most 16 MiB) and ``merge`` joins them beside the heads.

    .venv/bin/python benchmarks/device_run.py prepare        # here
    python3 benchmarks/device_run.py run                     # on the GPU machine, writes $OUT
    .venv/bin/python benchmarks/device_run.py merge DIR      # here, DIR = the files that came back
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / ".device"
TEXTS = STAGE / "finetune_texts.pkl.gz"
ENCODER = STAGE / "encoder"
FROZEN = STAGE / "frozen_heads"
BUNDLED = ROOT / "moderation" / "models" / "bundled"
#: The commit whose bundled heads are the frozen-encoder heads (``moderation train`` without
#: fine-tuning) that every fine-tune starts from; later commits bundle fine-tuned heads.
FROZEN_HEADS_COMMIT = "65034a6"

#: The bundled model's fine-tune: every layer, three epochs, a greedy soup of two seeds. ``prepare``
#: takes other settings as JSON in ``DEVICE_RUN_CONFIG``, e.g. '{"epochs": 4, "soup": 6}'.
CONFIG = {
    "tune_layers": 6,
    "epochs": 3,
    "items_per_task": 16000,
    "batch_size": 32,
    "lr": 8e-5,
    "layer_decay": 0.85,
    "soup": 2,
}


#: ``DEVICE_RUN_SMOKE=1 DEVICE_RUN_DEVICE=cpu``: the whole run on a few items, to check it here first.
SMOKE = os.environ.get("DEVICE_RUN_SMOKE") == "1"
SMOKE_CONFIG = {"tune_layers": 1, "epochs": 1, "items_per_task": 64, "soup": 2}
DEVICE = os.environ.get("DEVICE_RUN_DEVICE", "cuda")
#: Seconds the soup's runs get; the soup is made of those that finished (the device allows 600 a call).
DEADLINE = float(os.environ.get("DEVICE_RUN_DEADLINE", "440"))
#: Where the runs leave their weights for the soup (not in $OUT: they do not come back).
MEMBERS = Path(os.environ.get("DEVICE_RUN_MEMBERS", "/tmp/device_run_members"))


def _light_imports() -> None:
    """Import ``moderation.models`` submodules without the package ``__init__`` files, which pull in
    the service's dependencies (pydantic, SQLAlchemy, trafilatura) that the GPU machine lacks."""
    sys.path.insert(0, str(ROOT))
    for name in ("moderation", "moderation.models"):
        module = types.ModuleType(name)
        module.__path__ = [str(ROOT / name.replace(".", "/"))]
        sys.modules[name] = module


def prepare() -> None:
    import numpy as np
    from safetensors.torch import load_file, save_file

    from moderation.models.encoder import bundled_encoder_path
    from moderation.models.finetune import FinetuneConfig, task_texts
    from moderation.models.training import seed_everything

    data_dir = ROOT.parent / "shared" / "data"
    settings = {**CONFIG, **json.loads(os.environ.get("DEVICE_RUN_CONFIG", "{}"))}
    config = FinetuneConfig(**settings)
    rng = np.random.default_rng(config.seed)
    seed_everything(config.seed)
    texts = {split: task_texts(split, data_dir, config, rng) for split in ("train", "validation")}
    STAGE.mkdir(exist_ok=True)
    with gzip.open(TEXTS, "wb") as fh:
        pickle.dump({"config": settings, "texts": texts}, fh)
    source = bundled_encoder_path()
    ENCODER.mkdir(exist_ok=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        (ENCODER / name).write_bytes((source / name).read_bytes())
    state = load_file(str(source / "model.safetensors"))
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(ENCODER / "model.safetensors"))
    FROZEN.mkdir(exist_ok=True)
    for name in ("heads.json", "heads.safetensors"):
        blob = f"{FROZEN_HEADS_COMMIT}:moderation/models/bundled/{name}"
        (FROZEN / name).write_bytes(
            subprocess.run(["git", "show", blob], cwd=ROOT, capture_output=True, check=True).stdout
        )
    sizes = {split: {name: len(t) for name, t, _, _ in tasks} for split, tasks in texts.items()}
    print(json.dumps(sizes), f"{sum(f.stat().st_size for f in STAGE.rglob('*') if f.is_file()) / 2**20:.1f} MiB")


@functools.cache
def _staged() -> dict[str, Any]:
    """What ``prepare`` wrote, read once for the fine-tune and both throughput corpora."""
    with gzip.open(TEXTS, "rb") as fh:
        staged: dict[str, Any] = pickle.load(fh)
    return staged


def _encoder(device: str) -> Any:
    from moderation.models.encoder import Encoder

    encoder = Encoder.load(ENCODER, device=device)
    encoder.model.float()  # the carried weights are fp16; train and measure in fp32 / autocast
    encoder.name = "sentence-transformers/all-MiniLM-L6-v2"
    return encoder


def _config() -> Any:
    from moderation.models.finetune import FinetuneConfig

    staged = _staged()
    return FinetuneConfig(**{**staged["config"], **SMOKE_CONFIG}) if SMOKE else FinetuneConfig(**staged["config"])


def _texts() -> dict[str, Any]:
    texts: dict[str, Any] = _staged()["texts"]
    if SMOKE:
        texts = {split: [(n, t[:64], g[:64], y[:64]) for n, t, g, y in tasks] for split, tasks in texts.items()}
    return texts


def member(k: int) -> None:
    """One run of the soup (seed ``seed + k``), in its own process; its state goes to ``MEMBERS``."""
    _light_imports()
    import torch

    from moderation.models.finetune import Finetuner, _cache, _Cacher
    from moderation.models.heads import HeadSet

    config = _config().run(k)
    encoder = _encoder(DEVICE)
    cacher = _Cacher(encoder, config)
    cached = {split: _cache(cacher, split, tasks, print) for split, tasks in _texts().items()}
    started = time.perf_counter()
    run = Finetuner(
        encoder,
        HeadSet.load(FROZEN),
        config,
        lambda line: print(f"{time.perf_counter() - started:4.0f} s {line}", flush=True),
    )
    run.fit(cached["train"], cached["validation"])
    print(f"member {k}: fitted in {time.perf_counter() - started:.0f} s", flush=True)
    torch.save(run.state(), MEMBERS / f"member{k}.part")
    (MEMBERS / f"member{k}.part").rename(MEMBERS / f"member{k}.pt")


def _finetune(out: Path, log: Any) -> None:
    """The soup's runs at once, one process each (the GPU idles between one run's small steps),
    then the greedy soup here, from whichever runs finished within ``DEADLINE`` seconds."""
    import torch
    from safetensors.torch import load_file, save_file

    from moderation.models.finetune import Finetuner, _cache, _Cacher, greedy_soup
    from moderation.models.heads import ENCODER_WEIGHTS, HeadSet

    config = _config()
    started = time.perf_counter()
    shutil.rmtree(MEMBERS, ignore_errors=True)
    threads = str(max(1, (os.cpu_count() or 2) // config.soup))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "TOKENIZERS_PARALLELISM": "false"}
    MEMBERS.mkdir(parents=True)
    workers = []
    for k in range(config.soup):
        # Logs stay beside the weights and are copied into run.log: the device returns 8 files at most.
        with (MEMBERS / f"member{k}.log").open("w") as sink:
            args = [sys.executable, __file__, "member", str(k)]
            workers.append(subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, env=env))
    encoder = _encoder(DEVICE)
    heads = HeadSet.load(FROZEN)
    validation = _cache(_Cacher(encoder, config), "validation", _texts()["validation"], log)
    while any(w.poll() is None for w in workers) and time.perf_counter() - started < DEADLINE:
        time.sleep(2)
    for k, worker in enumerate(workers):
        if worker.poll() is None:
            worker.kill()
        log(f"finetune: member {k} exit {worker.wait()}\n{(MEMBERS / f'member{k}.log').read_text()}")
    runs = [
        Finetuner.restore(encoder, heads, config.run(k), torch.load(path), log)
        for k in range(config.soup)
        if (path := MEMBERS / f"member{k}.pt").exists()
    ]
    log(f"finetune: {len(runs)} of {config.soup} runs finished in {time.perf_counter() - started:.0f} s")
    if not runs:
        return
    model_dir = out / "model"
    greedy_soup(encoder, heads, runs, validation, config, log).save(model_dir)
    log(f"finetune: {time.perf_counter() - started:.0f} s in all")
    state = load_file(str(model_dir / ENCODER_WEIGHTS))
    keys = sorted(state)
    half = len(keys) // 2
    for part, chosen in (("a", keys[:half]), ("b", keys[half:])):
        save_file({k: state[k] for k in chosen}, str(model_dir / f"encoder.{part}.safetensors"))
    (model_dir / ENCODER_WEIGHTS).unlink()


def _corpus(n: int) -> list[str]:
    """Real comments as they come (the staged training texts: tweets, news comments, Wikipedia)."""
    staged = _staged()
    texts = [t for _, task_texts, _, _ in staged["texts"]["train"] for t in task_texts]
    return [texts[i % len(texts)] for i in range(n)]


def _sync() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _rate(fn: Any, n: int) -> float:
    """Comments/s of the second call (the first warms kernels, the allocator and caches)."""
    fn()
    _sync()
    started = time.perf_counter()
    fn()
    _sync()
    return n / (time.perf_counter() - started)


def _peer(results: dict[str, Any], out: Path, scale: int, log: Any) -> None:
    """The peer way: a transformers ``pipeline("text-classification")`` per task, one comment per call and batched."""
    from transformers import AutoModelForSequenceClassification, pipeline

    peer_texts = _corpus(20_000 // scale)
    classifier = AutoModelForSequenceClassification.from_pretrained(ENCODER, num_labels=3).float().to(DEVICE).eval()
    task = pipeline("text-classification", model=classifier, tokenizer=str(ENCODER), device=DEVICE)
    for batch in (1, 256):
        n = 2_000 // scale if batch == 1 else len(peer_texts)
        rate = _rate(lambda n=n, b=batch: task(peer_texts[:n], batch_size=b, truncation=True), n)
        results[f"peer pipeline, batch {batch}, one task"] = rate
        results[f"peer pipeline, batch {batch}, three tasks"] = rate / 3
        log(f"throughput: peer batch {batch}: {rate:,.0f} comments/s per task")
        (out / "throughput.json").write_text(json.dumps(results, indent=2))


def _throughput(out: Path, log: Any) -> None:
    """Comments/s on the GPU: the peer way (a transformers pipeline per task) against ``Encoder.encode``."""
    import numpy as np
    import torch

    from moderation.models.heads import HeadSet, feature_matrices

    gpu = DEVICE == "cuda"
    results: dict[str, Any] = {"device": torch.cuda.get_device_name(0) if gpu else DEVICE, "torch": torch.__version__}
    heads = HeadSet.load(BUNDLED)
    encoder = _encoder(DEVICE)
    scale = 100 if SMOKE else 1
    if os.environ.get("DEVICE_RUN_PEER", "0") == "1":
        _peer(results, out, scale, log)
    texts = _corpus(200_000 // scale)
    tokenize = encoder.window_tokenizer
    rate = _rate(
        lambda: [
            tokenize(texts[a : a + 16384], [None] * len(texts[a : a + 16384])) for a in range(0, len(texts), 16384)
        ],
        len(texts),
    )
    results["window tokenizer alone (16 cores)"] = rate
    log(f"throughput: tokenizer alone: {rate:,.0f} comments/s")
    windows = tokenize(texts, [None] * len(texts))
    order = np.argsort(windows.lengths, kind="stable")
    for mode, batch in (
        m.split(":") for m in os.environ.get("DEVICE_RUN_MODES", "bf16:1024,bf16:4096,fp32:1024").split(",")
    ):
        encoder.set_mode(mode)
        size = int(batch)
        batches = [tokenize.batch(windows, order[a : a + size]) for a in range(0, len(order), size)]

        def engine_only(batches: list[Any] = batches) -> None:
            for result in [encoder.engine.submit(arrays, sequence) for arrays, sequence in batches]:
                result()

        rate = _rate(engine_only, len(texts))
        results[f"engine only (pre-built batches), {mode}, batch {size}"] = rate
        log(f"throughput: engine only {mode} batch {size}: {rate:,.0f} comments/s")

        def score(size: int = size) -> None:
            matrices = feature_matrices(encoder.encode(texts, batch_size=size))
            for head in heads.heads.values():
                head.proba(matrices(head.features))

        rate = _rate(score, len(texts))
        results[f"Encoder.encode + heads, {mode}, batch {size}"] = rate
        log(f"throughput: ours {mode} batch {size}: {rate:,.0f} comments/s, all heads")
        (out / "throughput.json").write_text(json.dumps(results, indent=2))
    if gpu:
        results["peak GPU memory (GiB)"] = torch.cuda.max_memory_allocated() / 2**30
    (out / "throughput.json").write_text(json.dumps(results, indent=2))


def _host(out: Path, log: Any) -> None:
    """End to end (batch 1024) with more tokenizing threads, and with the cyclic GC frozen after loading
    (``settle_loaded_model``): which host-side settings pay on a many-core GPU machine (``DEVICE_RUN_ONLY=host``)."""
    from moderation.models import encoder as encoder_module
    from moderation.models.heads import HeadSet, feature_matrices
    from moderation.models.runtime import settle_loaded_model

    heads = HeadSet.load(BUNDLED)
    encoder = _encoder(DEVICE)
    encoder.set_mode("bf16" if DEVICE == "cuda" else "fp32")
    texts = _corpus(200_000 // (100 if SMOKE else 1))
    results: dict[str, Any] = {"mode": encoder.mode}

    def score() -> None:
        matrices = feature_matrices(encoder.encode(texts, batch_size=1024))
        for head in heads.heads.values():
            head.proba(matrices(head.features))

    for threads, frozen in ((2, False), (4, False), (8, False), (2, True), (4, True)):
        encoder_module.TOKENIZE_THREADS = threads
        encoder.__dict__.pop("_tokenize_workers", None)  # a new pool of that many threads
        if frozen:
            settle_loaded_model()
        name = f"{threads} tokenizing threads" + (", GC frozen" if frozen else "")
        results[name] = _rate(score, len(texts))
        log(f"host: {name}: {results[name]:,.0f} comments/s end to end")
        (out / "host.json").write_text(json.dumps(results, indent=2))


def run() -> None:
    _light_imports()
    out = Path(os.environ.get("OUT", ROOT / ".device" / "out"))
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "run.log").open("w")

    def log(line: str) -> None:
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    only = os.environ.get("DEVICE_RUN_ONLY", "")
    for name, step in (("finetune", _finetune), ("throughput", _throughput), ("host", _host)):
        if only == name or (not only and name != "host"):
            try:
                step(out, log)
            except Exception:  # one step's failure must not cost the other its device time
                log(f"{name} failed:\n{traceback.format_exc()}")


def merge(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    from moderation.models.heads import ENCODER_WEIGHTS

    state: dict[str, Any] = {}
    for part in ("a", "b"):
        state.update(load_file(str(folder / f"encoder.{part}.safetensors")))
    save_file(state, str(folder / ENCODER_WEIGHTS))
    print(f"{folder / ENCODER_WEIGHTS}: {len(state)} tensors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "run", "member", "merge"))
    parser.add_argument("folder", nargs="?", help="merge: the files that came back; member: its index")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare()
    elif args.step == "run":
        run()
    elif args.step == "member":
        member(int(args.folder))
    else:
        merge(Path(args.folder))


if __name__ == "__main__":
    main()
