"""Store fetched articles in the corpus: one JSON file per article under feeds/<site>/, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

FEEDS_FOLDER = "feeds"
_MAX_SLUG = 80
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """The fields of an article file; the keys are those `index.loader` reads from .json articles."""

    title: str
    text: str
    url: str | None
    publisher: str | None
    date: str | None
    author: str | None
    feed: str
    fetched_at: str


def content_hash(text: str, publisher: str | None) -> str:
    """A hash of one publisher's text that ignores case and spacing, to spot the same story under another
    URL. The publisher is part of it: the same wire story carried by two outlets is kept twice, so that
    answers cite every outlet that printed it."""
    words = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return hashlib.sha256(f"{(publisher or '').casefold()}\0{words}".encode()).hexdigest()


def slug(text: str) -> str:
    """A file name stem made of the lowercase ASCII words of `text`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("-", folded).strip("-")[:_MAX_SLUG].rstrip("-")


def site_folder(url: str | None, fallback: str) -> str:
    """The folder for a site: its host name without `www.`, e.g. `news.example`."""
    for candidate in (url, fallback):
        host = (urlsplit(candidate).hostname or "") if candidate else ""
        host = host.removeprefix("www.")
        name = re.sub(r"[^a-z0-9.-]+", "-", host.lower()).strip(".-")
        if name:
            return name
    return "unknown-site"


class ArticleFiles:
    """The `feeds/` folder of a corpus; paths given and returned are relative to the corpus."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus

    def exists(self, relative: str) -> bool:
        return (self.corpus / relative).is_file()

    def new_path(self, article: StoredArticle) -> str:
        """A free path for a new article: feeds/<publisher or host>/<slug of its title>.json."""
        stem = slug(article.title) or slug(urlsplit(article.url or "").path) or "article"
        folder = Path(FEEDS_FOLDER, slug(article.publisher or "") or site_folder(article.url, article.feed))
        candidate = folder / f"{stem}.json"
        number = 2
        while (self.corpus / candidate).exists():
            candidate = folder / f"{stem}-{number}.json"
            number += 1
        return candidate.as_posix()

    def write(self, relative: str, article: StoredArticle) -> None:
        """Write `article` to `relative` readable by the user only, replacing any old version atomically."""
        path = self.corpus / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # A hidden temporary name: neither the index nor the folder watcher picks up a half-written file.
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        payload = json.dumps(asdict(article), ensure_ascii=False, indent=2) + "\n"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o600)
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
