"""Hand-written functional cases for the Perspective attributes, and how a scorer and a policy handle them.

Aggregate metrics on a test split hide failure modes a newsroom cares about: a model can score well there
and still approve "I know where you live", or flag a reader who quotes a slur to condemn it. Each
:class:`FunctionalCase` is one comment with the attributes that should reach 0.5 (``fire``) and those that
should stay below it (``quiet``); categories group the cases by behaviour. The suite lives in
``tests/functional/cases.jsonl``; ``benchmarks/functional.py`` prints the report, ``tests/test_functional.py``
holds the floors.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from moderation.actions import ACTIONS
from moderation.errors import DataError, ModelError
from moderation.policy import ATTRIBUTES, Policy, decide
from moderation.scores import CommentScores

__all__ = [
    "CATEGORIES",
    "GROUP_ATTACKS",
    "HARD_NEGATIVES",
    "THREATS",
    "THRESHOLD",
    "CaseResult",
    "CategoryStats",
    "FunctionalCase",
    "FunctionalReport",
    "Predicts",
    "evaluate_cases",
    "is_group_attack",
    "load_cases",
]

#: The suite, in the repository's tests (a checkout's, not installed with the package).
CASES = Path(__file__).resolve().parents[2] / "tests" / "functional" / "cases.jsonl"
THRESHOLD = 0.5  # an attribute "fires" at or above this, as Perspective's documentation reads its scores
THREATS = ("threat_direct", "threat_conditional", "threat_normative")
GROUP_ATTACKS = ("dehumanisation", "derogation")
OTHER_POSITIVES = ("slur", "insult_individual", "profanity_no_attack")
HARD_NEGATIVES = (
    "counter_speech_quote",
    "counter_speech_report",
    "negated_hate",
    "neutral_group",
    "positive_group",
    "reclaimed_slur",
    "violent_words_objects",
    "plain",
)
CATEGORIES = (*THREATS, *GROUP_ATTACKS, *OTHER_POSITIVES, *HARD_NEGATIVES)
_FIELDS = {"id", "category", "text", "fire", "quiet", "target"}


@dataclass(frozen=True)
class FunctionalCase:
    """One hand-written comment and the attributes it should and should not fire."""

    id: str
    category: str
    text: str
    fire: tuple[str, ...]
    quiet: tuple[str, ...]
    target: str | None


def is_group_attack(case: FunctionalCase) -> bool:
    """Dehumanisation and derogation, and every slur that names a protected group (its ``target``).

    A slur attacks through identity whoever it is thrown at, so a slur case aimed at one person still
    counts when its target names the group; slurs on political sides ("libtard") have no target and don't.
    """
    return case.category in GROUP_ATTACKS or (case.category == "slur" and case.target is not None)


def load_cases(path: Path) -> list[FunctionalCase]:
    """Every case of a JSON-lines file; any bad line is a ``DataError`` naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read functional cases {path}: {exc}") from exc
    cases: list[FunctionalCase] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        case = _parse_case(line, f"{path}:{number}")
        if case.id in first_line:
            raise DataError(f"{path}:{number}: duplicate id {case.id!r} (first on line {first_line[case.id]})")
        first_line[case.id] = number
        cases.append(case)
    if not cases:
        raise DataError(f"{path}: no functional cases")
    return cases


def _parse_case(line: str, where: str) -> FunctionalCase:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise DataError(f"{where}: not a JSON object")
    if set(record) != _FIELDS:
        raise DataError(f"{where}: keys must be exactly {', '.join(sorted(_FIELDS))}")
    case_id, category, text, target = record["id"], record["category"], record["text"], record["target"]
    if not isinstance(case_id, str) or not case_id.strip():
        raise DataError(f"{where}: id must be a non-empty string")
    if category not in CATEGORIES:
        raise DataError(f"{where}: unknown category {category!r}")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: empty text")
    if target is not None and (not isinstance(target, str) or not target.strip()):
        raise DataError(f"{where}: target must be a non-empty string or null")
    fire, quiet = _attributes(record["fire"], "fire", where), _attributes(record["quiet"], "quiet", where)
    if both := sorted(set(fire) & set(quiet)):
        raise DataError(f"{where}: {', '.join(both)} both in fire and quiet")
    return FunctionalCase(id=case_id, category=category, text=text, fire=fire, quiet=quiet, target=target)


def _attributes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise DataError(f"{where}: {key} must be a list of attribute names")
    unknown = [name for name in value if name not in ATTRIBUTES]
    if unknown:
        raise DataError(f"{where}: unknown attribute {unknown[0]!r} in {key}; one of {', '.join(ATTRIBUTES)}")
    return tuple(value)


class Predicts(Protocol):
    """What ``evaluate_cases`` needs of a scorer: :meth:`moderation.Scorer.predict`'s list in, list out."""

    def predict(self, texts: Sequence[str]) -> list[CommentScores]: ...


@dataclass(frozen=True)
class CaseResult:
    """One case's scores and the policy's action on it."""

    case: FunctionalCase
    scores: dict[str, float]
    action: str

    @property
    def recalled(self) -> bool:
        """Every ``fire`` attribute reached the threshold (vacuously true when none should fire)."""
        return all(self.scores[name] >= THRESHOLD for name in self.case.fire)

    @property
    def false_fire(self) -> bool:
        return any(self.scores[name] >= THRESHOLD for name in self.case.quiet)

    @property
    def failed(self) -> bool:
        """Missed, fired where it should not, or (a hard negative) not approved."""
        flagged = self.case.category in HARD_NEGATIVES and self.action != "approve"
        return not self.recalled or self.false_fire or flagged

    @property
    def error(self) -> float:
        """How far the worst attribute is from right: 1 - score for ``fire``, the score for ``quiet``."""
        misses = [1 - self.scores[name] for name in self.case.fire] + [self.scores[n] for n in self.case.quiet]
        return max(misses, default=0.0)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.case.id, "text": self.case.text, "action": self.action, "scores": self.scores}


@dataclass(frozen=True)
class CategoryStats:
    """One category's shares: recall (None without ``fire``), false fire, actions, each ``fire`` attribute."""

    category: str
    n: int
    recall: float | None
    false_fire: float | None
    actions: dict[str, float]
    fired: dict[str, float]
    worst: list[CaseResult] = field(default_factory=list)


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _category_stats(category: str, results: Sequence[CaseResult], worst: int) -> CategoryStats:
    actions = Counter(result.action for result in results)
    with_fire = [result for result in results if result.case.fire]
    with_quiet = [result for result in results if result.case.quiet]
    named = [name for name in ATTRIBUTES if any(name in result.case.fire for result in results)]
    failures = sorted((r for r in results if r.failed), key=lambda r: (-r.error, r.case.id))
    return CategoryStats(
        category=category,
        n=len(results),
        recall=_share([r.recalled for r in with_fire]) if with_fire else None,
        false_fire=_share([r.false_fire for r in with_quiet]) if with_quiet else None,
        actions={action: actions[action] / len(results) for action in ACTIONS},
        fired={name: _share([r.scores[name] >= THRESHOLD for r in results if name in r.case.fire]) for name in named},
        worst=failures[:worst],
    )


@dataclass(frozen=True)
class FunctionalReport:
    """The headline figures, one :class:`CategoryStats` per category present, in ``CATEGORIES`` order."""

    categories: list[CategoryStats]
    threats: int
    threat_recall: float
    threats_approved: int
    group_attacks: int
    group_attack_recall: float
    hard_negatives: int
    hard_negative_flagged: float

    def markdown(self) -> str:
        """The headline table, the per-category table and each category's worst cases."""
        lines = [
            "| headline | value | n |",
            "|---|---|---|",
            f"| threats with THREAT >= {THRESHOLD} | {self.threat_recall:.3f} | {self.threats} |",
            f"| threats the policy approves | {self.threats_approved} | {self.threats} |",
            f"| group attacks with IDENTITY_ATTACK >= {THRESHOLD} | {self.group_attack_recall:.3f} "
            f"| {self.group_attacks} |",
            f"| hard negatives flagged (review or reject) | {self.hard_negative_flagged:.3f} | {self.hard_negatives} |",
            "",
            "| category | n | recall | false fire | approve | review | reject | each fire attribute >= 0.5 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for stats in self.categories:
            shares = [_figure(stats.recall), _figure(stats.false_fire), *map(_figure, stats.actions.values())]
            fired = ", ".join(f"{name} {share:.2f}" for name, share in stats.fired.items()) or "-"
            lines.append(f"| {stats.category} | {stats.n} | {' | '.join(shares)} | {fired} |")
        lines += ["", "Worst cases per category (failures only, furthest from right first):", ""]
        for stats in self.categories:
            if not stats.worst:
                lines.append(f"- **{stats.category}**: none failed")
            lines += [f"- **{stats.category}** {_case_line(result)}" for result in stats.worst]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, object]:
        document = asdict(self)
        for stats, row in zip(self.categories, document["categories"], strict=True):
            row["worst"] = [result.as_dict() for result in stats.worst]
        return document


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _case_line(result: CaseResult) -> str:
    """``id`` (action) "text": each fire attribute's score, and each quiet attribute that fired."""
    case, scores = result.case, result.scores
    evidence = [f"{name} {scores[name]:.2f}" for name in case.fire]
    evidence += [f"{name} {scores[name]:.2f} (quiet)" for name in case.quiet if scores[name] >= THRESHOLD]
    return f"`{case.id}` ({result.action}) {json.dumps(case.text, ensure_ascii=False)}: {', '.join(evidence)}"


def evaluate_cases(
    scorer: Predicts, policy: Policy, cases: Sequence[FunctionalCase], *, worst: int = 3
) -> FunctionalReport:
    """Score every case in one ``predict`` call, decide each with ``policy``, and sum up per category.

    The suite measures all six attributes: a scorer that leaves one out is a ``ModelError``.
    """
    scored = scorer.predict([case.text for case in cases])
    results = [
        CaseResult(case, _six_scores(scores.attributes), decide(policy, case.text, scores.attributes).action)
        for case, scores in zip(cases, scored, strict=True)
    ]
    by_category = {category: [r for r in results if r.case.category == category] for category in CATEGORIES}
    threats = [r for r in results if r.case.category in THREATS]
    groups = [r for r in results if is_group_attack(r.case)]
    hard = [r for r in results if r.case.category in HARD_NEGATIVES]
    return FunctionalReport(
        categories=[_category_stats(name, rows, worst) for name, rows in by_category.items() if rows],
        threats=len(threats),
        threat_recall=_share([r.scores["THREAT"] >= THRESHOLD for r in threats]),
        threats_approved=sum(r.action == "approve" for r in threats),
        group_attacks=len(groups),
        group_attack_recall=_share([r.scores["IDENTITY_ATTACK"] >= THRESHOLD for r in groups]),
        hard_negatives=len(hard),
        hard_negative_flagged=_share([r.action != "approve" for r in hard]),
    )


def _six_scores(attributes: Mapping[str, float]) -> dict[str, float]:
    missing = [name for name in ATTRIBUTES if name not in attributes]
    if missing:
        raise ModelError(f"the scorer gives no {', '.join(missing)}; the functional suite needs every attribute")
    return {name: float(attributes[name]) for name in ATTRIBUTES}
