"""The inverted index on disk: a JSON header naming its segments, and each segment's `.npy` files.

Terms are sorted by their UTF-8 bytes. In a segment, term t owns postings `indptr[t]:indptr[t + 1]`:
local passage ids ascending (int32) and term frequencies (smallest unsigned dtype that fits); the
segment also keeps each passage's length. A segment's removed passages, if any, are listed in a file of
their own, the only segment file that a later generation rewrites. Arrays are memory-mapped on load,
so opening an index parses nothing but the header.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import IndexFormatError
from .vocabulary import PREFIX_BYTES

FORMAT = "article-qa-inverted"
VERSION = 2  # 2: segments of term frequencies with removed passages; impacts computed at query time
META = "inverted.json"
SEGMENT_NAME = re.compile(r"seg\d{6}")


def segment_name(number: int) -> str:
    return f"seg{number:06d}"


def save(directory: Path, header: dict[str, Any]) -> None:
    """Write the header (plus format, version and prefix width) into `directory`."""
    meta = {"format": FORMAT, "version": VERSION, **header, "prefix_bytes": PREFIX_BYTES}
    (directory / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def load(directory: Path) -> dict[str, Any]:
    """The header written by `save`, checked.

    Raises:
        IndexFormatError: it is of another format or version, or malformed.
    """
    meta: dict[str, Any] = json.loads((directory / META).read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or (meta.get("format"), meta.get("version"), meta.get("prefix_bytes")) != (
        FORMAT,
        VERSION,
        PREFIX_BYTES,
    ):
        raise IndexFormatError(f"the inverted index in {directory} is of another version; rebuild it")
    segments = meta.get("segments")
    if not isinstance(segments, list) or not all(_valid_segment(entry) for entry in segments):
        raise IndexFormatError(f"the inverted index in {directory} lists malformed segments; rebuild it")
    if len({entry["name"] for entry in segments}) != len(segments):
        raise IndexFormatError(f"the inverted index in {directory} lists a segment twice; rebuild it")
    return meta


def _valid_segment(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and bool(SEGMENT_NAME.fullmatch(entry["name"]))
        and all(type(entry.get(key)) is int and entry[key] >= 0 for key in ("passages", "deleted"))
        and entry["deleted"] <= entry["passages"]
    )
