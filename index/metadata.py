"""Article metadata made safe to show: names without invisible or reordering characters; http(s) links."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

# Bidirectional controls (U+202A-202E embeddings and overrides, U+2066-2069 isolates, U+200E/200F and
# U+061C marks) let a title display in an order other than the one stored ("gpj.exe" shown as
# "exe.jpg"); zero-width characters (U+200B-200D, U+2060, U+FEFF) hide inside words. Neither belongs in a
# title, publisher or author name.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]")
MAX_URL_CHARS = 2048
# The names each field goes by in text headers ("Source: Coast Gazette") and JSON records, the preferred
# first. Headers match them without regard to case; HTML <meta> names are another vocabulary (htmltext).
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "publisher": ("publisher", "source", "site", "site_name"),
    "url": ("url", "link"),
    "date": ("date", "published", "published_at", "publishedAt", "pub_date"),
    "author": ("author", "by"),
}
# ASCII characters that RFC 3986 does not allow in a URL and that end a link in Markdown or HTML. Real
# feeds carry them ("https://en.wikinews.org/wiki/..._"flying_car"_...", which browsers accept), so they
# are percent-encoded, as a browser would send them, rather than dropping the link.
_URL_ESCAPES = {ord(char): f"%{ord(char):02X}" for char in '"<>`'}
# Printable ASCII: most URLs, checked at once instead of character by character.
_PLAIN_ASCII_URL = re.compile(r"[!-~]+")
# Most links of a feed: http(s), a host name or IPv4 address without a user part, then a path of printable
# ASCII without a backslash or a character to escape. Every check below passes them unchanged.
_PLAIN_HTTP_URL = re.compile(
    r"[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!#-;=?-\[\]-_a-~]*)?"
)
# Unicode categories that are never visible characters of a link: controls, format characters
# (bidi controls among them), separators (spaces of every kind), surrogates, private use, unassigned.
_URL_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def clean_label(text: str) -> str:
    """`text` as one line: invisible and direction-changing characters removed, whitespace collapsed."""
    if text.isascii():  # every invisible character is outside ASCII
        return " ".join(text.split())
    return " ".join(_INVISIBLE.sub("", text).split())


def clean_url(value: str | None) -> tuple[str | None, str | None]:
    """(the URL, None) for an http(s) link; (None, why) for anything else that was given; (None, None).

    The characters '"<>`' are percent-encoded in the URL returned. A backslash (which browsers read as
    "/", so "https://news.example\\@evil.example" goes to news.example but parses here as evil.example)
    and a user name before the host ("https://news.example@evil.example") make a link misleading: refused.
    """
    if value is None or not value.strip():
        return None, None
    url = value.strip()
    if len(url) > MAX_URL_CHARS:
        return None, f"URL is longer than {MAX_URL_CHARS} characters; left out"
    if _PLAIN_HTTP_URL.fullmatch(url):
        return url, None
    if not _PLAIN_ASCII_URL.fullmatch(url) and any(
        unicodedata.category(char) in _URL_BAD_CATEGORIES for char in url
    ):
        return None, f"URL {_quote(url)} contains spaces, control or invisible characters; left out"
    if "\\" in url:
        return None, f"URL {_quote(url)} contains a backslash; left out"
    url = url.translate(_URL_ESCAPES)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[::1": a malformed address
        return None, f"URL {_quote(url)} is not an http(s) link; left out"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None, f"URL {_quote(url)} is not an http(s) link; left out"
    if "@" in parts.netloc:
        return None, f"URL {_quote(url)} names a user before its host; left out"
    return url, None


def _quote(value: str) -> str:
    """`value` quoted for one log line: escapes instead of control characters, and cut when long."""
    return repr(value if len(value) <= 80 else value[:80] + "...")
