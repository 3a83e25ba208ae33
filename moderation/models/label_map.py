"""Map a checkpoint's own label names (``config.id2label``) onto our public labels.

Checkpoints name their classes freely (``NEGATIVE``, ``neg``, ``LABEL_0``, ``1 star``). Names
in the synonym tables below map without configuration; anything else, generic ``LABEL_n``
names above all, needs an explicit mapping: guessing that ``LABEL_0`` means negative would
silently invert a model whose author ordered its classes otherwise. Several checkpoint labels
may map to one public label (their probabilities add up), but every checkpoint label must map
somewhere and every public label must be reached, so the distribution stays complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from moderation.errors import ModelError
from moderation.scores import TASK_LABELS

#: Single-label synonyms per task, keyed by normalised name (lower case, ``-`` for ``_`` and spaces).
LABEL_SYNONYMS: dict[str, dict[str, str]] = {
    "sentiment": {
        "negative": "negative",
        "neg": "negative",
        "neutral": "neutral",
        "neu": "neutral",
        "positive": "positive",
        "pos": "positive",
    },
    "stance": {
        "against": "against",
        "con": "against",
        "neutral": "neutral",
        "none": "neutral",
        "favor": "favor",
        "favour": "favor",
        "pro": "favor",
    },
    "toxicity": {
        "toxic": "toxic",
        "offensive": "toxic",
        "hate": "toxic",
        "not-toxic": "not_toxic",
        "non-toxic": "not_toxic",
        "not-offensive": "not_toxic",
        "non-offensive": "not_toxic",
        "normal": "not_toxic",
    },
}

#: Perspective attributes a multi-label toxicity checkpoint can give, and the names that mean them.
ATTRIBUTE_SYNONYMS: dict[str, str] = {
    "toxic": "TOXICITY",
    "toxicity": "TOXICITY",
    "severe-toxic": "SEVERE_TOXICITY",
    "severe-toxicity": "SEVERE_TOXICITY",
    "insult": "INSULT",
    "obscene": "PROFANITY",
    "profanity": "PROFANITY",
    "threat": "THREAT",
    "identity-hate": "IDENTITY_ATTACK",
    "identity-attack": "IDENTITY_ATTACK",
    "sexual-explicit": "SEXUALLY_EXPLICIT",
}
ATTRIBUTES = frozenset(ATTRIBUTE_SYNONYMS.values())

_GENERIC = re.compile(r"label[-_ ]?\d+", re.IGNORECASE)


def normalise(name: str) -> str:
    return re.sub(r"[\s_-]+", "-", name.strip().lower())


def _check_explicit(id2label: Mapping[int, str], explicit: Mapping[str, str], source: str) -> None:
    unknown = sorted(set(explicit) - set(id2label.values()))
    if unknown:
        raise ModelError(
            f"{source}: the label mapping names {unknown}, which the checkpoint does not have; "
            f"its labels are {list(id2label.values())}"
        )


def _mapping_hint(task: str, id2label: Mapping[int, str]) -> str:
    first = next(iter(id2label.values()))
    return f'say what each means in the config: [models.{task}.labels] {first} = "<one of {TASK_LABELS[task]}>", ...'


def label_matrix(task: str, id2label: Mapping[int, str], explicit: Mapping[str, str], source: str) -> np.ndarray:
    """A 0/1 matrix ``(n_checkpoint_labels, n_public_labels)``: checkpoint probabilities @ it = ours."""
    _check_explicit(id2label, explicit, source)
    public = TASK_LABELS[task]
    matrix = np.zeros((len(id2label), len(public)))
    unmapped = []
    for index, name in sorted(id2label.items()):
        ours = explicit.get(name) or LABEL_SYNONYMS[task].get(normalise(name))
        if ours is None:
            unmapped.append(name)
        elif ours not in public:
            raise ModelError(f"{source}: label {name!r} maps to {ours!r}, not a {task} label {public}")
        else:
            matrix[index, public.index(ours)] = 1.0
    if unmapped:
        kind = "generic" if all(_GENERIC.fullmatch(name) for name in unmapped) else "unknown"
        raise ModelError(
            f"{source}: {kind} label names {unmapped} cannot be read as {task} labels {public}; "
            + _mapping_hint(task, id2label)
        )
    missing = [label for column, label in enumerate(public) if not matrix[:, column].any()]
    if missing:
        raise ModelError(f"{source}: no checkpoint label maps to {missing}; a {task} model must cover {public}")
    return matrix


def _attribute(name: str) -> str | None:
    if name.upper() in ATTRIBUTES:
        return name.upper()
    return ATTRIBUTE_SYNONYMS.get(normalise(name))


def attribute_columns(id2label: Mapping[int, str], explicit: Mapping[str, str], source: str) -> dict[str, int]:
    """Perspective attribute -> checkpoint column, for a multi-label toxicity checkpoint.

    Labels that are no Perspective attribute (identity mentions in Jigsaw's unbiased models,
    say) are left out; ``TOXICITY`` must be present, since it becomes the toxicity head.
    """
    _check_explicit(id2label, explicit, source)
    columns: dict[str, int] = {}
    for index, name in sorted(id2label.items()):
        attribute = _attribute(explicit[name]) if name in explicit else _attribute(name)
        if name in explicit and attribute is None:
            raise ModelError(f"{source}: {explicit[name]!r} is no Perspective attribute; known: {sorted(ATTRIBUTES)}")
        if attribute is not None:
            if attribute in columns:
                raise ModelError(f"{source}: two labels map to {attribute}")
            columns[attribute] = index
    if "TOXICITY" not in columns:
        raise ModelError(
            f"{source}: no label means TOXICITY among {list(id2label.values())}; "
            '[models.toxicity.labels] can name it, e.g. LABEL_0 = "TOXICITY"'
        )
    return columns
