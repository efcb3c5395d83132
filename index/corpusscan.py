"""One quick pass over a corpus: each article file's size and time, and the corpus fingerprint.

An update must not cost what a build costs, so the corpus is listed once, with plain `os` calls
(pathlib's parsing costs more than the system calls at a hundred thousand files). The pass follows
`corpusfiles.list_corpus` exactly (hidden files and folders skipped, the same order, the same
suffixes) and computes the very fingerprint `corpusfiles.corpus_fingerprint` does; a test holds the
two to it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .corpusfiles import SUFFIXES, corpus_fingerprint, list_corpus
from .loader import relative_name

Stamp = tuple[int, int]  # size, modification time in ns
UNSURE: Stamp = (-1, -1)  # matches no file: read again by the next update
RACY_NS = 2_000_000_000  # FAT keeps times to 2 s; others to a clock tick or better


@dataclass(frozen=True, slots=True)
class Scan:
    """The article files of a corpus by name (as articles name their file), with where they are."""

    stamps: dict[str, Stamp]
    paths: dict[str, str]  # where each file is (a plain string: a Path per file costs too much)
    fingerprint: str
    listing_skipped: int  # files of other types and unreadable folders


def scan_corpus(corpus: Path) -> Scan:
    """Stamp every article file of `corpus` and fingerprint it.

    A file changed within the file system's timestamp granularity of this moment could change again
    with the same size and time: it is stamped UNSURE, so that the next update reads it again (as git
    treats "racily clean" files). A folder holding a symbolic link or an unreadable file is scanned the
    careful way (`corpusfiles`), which decides where links may lead.

    Raises:
        CorpusError: the corpus path does not exist or is neither a folder nor a file.
    """
    if not corpus.is_dir():
        return _scan_listing(corpus)
    try:
        return _scan_folder(corpus)
    except _Odd:
        return _scan_listing(corpus)


class _Odd(Exception):
    """A symbolic link or an unreadable file: the fast scan does not judge it."""


def _scan_folder(corpus: Path) -> Scan:
    racy = time.time_ns() - RACY_NS
    stamps: dict[str, Stamp] = {}
    paths: dict[str, str] = {}
    digest = hashlib.sha256()
    skipped = 0

    def unreadable(err: OSError) -> None:
        nonlocal skipped
        skipped += 1

    top = os.fspath(corpus)
    for root, dirs, files in os.walk(top, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        folder = os.path.relpath(root, top)
        for name in sorted(files):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() not in SUFFIXES:
                skipped += 1
                continue
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
            except OSError:
                raise _Odd from None
            if stat.S_ISLNK(info.st_mode):
                raise _Odd
            posix = name if folder == "." else f"{folder}/{name}"
            rel = posix if posix.isascii() and posix.isprintable() else relative_name(Path(full), corpus)
            stamps[rel] = (info.st_size, info.st_mtime_ns) if info.st_mtime_ns < racy else UNSURE
            paths[rel] = full
            line = f"{posix}\0{info.st_size}\0{info.st_mtime_ns}\n"
            digest.update(line.encode("utf-8", "surrogateescape"))
    return Scan(stamps, paths, digest.hexdigest(), skipped)


def _scan_listing(corpus: Path) -> Scan:
    """The scan of a one-file corpus (or a corpus whose files need the careful path)."""
    listing = list_corpus(corpus)
    racy = time.time_ns() - RACY_NS
    stamps: dict[str, Stamp] = {}
    paths: dict[str, str] = {}
    for path in listing.articles:
        try:
            info = path.stat()
            stamp = (info.st_size, info.st_mtime_ns) if info.st_mtime_ns < racy else UNSURE
        except OSError:
            stamp = UNSURE
        rel = relative_name(path, corpus)
        stamps[rel], paths[rel] = stamp, str(path)
    skipped = len(listing.others) + len(listing.unreadable)
    return Scan(stamps, paths, corpus_fingerprint(corpus), skipped)
