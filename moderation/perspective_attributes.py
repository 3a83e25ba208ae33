"""Every attribute name Perspective documents, and which attribute of the desk's scores, if any, answers it.

Perspective's attribute reference (conversationai/perspectiveapi ``2-api/models.md``, and
developers.perspectiveapi.com since) lists the six production attributes and their ``NAME_EXPERIMENTAL``
variants, the experimental SEXUALLY_EXPLICIT, FLIRTATION and TOXICITY_FAST, the New York Times attributes,
and the bridging and persuasion attributes; any name may carry a version (``TOXICITY@6``). A client may ask
for any of them, so the desk knows them all, and answers one only with a head trained on data that labels
the same thing (docs/perspective.md, *Attributes*):

- the six production names and their ``_EXPERIMENTAL`` variants: the head of that name;
- ``TOXICITY_FAST``: the TOXICITY head (Perspective's faster model of the same attribute);
- ``OBSCENE``: the PROFANITY head, because the Civil Comments raters it learnt from mark obscene and profane
  words with one span type, "Profane/Obscene" (a multi-label checkpoint's ``obscene`` is read as PROFANITY
  too, :mod:`moderation.models.label_map`); no New York Times data measures it as that paper's moderators
  meant it, so the desk counts it experimental;
- ``SEXUALLY_EXPLICIT``: a head of that name, which the bundled models lack (no data the desk trains on
  labels it) and a multi-label checkpoint with a ``sexual_explicit`` label brings.

Every other documented name is known and never served: refused as Perspective refuses an attribute in a
language it lacks, or left out with ``dropUnsupportedAttributes``. A version is accepted and names no
other model: the desk has one version of each head, the loaded model's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moderation.scores import ATTRIBUTES

__all__ = ["CATALOGUE", "KnownAttribute", "lookup"]

#: Perspective's suffix for the experimental variant of an attribute; it maps to the base attribute here.
EXPERIMENTAL_SUFFIX = "_EXPERIMENTAL"
#: ``NAME@VERSION``: Perspective's way of asking for one release of an attribute.
_VERSIONED = re.compile(r"(?P<name>[A-Z][A-Z_]*)(?:@(?P<version>[0-9]+))?")


@dataclass(frozen=True)
class KnownAttribute:
    """One name Perspective documents: the attribute of the scores that answers it, where the loaded model has it
    (None: never served), and whether its scores are experimental: Perspective documents it so, or the desk
    answers it with another name's head. (A model card may mark more: the bundled one marks SEVERE_TOXICITY,
    which no test split measures.)"""

    name: str
    scored_by: str | None
    experimental: bool


def _catalogue() -> dict[str, KnownAttribute]:
    production = {name: KnownAttribute(name, name, False) for name in ATTRIBUTES}
    variants = {f"{name}{EXPERIMENTAL_SUFFIX}": name for name in ATTRIBUTES}
    experimental = {"TOXICITY_FAST": "TOXICITY", "OBSCENE": "PROFANITY", "SEXUALLY_EXPLICIT": "SEXUALLY_EXPLICIT"}
    unserved = (
        "FLIRTATION "
        # The New York Times attributes.
        "ATTACK_ON_AUTHOR ATTACK_ON_COMMENTER INCOHERENT INFLAMMATORY LIKELY_TO_REJECT SPAM UNSUBSTANTIAL "
        # Listed in the v1alpha1 discovery document's description of requestedAttributes.
        "ATTACK_ON_PUBLISHER OFF_TOPIC "
        # Bridging and persuasion attributes (2024).
        "AFFINITY_EXPERIMENTAL COMPASSION_EXPERIMENTAL CURIOSITY_EXPERIMENTAL NUANCE_EXPERIMENTAL "
        "PERSONAL_STORY_EXPERIMENTAL REASONING_EXPERIMENTAL RESPECT_EXPERIMENTAL ALIENATION_EXPERIMENTAL "
        "FEARMONGERING_EXPERIMENTAL GENERALIZATION_EXPERIMENTAL MORAL_OUTRAGE_EXPERIMENTAL SCAPEGOATING_EXPERIMENTAL"
    ).split()
    return {
        **production,
        **{variant: KnownAttribute(variant, name, True) for variant, name in variants.items()},
        **{name: KnownAttribute(name, scored_by, True) for name, scored_by in experimental.items()},
        **{name: KnownAttribute(name, None, True) for name in unserved},
    }


#: Every documented name (without a version) -> what the desk does with it.
CATALOGUE: dict[str, KnownAttribute] = _catalogue()


def lookup(requested: str) -> KnownAttribute | None:
    """The documented attribute a requested name means (``TOXICITY@6`` means TOXICITY); None when Perspective
    documents no such name (names are case-sensitive, as Perspective's are)."""
    match = _VERSIONED.fullmatch(requested)
    return CATALOGUE.get(match["name"]) if match else None
