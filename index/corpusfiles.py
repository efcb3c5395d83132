"""Find and open the files of a corpus without ever reading outside it, and decode their bytes."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import CorpusError

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})
# Documents, images and archives that hold no plain-text article: skipped as "unsupported file type",
# even when a one-file corpus names one (other file names given on their own are read as text).
NOT_ARTICLE_SUFFIXES = frozenset(
    {".pdf", ".doc", ".docx", ".odt", ".rtf", ".epub", ".mobi", ".pages", ".xls", ".xlsx", ".ppt", ".pptx"}
    | {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".svg", ".heic", ".avif"}
    | {".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar"}
)
MAX_FILE_BYTES = 64 * 1024 * 1024  # one article file; .jsonl files are streamed and may be larger
# C0/C1 control characters other than tab, newlines and form feed: never article text, and ESC or CSI
# (also reachable through JSON "\\u001b" escapes and HTML character references) would let an article drive
# the terminal that prints it.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])  # CONTROL_CHARS in ASCII
# How much of a file's text is checked for control characters, and the share that makes it binary.
BINARY_CHECK_CHARS = 8192
BINARY_CONTROL_SHARE = 0.05
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SkipFile(Exception):
    """This file (or record) cannot be used, for the reason given; the reader skips it with a warning."""


@dataclass(frozen=True, slots=True)
class Listing:
    """What a walk of the corpus found: article files, files of other types, and unreadable folders."""

    articles: list[Path]
    others: list[Path]
    unreadable: list[tuple[str, str]]  # (folder, reason)


def corpus_files(corpus: Path) -> list[Path]:
    """Every article file under `corpus` (a folder, searched recursively, or a single file), sorted."""
    return list_corpus(corpus).articles


def list_corpus(corpus: Path) -> Listing:
    """Every file of `corpus` (hidden ones aside), sorted, and the folders that could not be read.

    Raises:
        CorpusError: the corpus path does not exist or is neither a folder nor a file.
    """
    if not corpus.exists():
        raise CorpusError(f"corpus not found: {corpus}")
    if corpus.is_file():
        # The user named this file: read it whatever its name, unless it is known not to be text.
        if corpus.suffix.lower() in NOT_ARTICLE_SUFFIXES:
            return Listing([], [corpus], [])
        return Listing([corpus], [], [])
    if not corpus.is_dir():
        raise CorpusError(f"corpus is neither a folder nor a file: {corpus}")
    listing = Listing([], [], [])

    def unreadable(err: OSError) -> None:
        folder = os.path.relpath(err.filename, corpus) if err.filename else str(corpus)
        listing.unreadable.append((folder, f"cannot read the folder ({err.strerror or err})"))

    # os.walk does not follow symlinked folders, so a symlink loop cannot trap it.
    for root, dirs, files in os.walk(corpus, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):  # hidden files (.DS_Store, .env) are not the corpus's
                path = Path(root, name)
                (listing.articles if path.suffix.lower() in SUFFIXES else listing.others).append(path)
    return listing


def corpus_fingerprint(corpus: Path) -> str:
    """A hash of every article file's path, size and modification time: changes when the corpus does.

    Only names and `lstat` results are read, never a file's bytes. Every status check and hot-reload
    poll computes it, so a folder is walked with plain `os` calls (at tens of thousands of files, a
    `Path` per file costs more than the system calls); links take the careful path (`_link_line`).
    """
    digest = hashlib.sha256()
    if corpus.is_dir():
        lines = _folder_lines(corpus)
    else:
        lines = (_file_line(path, path.name, None) for path in corpus_files(corpus))
    for line in lines:
        if line is not None:
            # surrogateescape: a file name that is not UTF-8 still hashes as its own bytes.
            digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _folder_lines(corpus: Path) -> Iterator[str | None]:
    """The fingerprint line of each article file of a corpus folder, in `list_corpus` order."""
    top = os.fspath(corpus)
    root: Path | None = None  # where links must stay inside: resolved at the first link only
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = os.path.relpath(folder, top)
        for name in sorted(files):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in SUFFIXES:
                continue
            posix = name if relative == "." else f"{relative}/{name}"
            full = os.path.join(folder, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue  # gone since the walk listed it
            if stat.S_ISLNK(info.st_mode):
                root = root or corpus_root(corpus)
                yield _file_line(Path(full), posix, root)
            else:
                yield f"{posix}\0{info.st_size}\0{info.st_mtime_ns}\n"


def _file_line(path: Path, name: str, root: Path | None) -> str | None:
    """The fingerprint line of one file (a link: of where it leads); None for a file that is gone."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            _target(path, root)
            info = path.stat()
    except SkipFile:
        # A link the build will skip: hash where it points, never what it points to (a link to a file
        # that changes all the time, such as /proc/self/status, would make the index stale forever).
        return f"{name}\0link\0{_readlink(path)}\n"
    except OSError:
        return None
    return f"{name}\0{info.st_size}\0{info.st_mtime_ns}\n"


def corpus_root(corpus: Path) -> Path | None:
    """The real path that every file of a corpus folder must stay inside; None for a one-file corpus."""
    return Path(os.path.realpath(corpus)) if corpus.is_dir() else None


def _target(path: Path, root: Path | None) -> Path:
    """The real path of `path`, which must lie inside `root` and outside hidden folders (or it is skipped).

    A one-file corpus (`root` None) is read wherever it points: the user named that file.
    """
    # The walk does not enter linked or hidden folders, so only a file that is itself a link can lead out.
    if root is None or not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if not target.is_relative_to(root):
        raise SkipFile("symbolic link to a file outside the corpus")
    if any(part.startswith(".") for part in target.relative_to(root).parts):
        raise SkipFile("symbolic link to a hidden file")
    return target


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def read_bytes(path: Path, root: Path | None) -> bytes:
    """The bytes of one article file (see `open_file`), or skip it."""
    with open_file(path, root) as handle:
        try:
            # read(n) reserves n bytes up front: ask for the file's size (plus one, to see it grow).
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(min(size, MAX_FILE_BYTES) + 1)
            if len(data) > size:  # it grew since stat: read on, up to the limit
                data += handle.read(MAX_FILE_BYTES + 1 - len(data))
        except OSError as err:
            raise SkipFile(f"cannot read ({err.strerror or err})") from None
    if len(data) > MAX_FILE_BYTES:
        raise SkipFile(f"file too large (it grew past {MAX_FILE_BYTES // (1024 * 1024)} MiB while read)")
    return data


def open_file(path: Path, root: Path | None, limit: int | None = MAX_FILE_BYTES) -> BinaryIO:
    """Open a regular file of at most `limit` bytes inside `root` (see `_target`) for reading, or skip it."""
    target = _target(path, root)
    # The target is checked, then opened: O_NOFOLLOW refuses it if it was swapped for a link in between.
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (O_NOFOLLOW if root is not None else 0)
    try:
        fd = os.open(target, flags)
    except OSError as err:
        raise SkipFile(f"cannot read ({err.strerror or err})") from None
    try:
        info = os.fstat(fd)
        # A FIFO would block the build forever, and a device such as /dev/zero never ends.
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile("not a regular file")
        if limit is not None and info.st_size > limit:
            mib = 1024 * 1024
            raise SkipFile(f"file too large ({info.st_size // mib} MiB; the limit is {limit // mib} MiB)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def decode_bytes(data: bytes, rel: str) -> str:
    """Decode file bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252 with a warning."""
    text, legacy = decode(data)
    if legacy:
        log.warning("%s is not UTF-8; read it as Windows-1252", rel)
    return text


def decode(data: bytes) -> tuple[str, bool]:
    """The text of `data`, and whether it was read as Windows-1252."""
    legacy = False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise SkipFile("invalid UTF-16 text") from None
    elif b"\x00" in data:
        raise SkipFile("binary file (contains NUL bytes)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise SkipFile("not UTF-8 text and not Windows-1252 text") from None
            legacy = True
    if data.isascii():
        # Characters are bytes here: count them in C without a regex scan of the text.
        head = data[:BINARY_CHECK_CHARS]
        controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    else:
        controls = len(CONTROL_CHARS.findall(text, 0, BINARY_CHECK_CHARS))
    if controls > BINARY_CONTROL_SHARE * min(len(text), BINARY_CHECK_CHARS):
        raise SkipFile("binary file (control characters)")
    return text, legacy
