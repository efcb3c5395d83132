"""Fetch feeds and article pages over HTTP politely: timeouts, a size cap, robots.txt, conditional GETs."""

from __future__ import annotations

import logging
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import httpx

from index import ArticleQAError

log = logging.getLogger(__name__)

PRODUCT = "article-qa"
MAX_BYTES = 5 * 1024 * 1024  # no news page or feed is larger; beyond this we stop reading
MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 20.0
ROBOTS_TTL_SECONDS = 3600.0
ROBOTS_RETRY_SECONDS = 300.0  # a robots.txt that failed to load is asked for again this soon


def user_agent() -> str:
    """`article-qa/<version>`, so site owners can tell who fetches and write robots.txt rules for it."""
    try:
        version = metadata.version(PRODUCT)
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"{PRODUCT}/{version} (news reader; respects robots.txt)"


class FetchError(ArticleQAError):
    """A feed or page could not be fetched; `str()` is a short reason such as "timeout" or "HTTP 404"."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response read in full: the URL it came from after redirects, its status and body."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class HttpFetcher:
    """One HTTP client for a fetch pass; robots.txt files are cached per host.

    A pass fetches a handful of feeds and their new items one by one, so a blocking client run in a
    worker thread keeps the code plain; the bot runs the whole pass off its event loop.
    """

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._clock = clock
        self._robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | bool]] = {}
        self._client = httpx.Client(
            headers={"User-Agent": user_agent(), "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=max_redirects,
            transport=transport,
            trust_env=True,  # HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE work as with other tools
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> Fetched:
        """GET `url`; a 304 comes back as `Fetched` with `not_modified`, other non-2xx raise.

        Raises:
            FetchError: timeout, connection failure, HTTP error status, too many redirects, or a body
                larger than `max_bytes`.
        """
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Fetched(str(response.url), 304, b"", dict(response.headers))
                if not response.is_success:
                    raise FetchError(f"HTTP {response.status_code}")
                body = self._read_capped(response)
                return Fetched(str(response.url), response.status_code, body, dict(response.headers))
        except httpx.TooManyRedirects:
            raise FetchError("too many redirects") from None
        except httpx.TimeoutException:
            raise FetchError("timeout") from None
        except httpx.UnsupportedProtocol:
            raise FetchError("not an http(s) URL") from None
        except (httpx.TransportError, httpx.DecodingError) as err:
            raise FetchError(f"connection failed ({type(err).__name__})") from None
        except httpx.InvalidURL:
            raise FetchError("invalid URL") from None

    def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"too large (over {self.max_bytes // (1024 * 1024)} MB)")
        # httpx's timeout applies to each read; a server that drips bytes forever needs a deadline too.
        deadline = self._clock() + 3 * self.timeout
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # as they arrive, decompressed: a gzip bomb meets the cap too
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"too large (over {self.max_bytes // (1024 * 1024)} MB)")
            if self._clock() > deadline:
                raise FetchError("timeout")
            chunks.append(chunk)
        return b"".join(chunks)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets article-qa fetch it (cached per host)."""
        parsed = httpx.URL(url)
        host = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
        now = self._clock()
        cached = self._robots.get(host)
        if cached is None or cached[0] < now:
            rules, ttl = self._load_robots(host)
            cached = (now + ttl, rules)
            self._robots[host] = cached
        rules = cached[1]
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(PRODUCT, url)

    def _load_robots(self, host: str) -> tuple[urllib.robotparser.RobotFileParser | bool, float]:
        """The rules of `host`, the way RFC 9309 reads a robots.txt that is missing or unreachable."""
        try:
            fetched = self.get(f"{host}/robots.txt", accept="text/plain")
        except FetchError as err:
            reason = str(err)
            if reason in ("HTTP 401", "HTTP 403"):
                return False, ROBOTS_TTL_SECONDS
            if reason.startswith("HTTP 4"):
                return True, ROBOTS_TTL_SECONDS  # no robots.txt: everything is allowed
            log.debug("robots.txt of %s unavailable (%s); not fetching its pages for now", host, reason)
            return False, ROBOTS_RETRY_SECONDS
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(fetched.body.decode("utf-8", "replace").splitlines())
        return parser, ROBOTS_TTL_SECONDS
