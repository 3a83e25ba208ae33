"""The one interface every extraction source plugs into.

An extractor says how sure it is that it can read a source (``sniff``) and reads its threads
(``threads``). ``moderation.extraction.extract`` picks the surest one, or the one named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from moderation.errors import InputError
from moderation.extraction.encoding import decode
from moderation.thread import Thread

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """Raw bytes with the name they came from (a path, ``<stdin>``, a URL)."""

    data: bytes
    name: str = "<bytes>"
    charset: str | None = None  # as an HTTP Content-Type header declared it

    @classmethod
    def from_path(cls, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Source:
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a file")
        if size > max_bytes:
            raise InputError(f"{path} is {size:,} bytes, over the {max_bytes:,}-byte limit")
        return cls(path.read_bytes(), str(path))

    @classmethod
    def from_url(
        cls, url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 20.0, allow_private: bool = False
    ) -> Source:
        """Fetch an ``http(s)://`` page (redirects followed, size capped while streaming, public addresses
        only unless ``allow_private``)."""
        from moderation.extraction.fetch import fetch  # httpx loads only for a source that is fetched

        page = fetch(url, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private)
        return cls(page.data, page.url, charset=page.charset)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>", *, max_bytes: int = DEFAULT_MAX_BYTES) -> Source:
        if len(data) > max_bytes:
            raise InputError(f"{name} is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
        return cls(data, name)

    def text(self) -> str:
        """The source decoded: BOM, valid UTF-8, declared charset, then detection (see ``encoding``)."""
        return decode(self.data, name=self.name, http_charset=self.charset)

    def head(self, size: int = 2048) -> str:
        """The first bytes as text, for cheap sniffing; never raises."""
        return self.data[:size].decode("utf-8", errors="replace").lstrip("\ufeff")


class Extractor(Protocol):
    """A source format: how sure it is about a source, and how to read it."""

    name: ClassVar[str]
    description: ClassVar[str]

    def sniff(self, source: Source) -> float:
        """0.0 (not mine) to 1.0 (certainly mine); cheap, never raises."""
        ...

    def threads(self, source: Source) -> list[Thread]:
        """Read every thread in the source (exports may hold several), or raise
        :class:`~moderation.errors.ExtractionError`. Never returns a partial thread as complete."""
        ...
