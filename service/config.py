"""Service settings, read from the environment once, at the edge (``MODERATION_`` prefix)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from moderation.storage import DEFAULT_DATABASE_URL

#: MODERATION_ variables that belong to the CLI or the tests, not to the service.
OTHER_VARIABLES = frozenset({"MODERATION_DATA_DIR", "MODERATION_TEST_POSTGRES_URL"})


class Settings(BaseSettings):
    """Safe defaults: a local SQLite file, loopback only, keys required for everything but health."""

    model_config = SettingsConfigDict(env_prefix="MODERATION_", extra="forbid")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "MODERATION_DATABASE_URL"),
    )
    host: str = "127.0.0.1"
    port: int = 8000
    models_config: Path | None = Field(default=None, description="moderation.toml naming a model per task.")
    mode: Literal["auto", "fp32", "int8", "bf16"] = Field(
        default="auto", description="The encoder's numerics (docs/speed.md); auto picks the fastest that agrees."
    )
    policy: Path | None = Field(default=None, description="Policy TOML; the packaged default when unset.")
    open_reads: bool = Field(default=False, description="Let reads (threads, comments, reports) through without a key.")
    max_body_bytes: int = Field(default=20_000_000, description="Largest request body accepted (uploads included).")
    max_items: int = Field(default=1000, description="Most comments in one scoring request (every route that scores).")
    max_comment_chars: int = Field(default=20_480, description="Longest comment text accepted (Perspective's 20 KB).")
    max_request_chars: int = Field(
        default=200_000, description="Most characters of comment text in one scoring request, all comments together."
    )
    rate_limit_per_minute: int = Field(
        default=1200, description="Requests per key (or per client address, for open reads) per minute; 0: off."
    )
    rate_limit_chars_per_minute: int = Field(
        default=1_000_000, description="Characters of comment text a key may send to be scored per minute; 0: off."
    )
    queue_max_comments: int = Field(
        default=4000, description="Most comments waiting for or in scoring; a request that would pass it gets 503."
    )
    batch_wait_ms: float = Field(default=5.0, description="How long a request waits for others to share its pass.")
    batch_max_items: int = Field(default=256, description="Most comments in one micro-batched forward pass.")
    coral_signing_secret: str | None = Field(default=None, description="Coral's webhook signing secret, if set.")

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_variables(cls, data: Any) -> Any:
        """A misspelt variable would otherwise be ignored silently (``MODERATION_OPEN_READZ``)."""
        known = {f"MODERATION_{name.upper()}" for name in cls.model_fields} | OTHER_VARIABLES
        unknown = sorted(name for name in os.environ if name.startswith("MODERATION_") and name not in known)
        if unknown:
            raise ValueError(f"unknown setting {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return data
