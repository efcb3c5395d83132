"""Index generations on disk: written atomically, pointed to by one file, checked by manifest and checksums.

Layout of an index directory:

    ARTICLE-QA-INDEX          marks the folder as an index folder that article-qa manages
    CURRENT                   name of the live generation, replaced atomically (os.replace)
    gen-<utc time>-<hex>/     one complete index: manifest.json plus the files it lists
    gen-<utc time>-<hex>.tmp/ a build in progress; never read, removed by the next build
    lock                      held (flock) by the one build allowed at a time

A build writes and fsyncs a whole new generation, then swaps CURRENT; a crash at any moment leaves
the previous generation live (or none, and the next run builds one). The store removes only what it
can prove it made: names of its own strict patterns that hold its own marker or manifest. It refuses
to build in a non-empty folder that is not an index folder. Folders are private (0700), files 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from .diskfiles import (
    Writer,
    fsync_dir,
    fsync_file,
    is_empty_folder,
    is_open_file,
    remove_generation,
    remove_if_folder,
    sha256_of,
)
from .diskfiles import write_atomic as write_atomic
from .errors import IndexDirectoryError, IndexFormatError, IndexMissingError
from .layout import (
    CURRENT,
    FILE_MODE,
    FOLDER_MODE,
    LOCK,
    MARKER,
    MARKER_TEXT,
    PRODUCT_NAMES,
    STAGING_MARK,
    TEMP_FILE,
    is_generation_name,
    is_own_generation,
    is_own_staging,
    is_store_name,
)
from .manifest import FORMAT_NAME, FORMAT_VERSION, MANIFEST, REBUILD_HINT, Manifest

__all__ = [
    "CURRENT",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LOCK",
    "MANIFEST",
    "MARKER",
    "REBUILD_HINT",
    "IndexStore",
    "Manifest",
    "write_atomic",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class IndexStore:
    """Reads and atomically replaces the index generations of one directory."""

    def __init__(self, directory: Path, *, writer: Writer = write_atomic) -> None:
        self.directory = directory
        self._write = writer

    # ---- reading ---------------------------------------------------------------------------------

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
            raise IndexMissingError(f"no index in {self.directory}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise IndexFormatError(f"cannot read index pointer {pointer} ({err}); {REBUILD_HINT}") from None
        generation = self.directory / name
        if not is_generation_name(name) or not generation.is_dir():
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

    def open_live(self, load: Callable[[Path, Manifest], T]) -> T:
        """`load(generation, manifest)` of the live generation, after the quick check of its files.

        A build that publishes meanwhile removes the generation being opened; then the pointer names a
        newer one, which is opened instead (once). A failure with the pointer unmoved is real damage.
        """
        generation = self.current()
        try:
            manifest = self.read_manifest(generation)
            self.verify(generation, manifest)
            return load(generation, manifest)
        except IndexFormatError:
            newer = self.current()
            if newer == generation:
                raise
        log.debug("a build replaced %s while it was opened; opening %s", generation.name, newer.name)
        manifest = self.read_manifest(newer)
        self.verify(newer, manifest)
        return load(newer, manifest)

    def verify(self, generation: Path, manifest: Manifest, *, full: bool = False) -> None:
        """Check that the listed files, and only they, are there with their sizes; with `full`, their
        checksums too. That reads every byte, so opening never does it: the checksums are computed once
        at publish, and compared by `article-qa index --verify`.

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
            if full:
                try:
                    actual = sha256_of(path)
                except OSError as err:
                    raise IndexFormatError(
                        f"cannot read index file {path} ({err.strerror}); {REBUILD_HINT}"
                    ) from None
                if actual != expected.get("sha256"):
                    raise IndexFormatError(
                        f"index file {path} is corrupt (checksum mismatch); {REBUILD_HINT}"
                    )

    # ---- the build lock --------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the build lock: builds of one directory run one at a time, across processes.

        Yields whether the lock is held: with `wait=False`, False at once when another process holds it.
        When no index is live at the end (a first build failed), the lock and marker files go again,
        and the directory too if this call created it.

        Raises:
            IndexDirectoryError: the directory is a file, cannot be created or written, or is a
                non-empty folder that is not an index folder.
        """
        path = self.directory / LOCK
        while True:
            created = self._prepare_directory()
            handle = self._open_lock(path, created)
            with handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    yield False
                    return
                if not is_open_file(handle.fileno(), path):
                    continue  # a failed first build removed the file meanwhile: lock a new one
                try:
                    if not (self.directory / MARKER).is_file():
                        self._write(self.directory / MARKER, MARKER_TEXT)
                    yield True
                finally:
                    if not (self.directory / CURRENT).exists():
                        self._give_up(created)
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                return

    def _prepare_directory(self) -> bool:
        """Create the directory (0700) or check that it is one this store may build in; True if created."""
        directory = self.directory
        created = False
        try:
            if not directory.exists():
                directory.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    directory.mkdir(mode=FOLDER_MODE)
                    os.chmod(directory, FOLDER_MODE)  # mkdir's mode is reduced by the umask
                    created = True
            if not directory.is_dir():
                raise IndexDirectoryError(
                    f"cannot use {directory} as the index directory: it is not a folder"
                )
            names = os.listdir(directory)
        except OSError as err:
            raise IndexDirectoryError(
                f"cannot use {directory} as the index directory ({err.strerror or err})"
            ) from err
        if MARKER in names or self._holds_index():
            return created
        foreign = sorted(
            name
            for name in names
            if (not is_store_name(name) and name not in PRODUCT_NAMES)
            # a folder where one of the store's files belongs is removed only in a proven index folder
            or (name in (CURRENT, LOCK, MARKER) and (directory / name).is_dir())
        )
        if foreign:
            raise IndexDirectoryError(
                f"cannot use {directory} as the index directory: it is not an article-qa index folder and "
                f"holds other files ({foreign[0]!r}); choose a new or empty folder"
            )
        return created

    def _holds_index(self) -> bool:
        """True when the pointer names a generation of this store (one made before the marker, say)."""
        try:
            return is_own_generation(self.current())
        except (IndexMissingError, IndexFormatError):
            return False

    def _open_lock(self, path: Path, created: bool) -> Any:
        try:
            remove_if_folder(path)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as err:
            if created:
                with contextlib.suppress(OSError):
                    self.directory.rmdir()
            raise IndexDirectoryError(
                f"cannot use {self.directory} as the index directory: cannot write in it "
                f"({err.strerror or err})"
            ) from err
        return open(fd, "r+b")

    def _give_up(self, created: bool) -> None:
        """Remove the lock and marker of a directory that holds no index (a first build failed)."""
        log.debug("no index was built in %s: removing its lock and marker", self.directory)
        for name in (LOCK, MARKER):
            with contextlib.suppress(OSError):
                (self.directory / name).unlink()
        if created:
            with contextlib.suppress(OSError):
                self.directory.rmdir()  # only if nothing else is in it

    # ---- writing ---------------------------------------------------------------------------------

    def tidy(self) -> None:
        """Remove what killed builds left behind, unless a build holds the lock right now (it tidies
        up itself). A build killed after making its generation live leaves the previous one."""
        try:
            with self.lock(wait=False) as held:
                if held:
                    self.current()  # never tidy around a broken pointer: the next build repairs it
                    self._remove_leftovers()
        except (IndexMissingError, IndexFormatError, IndexDirectoryError):
            return  # also a read-only index folder: reading it still works

    def publish(
        self, fill: Callable[[Path], Manifest], linked: Mapping[str, dict[str, Any]] | None = None
    ) -> Manifest:
        """Build a new generation with `fill(folder)`, make it durable, and make it the live one.

        Call with the lock held. `fill` writes its files into the folder and returns their manifest
        (without `files`, which is computed here). `linked` holds the manifest entries of files that
        `fill` hard-links from the live generation: they are durable and checksummed already, so they
        are not read again (an update then costs what it changes, not the size of the index).

        Raises:
            OSError: the generation could not be written (the previous one stays live).
        """
        self._remove_leftovers()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        name = f"gen-{stamp}-{uuid.uuid4().hex[:12]}"
        staging, final = self.directory / f"{name}.tmp", self.directory / name
        staging.mkdir(mode=FOLDER_MODE)
        try:
            os.chmod(staging, FOLDER_MODE)
            (staging / STAGING_MARK).touch(mode=FILE_MODE)
            manifest = fill(staging)
            files = {}
            for path in sorted(staging.iterdir()):
                if path.name == STAGING_MARK:
                    continue
                known = (linked or {}).get(path.name)
                if known is not None and known.get("size") == path.stat().st_size:
                    files[path.name] = dict(known)
                    continue
                os.chmod(path, FILE_MODE)
                fsync_file(path)
                files[path.name] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
            manifest = Manifest(**{**asdict(manifest), "files": files})
            self._write(staging / MANIFEST, json.dumps(manifest.to_json(), indent=1).encode())
            (staging / STAGING_MARK).unlink()  # the manifest proves the folder is ours from here on
            fsync_dir(staging)
            os.replace(staging, final)
            fsync_dir(self.directory)
            remove_if_folder(self.directory / CURRENT)  # a folder where the pointer belongs
            self._write(self.directory / CURRENT, f"{name}\n".encode())
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if final.exists() and self._pointer() != name:
                shutil.rmtree(final, ignore_errors=True)
            raise
        self._remove_old(keep=name)
        return manifest

    def remove_leftovers(self) -> None:
        """Remove what killed builds and updates left; call with the lock held."""
        self._remove_leftovers()

    def _pointer(self) -> str | None:
        try:
            return (self.directory / CURRENT).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None

    def _remove_leftovers(self) -> None:
        """Remove what killed builds left: temp files, staging folders, and generations never made live."""
        for path in self.directory.iterdir():
            if TEMP_FILE.fullmatch(path.name) and path.is_file() and not path.is_symlink():
                log.debug("removing the unfinished file %s", path.name)
                path.unlink(missing_ok=True)
            elif is_own_staging(path):
                log.debug("removing unfinished build %s", path.name)
                remove_generation(path)
            elif is_generation_name(path.name) and is_empty_folder(path):
                path.rmdir()  # a removal killed after its last file
        # A build killed between renaming its folder and swapping CURRENT leaves a complete generation
        # that nothing points to; with the lock held, no other build can be about to point to it.
        self._remove_old(keep=self._pointer())

    def _remove_old(self, keep: str | None) -> None:
        # Running readers keep their memory-mapped files alive after unlinking (POSIX).
        for path in self.directory.iterdir():
            if path.name != keep and is_own_generation(path):
                remove_generation(path)
