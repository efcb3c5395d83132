"""The inverted index on disk: one `.npy` file per array and a JSON header, checked when opened.

Terms are sorted by their UTF-8 bytes. Term t owns postings `indptr[t]:indptr[t + 1]`: passage ids
ascending (int32), term frequencies (smallest unsigned dtype that fits) and impacts stored as float32.
Postings are cut into blocks whose maximum impact is kept, with each term's maximum. Arrays are
memory-mapped on load, so opening an index parses nothing but the header.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import IndexFormatError
from .vocabulary import PREFIX_BYTES

FORMAT = "article-qa-inverted"
VERSION = 1
META = "inverted.json"
# numpy dtype kinds of the arrays that are not signed integers ("i"); checked on load.
KINDS = {
    "impacts": "f",
    "block_max": "f",
    "term_max": "f",
    "tfs": "u",
    "vocab_blob": "u",
    "vocab_prefix": "S",
}
ARRAYS = (
    "doc_ids",
    "impacts",
    "tfs",
    "indptr",
    "doc_len",
    "block_max",
    "block_ptr",
    "term_max",
    "vocab_prefix",
    "vocab_blob",
    "vocab_offsets",
)


def file_name(array: str) -> str:
    return f"inverted.{array}.npy"


FILES = [META, *(file_name(name) for name in ARRAYS)]


def save(directory: Path, arrays: dict[str, npt.NDArray[Any]], header: dict[str, Any]) -> None:
    """Write every array and the header (plus format, version and prefix width) into `directory`."""
    for name in ARRAYS:
        np.save(directory / file_name(name), arrays[name], allow_pickle=False)
    meta = {"format": FORMAT, "version": VERSION, **header, "prefix_bytes": PREFIX_BYTES}
    (directory / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def load(directory: Path) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """The memory-mapped arrays and the header written by `save`.

    Raises:
        IndexFormatError: the files are of another format or version, or do not fit together.
    """
    meta: dict[str, Any] = json.loads((directory / META).read_text(encoding="utf-8"))
    if (meta.get("format"), meta.get("version"), meta.get("prefix_bytes")) != (
        FORMAT,
        VERSION,
        PREFIX_BYTES,
    ):
        raise IndexFormatError(f"the inverted index in {directory} is of another version; rebuild it")
    arrays = {
        name: np.load(directory / file_name(name), mmap_mode="r", allow_pickle=False) for name in ARRAYS
    }
    arrays = {name: np.asarray(array) for name, array in arrays.items()}  # plain views: no memmap overhead
    n_terms, n_postings, n_docs = meta["n_terms"], meta["n_postings"], meta["n_docs"]
    expected = {
        "doc_ids": n_postings,
        "impacts": n_postings,
        "tfs": n_postings,
        "indptr": n_terms + 1,
        "doc_len": n_docs,
        "block_ptr": n_terms + 1,
        "term_max": n_terms,
        "vocab_prefix": n_terms,
        "vocab_offsets": n_terms + 1,
    }
    if any(array.ndim != 1 or array.dtype.kind != KINDS.get(name, "i") for name, array in arrays.items()):
        raise IndexFormatError(f"the inverted index in {directory} has arrays of the wrong type; rebuild it")
    if any(len(arrays[name]) != size for name, size in expected.items()):
        raise IndexFormatError(f"the inverted index in {directory} is incomplete; rebuild it")
    return arrays, meta
