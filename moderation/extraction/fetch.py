"""Fetching a page over HTTP(S) with httpx: bounded in time, size and redirects, public addresses only.

Every request (the first and each redirect) resolves its host and is refused when any address it resolves
to is loopback, private, link-local, reserved or multicast, so a URL handed to the desk cannot reach the
machine's own services or its network's (``http://169.254.169.254/``, ``http://localhost:8000/admin``).
The whole fetch has one deadline besides the per-read timeout, so a server that trickles bytes cannot hold
it either.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import httpx

from moderation.errors import InputError

MAX_REDIRECTS = 5


def _user_agent() -> str:
    try:
        release = version("moderation-desk")
    except PackageNotFoundError:
        release = "dev"
    return f"moderation-desk/{release} (+comment thread extraction)"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class Fetched:
    """A fetched page: its body, the URL it came from after redirects, and the charset its headers declared
    (:meth:`moderation.extraction.Source.from_url` makes it a source)."""

    data: bytes
    url: str
    charset: str | None


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def fetch(url: str, *, max_bytes: int, timeout: float, allow_private: bool = False) -> Fetched:
    """GET ``url``; the body is read in chunks and refused as soon as it passes ``max_bytes``, and the whole
    fetch as soon as it passes ``timeout`` times the number of hops allowed. ``allow_private`` lets a
    caller reach its own network on purpose (tests against 127.0.0.1)."""
    if not is_url(url):
        raise InputError(f"not an http(s) URL: {url!r}")
    deadline = time.monotonic() + timeout * (MAX_REDIRECTS + 1)
    hooks = {"request": [] if allow_private else [_refuse_private]}
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                timeout=timeout,
                headers={"User-Agent": USER_AGENT},
                event_hooks=hooks,
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
                if time.monotonic() > deadline:
                    raise InputError(f"{url}: still arriving after {timeout * (MAX_REDIRECTS + 1):g} s")
            return Fetched(bytes(body), str(response.url), response.charset_encoding)
    except httpx.TooManyRedirects as exc:
        raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects") from exc
    except httpx.TimeoutException as exc:
        raise InputError(f"{url}: timed out after {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: cannot fetch: {exc}") from exc


def _refuse_private(request: httpx.Request) -> None:
    """Refuse a request whose host is, or resolves to, an address outside the public internet."""
    host = request.url.host
    try:
        infos = socket.getaddrinfo(host, request.url.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"{request.url}: cannot resolve {host!r}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise InputError(f"{request.url}: {host} is a private or local address ({address}); refused")
