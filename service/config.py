"""Service settings, read from the environment once, at the edge (``MODERATION_`` prefix)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from moderation.storage import DEFAULT_DATABASE_URL
from moderation.storage.limits import MAX_THREAD_COMMENTS, PART_COMMENTS

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
    max_thread_comments: int = Field(
        default=MAX_THREAD_COMMENTS,
        ge=1,
        description="Most comments one stored thread may hold, however many uploads add them; past it, 413.",
    )
    store_part_comments: int = Field(
        default=PART_COMMENTS,
        ge=1,
        description="Most comments written in one transaction: a larger upload is stored in parts of this many, "
        "each committed, so a moderator's decision never waits for a whole import.",
    )
    extract_workers: int = Field(
        default=2,
        ge=1,
        description="Worker processes that read uploads (pages, exports), each about 110 MB; more uploads wait.",
    )
    extract_deadline_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest an upload may take to read; past it its worker is killed and the upload refused (422).",
    )
    batch_wait_ms: float = Field(default=5.0, description="How long a request waits for others to share its pass.")
    batch_max_items: int = Field(default=256, description="Most comments in one micro-batched forward pass.")
    batch_max_chars: int = Field(
        default=1024,
        ge=0,
        description="Most characters of comment text in one micro-batched pass, past the first comment of each "
        "request not started yet (a longer comment runs alone; 0: no bound). Short passes bound how long a comment "
        "waits behind another request's; raise it on a GPU.",
    )
    coral_signing_secret: str | None = Field(default=None, description="Coral's webhook signing secret, if set.")
    perspective_drop_unsupported: bool = Field(
        default=False,
        description="Answer every Perspective AnalyzeComment request as if it set dropUnsupportedAttributes: "
        "attributes the desk does not score are left out instead of refused (for clients that cannot set it).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_variables(cls, data: Any) -> Any:
        """A misspelt variable would otherwise be ignored silently (``MODERATION_OPEN_READZ``)."""
        known = {f"MODERATION_{name.upper()}" for name in cls.model_fields} | OTHER_VARIABLES
        unknown = sorted(name for name in os.environ if name.startswith("MODERATION_") and name not in known)
        if unknown:
            raise ValueError(f"unknown setting {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return data
