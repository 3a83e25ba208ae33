"""Routing by language: each comment to the model measured best for its language, once, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from moderation.errors import ModelError
from moderation.language import primary_language
from moderation.models.backends import BackendOutput
from moderation.models.routing import ROUTES_FILE, RouteTable
from moderation.models.scorer import RoutedScorer, Scorer
from moderation.scores import TASK_LABELS


class Constant:
    """A backend answering every task with one fixed sentiment, and logging what it was asked."""

    tasks = tuple(TASK_LABELS)

    def __init__(self, name: str, sentiment: str) -> None:
        self.name = name
        self.sentiment = sentiment
        self.seen: list[str] = []

    def predict_proba(
        self, texts: Sequence[str], targets: Sequence[str | None], tasks: Sequence[str], **_: Any
    ) -> BackendOutput:
        self.seen += texts
        probabilities = {}
        for task in tasks:
            labels = TASK_LABELS[task]
            row = np.full(len(labels), 0.1 / max(1, len(labels) - 1))
            row[labels.index(self.sentiment) if self.sentiment in labels else 0] = 0.9
            probabilities[task] = np.tile(row, (len(texts), 1))
        return BackendOutput(probabilities)


TABLE = RouteTable.model_validate(
    {
        "routes": {
            "english": {"heads": ".", "measured": {"TOXICITY": ["en"], "sentiment": ["en"]}},
            "multilingual": {
                "encoder": "intfloat/multilingual-e5-small",
                "heads": "multilingual",
                "measured": {"TOXICITY": ["de", "en"], "sentiment": ["de", "fr", "en"]},
            },
        },
        "languages": {"en": "english", "de": "multilingual", "fr": "multilingual"},
        "fallback": "multilingual",
    }
)

GERMAN = "Die Regierung hat heute ein neues Gesetz über die Mieten beschlossen."
ENGLISH = "The council approved the new housing plan after a long debate tonight."
SWEDISH = "Regeringen har beslutat om en ny lag om hyror och bostäder i dag."


def routed() -> tuple[RoutedScorer, Constant, Constant, list[int]]:
    english, multilingual = Constant("en-model", "positive"), Constant("ml-model", "negative")
    loads: list[int] = []

    def load_multilingual() -> Scorer:
        loads.append(1)
        return Scorer(dict.fromkeys(TASK_LABELS, multilingual))

    scorer = RoutedScorer(
        {"english": Scorer(dict.fromkeys(TASK_LABELS, english)), "multilingual": load_multilingual},
        TABLE,
        names={"multilingual": "ml-model"},
    )
    return scorer, english, multilingual, loads


def test_each_comment_goes_to_its_languages_model_and_comes_back_in_order() -> None:
    scorer, english, multilingual, _ = routed()
    scores = scorer.predict([GERMAN, ENGLISH, SWEDISH, "🙂👍"], ["Mieten"] * 4)
    assert [s.language for s in scores] == ["de", "en", "sv", None]
    assert [s.model for s in scores] == ["ml-model", "en-model", "ml-model", "ml-model"]
    assert [s.sentiment.label for s in scores] == ["negative", "positive", "negative", "negative"]
    # One pass per comment: each text reached exactly one model.
    assert english.seen == [ENGLISH] and multilingual.seen == [GERMAN, SWEDISH, "🙂👍"]
    # Swedish has no test figure, and no language is none: marked, not passed off as measured.
    assert [s.unmeasured_language for s in scores] == [False, False, True, True]


def test_a_given_language_wins_over_detection_and_tags_are_reduced_to_their_language() -> None:
    scorer, english, multilingual, _ = routed()
    scores = scorer.predict([ENGLISH, ENGLISH], languages=["de-AT", "EN_gb"])
    assert [s.language for s in scores] == ["de", "en"]
    assert multilingual.seen == [ENGLISH] and english.seen == [ENGLISH]


def test_other_routes_load_once_and_only_when_a_comment_needs_them() -> None:
    scorer, _, _, loads = routed()
    scorer.predict([ENGLISH])
    assert loads == [] and "multilingual" not in str(scorer.modes)
    scorer.predict([GERMAN])
    scorer.predict([GERMAN, SWEDISH])
    assert loads == [1]
    # The name keys stored scores: the same before and after a route loads.
    assert scorer.name == "by language: english: en-model; multilingual: ml-model"


def test_measured_in_answers_per_attribute_and_language_on_the_route_taken() -> None:
    scorer, *_ = routed()
    assert scorer.measured_in("TOXICITY", "de-DE") and scorer.measured_in("TOXICITY", "en")
    assert not scorer.measured_in("TOXICITY", "fr")  # sentiment is measured in French, toxicity is not
    assert not scorer.measured_in("TOXICITY", "sv")
    assert Scorer(dict.fromkeys(TASK_LABELS, Constant("x", "neutral"))).measured_in("TOXICITY", "en")


def test_a_table_naming_an_unknown_route_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown routes: klingon"):
        RouteTable.model_validate({"routes": {"english": {"heads": "."}}, "languages": {}, "fallback": "klingon"})
    with pytest.raises(ModelError, match="without a model: multilingual"):
        RoutedScorer({"english": Scorer(dict.fromkeys(TASK_LABELS, Constant("x", "neutral")))}, TABLE)


def test_mismatched_lengths_are_refused() -> None:
    scorer, *_ = routed()
    with pytest.raises(ValueError, match="languages"):
        scorer.predict([ENGLISH, GERMAN], languages=["en"])


def test_primary_language_reads_bcp47_tags() -> None:
    assert [primary_language(t) for t in ("pt-BR", "en_GB", "DE", "zh-Hant-TW")] == ["pt", "en", "de", "zh"]


def test_the_bundled_table_routes_every_language_it_names_to_a_bundled_heads_folder() -> None:
    table = RouteTable.load(ROUTES_FILE)
    for route in table.routes.values():
        assert (ROUTES_FILE.parent / route.heads / "heads.json").is_file()
    assert table.route("en") in table.routes and table.measured("en")
