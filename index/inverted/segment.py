"""One segment of the inverted index: term frequencies and passage lengths, never corpus-wide statistics.

A segment holds the postings of the passages added together (a full build is one segment; each update
adds one). It stores term frequencies and passage lengths only, so adding or removing passages
elsewhere never makes it stale: BM25 impacts are computed from the global statistics when a query
reads a term's postings (`engine.InvertedIndex`). Its files carry the segment's name, so an update
hard-links them into the next generation unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import IndexFormatError
from .arrays import Int32s, Int64s, UInts
from .build import Postings
from .vocabulary import Vocabulary

ARRAYS = ("doc_ids", "tfs", "indptr", "doc_len", "vocab_prefix", "vocab_blob", "vocab_offsets")
# numpy dtype kinds of the arrays that are not signed integers ("i"); checked on load.
KINDS = {"tfs": "u", "vocab_blob": "u", "vocab_prefix": "S"}
DELETED = "deleted"  # sorted local ids of the segment's removed passages (absent: none removed)


def file_name(segment: str, array: str) -> str:
    return f"{segment}.{array}.npy"


def segment_files(segment: str) -> list[str]:
    return [file_name(segment, name) for name in ARRAYS]


@dataclass(frozen=True, slots=True)
class Segment:
    """Term-major postings (local passage ids ascending, term frequencies) of some passages."""

    name: str
    doc_ids: Int32s
    tfs: UInts
    indptr: Int64s
    doc_len: Int32s
    vocabulary: Vocabulary
    stored_in: Path | None = None  # the generation folder holding its files, once saved or loaded

    @classmethod
    def of(cls, name: str, postings: Postings, vocabulary: Vocabulary) -> Segment:
        return cls(name, postings.doc_ids, postings.tfs, postings.indptr, postings.doc_len, vocabulary)

    def __len__(self) -> int:
        return len(self.doc_len)

    @property
    def n_postings(self) -> int:
        return len(self.doc_ids)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        vocab = self.vocabulary
        return {
            "doc_ids": self.doc_ids,
            "tfs": self.tfs,
            "indptr": self.indptr,
            "doc_len": self.doc_len,
            "vocab_prefix": vocab.prefix,
            "vocab_blob": vocab.blob,
            "vocab_offsets": vocab.offsets,
        }

    def postings_of(self, key: bytes) -> tuple[Int32s, UInts] | None:
        """Local ids and term frequencies of the term `key` (UTF-8), or None if no passage has it."""
        pos, found = self.vocabulary.locate(key)
        if not found:
            return None
        s, e = int(self.indptr[pos]), int(self.indptr[pos + 1])
        return self.doc_ids[s:e], self.tfs[s:e]

    def save(self, directory: Path) -> None:
        """Write the segment's files into `directory`: hard links to the folder it is stored in, if any
        (segment files never change once written), else new files."""
        for array, name in zip(self.arrays().values(), segment_files(self.name), strict=True):
            if self.stored_in is not None and self.stored_in != directory:
                os.link(self.stored_in / name, directory / name)
            else:
                np.save(directory / name, array, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, name: str, n_docs: int) -> Segment:
        """The memory-mapped segment `name` of `directory`, which holds `n_docs` passages.

        Raises:
            IndexFormatError: its arrays are of the wrong type or do not fit together.
        """
        arrays = {
            array: np.asarray(np.load(directory / file, mmap_mode="r", allow_pickle=False))
            for array, file in zip(ARRAYS, segment_files(name), strict=True)
        }
        if any(a.ndim != 1 or a.dtype.kind != KINDS.get(key, "i") for key, a in arrays.items()):
            raise IndexFormatError(f"segment {name} in {directory} has arrays of the wrong type; rebuild it")
        n_terms = len(arrays["vocab_prefix"])
        expected = {"indptr": n_terms + 1, "vocab_offsets": n_terms + 1, "doc_len": n_docs}
        indptr = arrays["indptr"]
        if (
            any(len(arrays[key]) != size for key, size in expected.items())
            or int(indptr[0]) != 0
            or int(indptr[-1]) != len(arrays["doc_ids"])
            or len(arrays["tfs"]) != len(arrays["doc_ids"])
        ):
            raise IndexFormatError(f"segment {name} in {directory} is incomplete; rebuild it")
        vocabulary = Vocabulary(arrays["vocab_prefix"], arrays["vocab_blob"], arrays["vocab_offsets"])
        return cls(
            name, arrays["doc_ids"], arrays["tfs"], indptr, arrays["doc_len"], vocabulary, stored_in=directory
        )


def save_deleted(directory: Path, segment: str, deleted: Int32s) -> str | None:
    """Write the removed passages of `segment` (if any); the file's name, or None."""
    if not len(deleted):
        return None
    name = file_name(segment, DELETED)
    np.save(directory / name, np.asarray(deleted, dtype=np.int32), allow_pickle=False)
    return name


def load_deleted(directory: Path, segment: str, count: int, n_docs: int) -> Int32s:
    """The `count` removed passages of `segment` (local ids, sorted).

    Raises:
        IndexFormatError: the file does not hold `count` distinct ids below `n_docs`.
    """
    if not count:
        return np.zeros(0, dtype=np.int32)
    deleted = np.asarray(np.load(directory / file_name(segment, DELETED), allow_pickle=False))
    if (
        deleted.ndim != 1
        or deleted.dtype.kind != "i"
        or len(deleted) != count
        or (len(deleted) and (int(deleted[0]) < 0 or int(deleted[-1]) >= n_docs))
        or bool(np.any(np.diff(deleted) <= 0))
    ):
        raise IndexFormatError(f"the removed passages of segment {segment} do not fit it; rebuild it")
    return deleted.astype(np.int32)
