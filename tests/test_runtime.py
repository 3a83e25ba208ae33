"""Numerics modes of the encoder (fp32, int8 through ONNX Runtime, bf16, auto), on the tiny test encoder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from moderation import ModelError, Scorer
from moderation.models import runtime
from moderation.models.encoder import Encoder
from moderation.models.heads import HeadSet, LinearHead
from moderation.scores import TASK_LABELS

TEXTS = [
    "good great happy",
    "you stupid idiot . we love the movie",
    "bad awful sad hate " * 80,  # several windows
    "",
    "the policy is a tax",
    "i oppose this war . not very nice !",
]
TARGETS = ["war", None, "peace", None, "vote support", "war"]

#: Tests that run ONNX Runtime skip where the ``fast`` extra is not installed (``make install`` leaves it out).
needs_onnxruntime = pytest.mark.skipif(
    not runtime.has_onnxruntime(), reason="onnxruntime is not installed (fast extra)"
)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fp32(tiny_encoder_dir: Path) -> Encoder:
    return Encoder.load(tiny_encoder_dir)


@pytest.fixture(scope="module")
def int8(tiny_encoder_dir: Path, cache: Path) -> Encoder:
    return Encoder.load(tiny_encoder_dir, mode="int8", cache_dir=cache)


@needs_onnxruntime
def test_int8_vectors_stay_close_to_fp32(fp32: Encoder, int8: Encoder) -> None:
    assert (fp32.mode, int8.mode) == ("fp32", "int8")
    reference, quantized = fp32.encode(TEXTS, TARGETS), int8.encode(TEXTS, TARGETS)
    assert _cosines(reference.comment, quantized.comment).min() >= 0.99
    paired = reference.has_target
    assert _cosines(reference.target[paired], quantized.target[paired]).min() >= 0.99
    np.testing.assert_array_equal(reference.n_windows, quantized.n_windows)


@needs_onnxruntime
def test_int8_scores_a_comment_the_same_whatever_shares_its_batch(int8: Encoder) -> None:
    together = int8.encode(TEXTS, TARGETS, batch_size=4)
    alone = np.stack([int8.encode([t], [p]).comment[0] for t, p in zip(TEXTS, TARGETS, strict=True)])
    np.testing.assert_allclose(together.comment, alone, atol=1e-6)


@needs_onnxruntime
def test_int8_runs_every_weight_matrix_in_integers_with_one_scale_per_token(int8: Encoder) -> None:
    import onnx

    graph = onnx.load(str(int8.runtime.path)).graph  # type: ignore[attr-defined]
    weights = {init.name for init in graph.initializer if len(init.dims) == 2}
    float_matmuls = [node.name for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights]
    assert not float_matmuls
    integer = [node for node in graph.node if node.op_type == "MatMulInteger"]
    layers = int8.model.config.num_hidden_layers
    assert len(integer) == 6 * layers  # query, key, value, attention output, FFN in, FFN out
    quantizers = [node for node in graph.node if node.op_type == "QuantizeLinear"]
    assert len(quantizers) == 4 * layers  # query, key and value share their input's quantization
    # One scale per row of the (tokens, features) view: per token.
    assert all(next(a.i for a in node.attribute if a.name == "axis") == 0 for node in quantizers)


@needs_onnxruntime
def test_exporting_leaves_the_torch_model_as_it_was(tiny_encoder_dir: Path, fp32: Encoder, tmp_path: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    encoder.set_mode("int8", cache_dir=tmp_path)
    assert not encoder.model.training  # the exporter leaves modules in training mode (dropout on) unless undone
    encoder.set_mode("fp32")
    np.testing.assert_allclose(encoder.encode(TEXTS).comment, fp32.encode(TEXTS).comment, atol=1e-6)


@needs_onnxruntime
def test_the_export_is_cached_under_the_weights_digest(
    tiny_encoder_dir: Path, int8: Encoder, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_export(*args: object) -> None:
        raise AssertionError("exported again although the cache holds these weights")

    monkeypatch.setattr(runtime, "_export", no_export)
    again = Encoder.load(tiny_encoder_dir, mode="int8", cache_dir=cache)
    assert again.runtime.path == int8.runtime.path  # type: ignore[attr-defined]
    assert int8.runtime.path.parent.parent == cache  # type: ignore[attr-defined]


@needs_onnxruntime
def test_fine_tuned_layers_get_their_own_export(tiny_encoder_dir: Path, int8: Encoder, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    tuned = {"encoder.layer.1.output.dense.weight": int8.model.state_dict()["encoder.layer.1.output.dense.weight"] * 3}
    save_file({k: v.contiguous() for k, v in tuned.items()}, str(tmp_path / "encoder.safetensors"))
    encoder = Encoder.load(tiny_encoder_dir, mode="int8", cache_dir=tmp_path / "cache")
    before = encoder.encode(TEXTS).comment
    first = encoder.runtime.path  # type: ignore[attr-defined]
    encoder.load_weights(tmp_path / "encoder.safetensors")
    assert encoder.mode == "int8" and encoder.runtime.path != first  # type: ignore[attr-defined]
    after = encoder.encode(TEXTS).comment
    assert not np.allclose(before, after, atol=1e-4)
    reference = Encoder.load(tiny_encoder_dir)
    reference.load_weights(tmp_path / "encoder.safetensors")
    assert _cosines(reference.encode(TEXTS).comment, after).min() >= 0.99


@needs_onnxruntime
@pytest.mark.parametrize("fastest", ["int8", "bf16", "fp32"])
def test_auto_picks_the_fastest_mode_that_agrees_with_fp32_on_this_cpu(
    tiny_encoder_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, fastest: str
) -> None:
    monkeypatch.setattr(runtime, "has_native_bf16", lambda: True)
    speeds = {"int8": 0.02, "bf16": 0.02, "fp32": 0.02, fastest: 0.01}
    monkeypatch.setattr(
        runtime, "time_runtimes", lambda tokenizer, runtimes: {e.mode: speeds[e.mode] for e in runtimes}
    )
    encoder = Encoder.load(tiny_encoder_dir, mode="auto", cache_dir=cache / fastest)
    assert encoder.mode == fastest, encoder.mode_reason
    assert "fastest that agrees with fp32" in encoder.mode_reason and "probe cosine" in encoder.mode_reason


@needs_onnxruntime
def test_auto_measures_once_per_machine_and_keeps_the_answer(
    tiny_encoder_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "has_native_bf16", lambda: True)
    first = Encoder.load(tiny_encoder_dir, mode="auto", cache_dir=cache)
    stored = list((cache / "auto").glob("*.json"))
    assert len(stored) == 1 and {"int8", "bf16", "fp32"} <= json.loads(stored[0].read_text()).keys()

    def no_timing(tokenizer: object, runtimes: object) -> dict[str, float]:
        raise AssertionError("timed again although this machine's answer is cached")

    monkeypatch.setattr(runtime, "time_runtimes", no_timing)
    assert Encoder.load(tiny_encoder_dir, mode="auto", cache_dir=cache).mode == first.mode


@needs_onnxruntime
def test_auto_never_picks_a_mode_that_drifts_however_fast(
    tiny_encoder_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "probe_cosine", lambda *args: 0.9)
    monkeypatch.setattr(runtime, "has_native_bf16", lambda: True)
    encoder = Encoder.load(tiny_encoder_dir, mode="auto", cache_dir=cache)
    assert encoder.mode == "fp32" and "drifts" in encoder.mode_reason


def test_without_onnxruntime_auto_is_fp32_and_int8_says_how_to_install(
    tiny_encoder_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    monkeypatch.setattr(runtime, "has_native_bf16", lambda: False)
    encoder = Encoder.load(tiny_encoder_dir, mode="auto", cache_dir=cache)
    assert encoder.mode == "fp32" and "pip install" in encoder.mode_reason
    with pytest.raises(ModelError, match=r"pip install 'moderation-desk\[fast\]'"):
        Encoder.load(tiny_encoder_dir, mode="int8", cache_dir=cache)


def test_unknown_modes_and_int8_off_cpu_are_model_errors(tiny_encoder_dir: Path, fp32: Encoder) -> None:
    with pytest.raises(ModelError, match="unknown mode 'int4'"):
        fp32.set_mode("int4")
    with pytest.raises(ModelError, match="int8 runs on CPU"):
        runtime.select_runtime(fp32.model, fp32.tokenizer, "int8", device="cuda")
    assert fp32.mode == "fp32"


def test_bf16_autocast_stays_close_to_fp32(tiny_encoder_dir: Path, fp32: Encoder) -> None:
    encoder = Encoder.load(tiny_encoder_dir, mode="bf16")
    assert encoder.mode == "bf16"
    assert _cosines(encoder.encode(TEXTS).comment, fp32.encode(TEXTS).comment).min() >= 0.99


@pytest.fixture(scope="module")
def tiny_random_heads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Untrained heads of the right shapes for the 16-wide tiny encoder."""
    rng = np.random.default_rng(0)
    width = {"sentiment": 16, "stance": 48, "toxicity": 16}
    heads = {
        task: LinearHead(
            task,
            TASK_LABELS[task],
            "pair" if task == "stance" else "comment",
            rng.normal(size=(len(TASK_LABELS[task]), width[task])) * 4,
            np.zeros(len(TASK_LABELS[task])),
        )
        for task in width
    }
    folder = tmp_path_factory.mktemp("random-heads")
    HeadSet(heads, {"name": "tiny random heads"}).save(folder)
    return folder


@needs_onnxruntime
def test_scorer_load_takes_a_mode_and_every_mode_answers_alike(
    tiny_encoder_dir: Path, tiny_random_heads: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "default_cache_dir", lambda: cache)
    answers = {}
    for mode in ("fp32", "int8", "bf16", "auto"):
        scorer = Scorer.load(tiny_encoder_dir, heads=tiny_random_heads, mode=mode)
        backend = scorer.backends["sentiment"]
        assert mode == "auto" or backend.mode == mode  # type: ignore[attr-defined]
        answers[mode] = [
            [*s.sentiment.probabilities.values(), *s.toxicity.probabilities.values()]
            for s in scorer.predict(TEXTS, TARGETS)
        ]
    for mode in ("int8", "bf16", "auto"):
        np.testing.assert_allclose(answers[mode], answers["fp32"], atol=0.02)


@needs_onnxruntime
@pytest.mark.parametrize(("mode", "atol"), [("fp32", 1e-6), ("int8", 1e-6), ("bf16", 2e-3)])
def test_every_score_but_stance_is_the_same_whatever_the_article(
    tiny_encoder_dir: Path,
    tiny_random_heads: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    atol: float,
) -> None:
    monkeypatch.setattr(runtime, "default_cache_dir", lambda: cache)
    scorer = Scorer.load(tiny_encoder_dir, heads=tiny_random_heads, mode=mode)
    titles = (["war"] * len(TEXTS), ["a much longer title about the vote on the new tax"] * len(TEXTS))

    def read(targets: list[str]) -> tuple[np.ndarray, np.ndarray]:
        scores = scorer.predict(TEXTS, targets)
        other = [[*s.sentiment.probabilities.values(), *s.toxicity.probabilities.values()] for s in scores]
        stance = [list(s.stance.probabilities.values()) for s in scores if s.stance is not None]
        return np.array(other), np.array(stance)

    (first, first_stance), (second, second_stance) = read(titles[0]), read(titles[1])
    np.testing.assert_allclose(first, second, atol=atol)
    assert not np.allclose(first_stance, second_stance, atol=1e-3)
