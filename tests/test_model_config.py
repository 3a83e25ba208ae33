"""Choosing a model per task: the config, its TOML form, and the scorer composed from it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from moderation import CommentScores, ModelError, Scorer
from moderation.models import ModelConfig, TaskBackend
from moderation.models.backends import BackendOutput, EncoderHeadsBackend
from moderation.models.config import SequenceClassificationModel, ZeroShotNliModel
from moderation.models.scorer import BUNDLED_HEADS, RoutedScorer
from moderation.scores import TASK_LABELS, Progress

STANCE_TEMPLATES = {"against": "i oppose {target}", "neutral": "the {target} vote", "favor": "we support {target}"}


@pytest.fixture(scope="module")
def bundled() -> Scorer:
    """The English model alone (``Scorer.load()`` routes by language over it and the multilingual one)."""
    return Scorer.load(heads=BUNDLED_HEADS)


def _assert_complete(scores: CommentScores, *, with_stance: bool) -> None:
    for task in TASK_LABELS:
        head = getattr(scores, task)
        if task == "stance" and not with_stance:
            assert head is None
            continue
        assert tuple(head.probabilities) == TASK_LABELS[task]
        assert sum(head.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert scores.attributes["TOXICITY"] == scores.toxicity.probabilities["toxic"]


def test_the_toml_form_reads_every_kind_with_paths_relative_to_the_file(
    tiny_sentiment_dir: Path, tiny_nli_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "moderation.toml"
    path.write_text(
        f"""
[models.sentiment]
kind = "sequence-classification"
checkpoint = "{os.path.relpath(tiny_sentiment_dir, tmp_path)}"

[models.stance]
kind = "zero-shot-nli"
checkpoint = "{tiny_nli_dir}"
entailment = "entailment"

[models.stance.templates]
against = "i oppose {{target}}"
neutral = "the {{target}} vote"
favor = "we support {{target}}"
""",
        encoding="utf-8",
    )
    config = ModelConfig.from_toml(path)
    assert isinstance(config.sentiment, SequenceClassificationModel)
    assert Path(config.sentiment.checkpoint) == tiny_sentiment_dir.resolve()
    assert isinstance(config.stance, ZeroShotNliModel)
    assert config.stance.templates == STANCE_TEMPLATES
    assert config.toxicity is None and config.encoder is None


def test_every_task_from_a_checkpoint_gives_complete_scores_without_the_bundled_model(
    tiny_sentiment_dir: Path, tiny_nli_dir: Path, tiny_toxicity_dir: Path
) -> None:
    config = ModelConfig(
        sentiment=ZeroShotNliModel(kind="zero-shot-nli", checkpoint=str(tiny_nli_dir)),
        stance=ZeroShotNliModel(kind="zero-shot-nli", checkpoint=str(tiny_nli_dir), templates=STANCE_TEMPLATES),
        toxicity=SequenceClassificationModel(kind="sequence-classification", checkpoint=str(tiny_toxicity_dir)),
    )
    scorer = Scorer.from_config(config)
    # One NLI checkpoint serving two tasks is loaded once and asked once.
    assert scorer.backends["sentiment"] is scorer.backends["stance"]
    assert not any(isinstance(b, EncoderHeadsBackend) for b in scorer.backends.values())
    assert scorer.name.startswith(f"sentiment, stance: {tiny_nli_dir} zero-shot [")
    assert scorer.name.endswith(f"; toxicity: {tiny_toxicity_dir}")
    with_target, without = scorer.predict(["we support peace", "you stupid idiot"], ["war", None])
    _assert_complete(with_target, with_stance=True)
    _assert_complete(without, with_stance=False)
    assert {"SEVERE_TOXICITY", "INSULT", "THREAT"} <= set(with_target.attributes)


class _Spy:
    """Wraps a backend and records which tasks each call asked for."""

    def __init__(self, backend: TaskBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.tasks = backend.tasks
        self.calls: list[list[str]] = []

    def predict_proba(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        tasks: Sequence[str],
        *,
        batch_size: int,
        progress: Progress | None,
        spans: bool = False,
    ) -> BackendOutput:
        self.calls.append(list(tasks))
        return self.backend.predict_proba(texts, targets, tasks, batch_size=batch_size, progress=progress, spans=spans)


def test_bundled_heads_for_two_tasks_and_a_checkpoint_for_the_third(bundled: Scorer, tiny_sentiment_dir: Path) -> None:
    config = ModelConfig(
        sentiment=SequenceClassificationModel(kind="sequence-classification", checkpoint=str(tiny_sentiment_dir))
    )
    composed = Scorer.from_config(config)
    assert composed.name == f"sentiment: {tiny_sentiment_dir}; stance, toxicity: {bundled.name}"
    spy = _Spy(composed.backends["stance"])
    scorer = Scorer({"sentiment": composed.backends["sentiment"], "stance": spy, "toxicity": spy})
    texts = ["You are a stupid idiot and a disgrace.", "I respectfully disagree with the author's conclusion."]
    scores = scorer.predict(texts, ["peace treaty", "peace treaty"])
    assert spy.calls == [["stance", "toxicity"]]
    for item in scores:
        _assert_complete(item, with_stance=True)
    # The tasks left to the bundled model score exactly as the bundled scorer does.
    reference = bundled.predict(texts, ["peace treaty", "peace treaty"])
    assert [s.stance for s in scores] == [s.stance for s in reference]
    assert [s.toxicity for s in scores] == [s.toxicity for s in reference]


def test_load_without_arguments_routes_by_language_over_the_bundled_model_under_its_stored_name(
    bundled: Scorer,
) -> None:
    backend = bundled.backends["sentiment"]
    assert isinstance(backend, EncoderHeadsBackend)
    assert set(map(id, bundled.backends.values())) == {id(backend)}
    assert bundled.name == f"{backend.heads.manifest['name']} [{backend.heads.digest}]"
    assert Scorer.from_config(ModelConfig()).name == bundled.name
    routed = Scorer.load()
    assert isinstance(routed, RoutedScorer) and f"english: {bundled.name}; multilingual: " in routed.name


def test_a_scorer_needs_a_backend_for_every_task(bundled: Scorer) -> None:
    with pytest.raises(ModelError, match="no model for: toxicity"):
        Scorer({task: bundled.backends[task] for task in ("sentiment", "stance")})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[model.sentiment]\nkind = 'zero-shot-nli'\n", "no \\[models\\] table"),
        ("[models.sentiment]\nkind = 'magic'\ncheckpoint = 'x'\n", "sentiment: Input tag 'magic'"),
        ("[models.sentiment]\nkind = 'zero-shot-nli'\ncheckpoint = 'x'\nlabels = {}\n", "Extra inputs"),
        ("[models]\nsentimnet = 'x'\n", "sentimnet"),
        (
            "[models.toxicity]\nkind = 'sequence-classification'\ncheckpoint = 'x'\npair_with_target = false\n",
            "stance only",
        ),
        (
            "[models.stance]\nkind = 'zero-shot-nli'\ncheckpoint = 'x'\ntemplates = {against = 'no'}\n",
            "must name exactly",
        ),
        ("[models\n", "cannot read model config"),
    ],
)
def test_a_wrong_config_file_is_one_model_error(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "moderation.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        ModelConfig.from_toml(path)


def test_a_missing_config_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read model config"):
        Scorer.from_config(tmp_path / "absent.toml")


def test_a_checkpoint_that_is_neither_a_folder_nor_cached_fails_at_load() -> None:
    config = ModelConfig(stance=ZeroShotNliModel(kind="zero-shot-nli", checkpoint="example-org/not-cached-nli"))
    with pytest.raises(ModelError, match="offline"):
        Scorer.from_config(config)
