"""A news site on 127.0.0.1 for the feed tests: feeds, article pages, robots.txt, and sources gone bad."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

FEEDS_DATA = Path(__file__).resolve().parent / "data" / "feeds"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
AUTO_STOP_SECONDS = 120.0  # a test that forgets to stop the server does not leave it running


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = HTML
    etag: str | None = None  # answer 304 to a matching If-None-Match
    kind: str = "static"  # static | slow | huge | drip | redirect
    location: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (as a capped or timed-out fetch does) is expected here."""


class FeedServer:
    """`with FeedServer() as site:` serves `site.routes` on http://127.0.0.1:<port> until the block ends."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        server = _Server(("127.0.0.1", 0), _handler(self))
        self._server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._timer = threading.Timer(AUTO_STOP_SECONDS, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> FeedServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def fixture(self, name: str) -> bytes:
        """A file of tests/data/feeds with {base} replaced by this server's address."""
        return (FEEDS_DATA / name).read_text(encoding="utf-8").replace("{base}", self.base).encode("utf-8")

    def feed(self, path: str, name: str, *, content_type: str = RSS, etag: str | None = None) -> str:
        self.routes[path] = Route(self.fixture(name), content_type=content_type, etag=etag)
        return self.base + path

    def page(self, path: str, name: str) -> str:
        self.routes[path] = Route(self.fixture(f"pages/{name}"))
        return self.base + path

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


def _handler(site: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = site.routes.get(urlsplit(self.path).path)
            if route is None:
                self._send(404, b"<html><body><h1>Page not found</h1></body></html>", HTML)
            elif route.kind == "redirect":
                self.send_response(302)
                self.send_header("Location", route.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif route.kind == "slow":
                # Hold the answer back until the client has given up (or the server stops).
                site.stopping.wait(10.0)
                self._send(route.status, route.body, route.content_type)
            elif route.kind == "huge":
                self._huge(route)
            elif route.kind == "drip":
                self._drip(route)
            elif route.etag is not None and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.send_header("ETag", route.etag)
                self.end_headers()
            else:
                self._send(route.status, route.body, route.content_type, route.etag)

        def _send(self, status: int, body: bytes, content_type: str, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            route = site.routes.get(urlsplit(self.path).path)
            for name, value in (route.headers if route else {}).items():
                self.send_header(name, value)
            if etag is not None:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Tue, 15 Oct 2024 07:30:00 GMT")
            self.end_headers()
            self.wfile.write(body)

        def _huge(self, route: Route) -> None:
            """50 MB of page with no Content-Length: only counting what arrives can stop it."""
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.end_headers()
            block = b"<p>" + b"Filler paragraph of an endless page. " * 1000 + b"</p>\n"
            sent = 0
            started = time.monotonic()
            try:
                while (
                    sent < 50 * 1024 * 1024 and not site.stopping.is_set() and time.monotonic() - started < 30
                ):
                    self.wfile.write(block)
                    sent += len(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it should

        def _drip(self, route: Route) -> None:
            """A byte every 50 ms: each read is quick, the whole page never arrives."""
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.end_headers()
            try:
                while not site.stopping.wait(0.05):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests read site.requests instead

    return Handler
