"""Fetching pages over HTTP, against a server on 127.0.0.1 only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from moderation import InputError, Source, extract
from moderation.extraction import fetch as fetch_module
from tests.conftest import EXAMPLE


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/page": lambda: self._send(200, EXAMPLE.read_bytes(), "text/plain; charset=utf-8"),
            "/latin1": lambda: self._send(200, "café crème".encode("latin-1"), "text/plain; charset=ISO-8859-1"),
            "/big": lambda: self._send(200, b"x" * 5000, "text/plain"),
            "/big-unannounced": self._unannounced,
            "/redirect": lambda: self._redirect("/page"),
            "/loop": lambda: self._redirect("/loop"),
            "/slow": self._slow,
            "/trickle": self._trickle,
        }
        routes.get(self.path, lambda: self._send(404, b"not found", "text/plain"))()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _unannounced(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        for _ in range(50):
            self.wfile.write(b"y" * 100)
        self.close_connection = True

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        for _ in range(20):
            self.wfile.write(b"z")
            self.wfile.flush()
            time.sleep(0.1)
        self.close_connection = True

    def _slow(self) -> None:
        time.sleep(1.5)
        self._send(200, b"late", "text/plain")

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that give up early (timeouts, size caps) are expected here."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_page_fetched_over_http_extracts_like_the_file(server: str) -> None:
    source = Source.from_url(f"{server}/page", allow_private=True)
    assert source.name == f"{server}/page"
    assert extract(source).comments[0].text.startswith("The Soviet Union")


def test_redirects_are_followed_and_the_final_url_named(server: str) -> None:
    assert Source.from_url(f"{server}/redirect", allow_private=True).name == f"{server}/page"


def test_the_http_charset_is_honoured(server: str) -> None:
    assert Source.from_url(f"{server}/latin1", allow_private=True).text() == "café crème"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/big", "5,000 bytes, over the 1,000-byte limit"),
        ("/big-unannounced", "over the 1,000-byte limit"),
        ("/loop", "redirects"),
        ("/missing", "404"),
        ("/slow", "timed out"),
    ],
)
def test_fetch_failures_are_input_errors(server: str, path: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Source.from_url(f"{server}{path}", max_bytes=1000, timeout=0.5, allow_private=True)


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(InputError, match="not an http"):
        Source.from_url("file:///etc/passwd")


def test_loopback_and_private_addresses_are_refused_unless_allowed(server: str) -> None:
    with pytest.raises(InputError, match="private or local address"):
        Source.from_url(f"{server}/page")
    with pytest.raises(InputError, match="private or local address"):
        Source.from_url("http://169.254.169.254/latest/meta-data/")


def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"intranet.example": "10.0.0.5", "public.example": "93.184.216.34"}

    def resolve(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], 80))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(InputError, match=r"intranet\.example is a private or local address \(10\.0\.0\.5\)"):
        fetch_module._refuse_private(httpx.Request("GET", "http://intranet.example/a"))
    fetch_module._refuse_private(httpx.Request("GET", "http://public.example/a"))


def test_a_server_that_trickles_bytes_meets_the_overall_deadline(server: str) -> None:
    with pytest.raises(InputError, match="still arriving"):
        Source.from_url(f"{server}/trickle", timeout=0.25, allow_private=True)


def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hop is checked after its name is resolved: a public page that redirects to the cloud's metadata
    address (or to a name resolving to the intranet) is refused there. No request leaves this process: the
    transport is a mock that answers the first hop with the redirect and would fail the test on the second."""
    answers = {"public.example": "93.184.216.34", "intranet.example": "10.0.0.5"}

    def resolve(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers.get(host, host), 80))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    followed: list[str] = []

    def hop(request: httpx.Request) -> httpx.Response:
        followed.append(str(request.url))
        return httpx.Response(302, headers={"Location": request.url.params["to"]})

    real_client = httpx.Client
    monkeypatch.setattr(httpx, "Client", lambda **kwargs: real_client(transport=httpx.MockTransport(hop), **kwargs))
    for target, refused in [
        ("http://169.254.169.254/latest/meta-data/", r"169\.254\.169\.254 is a private or local address"),
        ("http://intranet.example/admin", r"intranet\.example is a private or local address \(10\.0\.0\.5\)"),
    ]:
        followed.clear()
        with pytest.raises(InputError, match=refused):
            Source.from_url(f"http://public.example/story?to={target}")
        assert followed == [f"http://public.example/story?to={target}"]
