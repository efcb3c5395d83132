"""The index store's file operations: atomic writes, fsyncs, checksums, and removals of its own folders."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from .layout import FILE_MODE, STAGING_MARK
from .manifest import MANIFEST

log = logging.getLogger(__name__)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make the entries of a folder (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Make a file's bytes durable."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` (mode 0600) to a temp file beside `path`, fsync it, then rename it over `path`."""
    temp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with open(fd, "wb") as handle:
            os.fchmod(fd, FILE_MODE)  # the mode given to open() is reduced by the umask
            handle.write(data)
            handle.flush()
            os.fsync(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


Writer = Callable[[Path, bytes], None]
"""Writes one small store file (the pointer, the manifest, the marker) atomically."""


def is_open_file(fd: int, path: Path) -> bool:
    """True while `path` still names the open file `fd` (it may have been unlinked and recreated)."""
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except OSError:
        return False


def remove_generation(path: Path) -> None:
    """Remove a generation or staging folder, the files that prove it is ours (manifest, staging mark)
    last: a removal killed halfway leaves a folder that the next build still recognizes and removes."""
    proofs = (MANIFEST, STAGING_MARK)
    try:
        entries = list(os.scandir(path))
        for entry in entries:
            if entry.name not in proofs:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        for name in proofs:
            with contextlib.suppress(FileNotFoundError):
                (path / name).unlink()
        path.rmdir()
    except OSError as err:
        log.debug("could not remove %s fully (%s)", path.name, err)


def is_empty_folder(path: Path) -> bool:
    """True for a real folder (not a link) with nothing in it."""
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def remove_if_folder(path: Path) -> None:
    """Remove a folder found where one of the store's own files belongs (in a folder it manages)."""
    if path.is_dir() and not path.is_symlink():
        log.debug("removing the folder %s, which stands where a file belongs", path)
        shutil.rmtree(path)
