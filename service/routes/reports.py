"""Routes of this resource (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
