"""The feeds a user follows, from ARTICLE_QA_FEEDS: URLs (a JSON list, or separated by commas or spaces)
or a file with one URL per line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from index import ArticleQAError


class FeedListError(ArticleQAError):
    """ARTICLE_QA_FEEDS or the feeds file it names cannot be used."""


def parse_feed_list(value: str) -> list[str]:
    """The URLs of a JSON list; raises ValueError (a settings error) when it is not a list of http(s) URLs."""
    try:
        urls = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError("must be a JSON list of feed URLs or the path of a feeds file") from None
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise ValueError("must be a JSON list of feed URLs (strings)")
    return _checked([url.strip() for url in urls if url.strip()], "ARTICLE_QA_FEEDS")


def read_feed_file(path: Path) -> list[str]:
    """The URLs of a feeds file: one per line; blank lines and lines starting with # are skipped.

    Raises:
        FeedListError: the file cannot be read or holds something other than http(s) URLs.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise FeedListError(
            f"cannot read the feeds file {path}: {getattr(err, 'strerror', None) or err}"
        ) from None
    lines = (line.strip() for line in text.splitlines())
    try:
        return _checked([line for line in lines if line and not line.startswith("#")], str(path))
    except ValueError as err:
        raise FeedListError(str(err)) from None


def feed_urls(setting: str | None) -> list[str]:
    """The feeds ARTICLE_QA_FEEDS names, in order, each once; [] when it is unset."""
    if setting is None or not setting.strip():
        return []
    if setting.lstrip().startswith("["):
        return parse_feed_list(setting)
    if setting.lstrip().startswith(("http://", "https://")):  # one URL, or several: "URL, URL" / "URL URL"
        try:
            return _checked([url for url in re.split(r"[\s,]+", setting) if url], "ARTICLE_QA_FEEDS")
        except ValueError as err:
            raise FeedListError(str(err)) from None
    return read_feed_file(Path(setting.strip()).expanduser())


def _checked(urls: list[str], where: str) -> list[str]:
    bad = [url for url in urls if not url.startswith(("http://", "https://"))]
    if bad:
        raise ValueError(f"{where}: not an http(s) URL: {bad[0][:80]}")
    return list(dict.fromkeys(urls))
