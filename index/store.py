"""Index generations on disk: written atomically, pointed to by one file, checked by manifest and checksums.

Layout of an index directory:

    CURRENT              name of the live generation, replaced atomically (os.replace)
    gen-<id>/            one complete index: manifest.json plus the files it lists
    gen-<id>.tmp/        a build in progress; never read, removed by the next build
    lock                 held (flock) by the one build allowed at a time

A build writes and fsyncs a whole new generation, then swaps CURRENT; a crash at any moment leaves
the previous generation live (or none, and the next run builds one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import IndexFormatError, IndexMissingError

log = logging.getLogger(__name__)

FORMAT_NAME = "article-qa-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
# Files up to this size are checksummed on every load; larger ones when `verify=True` (index --verify).
CHECKSUM_ON_LOAD_BYTES = 64 * 1024 * 1024
REBUILD_HINT = "run `article-qa index` to rebuild it"


def package_version() -> str:
    try:
        return metadata.version("article-qa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class Manifest:
    """How an index was built and what it holds."""

    settings: dict[str, Any]  # analyzer, chunking and BM25 settings
    corpus: str
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
            manifest = cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (KeyError, TypeError) as err:
            raise IndexFormatError(f"index manifest is incomplete ({err}); {REBUILD_HINT}") from None
        manifest._check_types()
        return manifest

    def _check_types(self) -> None:
        """Raise IndexFormatError unless every field has the type the code relies on."""
        texts = ("corpus", "corpus_fingerprint", "package_version")
        counts = ("articles", "passages", "skipped_files")
        bad = [name for name in texts if not isinstance(getattr(self, name), str)]
        bad += [name for name in counts if type(getattr(self, name)) is not int]
        if not isinstance(self.settings, dict):
            bad.append("settings")
        if not isinstance(self.build_seconds, int | float):
            bad.append("build_seconds")
        if not _valid_files(self.files):
            bad.append("files")
        try:
            dt.datetime.fromisoformat(self.built_at)
        except (TypeError, ValueError):
            bad.append("built_at")
        if bad:
            raise IndexFormatError(f"index manifest has a malformed {bad[0]!r}; {REBUILD_HINT}")


def _valid_files(files: Any) -> bool:
    """True for {name: {"size": int, "sha256": str}}."""
    return isinstance(files, dict) and all(
        isinstance(name, str)
        and isinstance(entry, dict)
        and type(entry.get("size")) is int
        and isinstance(entry.get("sha256"), str)
        for name, entry in files.items()
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


class IndexStore:
    """Reads and atomically replaces the index generations of one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def current(self) -> Path:
        """The live generation's folder.

        Raises:
            IndexMissingError: nothing has been built here yet.
            IndexFormatError: the directory is unreadable or points at a missing generation.
        """
        pointer = self.directory / CURRENT
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissingError(
                f"no index in {self.directory}; run `article-qa index` to build it"
            ) from None
        except (OSError, UnicodeDecodeError) as err:
            raise IndexFormatError(f"cannot read index pointer {pointer} ({err}); {REBUILD_HINT}") from None
        generation = self.directory / name
        if not name.startswith("gen-") or "/" in name or not generation.is_dir():
            raise IndexFormatError(f"index pointer {pointer} names a missing generation; {REBUILD_HINT}")
        return generation

    def read_manifest(self, generation: Path | None = None) -> Manifest:
        """The manifest of `generation` (default: the live one)."""
        generation = generation or self.current()
        try:
            data = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as err:  # ValueError: bad UTF-8 or JSON
            raise IndexFormatError(
                f"index manifest in {generation} is unreadable ({err}); {REBUILD_HINT}"
            ) from None
        return Manifest.from_json(data)

    def verify(self, generation: Path, manifest: Manifest, *, full: bool = False) -> None:
        """Check every listed file's size, and its checksum when small (or always with `full`).

        A file the manifest does not list is an error too: every file a build writes is listed, so an
        unlisted one was added later, or the manifest lost entries. (Dotfiles, such as a file manager's
        .DS_Store, are ignored.)
        """
        try:
            names = {path.name for path in generation.iterdir() if not path.name.startswith(".")}
            unlisted = sorted(names - {MANIFEST, *manifest.files})
        except OSError as err:
            raise IndexFormatError(f"cannot list index folder {generation} ({err}); {REBUILD_HINT}") from None
        if unlisted:
            raise IndexFormatError(
                f"index folder {generation} holds {unlisted[0]!r}, which its manifest does not list; "
                f"{REBUILD_HINT}"
            )
        for name, expected in manifest.files.items():
            path = generation / name
            try:
                size = path.stat().st_size
            except OSError as err:
                raise IndexFormatError(
                    f"index file {path} is missing ({err.strerror}); {REBUILD_HINT}"
                ) from None
            if not path.is_file() or size != expected.get("size"):
                raise IndexFormatError(f"index file {path} is truncated or replaced; {REBUILD_HINT}")
            if full or size <= CHECKSUM_ON_LOAD_BYTES:
                try:
                    actual = _sha256(path)
                except OSError as err:
                    raise IndexFormatError(
                        f"cannot read index file {path} ({err.strerror}); {REBUILD_HINT}"
                    ) from None
                if actual != expected.get("sha256"):
                    raise IndexFormatError(
                        f"index file {path} is corrupt (checksum mismatch); {REBUILD_HINT}"
                    )

    @contextlib.contextmanager
    def lock(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the build lock: builds of one directory run one at a time, across processes.

        Yields whether the lock is held: with `wait=False`, False at once when another process holds it.

        Raises:
            IndexFormatError: the index directory cannot be created or used.
        """
        path = self.directory / "lock"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _remove_if_folder(path)
            handle = path.open("a+b")
        except OSError as err:
            raise IndexFormatError(f"cannot use {self.directory} as the index directory ({err})") from None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def tidy(self) -> None:
        """Remove what killed builds left behind, unless a build holds the lock right now (it tidies
        up itself). A build killed after making its generation live leaves the previous one."""
        try:
            with self.lock(wait=False) as held:
                if held:
                    self.current()  # never tidy around a broken pointer: the next build repairs it
                    self._remove_leftovers()
        except (IndexMissingError, IndexFormatError):
            return  # also a read-only index folder: reading it still works

    def publish(self, fill: Callable[[Path], Manifest]) -> Manifest:
        """Build a new generation with `fill(folder)`, make it durable, and make it the live one.

        Call with the lock held. `fill` writes its files into the folder and returns their manifest
        (without `files`, which is computed here).
        """
        self._remove_leftovers()
        name = f"gen-{uuid.uuid4().hex[:12]}"
        staging = self.directory / f"{name}.tmp"
        staging.mkdir()
        try:
            manifest = fill(staging)
            files = {}
            for path in sorted(staging.iterdir()):
                _fsync_file(path)
                files[path.name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
            manifest = Manifest(**{**asdict(manifest), "files": files})
            _write_atomic(staging / MANIFEST, json.dumps(manifest.to_json(), indent=1).encode())
            _fsync_dir(staging)
            final = self.directory / name
            os.replace(staging, final)
            _fsync_dir(self.directory)
            _remove_if_folder(self.directory / CURRENT)  # a folder where the pointer belongs
            _write_atomic(self.directory / CURRENT, f"{name}\n".encode())
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._remove_old(keep=name)
        return manifest

    def _remove_leftovers(self) -> None:
        """Remove what killed builds left: temp files, staging folders, and generations never made live."""
        for path in self.directory.glob("*.tmp*"):
            log.debug("removing unfinished build %s", path.name)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        # A build killed between renaming its folder and swapping CURRENT leaves a complete generation
        # that nothing points to; with the lock held, no other build can be about to point to it.
        try:
            live: str | None = self.current().name
        except (IndexMissingError, IndexFormatError):
            live = None
        self._remove_old(keep=live)

    def _remove_old(self, keep: str | None) -> None:
        # Running readers keep their memory-mapped files alive after unlinking (POSIX).
        for path in self.directory.glob("gen-*"):
            if path.name != keep and path.is_dir() and not path.name.endswith(".tmp"):
                shutil.rmtree(path, ignore_errors=True)


def _remove_if_folder(path: Path) -> None:
    """Remove a folder found where one of the store's own files belongs."""
    if path.is_dir() and not path.is_symlink():
        log.debug("removing the folder %s, which stands where a file belongs", path)
        shutil.rmtree(path)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename it over `path`."""
    temp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
