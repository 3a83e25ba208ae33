"""Service settings, read from the environment once, at the edge (``MODERATION_`` prefix)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from moderation.storage import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    """Safe defaults: a local SQLite file, listening on loopback only."""

    model_config = SettingsConfigDict(env_prefix="MODERATION_", extra="forbid")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "MODERATION_DATABASE_URL"),
    )
    host: str = "127.0.0.1"
    port: int = 8000
