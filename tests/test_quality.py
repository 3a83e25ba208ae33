"""Quality floors of the bundled heads on the shared test splits: a ratchet, not a wish.

The floors, the sample and a digest of the test files live in ``quality_floors.json``. A score
under its floor fails; so does changed data, since the floors were measured on the old data.
Lowering a floor is an explicit, explained edit of that file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from moderation import Scorer
from moderation.training.evaluation import evaluate_scorer

FLOORS = json.loads((Path(__file__).with_name("quality_floors.json")).read_text(encoding="utf-8"))


def _digest(root: Path, files: list[str]) -> str:
    sha = hashlib.sha256()
    for name in files:
        sha.update((root / name).read_bytes())
    return sha.hexdigest()


@pytest.mark.shared_data
@pytest.mark.slow
def test_heads_stay_above_their_floors_on_sampled_test_items(shared_data: Path) -> None:
    for task, spec in FLOORS["tasks"].items():
        assert _digest(shared_data, spec["files"]) == spec["sha256"], f"{task}: test data changed, re-measure"
    results = evaluate_scorer(
        Scorer.load(), shared_data, tasks=tuple(FLOORS["tasks"]), limit=FLOORS["limit"], seed=FLOORS["seed"]
    )
    for result in results:
        spec = FLOORS["tasks"][result.task]
        assert result.metric == spec["metric"]
        assert result.n == FLOORS["limit"]
        assert result.score >= spec["floor"], f"{result.task}: {result.score:.4f} < floor {spec['floor']}"
        assert result.score >= result.baseline + 0.2, f"{result.task}: barely above the majority baseline"
