"""Fetching pages over HTTP, against a server on 127.0.0.1 only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from moderation import InputError, Source, extract
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
    source = Source.from_url(f"{server}/page")
    assert source.name == f"{server}/page"
    assert extract(source).comments[0].text.startswith("The Soviet Union")


def test_redirects_are_followed_and_the_final_url_named(server: str) -> None:
    assert Source.from_url(f"{server}/redirect").name == f"{server}/page"


def test_the_http_charset_is_honoured(server: str) -> None:
    assert Source.from_url(f"{server}/latin1").text() == "café crème"


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
        Source.from_url(f"{server}{path}", max_bytes=1000, timeout=0.5)


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(InputError, match="not an http"):
        Source.from_url("file:///etc/passwd")
