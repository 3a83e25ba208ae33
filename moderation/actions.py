"""What a decision does with a comment: the one vocabulary of actions that the policy, moderators, storage,
reports and the service share, always in this order (most lenient first)."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["ACTIONS", "Action"]

Action = Literal["approve", "review", "reject"]
ACTIONS: tuple[Action, ...] = get_args(Action)
