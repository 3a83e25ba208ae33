"""Storage behind one repository module: engines in ``db``, tables in ``tables``, queries in ``repository``
(and ``records``), pagination in ``pages``, the schema's history in ``migrations`` (Alembic)."""

from moderation.errors import SchemaError
from moderation.storage.db import DEFAULT_DATABASE_URL, make_engine, transaction

__all__ = ["DEFAULT_DATABASE_URL", "SchemaError", "make_engine", "transaction"]
