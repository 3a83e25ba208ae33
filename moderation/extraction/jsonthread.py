"""Our own thread JSON: the shape ``moderation extract`` prints (``Thread`` in ``moderation.thread``),
one thread object or a list of them (what a multi-thread export becomes)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import ValidationError

from moderation.errors import ExtractionError
from moderation.extraction.base import Source
from moderation.extraction.exports import load_json
from moderation.thread import Thread

_ARTICLE_KEY = re.compile(r'"article"\s*:')


class JsonThreadExtractor:
    name: ClassVar[str] = "json"
    description: ClassVar[str] = "thread JSON in this project's schema, one thread or a list (`moderation extract`)"

    def sniff(self, source: Source) -> float:
        head = source.head(512).lstrip()
        if not head.startswith(("{", "[")):
            return 0.0
        if _ARTICLE_KEY.search(source.head(65536)):
            return 0.9
        return 0.2 if head.startswith("{") else 0.0

    def threads(self, source: Source) -> list[Thread]:
        payload = load_json(source)
        if isinstance(payload, dict):
            return [self._thread(source, payload, "")]
        if isinstance(payload, list) and payload:
            return [self._thread(source, item, f"thread {index}: ") for index, item in enumerate(payload)]
        raise ExtractionError(
            f"{source.name}: expected a JSON object with 'article' and 'comments', or a non-empty list of them"
        )

    def _thread(self, source: Source, payload: Any, where: str) -> Thread:
        if not isinstance(payload, dict):
            raise ExtractionError(f"{source.name}: {where}expected a JSON object with 'article' and 'comments'")
        payload.setdefault("source_format", self.name)
        try:
            return Thread.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise ExtractionError(
                f"{source.name}: {where}not a thread: {field}: {first['msg']} ({exc.error_count()} problem(s))"
            ) from exc
