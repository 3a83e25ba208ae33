"""The words a report uses for what the model and moderation did, defined once, so that the page's
tiles, sections, tables and footer and the Markdown say flagged, held and reviewed in one sense."""

from __future__ import annotations

#: What a policy rule means, in the words of the page and the Markdown (the JSON and CSV keep the codes).
RULES = {
    "attribute_reject": "score at or above the reject threshold",
    "attribute_review": "score at or above the review threshold",
    "banned_word": "banned word",
    "suspect_word": "suspect word",
    "too_many_links": "too many links",
    "premoderated": "pre-moderated",
    "text_changed": "text changed after a moderator decided",
}


def rule(code: str) -> str:
    """A policy rule's code in words (an unknown code as it is)."""
    return RULES.get(code, code)


def definitions(flag_threshold: float) -> dict[str, str]:
    """Flagged, held and reviewed: the model's view, the decision, and who made it."""
    return {
        "flagged": f"a production attribute scores ≥ {flag_threshold:g} (the model's view; an experimental "
        "attribute is shown and never flags)",
        "held": "the decision is review or reject (the policy's or a moderator's)",
        "reviewed": "a moderator decided, not the policy",
    }
