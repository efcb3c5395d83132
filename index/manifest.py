"""The manifest of an index generation: how it was built and what it holds, checked when read."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from .errors import IndexFormatError

FORMAT_NAME = "article-qa-index"
# 2: per-passage and per-article CRC32 checksums; 3: segments updated in place; 4: passage analyses stored
FORMAT_VERSION = 4
MANIFEST = "manifest.json"
# Engine messages say what is wrong; each front-end adds how its users rebuild (bot.service.user_message).
REBUILD_HINT = "the index must be rebuilt"
# Manifest counts beyond this are damage, not data (and would overflow what front-ends display).
MAX_COUNT = 2**40
OPTIONAL_FIELDS = ("corpus_path",)


def package_version() -> str:
    try:
        return metadata.version("article-qa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class Manifest:
    """How an index was built and what it holds."""

    settings: dict[str, Any]  # analyzer, chunking and BM25 settings
    corpus: str  # the corpus's folder or file name (index.settings.corpus_label), safe to show anyone
    corpus_fingerprint: str
    articles: int
    passages: int
    skipped_files: int
    built_at: str  # ISO 8601, UTC
    build_seconds: float
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"size", "sha256"}
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    package_version: str = field(default_factory=package_version)
    # Where the corpus was, for reopening it on this machine only; never shown to remote users.
    # Manifests written before it existed lack it (and hold the absolute path in `corpus`).
    corpus_path: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"not an article-qa index manifest; {REBUILD_HINT}")
        if data.get("format_version") != FORMAT_VERSION:
            found = data.get("format_version")
            raise IndexFormatError(
                f"index format {found} is not the supported {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        try:
            fields = {key: data[key] for key in cls.__dataclass_fields__ if key not in OPTIONAL_FIELDS}
            manifest = cls(**fields, **{key: data[key] for key in OPTIONAL_FIELDS if key in data})
        except (KeyError, TypeError) as err:
            raise IndexFormatError(f"index manifest is incomplete ({err}); {REBUILD_HINT}") from None
        manifest._check_types()
        return manifest

    def _check_types(self) -> None:
        """Raise IndexFormatError unless every field has the type and range the code relies on."""
        texts = ("corpus", "corpus_fingerprint", "package_version", "corpus_path")
        counts = ("articles", "passages", "skipped_files")
        bad = [name for name in texts if not isinstance(getattr(self, name), str)]
        bad += [name for name in counts if type(getattr(self, name)) is not int]
        bad += [name for name in counts if name not in bad and not 0 <= getattr(self, name) <= MAX_COUNT]
        if not {"articles", "passages"} & set(bad) and self.passages < self.articles:
            bad.append("passages")  # every article indexed has at least one passage
        if not isinstance(self.settings, dict):
            bad.append("settings")
        seconds = self.build_seconds
        if type(seconds) not in (int, float) or not math.isfinite(seconds) or seconds < 0:
            bad.append("build_seconds")
        if not _valid_files(self.files):
            bad.append("files")
        try:
            if dt.datetime.fromisoformat(self.built_at).tzinfo is None:
                bad.append("built_at")
        except (TypeError, ValueError):
            bad.append("built_at")
        if bad:
            raise IndexFormatError(f"index manifest has a malformed {bad[0]!r}; {REBUILD_HINT}")


def _valid_files(files: Any) -> bool:
    """True for {name: {"size": int, "sha256": str}} with plain file names."""
    return isinstance(files, dict) and all(
        isinstance(name, str)
        and name not in ("", ".", "..", MANIFEST)
        and "/" not in name
        and "\0" not in name
        and isinstance(entry, dict)
        and type(entry.get("size")) is int
        and entry["size"] >= 0
        and isinstance(entry.get("sha256"), str)
        for name, entry in files.items()
    )
