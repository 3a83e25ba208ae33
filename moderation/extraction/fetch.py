"""Fetching a page over HTTP(S) with httpx: bounded in time, size and redirects."""

from __future__ import annotations

import httpx

from moderation import __version__
from moderation.errors import InputError
from moderation.extraction.base import Source

MAX_REDIRECTS = 5
USER_AGENT = f"moderation-desk/{__version__} (+comment thread extraction)"


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def fetch(url: str, *, max_bytes: int, timeout: float) -> Source:
    """GET ``url``; the body is read in chunks and refused as soon as it passes ``max_bytes``."""
    if not is_url(url):
        raise InputError(f"not an http(s) URL: {url!r}")
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                timeout=timeout,
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise InputError(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise InputError(f"{url} is {int(declared):,} bytes, over the {max_bytes:,}-byte limit")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise InputError(f"{url} is over the {max_bytes:,}-byte limit")
            return Source(bytes(body), str(response.url), charset=response.charset_encoding)
    except httpx.TooManyRedirects as exc:
        raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects") from exc
    except httpx.TimeoutException as exc:
        raise InputError(f"{url}: timed out after {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: cannot fetch: {exc}") from exc
