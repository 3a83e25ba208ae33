"""A site's moderator feedback as attribute training data: the JSONL file ``moderation feedback export`` writes.

Each line is one comment the desk's stored feedback names (Perspective's SuggestCommentScore; Coral sends 1
when a moderator rejects a comment, 0 when one approves it), with its text and the latest suggested score
of each attribute: ``{"text": ..., "text_sha256": ..., "attributes": {"TOXICITY": 1.0}}``. A score is read
as a rater fraction, as every other source's labels are; attributes a line does not name are unknown.
The file has no splits of its own: 80/10/10 by a hash of each text's digest, so a comment stays in one split
however often the file is exported again.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from moderation.errors import DataError
from moderation.scores import ATTRIBUTES
from moderation.training.attribute_sources import Part, hash_split, pick, row

#: The source name of feedback items in an ``AttributeSplit`` and in a model card.
FEEDBACK = "Moderator feedback (SuggestCommentScore)"


def _item(line: str, where: str) -> tuple[str, str, list[float]]:
    """(digest, text, fractions) of one line; a :class:`DataError` naming the line for anything else."""
    try:
        record = json.loads(line)
        text, digest, attributes = record["text"], record["text_sha256"], record["attributes"]
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{where}: not a line of 'moderation feedback export' ({error})") from None
    scores = attributes if isinstance(attributes, dict) else {}
    if not isinstance(text, str) or not isinstance(digest, str) or not scores:
        raise DataError(f"{where}: needs a text, its text_sha256 and at least one attribute score")
    for name, value in scores.items():
        if name not in ATTRIBUTES:
            raise DataError(f"{where}: unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}")
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0 or math.isnan(value):
            raise DataError(f"{where}: the score of {name} must be a number from 0 to 1")
    return digest, text, row(**scores)


def read_feedback(path: Path, split: str) -> Part:
    """One split of an exported feedback file, each text once."""
    if not path.is_file():
        raise DataError(f"feedback file {path} not found (write it with 'moderation feedback export')")
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                digest, text, fractions = _item(line, f"{path}:{number}")
                items.append((hash_split(digest), text, fractions))
    return pick(items, split)
