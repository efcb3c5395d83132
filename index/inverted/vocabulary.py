"""The inverted index's vocabulary: terms in sorted byte order, found by binary search without parsing.

Each term has a fixed-width byte prefix in a sorted array that numpy binary-searches; the full terms
live in one blob with their offsets, so loading a vocabulary reads nothing and builds no dictionary.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .arrays import Int64s

PREFIX_BYTES = 12  # width of the binary-searched term prefix


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Sorted terms: binary-searched prefixes, the full terms' bytes and where each term starts."""

    prefix: npt.NDArray[np.bytes_]
    blob: npt.NDArray[np.uint8]
    offsets: Int64s

    @classmethod
    def build(cls, terms: list[bytes]) -> Vocabulary:
        """The vocabulary of `terms`, which are already in sorted byte order."""
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in terms], out=offsets[1:])
        blob = np.frombuffer(b"".join(terms), dtype=np.uint8).copy()
        prefix = np.array([t[:PREFIX_BYTES] for t in terms], dtype=f"S{PREFIX_BYTES}")
        return cls(prefix, blob, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def terms(self) -> Iterator[str]:
        """Every term, in sorted byte order."""
        blob, offsets = self.blob.tobytes(), self.offsets.tolist()
        for lo, hi in itertools.pairwise(offsets):
            yield blob[lo:hi].decode("utf-8")

    def term_bytes(self, tid: int) -> bytes:
        return self.blob[int(self.offsets[tid]) : int(self.offsets[tid + 1])].tobytes()

    def locate(self, key: bytes, lo: int | None = None) -> tuple[int, bool]:
        """(term id, True) if `key` is a term, else (where it would be inserted, False)."""
        prefix = np.array(key[:PREFIX_BYTES], dtype=self.prefix.dtype)
        if lo is None:
            lo = int(np.searchsorted(self.prefix, prefix, side="left"))
        n_terms = len(self)
        if len(key) < PREFIX_BYTES and b"\0" not in key:
            # No other term shares a short key's prefix except longer ones that sort after it.
            return lo, lo < n_terms and self.term_bytes(lo) == key
        hi = int(np.searchsorted(self.prefix, prefix, side="right"))
        while lo < hi:  # the few terms sharing the prefix, compared in full
            mid = (lo + hi) // 2
            if self.term_bytes(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo, lo < n_terms and self.term_bytes(lo) == key

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Ids of the distinct known terms, in query order."""
        keys = [term.encode("utf-8") for term in dict.fromkeys(terms)]
        if not keys or not len(self):
            return []
        prefixes = np.array([key[:PREFIX_BYTES] for key in keys], dtype=self.prefix.dtype)
        starts = np.searchsorted(self.prefix, prefixes).tolist()
        found = (self.locate(key, lo) for key, lo in zip(keys, starts, strict=True))
        return [pos for pos, ok in found if ok]
