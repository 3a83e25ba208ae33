"""The bundled scorer: loads offline from the wheel and this package, answers lists in order."""

from __future__ import annotations

import pytest

from moderation import CommentScores, Scorer
from moderation.scores import TASK_LABELS


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load()


def _assert_distribution(probabilities: dict[str, float], labels: tuple[str, ...]) -> None:
    assert tuple(probabilities) == labels
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_every_head_gives_a_probability_distribution(scorer: Scorer) -> None:
    [scores] = scorer.predict(["The minister is right, this deal is good for both countries."], ["peace treaty"])
    assert isinstance(scores, CommentScores)
    _assert_distribution(scores.sentiment.probabilities, TASK_LABELS["sentiment"])
    assert scores.stance is not None
    _assert_distribution(scores.stance.probabilities, TASK_LABELS["stance"])
    _assert_distribution(scores.toxicity.probabilities, TASK_LABELS["toxicity"])
    assert scores.attributes["TOXICITY"] == scores.toxicity.probabilities["toxic"]


def test_results_keep_input_order_and_one_item_stays_a_list(scorer: Scorer) -> None:
    texts = ["I love this, great news!", "This is terrible and sad.", "The meeting is on Tuesday."]
    together = scorer.predict(texts, batch_size=2)
    alone = [scorer.predict([t])[0] for t in texts]
    assert [s.sentiment.label for s in together] == [s.sentiment.label for s in alone]
    assert [s.sentiment.label for s in together] == ["positive", "negative", "neutral"]


def test_no_target_means_no_stance(scorer: Scorer) -> None:
    [scores] = scorer.predict(["Just a comment."])
    assert scores.stance is None


def test_an_empty_list_scores_nothing(scorer: Scorer) -> None:
    assert scorer.predict([]) == []


def test_clear_insults_score_more_toxic_than_polite_disagreement(scorer: Scorer) -> None:
    insult, polite = scorer.predict(
        ["You are a stupid idiot and a disgrace.", "I respectfully disagree with the author's conclusion."]
    )
    assert insult.attributes["TOXICITY"] > 0.5 > polite.attributes["TOXICITY"]


def test_each_sentence_gets_a_toxicity_span_from_the_same_pass(scorer: Scorer) -> None:
    text = "Thanks for the careful reporting.\nYou are a stupid idiot and a disgrace!"
    [scores] = scorer.predict([text], ["press freedom"], spans=True)
    assert [text[s.begin : s.end] for s in scores.spans] == [
        "Thanks for the careful reporting.",
        "You are a stupid idiot and a disgrace!",
    ]
    polite, insult = (s.attributes["TOXICITY"] for s in scores.spans)
    assert insult > 0.5 > polite


def test_spans_cost_nothing_unless_asked_and_a_lone_sentence_is_the_comment(scorer: Scorer) -> None:
    [plain] = scorer.predict(["You are a stupid idiot."])
    assert plain.spans == []
    [blank, lone] = scorer.predict(["   ", "You are a stupid idiot."], spans=True)
    assert blank.spans == []
    [span] = lone.spans
    assert span.attributes["TOXICITY"] == lone.attributes["TOXICITY"]
