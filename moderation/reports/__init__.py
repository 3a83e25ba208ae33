"""Aggregate moderation reports (being written)."""
