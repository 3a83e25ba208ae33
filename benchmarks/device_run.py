"""The GPU work of issues 4 and 7 as one prepared run on a lent CUDA machine.

Why a driver instead of ``moderation train --device cuda``: the lent machine has PyTorch and
transformers but neither ``datasets`` nor the service's dependencies, and ``../shared`` does not
travel. So ``prepare`` (here, with the data) writes what the run needs into ``.device/`` (ignored
by git, never committed): the task texts exactly as ``moderation train`` draws them
(``finetune.task_texts``), and the bundled encoder's weights in fp16 with its tokenizer. ``run``
(there) imports only ``moderation.models``' training and encoder modules, fine-tunes through the
same ``finetune_texts`` that ``moderation train`` calls, and measures GPU throughput of
``Encoder.encode`` in bf16 against the per-task pipeline way. The tuned layers come back split in
two files (the device returns files of at most 16 MiB) and ``merge`` joins them beside the heads.

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
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / ".device"
TEXTS = STAGE / "finetune_texts.pkl.gz"
ENCODER = STAGE / "encoder"
BUNDLED = ROOT / "moderation" / "models" / "bundled"

#: The bundled model's fine-tune: every layer, two epochs, one seed (what 15 minutes of GPU allowed).
CONFIG = {
    "tune_layers": 6,
    "epochs": 2,
    "items_per_task": 16000,
    "batch_size": 32,
    "lr": 8e-5,
    "layer_decay": 0.85,
    "soup": 1,
}


#: ``DEVICE_RUN_SMOKE=1 DEVICE_RUN_DEVICE=cpu``: the whole run on a few items, to check it here first.
SMOKE = os.environ.get("DEVICE_RUN_SMOKE") == "1"
SMOKE_CONFIG = {"tune_layers": 1, "epochs": 1, "items_per_task": 64, "soup": 2}
DEVICE = os.environ.get("DEVICE_RUN_DEVICE", "cuda")


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
    config = FinetuneConfig(**CONFIG)  # type: ignore[arg-type]
    rng = np.random.default_rng(config.seed)
    seed_everything(config.seed)
    texts = {split: task_texts(split, data_dir, config, rng) for split in ("train", "validation")}
    STAGE.mkdir(exist_ok=True)
    with gzip.open(TEXTS, "wb") as fh:
        pickle.dump({"config": CONFIG, "texts": texts}, fh)
    source = bundled_encoder_path()
    ENCODER.mkdir(exist_ok=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        (ENCODER / name).write_bytes((source / name).read_bytes())
    state = load_file(str(source / "model.safetensors"))
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(ENCODER / "model.safetensors"))
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


def _finetune(out: Path, log: Any) -> None:
    from safetensors.torch import load_file, save_file

    from moderation.models.finetune import FinetuneConfig, finetune_texts
    from moderation.models.heads import ENCODER_WEIGHTS, HeadSet

    staged = _staged()
    config = FinetuneConfig(**{**staged["config"], **SMOKE_CONFIG}) if SMOKE else FinetuneConfig(**staged["config"])
    encoder = _encoder(DEVICE)
    model_dir = out / "model"
    started = time.perf_counter()
    texts = staged["texts"]
    if SMOKE:
        texts = {split: [(n, t[:64], g[:64], y[:64]) for n, t, g, y in tasks] for split, tasks in texts.items()}
    finetune_texts(encoder, HeadSet.load(BUNDLED), texts, model_dir, config, log=log)
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


def _throughput(out: Path, log: Any) -> None:
    """Comments/s on the GPU: the peer way (a transformers pipeline per task) against ``Encoder.encode``."""
    import torch
    from transformers import AutoModelForSequenceClassification, pipeline

    from moderation.models.heads import HeadSet

    gpu = DEVICE == "cuda"
    results: dict[str, Any] = {"device": torch.cuda.get_device_name(0) if gpu else DEVICE, "torch": torch.__version__}
    heads = HeadSet.load(BUNDLED)
    encoder = _encoder(DEVICE)
    scale = 100 if SMOKE else 1
    peer_texts = _corpus(20_000 // scale)
    classifier = AutoModelForSequenceClassification.from_pretrained(ENCODER, num_labels=3).float().to(DEVICE).eval()
    task = pipeline("text-classification", model=classifier, tokenizer=encoder.tokenizer, device=DEVICE)
    for batch in (1, 256) if os.environ.get("DEVICE_RUN_PEER", "1") == "1" else ():
        n = 2_000 // scale if batch == 1 else len(peer_texts)
        rate = _rate(lambda n=n, b=batch: task(peer_texts[:n], batch_size=b, truncation=True), n)
        results[f"peer pipeline, batch {batch}, one task"] = rate
        results[f"peer pipeline, batch {batch}, three tasks"] = rate / 3
        log(f"throughput: peer batch {batch}: {rate:,.0f} comments/s per task")
        (out / "throughput.json").write_text(json.dumps(results, indent=2))
    texts = _corpus(200_000 // scale)
    for mode in os.environ.get("DEVICE_RUN_MODES", "fp32,bf16").split(","):
        encoder.set_mode(mode)
        for batch in (1024, 256):

            def score(batch: int = batch) -> None:
                features = encoder.encode(texts, batch_size=batch)
                for head in heads.heads.values():
                    head.predict_proba(features)

            rate = _rate(score, len(texts))
            results[f"Encoder.encode + heads, {mode}, batch {batch}"] = rate
            log(f"throughput: ours {mode} batch {batch}: {rate:,.0f} comments/s, all heads")
            (out / "throughput.json").write_text(json.dumps(results, indent=2))
    if gpu:
        results["peak GPU memory (GiB)"] = torch.cuda.max_memory_allocated() / 2**30
    (out / "throughput.json").write_text(json.dumps(results, indent=2))


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
    if only in ("", "finetune"):
        _finetune(out, log)
    if only in ("", "throughput"):
        _throughput(out, log)


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
    parser.add_argument("step", choices=("prepare", "run", "merge"))
    parser.add_argument("folder", nargs="?", type=Path)
    args = parser.parse_args()
    if args.step == "prepare":
        prepare()
    elif args.step == "run":
        run()
    else:
        merge(args.folder)


if __name__ == "__main__":
    main()
