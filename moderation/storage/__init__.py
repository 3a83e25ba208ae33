"""Storage behind one repository module: engines in ``db``, tables in ``tables``, queries in ``repository``."""

from moderation.storage.db import DEFAULT_DATABASE_URL, make_engine, transaction

__all__ = ["DEFAULT_DATABASE_URL", "make_engine", "transaction"]
