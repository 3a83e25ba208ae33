"""Public label names of every head, in the order their probabilities are stored."""

from __future__ import annotations

TASK_LABELS: dict[str, tuple[str, ...]] = {
    "sentiment": ("negative", "neutral", "positive"),
    "stance": ("against", "neutral", "favor"),
    "toxicity": ("not_toxic", "toxic"),
}

# Perspective's attribute name for each binary head's positive class.
PERSPECTIVE_ATTRIBUTE = {"toxicity": "TOXICITY"}

#: Perspective's production attributes that our models answer, in a fixed order.
ATTRIBUTES = ("TOXICITY", "SEVERE_TOXICITY", "INSULT", "PROFANITY", "THREAT", "IDENTITY_ATTACK")
