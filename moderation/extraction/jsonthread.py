"""Our own thread JSON: the shape ``moderation extract`` prints (``Thread`` in ``moderation.thread``)."""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import ValidationError

from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.thread import Thread


class JsonThreadExtractor:
    name: ClassVar[str] = "json"
    description: ClassVar[str] = "a thread as JSON in this project's schema (what `moderation extract` prints)"

    def sniff(self, source: Source) -> float:
        head = source.head(512).lstrip()
        if not head.startswith("{"):
            return 0.0
        return 0.9 if '"article"' in source.head(65536) else 0.2

    def threads(self, source: Source) -> list[Thread]:
        return [self._thread(source)]

    def _thread(self, source: Source) -> Thread:
        try:
            payload = json.loads(source.text())
        except json.JSONDecodeError as exc:
            raise ExtractionError(f"{source.name}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        if not isinstance(payload, dict):
            raise ExtractionError(f"{source.name}: expected a JSON object with 'article' and 'comments'")
        payload.setdefault("source_format", self.name)
        try:
            return Thread.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise ExtractionError(
                f"{source.name}: not a thread: {where}: {first['msg']} ({exc.error_count()} problem(s))"
            ) from exc
