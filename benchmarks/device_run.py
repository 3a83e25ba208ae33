"""The GPU work of the model issues as one prepared run on a lent CUDA machine.

Why a driver instead of ``moderation train --device cuda``: the lent machine has PyTorch and
transformers but neither ``datasets`` nor the service's dependencies, and ``../shared`` does not
travel. So ``prepare`` (here, with the data) writes what the run needs into ``.device/`` (ignored
by git, never committed): the task texts exactly as ``moderation train`` draws them
(``finetune.task_texts``), and the encoder's weights that the repository does not carry (the
pretrained embeddings, in fp16) with its tokenizer; the layers and heads to start from are the
bundled model's (``moderation train --start-from``). ``run`` (there) imports only
``moderation.models`` and ``moderation.training``'s fine-tuning modules and fine-tunes as
``moderation train --soup S`` does (``fit_soup``: S seeds, then ``greedy_soup``), but with every
variant's S runs at once, one process each, since one run's small steps leave the GPU mostly idle.
It can also measure GPU throughput of ``Encoder.encode`` in bf16 against the per-task pipeline way.
The models come back as one tar split into parts (the device returns at most 8 files of 16 MiB)
and ``merge`` unpacks them.

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
BUNDLED = ROOT / "moderation" / "models" / "bundled"
#: The model every variant fine-tunes on from (``moderation train --start-from``): its heads and tuned
#: layers travel with the repository.
START = BUNDLED

#: The fine-tune of issue 15: every layer, on from the bundled model, with the attribute sources mixed
#: by their shares. Each variant is a soup of ``soup`` seeds; ``prepare`` takes other variants as a JSON
#: list in ``DEVICE_RUN_CONFIG``, e.g. '[{"lr": 4e-5}, {"lr": 8e-5}]' (merged over these settings; the
#: texts are staged once, so variants share ``epochs``, ``items_per_task`` and ``attribute_items``).
CONFIG = {
    "tune_layers": 6,
    "epochs": 2,
    "items_per_task": 12000,
    "attribute_items": 32000,
    "batch_size": 32,
    "lr": 5e-5,
    "layer_decay": 0.85,
    "soup": 2,
}
VARIANTS: list[dict[str, Any]] = [{}]


#: ``DEVICE_RUN_SMOKE=1 DEVICE_RUN_DEVICE=cpu``: the whole run on a few items, to check it here first.
SMOKE = os.environ.get("DEVICE_RUN_SMOKE") == "1"
SMOKE_CONFIG = {"tune_layers": 1, "epochs": 1, "items_per_task": 64, "attribute_items": 64, "soup": 2}
DEVICE = os.environ.get("DEVICE_RUN_DEVICE", "cuda")
#: Seconds the soup's runs get; the soup is made of those that finished (the device allows 600 a call).
DEADLINE = float(os.environ.get("DEVICE_RUN_DEADLINE", "420"))
#: Where the runs leave their weights for the soup (not in $OUT: they do not come back).
MEMBERS = Path(os.environ.get("DEVICE_RUN_MEMBERS", "/tmp/device_run_members"))
#: Largest file the device returns is 16 MiB: the models' tar travels in parts of this size.
PART_BYTES = 15 * 2**20


def _light_imports() -> None:
    """Import ``moderation.models`` submodules without the package ``__init__`` files, which pull in
    the service's dependencies (pydantic, SQLAlchemy, trafilatura) that the GPU machine lacks."""
    sys.path.insert(0, str(ROOT))
    for name in ("moderation", "moderation.models", "moderation.training"):
        module = types.ModuleType(name)
        module.__path__ = [str(ROOT / name.replace(".", "/"))]
        sys.modules[name] = module


def prepare() -> None:
    import numpy as np
    from safetensors.torch import load_file, save_file

    from moderation.models.encoder import bundled_encoder_path
    from moderation.models.heads import ENCODER_WEIGHTS
    from moderation.training.features import seed_everything
    from moderation.training.finetune import FinetuneConfig, task_texts

    data_dir = ROOT.parent / "shared" / "data"
    variants = [{**CONFIG, **v} for v in json.loads(os.environ.get("DEVICE_RUN_CONFIG", "null")) or VARIANTS]
    shared = {key: {v.get(key) for v in variants} for key in ("epochs", "items_per_task", "attribute_items", "seed")}
    if any(len(values) > 1 for values in shared.values()):
        raise SystemExit(f"variants must share the staged texts' settings: {shared}")
    config = FinetuneConfig(**variants[0])
    rng = np.random.default_rng(config.seed)
    seed_everything(config.seed)
    texts = {split: task_texts(split, data_dir, config, rng) for split in ("train", "validation")}
    STAGE.mkdir(exist_ok=True)
    with gzip.open(TEXTS, "wb") as fh:
        pickle.dump({"variants": variants, "texts": texts}, fh)
    source = bundled_encoder_path()
    ENCODER.mkdir(exist_ok=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        (ENCODER / name).write_bytes((source / name).read_bytes())
    # Only what the start's tuned layers do not replace: the repository carries those.
    tuned = set(load_file(str(START / ENCODER_WEIGHTS)))
    state = load_file(str(source / "model.safetensors"))
    kept = {k: v.half().contiguous() for k, v in state.items() if k not in tuned}
    save_file(kept, str(ENCODER / "model.safetensors"))
    sizes = {split: {t.name: len(t.texts) for t in tasks} for split, tasks in texts.items()}
    print(json.dumps(sizes), f"{sum(f.stat().st_size for f in STAGE.rglob('*') if f.is_file()) / 2**20:.1f} MiB")


@functools.cache
def _staged() -> dict[str, Any]:
    """What ``prepare`` wrote, read once for the fine-tune and both throughput corpora."""
    with gzip.open(TEXTS, "rb") as fh:
        staged: dict[str, Any] = pickle.load(fh)
    return staged


def _encoder(device: str) -> Any:
    """The staged pretrained weights with the start's tuned layers over them, in fp32."""
    from moderation.models.encoder import Encoder
    from moderation.models.heads import ENCODER_WEIGHTS

    encoder = Encoder.load(ENCODER, device=device)
    encoder.model.float()  # the carried weights are fp16; train and measure in fp32 / autocast
    encoder.load_weights(START / ENCODER_WEIGHTS)
    encoder.name = "sentence-transformers/all-MiniLM-L6-v2"
    return encoder


def _configs() -> list[Any]:
    from moderation.training.finetune import FinetuneConfig

    variants = _staged()["variants"]
    return [FinetuneConfig(**{**v, **SMOKE_CONFIG}) if SMOKE else FinetuneConfig(**v) for v in variants]


def _texts() -> dict[str, Any]:
    texts: dict[str, Any] = _staged()["texts"]
    if SMOKE:
        cut = slice(0, 96)
        texts = {
            split: [
                t._replace(texts=t.texts[cut], targets=t.targets[cut], labels=t.labels[cut], sources=t.sources[cut])
                for t in tasks
            ]
            for split, tasks in texts.items()
        }
    return texts


def _members() -> list[tuple[int, int]]:
    """(variant, run) of every soup member, in the order their processes start."""
    return [(v, k) for v, config in enumerate(_configs()) for k in range(config.soup)]


def member(index: int) -> None:
    """One run of one variant's soup, in its own process; its state goes to ``MEMBERS``."""
    _light_imports()
    import torch

    from moderation.models.heads import HeadSet
    from moderation.training.finetune import Finetuner, _cache, _Cacher

    variant, k = _members()[index]
    config = _configs()[variant].run(k)
    encoder = _encoder(DEVICE)
    cacher = _Cacher(encoder, config)
    cached = {split: _cache(cacher, split, tasks, print) for split, tasks in _texts().items()}
    started = time.perf_counter()
    run = Finetuner(
        encoder,
        HeadSet.load(START),
        config,
        lambda line: print(f"{time.perf_counter() - started:4.0f} s {line}", flush=True),
    )
    run.fit(cached["train"], cached["validation"])
    print(f"member {index} (variant {variant}, seed {config.seed}): fitted in {time.perf_counter() - started:.0f} s")
    torch.save(run.state(), MEMBERS / f"member{index}.part")
    (MEMBERS / f"member{index}.part").rename(MEMBERS / f"member{index}.pt")


def _finetune(out: Path, log: Any) -> None:
    """Every variant's runs at once, one process each (the GPU idles between one run's small steps),
    then each variant's greedy soup here, from whichever runs finished within ``DEADLINE`` seconds."""
    import torch

    from moderation.models.heads import HeadSet
    from moderation.training.finetune import Finetuner, _cache, _Cacher, greedy_soup

    configs = _configs()
    members = _members()
    started = time.perf_counter()
    shutil.rmtree(MEMBERS, ignore_errors=True)
    threads = str(max(1, (os.cpu_count() or 2) // len(members)))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "TOKENIZERS_PARALLELISM": "false"}
    MEMBERS.mkdir(parents=True)
    workers = []
    for index in range(len(members)):
        # Logs stay beside the weights and are copied into run.log: the device returns 8 files at most.
        with (MEMBERS / f"member{index}.log").open("w") as sink:
            args = [sys.executable, __file__, "member", str(index)]
            workers.append(subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, env=env))
    encoder = _encoder(DEVICE)
    heads = HeadSet.load(START)
    validation = _cache(_Cacher(encoder, configs[0]), "validation", _texts()["validation"], log)
    while any(w.poll() is None for w in workers) and time.perf_counter() - started < DEADLINE:
        time.sleep(2)
    for index, worker in enumerate(workers):
        if worker.poll() is None:
            worker.kill()
        log(f"finetune: member {index} exit {worker.wait()}\n{(MEMBERS / f'member{index}.log').read_text()}")
    models = out / "models"
    for v, config in enumerate(configs):
        runs = [
            Finetuner.restore(encoder, heads, config.run(k), torch.load(path), log)
            for index, (variant, k) in enumerate(members)
            if variant == v and (path := MEMBERS / f"member{index}.pt").exists()
        ]
        log(f"finetune: variant {v}: {len(runs)} of {config.soup} runs done at {time.perf_counter() - started:.0f} s")
        if runs:
            greedy_soup(encoder, heads, runs, validation, config, log).save(models / f"variant{v}")
    log(f"finetune: {time.perf_counter() - started:.0f} s in all")
    if models.exists():
        _pack(models, out)


def _pack(folder: Path, out: Path) -> None:
    """``folder`` as one tar in parts of at most ``PART_BYTES`` (``merge`` joins and unpacks them)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=folder.name)
    shutil.rmtree(folder)
    blob = buffer.getvalue()
    for part, start in enumerate(range(0, len(blob), PART_BYTES)):
        (out / f"models.tar.{part:02d}").write_bytes(blob[start : start + PART_BYTES])


def _corpus(n: int) -> list[str]:
    """Real comments as they come (the staged training texts: tweets, news comments, Wikipedia)."""
    staged = _staged()
    texts = [t for task in staged["texts"]["train"] for t in task.texts]
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

        def runtime_only(batches: list[Any] = batches) -> None:
            for result in [encoder.runtime.submit(arrays, sequence) for arrays, sequence in batches]:
                result()

        rate = _rate(runtime_only, len(texts))
        results[f"runtime only (pre-built batches), {mode}, batch {size}"] = rate
        log(f"throughput: runtime only {mode} batch {size}: {rate:,.0f} comments/s")

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
    """Join the parts that came back and unpack the models into ``folder``."""
    import io
    import tarfile

    parts = sorted(folder.glob("models.tar.*"))
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts)), mode="r") as tar:
        tar.extractall(folder, filter="data")
    for model in sorted((folder / "models").iterdir()):
        print(f"{model}: {', '.join(sorted(f.name for f in model.iterdir()))}")


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
