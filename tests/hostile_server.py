"""A real HTTP server on 127.0.0.1 (in a thread) that misbehaves the ways a hostile site does.

Routes:
  /article            a good article page (HTML)
  /to?url=U           302 to U (any scheme, host or credentials)
  /to-with-password   302 to /secret with user:PASSWORD@ in the URL
  /loop               302 to itself, forever
  /drip-body          headers at once, then one body byte per DRIP_SECONDS
  /drip-headers       the status line, then one header byte per DRIP_SECONDS
  /lie-length         Content-Length: 100, then megabytes (of digits: no prefix is an article)
  /big-length         Content-Length: 10**12 announced
  /no-length          no Content-Length, megabytes until the client hangs up
  /chunked            chunked encoding, megabytes until the client hangs up
  /gzip-bomb          Content-Encoding: gzip, 100 MB of zeros in ~100 KB
  /deflate-bomb       Content-Encoding: deflate, the same
  /secret             what a loopback-only service would serve

``on_request(path)`` is called first for every request, in the server thread: a test
uses it to look at the world while a download is in progress (is the index lock free?).
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .support import TUMEN_PARAGRAPHS

PASSWORD = "hunter2"
DRIP_SECONDS = 0.3
DRIP_BYTES = 200  # a finite drip: even a client without an overall deadline ends (after a minute)
FLOOD_BYTES = 64 * 1024 * 1024
SECRET = "Le code secret du service interne est 4242. Personne ne doit le lire en dehors de la machine."
ARTICLE_PAGE = (
    "<html><head><title>Le pont du Toumen</title></head><body><article><h1>Le pont du Toumen</h1>"
    + "".join(f"<p>{paragraph}</p>" for paragraph in TUMEN_PARAGRAPHS)
    + "</article></body></html>"
)


def _bomb(encoding: str) -> bytes:
    zeros = b"\0" * (1024 * 1024)
    if encoding == "gzip":
        out = gzip.compress(zeros * 100, compresslevel=9)
    else:
        packer = zlib.compressobj(9)
        out = b"".join(packer.compress(zeros) for _ in range(100)) + packer.flush()
    return out


class HostileServer:
    def __init__(self, on_request: Callable[[str], None] | None = None) -> None:
        self.on_request = on_request or (lambda _path: None)
        self.stop = threading.Event()
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                with contextlib.suppress(ConnectionError):  # the client gave up, as it should
                    super().handle()

            def do_GET(self) -> None:
                route = urlsplit(self.path)
                server.requests.append(self.path)
                server.on_request(route.path)
                getattr(self, "route_" + route.path.strip("/").replace("-", "_"), self.missing)(route.query)

            def head(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()

            def missing(self, _query: str) -> None:
                self.head(404, {"Content-Length": "0"})

            def route_article(self, _query: str) -> None:
                body = ARTICLE_PAGE.encode()
                self.head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))})
                self.wfile.write(body)

            def route_secret(self, _query: str) -> None:
                body = SECRET.encode()
                self.head(200, {"Content-Type": "text/plain", "Content-Length": str(len(body))})
                self.wfile.write(body)

            def route_to(self, query: str) -> None:
                self.head(302, {"Location": parse_qs(query)["url"][0], "Content-Length": "0"})

            def route_to_with_password(self, _query: str) -> None:
                location = f"http://admin:{PASSWORD}@127.0.0.1:{server.port}/secret"
                self.head(302, {"Location": location, "Content-Length": "0"})

            def route_loop(self, _query: str) -> None:
                self.head(302, {"Location": "/loop", "Content-Length": "0"})

            def route_drip_body(self, _query: str) -> None:
                self.head(200, {"Content-Type": "text/plain", "Content-Length": str(DRIP_BYTES)})
                self._drip(b"a" * DRIP_BYTES)

            def route_drip_headers(self, _query: str) -> None:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self._drip(b"X-Slow: " + b"a" * DRIP_BYTES + b"\r\n\r\n")

            def _drip(self, data: bytes) -> None:
                for i in range(len(data)):
                    if server.stop.wait(DRIP_SECONDS):
                        return
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()

            def route_lie_length(self, _query: str) -> None:
                self.head(200, {"Content-Type": "text/plain", "Content-Length": "100"})
                self._flood(b"0123456789" * 6000)  # no prefix of it is an article

            def route_big_length(self, _query: str) -> None:
                self.head(200, {"Content-Type": "text/plain", "Content-Length": str(10**12)})
                self._flood()

            def route_no_length(self, _query: str) -> None:
                self.head(200, {"Content-Type": "text/plain", "Connection": "close"})
                self._flood()

            def route_chunked(self, _query: str) -> None:
                self.head(200, {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
                piece = b"Un mot puis un autre. " * 3000
                for _ in range(FLOOD_BYTES // len(piece)):
                    if server.stop.is_set():
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")

            def _flood(self, piece: bytes = b"Un mot puis un autre. " * 3000) -> None:
                for _ in range(FLOOD_BYTES // len(piece)):
                    if server.stop.is_set():
                        return
                    self.wfile.write(piece)

            def route_gzip_bomb(self, _query: str) -> None:
                self._send_bomb("gzip")

            def route_deflate_bomb(self, _query: str) -> None:
                self._send_bomb("deflate")

            def _send_bomb(self, encoding: str) -> None:
                body = _bomb(encoding)
                headers = {"Content-Type": "text/plain", "Content-Encoding": encoding}
                self.head(200, {**headers, "Content-Length": str(len(body))})
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[HostileServer]:
        thread = threading.Thread(target=self._server.serve_forever, name="hostile-server", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)
