"""Multi-task fine-tuning: the encoder's top layers and every head trained together.

Why the top layers: on a 2-core CPU a full fine-tune of MiniLM runs about 20 comments a second.
The frozen bottom layers' outputs are computed once and cached, so each epoch runs only the top
``tune_layers`` layers; on a GPU ``tune_layers`` can be the whole encoder with the same code.
The heads start from the frozen-feature heads of the same run (so step 0 is the frozen model) or
from an earlier model's heads and layers (``load_start``). Batches hold one task each, the tasks
take turns, and the label smoothing, layer-wise learning rates, source shares and repeated threats
below are what the model card's table of attempts measures. The result is the tuned layers (their
int8 change from the pretrained weights, ``tuned_weights``: 1.8 MB a MiniLM or e5-small layer) beside
the heads, calibrated afterwards by temperature on each head's validation split.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import torch
from torch import nn

from moderation.models.encoder import BUNDLED_NAME, Encoder, WindowTokenizer
from moderation.models.heads import ENCODER_WEIGHTS, HeadSet, LinearHead
from moderation.models.runtime import TARGET_SIDE, has_native_bf16, pair_attention_bias
from moderation.models.tuned_weights import FORMAT as TUNED_FORMAT
from moderation.models.tuned_weights import save_tuned
from moderation.models.windows import clip_target
from moderation.scores import ATTRIBUTES, TASK_LABELS
from moderation.training.attribute_data import AttributeSplit, load_attribute_data
from moderation.training.attribute_heads import head_name
from moderation.training.data import TaskSplit, load_benchmark, load_task
from moderation.training.evaluation import TaskResult
from moderation.training.features import seed_everything
from moderation.training.logistic import fit_binary_temperature, fit_temperature
from moderation.training.mixture import draw_by_source

Log = Callable[[str], object]
#: Larger head weights multiply degenerate features; fine-tuning starts without them.
MAX_HEAD_WEIGHT = 100.0
#: Attributes besides TOXICITY whose validation macro-F1 counts in ``validate`` (and so in the soup).
VALIDATED_ATTRIBUTES = ("THREAT", "IDENTITY_ATTACK")


@dataclass(frozen=True)
class FinetuneConfig:
    tune_layers: int = 2
    epochs: int = 2
    items_per_task: int = 12000  # drawn afresh for each task every epoch
    batch_size: int = 32
    max_tokens: int = 128
    lr: float = 5e-5  # the top layer's; each layer below gets ``layer_decay`` times the one above
    layer_decay: float = 0.8
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    attribute_items: int = 0  # attribute items per epoch, drawn across sources by their shares; 0: items_per_task
    threat_share: float = 0.0  # threats repeated until they number this share of each attribute draw
    shares: dict[str, float] | None = None  # attribute source shares; None: mixture.SOURCE_SHARES
    feedback: str | None = None  # an exported feedback file (moderation feedback export), one more attribute source
    seed: int = 0
    soup: int = 1  # runs with seeds seed, seed+1, ... whose weights are averaged into one model

    def run(self, k: int) -> FinetuneConfig:
        """The settings of the soup's ``k``-th run: its seed is ``seed + k``."""
        return replace(self, seed=self.seed + k)

    def items(self, task: str) -> int:
        """Items drawn for ``task`` each epoch."""
        if task == "attributes" and self.attribute_items:
            return self.attribute_items
        return self.items_per_task


@dataclass
class _Cached:
    """One item after the frozen layers: its states and which tokens are comment (0) or target (1)."""

    states: np.ndarray  # (length, hidden) float16
    sequence: np.ndarray  # (length,) int8: 0 comment, 1 target, -1 special


@dataclass
class _TaskData:
    name: str  # "sentiment", "stance" or "attributes"
    items: list[_Cached]
    labels: np.ndarray  # (n,) class ids, or (n, len(ATTRIBUTES)) rater fractions with NaN
    sources: list[str]  # per item, the data set it came from

    def draw(
        self, n: int, rng: np.random.Generator, threat_share: float = 0.0, shares: dict[str, float] | None = None
    ) -> np.ndarray:
        """``n`` items for one epoch: a plain random draw, or for the attributes each source's share of
        ``n`` (``mixture.SOURCE_SHARES``), so no one data set's quirks dominate however large it is, and
        with ``threat_share`` threats (THREAT >= 0.5) repeated until they number that share of the ``n``."""
        if self.name != "attributes":
            return rng.permutation(len(self.items))[:n]
        drawn = draw_by_source(self.sources, n, rng, shares=shares)
        threats = np.flatnonzero(np.nan_to_num(self.labels[:, ATTRIBUTES.index("THREAT")]) >= 0.5)
        missing = round(threat_share * len(drawn)) - int(np.isin(drawn, threats).sum())
        if missing <= 0 or not len(threats):
            return drawn
        return rng.permutation(np.concatenate([drawn, rng.choice(threats, size=missing)]))


class _Trunk(nn.Module):
    """The tuned top layers plus mean pooling over comment and target tokens."""

    def __init__(self, layers: nn.ModuleList) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, states: torch.Tensor, mask: torch.Tensor, sequence: torch.Tensor) -> tuple[torch.Tensor, ...]:
        states = _through(self.layers, states, pair_attention_bias(mask, _target_side(sequence), torch.float32))
        return _pool(states, sequence == 0), _pool(states, sequence == 1)


def _through(layers: nn.ModuleList, states: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``states`` through ``layers`` under the additive attention mask ``bias``."""
    for layer in layers:
        out = layer(states, attention_mask=bias)
        states = out[0] if isinstance(out, tuple) else out
    return states


def _target_side(sequence: torch.Tensor) -> torch.Tensor:
    """1 from a row's first target token on (the target and the specials after it), as inference marks it."""
    return torch.cummax((sequence == 1).long(), dim=1).values


def _encoder_layers(encoder: Encoder) -> nn.ModuleList:
    """The transformer blocks of a BERT-like encoder (MiniLM, BERT, RoBERTa all name them so)."""
    model: Any = encoder.model
    return cast(nn.ModuleList, model.encoder.layer)


def _pool(states: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    weights = members.float().unsqueeze(-1)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def _features(kind: str, comment: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """What ``heads.feature_matrix`` gives the same head at inference."""
    c = _unit(comment)
    if kind == "comment":
        return c
    t = _unit(target)
    return torch.cat([c, t, c * t], dim=-1)


class _Heads(nn.Module):
    def __init__(self, heads: dict[str, LinearHead]) -> None:
        super().__init__()
        self.kinds = {name: head.features for name, head in heads.items()}
        self.labels = {name: head.labels for name, head in heads.items()}
        self.linear = nn.ModuleDict()
        for name, head in heads.items():
            layer = nn.Linear(head.weight.shape[1], head.weight.shape[0])
            # Frozen-feature heads fold a StandardScaler into their weights: a feature that is all but
            # constant (three MiniLM dimensions sit near 1e-32) gets a weight near 1e31, harmless at
            # inference, but gradients through it overflow and clipping then zeroes every step.
            weight = np.where(np.abs(head.weight) > MAX_HEAD_WEIGHT, 0.0, head.weight)
            layer.weight.data = torch.tensor(weight, dtype=torch.float32)
            layer.bias.data = torch.tensor(head.bias, dtype=torch.float32)
            self.linear[name] = layer

    def logits(self, name: str, comment: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.linear[name](_features(self.kinds[name], comment, target))

    def export(self, temperatures: dict[str, float]) -> dict[str, LinearHead]:
        return {
            name: LinearHead(
                name,
                self.labels[name],
                self.kinds[name],
                linear.weight.detach().cpu().numpy().astype(np.float64) / temperatures.get(name, 1.0),
                linear.bias.detach().cpu().numpy().astype(np.float64) / temperatures.get(name, 1.0),
            )
            for name, linear in ((n, cast(nn.Linear, m)) for n, m in self.linear.items())
        }


class _Cacher:
    """Cuts items as inference does (the comment alone, at most ``max_tokens``, then the target spliced
    in) and runs them through the frozen layers once, with the pair's one-way attention."""

    def __init__(self, encoder: Encoder, config: FinetuneConfig) -> None:
        self.encoder = encoder
        self.config = config
        layers = _encoder_layers(encoder)
        self.frozen = layers[: len(layers) - config.tune_layers]
        self.tokenize = WindowTokenizer(encoder.tokenizer, window=config.max_tokens, stride=config.max_tokens // 4)

    def __call__(self, texts: Sequence[str], targets: Sequence[str | None]) -> list[_Cached]:
        clipped = {t: clip_target(self.encoder.tokenizer, t) for t in {t for t in targets if t}}
        windows = self.tokenize(texts, [clipped[t] if t else None for t in targets])
        # Training reads each item's first window only: the comment's first ``max_tokens`` tokens.
        first = np.flatnonzero(np.r_[True, windows.owner[1:] != windows.owner[:-1]])
        order = first[np.argsort(windows.lengths[first], kind="stable")]
        cached: list[_Cached | None] = [None] * len(texts)
        model: Any = self.encoder.model
        device = self.encoder.device
        for start in range(0, len(order), 64):
            rows = order[start : start + 64]
            arrays, sequence = self.tokenize.batch(windows, rows)
            tensors = {name: torch.from_numpy(array).to(device) for name, array in arrays.items()}
            with torch.inference_mode():
                states = model.embeddings(input_ids=tensors["input_ids"], token_type_ids=tensors.get("token_type_ids"))
                bias = pair_attention_bias(tensors["attention_mask"], tensors[TARGET_SIDE], torch.float32)
                states = _through(self.frozen, states, bias)
            for r, row in enumerate(rows):
                n = int(windows.lengths[row])
                cached[int(windows.owner[row])] = _Cached(
                    states[r, :n].to(torch.float16).cpu().numpy(), sequence[r, :n].astype(np.int8)
                )
        return [c for c in cached if c is not None]


def _collate(items: list[_Cached], device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    length = max(len(c.sequence) for c in items)
    hidden = items[0].states.shape[1]
    states = np.zeros((len(items), length, hidden), dtype=np.float32)
    sequence = np.full((len(items), length), -1, dtype=np.int64)
    mask = np.zeros((len(items), length), dtype=np.int64)
    for r, c in enumerate(items):
        n = len(c.sequence)
        states[r, :n] = c.states
        sequence[r, :n] = c.sequence
        mask[r, :n] = 1
    return (
        torch.from_numpy(states).to(device),
        torch.from_numpy(mask).to(device),
        torch.from_numpy(sequence).to(device),
    )


class Finetuner:
    """Fits the top layers and the heads on every task at once; ``fit`` returns ``self``."""

    def __init__(self, encoder: Encoder, heads: HeadSet, config: FinetuneConfig, log: Log = print) -> None:
        self.encoder = encoder
        self.config = config
        self.log = log
        self.device = encoder.device
        layers = _encoder_layers(encoder)
        self.first_tuned = len(layers) - config.tune_layers
        # A copy: each run of a soup starts from the same layers.
        self.trunk = _Trunk(copy.deepcopy(nn.ModuleList(layers[self.first_tuned :]))).to(self.device)
        self.heads = _Heads(heads.heads).to(self.device)
        self.manifest = dict(heads.manifest)
        # Where this run starts: frozen-feature heads, or an earlier fine-tune it continues.
        earlier = {k: v for k, v in heads.manifest.get("finetune", {}).items() if k != "history"}
        self.start: dict[str, Any] = {"name": heads.manifest.get("name"), "heads": heads.digest}
        if earlier:
            self.start["finetune"] = earlier

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on CUDA (tensor cores) and on CPUs with bf16 matrix units (AMX, AVX512-BF16,
        where a step takes about half the time); plain fp32 elsewhere, where bf16 is emulated."""
        kind = torch.device(self.device).type
        if kind == "cuda" or (kind == "cpu" and has_native_bf16()):
            return torch.autocast(kind, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, train: list[_TaskData], validation: list[_TaskData]) -> Finetuner:
        config = self.config
        seed_everything(config.seed)
        rng = np.random.default_rng(config.seed)
        groups: list[dict[str, Any]] = [
            {"params": list(self.heads.parameters()), "lr": config.head_lr, "weight_decay": 0.0}
        ]
        for depth, layer in enumerate(reversed(self.trunk.layers)):
            groups.append({"params": list(layer.parameters()), "lr": config.lr * config.layer_decay**depth})
        parameters = [p for group in groups for p in group["params"]]
        optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
        # Threats added to the attribute draw count too (a few short of the exact count at most).
        drawn = {t.name: min(len(t.items), config.items(t.name)) for t in train}
        drawn["attributes"] = round(drawn.get("attributes", 0) * (1 + config.threat_share))
        steps_per_epoch = sum(math.ceil(n / config.batch_size) for n in drawn.values())
        total = steps_per_epoch * config.epochs
        warmup = max(1, total // 20)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
        )
        self.history_: list[dict[str, Any]] = [{"epoch": 0, **self.validate(validation)}]
        self.log(f"finetune: epoch 0 validation {self.history_[-1]}")
        for epoch in range(1, config.epochs + 1):
            self.trunk.train()
            batches = self._batches(train, rng)
            running = 0.0
            for step, (task, items, labels) in enumerate(batches, 1):
                loss = self._loss(task, items, labels)
                optimizer.zero_grad()
                loss.backward()
                # A non-finite norm would make clipping zero the step: fail loudly instead.
                torch.nn.utils.clip_grad_norm_(parameters, 1.0, error_if_nonfinite=True)
                optimizer.step()
                schedule.step()
                running += float(loss.detach())
                if step % 100 == 0:
                    self.log(f"finetune: epoch {epoch} step {step}/{len(batches)} loss {running / 100:.4f}")
                    running = 0.0
            self.history_.append({"epoch": epoch, **self.validate(validation)})
            self.log(f"finetune: epoch {epoch} validation {self.history_[-1]}")
        self.temperatures_ = self._temperatures(validation)
        return self

    def _batches(self, train: list[_TaskData], rng: np.random.Generator) -> list[tuple[str, list[_Cached], Any]]:
        """Each task's draw for this epoch in length-sorted batches (little padding), then all shuffled."""
        batches: list[tuple[str, list[_Cached], Any]] = []
        config = self.config
        size = config.batch_size
        for task in train:
            draw = task.draw(min(len(task.items), config.items(task.name)), rng, config.threat_share, config.shares)
            draw = draw[np.argsort([len(task.items[i].sequence) for i in draw], kind="stable")]
            for start in range(0, len(draw), size):
                chosen = draw[start : start + size]
                batches.append((task.name, [task.items[i] for i in chosen], task.labels[chosen]))
        order = rng.permutation(len(batches))
        return [batches[i] for i in order]

    def _pooled(self, items: list[_Cached]) -> tuple[torch.Tensor, torch.Tensor]:
        states, mask, sequence = _collate(items, self.device)
        with self._autocast():
            comment, target = self.trunk(states, mask, sequence)
        return comment.float(), target.float()

    def _loss(self, task: str, items: list[_Cached], labels: np.ndarray) -> torch.Tensor:
        comment, target = self._pooled(items)
        smoothing = self.config.label_smoothing
        if task != "attributes":
            logits = self.heads.logits(task, comment, target)
            gold = torch.as_tensor(labels, dtype=torch.long, device=self.device)
            return nn.functional.cross_entropy(logits, gold, label_smoothing=smoothing)
        losses = []
        fractions = torch.as_tensor(labels, dtype=torch.float32, device=self.device)
        for column, attribute in enumerate(ATTRIBUTES):
            known = ~torch.isnan(fractions[:, column])
            if not known.any():
                continue
            logits = self.heads.logits(head_name(attribute), comment[known], target[known])
            share = fractions[known, column]
            losses.append(-(torch.stack([1 - share, share], 1) * logits.log_softmax(-1)).sum(-1).mean())
        return torch.stack(losses).mean()

    def _logits(self, data: _TaskData) -> dict[str, np.ndarray]:
        """Every head's logits over one validation task (no gradients)."""
        self.trunk.eval()
        names = [head_name(a) for a in ATTRIBUTES] if data.name == "attributes" else [data.name]
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        with torch.inference_mode():
            for start in range(0, len(data.items), 64):
                comment, target = self._pooled(data.items[start : start + 64])
                for name in names:
                    parts[name].append(self.heads.logits(name, comment, target).cpu().numpy())
        return {name: np.concatenate(chunks) for name, chunks in parts.items()}

    def validate(self, validation: list[_TaskData]) -> dict[str, float]:
        """The task metrics, and macro-F1 at 0.5 of the attributes the desk acts on most (over the items
        whose sources say something about each), so a soup never trades threats away for tweets."""
        from moderation.training.metrics import macro_f1, macro_recall

        figures: dict[str, float] = {}
        for data in validation:
            logits = self._logits(data)
            if data.name == "sentiment":
                figures["sentiment macro_recall"] = round(macro_recall(data.labels, logits["sentiment"].argmax(1)), 4)
            elif data.name == "stance":
                figures["stance macro_f1"] = round(macro_f1(data.labels, logits["stance"].argmax(1)), 4)
                continue
            for attribute in ("TOXICITY", *VALIDATED_ATTRIBUTES) if data.name == "attributes" else ():
                known = ~np.isnan(data.labels[:, ATTRIBUTES.index(attribute)])
                gold = data.labels[known, ATTRIBUTES.index(attribute)] >= 0.5
                guess = logits[head_name(attribute)][known].argmax(1) == 1
                figures[f"{head_name(attribute).lower()} macro_f1"] = round(macro_f1(gold, guess), 4)
        return figures

    def _temperatures(self, validation: list[_TaskData]) -> dict[str, float]:
        temperatures: dict[str, float] = {}
        for data in validation:
            logits = self._logits(data)
            if data.name != "attributes":
                temperatures[data.name] = fit_temperature(logits[data.name], data.labels)
                continue
            for column, attribute in enumerate(ATTRIBUTES):
                known = ~np.isnan(data.labels[:, column])
                margin = np.diff(logits[head_name(attribute)][known], axis=1)[:, 0]
                temperatures[head_name(attribute)] = fit_binary_temperature(margin, data.labels[known, column])
        return temperatures

    def state(self) -> dict[str, Any]:
        """A fitted run's weights and validation history, to bring it back in another process."""
        return {
            "trunk": {k: v.cpu() for k, v in self.trunk.state_dict().items()},
            "heads": {k: v.cpu() for k, v in self.heads.state_dict().items()},
            "history": self.history_,
            "temperatures": self.temperatures_,
        }

    @classmethod
    def restore(
        cls, encoder: Encoder, heads: HeadSet, config: FinetuneConfig, state: dict[str, Any], log: Log = print
    ) -> Finetuner:
        """The run whose ``state()`` this is, as if ``fit`` had just returned here."""
        run = cls(encoder, heads, config, log)
        run.trunk.load_state_dict(state["trunk"])
        run.heads.load_state_dict(state["heads"])
        run.history_ = state["history"]
        run.temperatures_ = state["temperatures"]
        return run

    def save(self, folder: Path) -> HeadSet:
        """The tuned layers (their int8 change from the pretrained weights: ``tuned_weights``) beside the
        heads, temperatures folded in."""
        folder.mkdir(parents=True, exist_ok=True)
        tuned = {
            f"encoder.layer.{self.first_tuned + i}.{key}": value
            for i, layer in enumerate(self.trunk.layers)
            for key, value in layer.state_dict().items()
        }
        # Layers a start (``load_start``) tuned below the ones tuned here belong to the model too.
        earlier = {k: v for k, v in self.encoder.model.state_dict().items() if k in self.encoder.loaded_keys}
        state = {**earlier, **tuned}
        save_tuned(folder / ENCODER_WEIGHTS, state, self.encoder.pretrained_state(state))
        manifest = {
            **self.manifest,
            "name": f"{self.encoder.name} (top {len({k.split('.')[2] for k in state})} layers fine-tuned) + heads",
            "encoder_weights": ENCODER_WEIGHTS,
            "encoder_weights_format": TUNED_FORMAT,
            "finetune": {**asdict(self.config), "start": self.start, "history": self.history_},
        }
        heads = HeadSet(self.heads.export(self.temperatures_), manifest)
        for name, value in self.temperatures_.items():
            manifest["heads"].setdefault(name, {}).setdefault("calibration", {})["finetuned_temperature"] = round(
                value, 4
            )
        heads.save(folder)
        return heads


class TaskTexts(NamedTuple):
    """One task of one split before caching."""

    name: str
    texts: list[str]
    targets: list[str | None]
    labels: np.ndarray
    sources: list[str]


def task_texts(split: str, data_dir: Path, config: FinetuneConfig, rng: np.random.Generator) -> list[TaskTexts]:
    """Sentiment, stance (VAST and TweetEval stance) and the attribute sets of one split, as text."""
    sentiment = load_task("sentiment", split, data_dir)
    stance = [load_task("stance", split, data_dir), load_benchmark("tweeteval_stance", split, data_dir)]
    attributes = load_attribute_data(split, data_dir, feedback=_path(config.feedback))
    return split_texts(split, sentiment, stance, attributes, config, rng)


def split_texts(
    split: str,
    sentiment: TaskSplit,
    stance: Sequence[TaskSplit],
    attributes: AttributeSplit,
    config: FinetuneConfig,
    rng: np.random.Generator,
) -> list[TaskTexts]:
    """One split's three tasks as text, whatever model they train (English or multilingual).

    The train split keeps what ``epochs`` epochs draw: sentiment's sample, and each attribute
    source's share of every epoch's draw (``draw_by_source``), so what is staged or cached stays small."""
    if split == "train":
        sentiment = sentiment.sample(config.items_per_task * config.epochs, seed=config.seed)
        keep = np.zeros(len(attributes), dtype=bool)
        drawn = draw_by_source(
            attributes.sources, config.items("attributes") * config.epochs, rng, repeat=False, shares=config.shares
        )
        keep[drawn] = True
        attributes = attributes.where(keep)
    return [
        TaskTexts(
            "sentiment",
            sentiment.texts,
            [None] * len(sentiment),
            np.asarray(sentiment.labels),
            [sentiment.source] * len(sentiment),
        ),
        TaskTexts(
            "stance",
            [t for s in stance for t in s.texts],
            [t for s in stance for t in s.targets],
            np.concatenate([s.labels for s in stance]),
            [s.source for s in stance for _ in s.texts],
        ),
        TaskTexts(
            "attributes",
            attributes.texts,
            [None] * len(attributes),
            np.asarray(attributes.fractions),
            attributes.sources,
        ),
    ]


def _cache(cacher: _Cacher, split: str, tasks: list[TaskTexts], log: Log) -> list[_TaskData]:
    out = []
    for task in tasks:
        log(f"finetune: running {len(task.texts):,} {split} {task.name} items through the frozen layers")
        out.append(_TaskData(task.name, cacher(task.texts, task.targets), task.labels, task.sources))
    return out


def _mean_figure(figures: dict[str, Any]) -> float:
    return float(np.mean([v for k, v in figures.items() if k.endswith(("macro_recall", "macro_f1"))]))


def fit_soup(
    encoder: Encoder,
    heads: HeadSet,
    train: list[_TaskData],
    validation: list[_TaskData],
    config: FinetuneConfig,
    log: Log = print,
) -> Finetuner:
    """``config.soup`` runs from the same start with seeds ``seed, seed+1, ...``, averaged greedily."""
    runs = [Finetuner(encoder, heads, config.run(k), log).fit(train, validation) for k in range(config.soup)]
    return greedy_soup(encoder, heads, runs, validation, config, log)


def greedy_soup(
    encoder: Encoder,
    heads: HeadSet,
    runs: Sequence[Finetuner],
    validation: list[_TaskData],
    config: FinetuneConfig,
    log: Log = print,
) -> Finetuner:
    """The fitted ``runs`` (one start, several seeds) averaged into one model, greedily.

    Why averaging: runs fine-tuned from one pretrained start stay in one basin, so the mean of their
    weights scores like an ensemble of them at the cost of one model. Greedy (Wortsman et al., 2022,
    "Model soups"): runs are taken best first by mean validation figure, and each next one joins the
    average only if that figure does not drop. The runs may have been fitted anywhere (in this
    process, or in parallel ones and brought back with ``Finetuner.restore``).
    """
    if len(runs) == 1:
        return runs[0]
    members = [{"seed": run.config.seed, **run.history_[-1], "history": run.history_} for run in runs]
    ranked = sorted(runs, key=lambda run: -_mean_figure(run.history_[-1]))
    states = {module: [getattr(run, module).state_dict() for run in ranked] for module in ("trunk", "heads")}
    soup = Finetuner(encoder, heads, config, log)

    def load_average(indices: Sequence[int]) -> None:
        for module, candidates in states.items():
            picked = [candidates[i] for i in indices]
            averaged = {key: torch.stack([c[key].float() for c in picked]).mean(0) for key in picked[0]}
            getattr(soup, module).load_state_dict(averaged)

    chosen: list[int] = []
    best = -1.0
    for k in range(len(ranked)):
        load_average([*chosen, k])
        figures = soup.validate(validation)
        log(f"finetune: soup with seed {ranked[k].config.seed}: {figures}")
        if _mean_figure(figures) >= best:
            chosen.append(k)
            best = _mean_figure(figures)
    load_average(chosen)
    seeds = [ranked[i].config.seed for i in chosen]
    soup.history_ = [{"epoch": "soup", "seeds": seeds, "members": members, **soup.validate(validation)}]
    log(f"finetune: greedy soup of seeds {seeds}: {soup.history_[-1]}")
    soup.temperatures_ = soup._temperatures(validation)
    return soup


def load_start(encoder: Encoder, folder: Path) -> HeadSet:
    """An earlier model to fine-tune on from: its tuned layers loaded into ``encoder``, its heads returned."""
    if (folder / ENCODER_WEIGHTS).exists():
        encoder.load_weights(folder / ENCODER_WEIGHTS)
    return HeadSet.load(folder)


def finetune_texts(
    encoder: Encoder,
    heads: HeadSet,
    texts: dict[str, list[TaskTexts]],
    out_dir: Path,
    config: FinetuneConfig,
    *,
    log: Log = print,
) -> HeadSet:
    """Fine-tune on prepared ``texts`` (``task_texts`` of the train and validation splits); save the model."""
    cacher = _Cacher(encoder, config)
    train = _cache(cacher, "train", texts["train"], log)
    validation = _cache(cacher, "validation", texts["validation"], log)
    return fit_soup(encoder, heads, train, validation, config, log).save(out_dir)


def finetune(
    encoder: Encoder,
    heads: HeadSet,
    data_dir: Path,
    out_dir: Path,
    config: FinetuneConfig,
    *,
    log: Log = print,
) -> HeadSet:
    """Fine-tune ``encoder``'s top layers with ``heads`` (the frozen-feature heads) on every task; save both."""
    rng = np.random.default_rng(config.seed)
    seed_everything(config.seed)
    texts = {split: task_texts(split, data_dir, config, rng) for split in ("train", "validation")}
    return finetune_texts(encoder, heads, texts, out_dir, config, log=log)


def finetune_and_measure(
    encoder: Encoder,
    heads: HeadSet,
    data_dir: Path,
    out_dir: Path,
    config: FinetuneConfig,
    *,
    log: Log = print,
) -> tuple[HeadSet, list[TaskResult]]:
    """Fine-tune, then measure the saved model (``measure_saved``)."""
    finetune(encoder, heads, data_dir, out_dir, config, log=log)
    return measure_saved(
        encoder.name, out_dir, data_dir, device=encoder.device, feedback=_path(config.feedback), log=log
    )


def _path(name: str | None) -> Path | None:
    return Path(name) if name is not None else None


def measure_saved(
    encoder_name: str,
    out_dir: Path,
    data_dir: Path,
    *,
    device: str = "cpu",
    feedback: Path | None = None,
    log: Log = print,
) -> tuple[HeadSet, list[TaskResult]]:
    """Measure a saved fine-tuned model through the public ``Scorer``, as inference will run it, on
    the test splits (those of ``feedback``, an exported feedback file, among them), and write those
    figures into its manifest."""
    from moderation.models.scorer import Scorer
    from moderation.training.attribute_heads import EXPERIMENTAL, attribute_figures, attribute_train_entry
    from moderation.training.evaluation import majority_label, score_predictions
    from moderation.training.metrics import expected_calibration_error
    from moderation.training.mixture import source_shares

    tuned = HeadSet.load(out_dir)
    # fp32: the reference numerics; each faster mode's distance from it is measured in benchmarks/throughput.py.
    name = encoder_name if encoder_name != BUNDLED_NAME else None
    scorer = Scorer.load(name, heads=out_dir, device=device, mode="fp32")
    log("finetune: measuring the saved model (fp32) on the test splits")
    specs = tuned.manifest["heads"]
    results = []
    for task in ("sentiment", "stance", "toxicity"):
        data = load_task(task, "test", data_dir)
        labels = TASK_LABELS[task]
        heads_out = [getattr(s, task) for s in scorer.predict(data.texts, data.targets, batch_size=64)]
        proba = np.array([[h.probabilities[label] for label in labels] for h in heads_out])
        result = score_predictions(task, data.source, data.labels, proba.argmax(axis=1), majority_label(task, data_dir))
        results.append(result)
        entry = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.as_dict().items()}
        specs[task]["task_test" if "attribute" in specs[task] else "test"] = entry
        specs[task]["calibration"]["test_ece"] = round(expected_calibration_error(proba, data.labels), 4)
        specs[task]["calibration"]["temperature"] = specs[task]["calibration"].get("finetuned_temperature")
    attributes = load_attribute_data("test", data_dir, feedback=feedback)
    scored = scorer.predict(attributes.texts, batch_size=64)
    trained = load_attribute_data("train", data_dir, feedback=feedback)
    for attribute in ATTRIBUTES:
        p = np.array([s.attributes[attribute] for s in scored])
        spec = specs[head_name(attribute)]
        spec["test"] = attribute_figures(p, attributes, attribute)
        shares = source_shares(trained.sources, tuned.manifest.get("finetune", {}).get("shares"))
        spec["train"] = {**attribute_train_entry(trained, attribute), "shares": shares}
        spec.pop("experimental", None)
        if attribute in EXPERIMENTAL:
            spec["experimental"] = EXPERIMENTAL[attribute]
    tuned.manifest["functional"] = functional_figures(scorer)
    tuned.save(out_dir)
    return tuned, results


def functional_figures(scorer: Any) -> dict[str, Any]:
    """The functional suite's headline for ``scorer`` under the default policy, for the manifest and the card."""
    from moderation.policy import Policy
    from moderation.training.functional import CASES, evaluate_cases, load_cases

    cases = load_cases(CASES)
    report = evaluate_cases(scorer, Policy.default(), cases)
    return {
        "cases": len(cases),
        "threats": report.threats,
        "threat_recall": round(report.threat_recall, 4),
        "threats_approved": report.threats_approved,
        "group_attack_recall": round(report.group_attack_recall, 4),
        "hard_negative_flagged": round(report.hard_negative_flagged, 4),
    }
