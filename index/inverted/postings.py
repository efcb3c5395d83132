"""The query-time view of posting lists: whole lists, their best blocks, lookups, and reused work arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .arrays import Float32s, Floats, Ids, Int32s, Int64s

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Allowed:
    """The passages a filtered query may return: a mask over every passage, and their ids ascending."""

    mask: Bools
    ids: Int32s

    @classmethod
    def of(cls, mask: Bools) -> Allowed:
        return cls(mask, np.flatnonzero(mask).astype(np.int32))

    @property
    def fraction(self) -> float:
        """The share of all passages allowed (0 to 1)."""
        return len(self.ids) / len(self.mask) if len(self.mask) else 0.0


@dataclass(frozen=True, slots=True)
class Query:
    """One query's distinct known terms: their ids, posting spans, list lengths and maximum impacts."""

    tids: list[int]
    spans: list[tuple[int, int]]
    sizes: list[int]
    ub: list[float]
    k: int
    allowed: Allowed | None = None

    @property
    def n_seeds(self) -> int:
        """How many of the short lists' best passages seed theta."""
        return 2 * self.k + 32


class Scratch:
    """One thread's work arrays, reused across queries: fresh large arrays cost page faults."""

    def __init__(self, n_docs: int) -> None:
        self.acc = np.zeros(n_docs, dtype=np.float64)  # zero between queries
        self._table = np.zeros(0, dtype=np.float32)  # zero between uses
        self._float64 = np.empty(0, dtype=np.float64)
        self._mask = np.empty(0, dtype=bool)

    def float64(self, values: Float32s | Floats) -> Floats:
        """`values` as float64, in a buffer that the next call reuses."""
        if len(self._float64) < len(values):
            self._float64 = np.empty(max(len(values), 2 * len(self._float64)), dtype=np.float64)
        out = self._float64[: len(values)]
        np.copyto(out, values)
        return out

    def float32(self) -> Float32s:
        """A zeroed float32 array over the passages; whoever writes to it zeroes it again."""
        if not len(self._table):
            self._table = np.zeros(len(self.acc), dtype=np.float32)
        return self._table

    def kth(self, values: Floats, k: int) -> float:
        """The k-th largest of at least k values, without allocating: partitions a reused copy."""
        n = len(values)
        copy = self.float64(values)
        copy.partition(n - k)
        return float(copy[n - k])

    def mask(self) -> npt.NDArray[np.bool_]:
        """A boolean array over the passages."""
        if not len(self._mask):
            self._mask = np.empty(len(self.acc), dtype=bool)
        return self._mask


class PostingLists:
    """The query-time view of some terms' posting lists: whole lists, their best blocks, single lookups.

    List `tid` holds passage ids ascending (`ids[tid]`) with their impacts (`values[tid]`) and the
    maxima of its blocks; a span is a range of positions within one list.
    """

    def __init__(
        self, ids: list[Int32s], values: list[Float32s], block_max: list[Float32s], n_docs: int, block: int
    ) -> None:
        self.n_docs = n_docs
        self.block = block
        self.ids = ids
        self.values = values
        self.block_max = block_max
        self.term_max = [float(m.max()) if len(m) else 0.0 for m in block_max]

    def query(self, tids: list[int], k: int, allowed: Allowed | None = None) -> Query:
        """The lists `tids` (distinct), for passages `allowed` (None: all)."""
        spans = [(0, len(self.ids[tid])) for tid in tids]
        sizes = [e for _, e in spans]
        return Query(tids, spans, sizes, [self.term_max[tid] for tid in tids], k, allowed)

    def blocks_of(self, tid: int) -> Float32s:
        return self.block_max[tid]

    def best_positions(self, tid: int, span: tuple[int, int], n: int) -> Int64s:
        """Positions, ascending, of a list's n best postings (and of any tied with the n-th)."""
        s, e = span
        block_max = self.blocks_of(tid)
        if len(block_max) > n:
            # The n best postings lie in the blocks whose maxima reach the n-th largest maximum.
            pos = self.positions(np.flatnonzero(block_max >= kth(block_max, n)), s, e)
        else:
            pos = np.arange(s, e)
        if len(pos) <= n:
            return pos
        values = self.values[tid][pos]
        return pos[values >= kth(values, n)]

    def allowed_best(self, tid: int, span: tuple[int, int], n: int, allowed: Allowed) -> Int64s:
        """Positions, ascending, of allowed postings of a list that include its `n` best allowed ones.

        The list's best postings are taken in proportion to the allowed share; if fewer than `n` of
        them are allowed, every allowed posting of the list is returned.
        """
        s, e = span
        wanted = int(2 * n / max(allowed.fraction, 1e-9)) + 1
        if wanted < e - s:
            pos = self.best_positions(tid, span, wanted)
            pos = pos[allowed.mask[self.ids[tid][pos]]]
            if len(pos) >= n:
                return pos
        pos = np.arange(s, e)
        return pos[allowed.mask[self.ids[tid][s:e]]]

    def at(self, tid: int, pos: Int64s) -> tuple[Int32s, Floats]:
        """Ids and impacts (as float64) of list `tid`'s postings at `pos`."""
        return self.ids[tid][pos], self.values[tid][pos].astype(np.float64)

    def postings(self, tid: int, span: tuple[int, int], floor: float = 0.0) -> tuple[Int32s, Float32s]:
        """Ids and impacts of a list's postings: all of them, or (`floor` > 0) those reaching `floor`."""
        s, e = span
        ids, impacts = self.ids[tid], self.values[tid]
        if floor <= 0:
            return ids[s:e], impacts[s:e]
        block_max = self.blocks_of(tid)
        blocks = np.flatnonzero(block_max >= floor)
        if len(blocks) * 4 < len(block_max):  # few blocks reach it: gather just those
            pos = self.positions(blocks, s, e)
            pos = pos[impacts[pos] >= floor]
            return ids[pos], impacts[pos]
        values = impacts[s:e]
        keep = np.flatnonzero(values >= floor)
        return ids[s:e][keep], values[keep]

    def lookup(self, tid: int, span: tuple[int, int], cands: Ids) -> Float32s:
        """Impacts of list `tid` for the sorted passages `cands` (0 where absent)."""
        s, e = span
        ids = self.ids[tid][s:e]
        pos = ids.searchsorted(cands)
        np.minimum(pos, e - s - 1, out=pos)
        found = self.values[tid][s:e].take(pos)
        found[ids.take(pos) != cands] = 0
        return found

    def scatter_lookup(self, scratch: Scratch, tid: int, span: tuple[int, int], cands: Ids) -> Float32s:
        """`lookup` for many candidates: scatter the whole list into a zeroed array, read them back."""
        s, e = span
        ids, table = self.ids[tid][s:e], scratch.float32()
        table[ids] = self.values[tid][s:e]
        found: Float32s = table[cands]
        table[ids] = 0
        return found

    def positions(self, blocks: Ids, start: int, end: int) -> Int64s:
        """Posting positions, ascending, in the given blocks of the list `start:end`."""
        pos = (start + blocks[:, None] * self.block + np.arange(self.block)).ravel()
        if len(blocks) and start + (int(blocks[-1]) + 1) * self.block > end:
            pos = pos[pos < end]
        return pos


def kth(values: Floats | Float32s, k: int) -> float:
    """The k-th largest value, or 0 if there are fewer than k."""
    n = len(values)
    return float(np.partition(values, n - k)[n - k]) if n >= k else 0.0
