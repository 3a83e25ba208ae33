"""The functional suite: its loader, its own shape, the report's arithmetic, and the bundled model's floors."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from moderation.errors import DataError, ModelError
from moderation.policy import ATTRIBUTES, Policy, decide
from moderation.scores import CommentScores, LabelScores
from moderation.training.functional import (
    CATEGORIES,
    HARD_NEGATIVES,
    THREATS,
    FunctionalCase,
    evaluate_cases,
    is_group_attack,
    load_cases,
)

CASES = Path(__file__).with_name("functional") / "cases.jsonl"
MINIMUM_COUNTS = {
    "threat_direct": 40,
    "threat_conditional": 30,
    "threat_normative": 40,
    "dehumanisation": 35,
    "derogation": 40,
    "slur": 30,
    "insult_individual": 35,
    "profanity_no_attack": 30,
    "counter_speech_quote": 30,
    "counter_speech_report": 30,
    "negated_hate": 30,
    "neutral_group": 35,
    "positive_group": 35,
    "reclaimed_slur": 15,
    "violent_words_objects": 40,
    "plain": 10,
}
#: Categories whose every case attacks or mentions a protected group, named in ``target``.
GROUP_CATEGORIES = ("dehumanisation", "derogation", "negated_hate", "neutral_group", "positive_group", "reclaimed_slur")
# A ratchet, not a goal: what the bundled model (issue 15's fine-tune [149c787387cb]) and the default policy
# (THREAT reviewed from 0.1) measured on the suite in fp32 and int8: threats 37/110 and 36/110 at THREAT >= 0.5,
# 34 approved; group attacks 69/101; hard negatives held 61/225 in fp32. Minima rounded down by 0.02, maxima up.
# The bars are 0.85, 0.75 and 0.15 with no threat approved; the earlier model held fewer hard negatives
# (0.138) and caught almost no threat (0.027) or group attack (0.030).
FLOORS: dict[str, float] = {
    "threat_recall_min": 0.307,
    "group_attack_recall_min": 0.663,
    "hard_negative_flagged_max": 0.291,
    "threats_approved_max": 36,
}

GOOD = {"id": "x-001", "category": "plain", "text": "Nice.", "fire": [], "quiet": ["TOXICITY"], "target": None}


def _write(tmp_path: Path, records: Sequence[dict[str, Any] | str]) -> Path:
    path = tmp_path / "cases.jsonl"
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loader_reads_cases_as_frozen_tuples_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, [GOOD, "", {**GOOD, "id": "x-002", "fire": ["THREAT"], "quiet": [], "target": "Roma"}])
    cases = load_cases(path)
    assert [case.id for case in cases] == ["x-001", "x-002"]
    assert cases[1] == FunctionalCase("x-002", "plain", "Nice.", ("THREAT",), (), "Roma")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**GOOD, "fire": ["HATE"]}, "unknown attribute 'HATE' in fire"),
        ({**GOOD, "quiet": ["toxicity"]}, "unknown attribute 'toxicity' in quiet"),
        ({**GOOD, "category": "sarcasm"}, "unknown category 'sarcasm'"),
        ({**GOOD, "text": "   "}, "empty text"),
        ({**GOOD, "id": "x-000", "fire": ["TOXICITY"]}, "TOXICITY both in fire and quiet"),
        ({key: value for key, value in GOOD.items() if key != "target"}, "keys must be exactly"),
        ({**GOOD, "id": "x-000", "target": ""}, "target must be a non-empty string or null"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (GOOD, "duplicate id 'x-001' (first on line 1)"),
    ],
)
def test_loader_refuses_a_bad_line_naming_its_line_number(
    tmp_path: Path, bad: dict[str, Any] | str, message: str
) -> None:
    path = _write(tmp_path, [GOOD, bad])
    with pytest.raises(DataError, match=rf"cases\.jsonl:2: .*{re.escape(message)}"):
        load_cases(path)


def test_loader_refuses_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no functional cases"):
        load_cases(_write(tmp_path, [""]))


def test_suite_has_at_least_its_counts_per_category_and_unique_ids_and_texts() -> None:
    cases = load_cases(CASES)
    counts = Counter(case.category for case in cases)
    assert len(cases) >= 460
    assert len({case.id for case in cases}) == len(cases)
    assert set(counts) == set(CATEGORIES) == set(MINIMUM_COUNTS)
    assert {category: n for category, n in counts.items() if n < MINIMUM_COUNTS[category]} == {}
    assert len({case.text.casefold() for case in cases}) == len(cases)


def test_suite_names_a_group_in_every_group_case_and_spreads_the_groups_evenly() -> None:
    grouped = [case for case in load_cases(CASES) if case.category in GROUP_CATEGORIES]
    assert [case.id for case in grouped if case.target is None] == []
    per_group = Counter(case.target for case in grouped)
    assert len(per_group) >= 10
    assert max(per_group.values()) <= 1.5 * min(per_group.values()), per_group


def test_suite_labels_agree_with_each_category() -> None:
    for case in load_cases(CASES):
        if case.category in THREATS:
            assert {"THREAT", "TOXICITY"} <= set(case.fire), case.id
        if is_group_attack(case):
            assert {"IDENTITY_ATTACK", "TOXICITY"} <= set(case.fire), case.id
        if case.category in HARD_NEGATIVES:
            assert case.fire == () and {"TOXICITY", "THREAT", "IDENTITY_ATTACK", "INSULT"} <= set(case.quiet), case.id
        if case.category == "profanity_no_attack":
            assert case.fire == ("PROFANITY",) and "INSULT" in case.quiet, case.id


class FakeScorer:
    """Gives each text the attribute scores listed for it (0 for the rest) and records each ``predict`` call."""

    def __init__(self, scores: dict[str, dict[str, float]], attributes: Sequence[str] = ATTRIBUTES) -> None:
        self.scores = scores
        self.attributes = attributes
        self.calls: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[CommentScores]:
        self.calls.append(list(texts))
        neutral = LabelScores(label="neutral", probabilities={"neutral": 1.0})
        return [
            CommentScores(
                sentiment=neutral,
                stance=None,
                toxicity=neutral,
                attributes={name: self.scores[text].get(name, 0.0) for name in self.attributes},
            )
            for text in texts
        ]


def _case(
    case_id: str, fire: tuple[str, ...], quiet: tuple[str, ...] = (), target: str | None = None
) -> FunctionalCase:
    return FunctionalCase(case_id, case_id.split("-")[0], f"text of {case_id}", fire, quiet, target)


HARD = ("TOXICITY", "INSULT", "THREAT", "IDENTITY_ATTACK")
TINY = [
    _case("threat_direct-1", ("THREAT", "TOXICITY")),
    _case("threat_normative-1", ("THREAT", "TOXICITY"), ("IDENTITY_ATTACK",)),
    _case("dehumanisation-1", ("IDENTITY_ATTACK", "TOXICITY"), ("THREAT",), "Roma"),
    _case("slur-1", ("TOXICITY", "IDENTITY_ATTACK"), ("THREAT",), "Roma"),
    _case("slur-2", ("TOXICITY", "INSULT")),
    _case("negated_hate-1", (), HARD, "women"),
    _case("plain-1", (), HARD),
]
TINY_SCORES = {
    "text of threat_direct-1": {"THREAT": 0.9, "TOXICITY": 0.95},
    "text of threat_normative-1": {"THREAT": 0.2, "TOXICITY": 0.1},
    "text of dehumanisation-1": {"IDENTITY_ATTACK": 0.6, "TOXICITY": 0.7},
    "text of slur-1": {"IDENTITY_ATTACK": 0.3, "TOXICITY": 0.3},
    "text of slur-2": {"TOXICITY": 0.8, "INSULT": 0.2},
    "text of negated_hate-1": {"TOXICITY": 0.55},
    "text of plain-1": {},
}
TOXICITY_ONLY = Policy.loads("[thresholds.TOXICITY]\nreview = 0.5\nreject = 0.9\n")


def test_evaluate_cases_scores_every_text_in_one_call_and_computes_the_headline() -> None:
    scorer = FakeScorer(TINY_SCORES)
    report = evaluate_cases(scorer, TOXICITY_ONLY, TINY)
    assert scorer.calls == [[case.text for case in TINY]]
    assert (report.threats, report.threat_recall, report.threats_approved) == (2, 0.5, 1)
    # The slur without a target (slur-2) is an insult on a person, not a group attack.
    assert (report.group_attacks, report.group_attack_recall) == (2, 0.5)
    assert (report.hard_negatives, report.hard_negative_flagged) == (2, 0.5)


def test_evaluate_cases_computes_each_categorys_shares_and_worst_cases() -> None:
    report = evaluate_cases(FakeScorer(TINY_SCORES), TOXICITY_ONLY, TINY)
    stats = {row.category: row for row in report.categories}
    assert list(stats) == [c for c in CATEGORIES if c in stats]  # CATEGORIES order, absent ones left out
    direct, slur, negated, plain = stats["threat_direct"], stats["slur"], stats["negated_hate"], stats["plain"]
    assert (direct.n, direct.recall, direct.false_fire) == (1, 1.0, None)
    assert direct.actions == {"approve": 0.0, "review": 0.0, "reject": 1.0}
    assert direct.fired == {"TOXICITY": 1.0, "THREAT": 1.0}
    assert (slur.n, slur.recall, slur.false_fire) == (2, 0.0, 0.0)
    assert slur.fired == {"TOXICITY": 0.5, "INSULT": 0.0, "IDENTITY_ATTACK": 0.0}
    assert [result.case.id for result in slur.worst] == ["slur-2", "slur-1"]  # INSULT 0.2 is further off than 0.3
    assert (negated.recall, negated.false_fire, negated.actions["review"]) == (None, 1.0, 1.0)
    assert [result.case.id for result in negated.worst] == ["negated_hate-1"]
    assert (plain.false_fire, plain.actions["approve"], plain.worst) == (0.0, 1.0, [])


def test_report_renders_markdown_and_json() -> None:
    report = evaluate_cases(FakeScorer(TINY_SCORES), TOXICITY_ONLY, TINY, worst=1)
    text = report.markdown()
    assert "| threats the policy approves | 1 | 2 |" in text
    assert "| negated_hate | 1 | - | 1.000 | 0.000 | 1.000 | 0.000 | - |" in text
    assert '`negated_hate-1` (review) "text of negated_hate-1": TOXICITY 0.55 (quiet)' in text
    assert "- **plain**: none failed" in text
    document = json.loads(json.dumps(report.as_dict()))
    assert document["threats_approved"] == 1
    assert document["categories"][0]["worst"] == []
    slur = next(row for row in document["categories"] if row["category"] == "slur")
    assert [row["id"] for row in slur["worst"]] == ["slur-2"]


def test_evaluate_cases_refuses_a_scorer_without_every_attribute() -> None:
    scorer = FakeScorer(TINY_SCORES, attributes=("TOXICITY",))
    with pytest.raises(ModelError, match="gives no SEVERE_TOXICITY, INSULT, PROFANITY, THREAT, IDENTITY_ATTACK"):
        evaluate_cases(scorer, TOXICITY_ONLY, TINY)


@pytest.mark.slow
def test_bundled_model_and_default_policy_hold_the_functional_floors(bundled_scorer: Any) -> None:
    report = evaluate_cases(bundled_scorer, Policy.default(), load_cases(CASES))
    assert report.threat_recall >= FLOORS["threat_recall_min"], report.markdown()
    assert report.group_attack_recall >= FLOORS["group_attack_recall_min"], report.markdown()
    assert report.hard_negative_flagged <= FLOORS["hard_negative_flagged_max"], report.markdown()
    assert report.threats_approved <= FLOORS["threats_approved_max"], report.markdown()


#: Comments a new user tried through /v1/comments:score (issue 15) and what the desk must do with them.
REPORTED = {
    "You deserve to be beaten to death.": "not approve",
    "If I see you at the rally I will beat you until you can't walk.": "not approve",
    "Women are too stupid to vote.": "not approve",
    "A sense of humor, perhaps.": "approve",
}
#: A known miss, pinned so that the day it is caught the test says so: first-person threats against a
#: person are rare in every training set (EDOS has 80, Civil Comments a few dozen), and THREAT reads 0.03.
MISSED = {"I'm going to find where you live and hurt your family.": "not approve"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        *REPORTED,
        *(pytest.param(t, marks=pytest.mark.xfail(strict=True, reason="issue 15: direct threats")) for t in MISSED),
    ],
)
def test_the_reported_threats_and_identity_attack_are_held_and_the_harmless_reply_approved(
    bundled_scorer: Any, text: str
) -> None:
    [scores] = bundled_scorer.predict([text])
    action = decide(Policy.default(), text, scores.attributes).action
    assert (action == "approve") == ({**REPORTED, **MISSED}[text] == "approve"), (text, action, scores.attributes)
