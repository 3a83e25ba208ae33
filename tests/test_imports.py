"""Loading and running the scorer, the service and the CLI never imports training code."""

from __future__ import annotations

import subprocess
import sys

TRAINING = ("moderation.training", "sklearn", "datasets")


def test_scoring_and_serving_never_import_training_code() -> None:
    program = f"""
import sys
import moderation.cli, service.app
from moderation.models.scorer import Scorer
Scorer.load(mode="fp32").predict(["good", "bad"], ["war", None])
print("\\n".join(sorted(m for m in sys.modules if m.split(".")[0] in {TRAINING!r} or m.startswith({TRAINING[0]!r}))))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
