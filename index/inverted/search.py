"""Exact top-k retrieval over the inverted index's posting lists: exhaustive sums or MaxScore pruning.

A score is a float64 sum of float32 impacts; such sums are exact, so it does not depend on the order
terms are added and every pruning test below is exact (a 1e-9 relative margin covers pathological
exponent ranges). `pruned` runs in numbered steps, each a function of its own:

1. The shortest lists are summed in full (`split_short`, `seed`): their best passages are seeds.
2. The k-th best of the seeds' partial scores (or, if needed, of their completed scores) is a lower
   bound `theta` on the k-th best score (`lower_bound`).
3. MaxScore leaves "lazy" the long lists whose maxima sum below theta: a passage found only in them
   cannot place (`split_lazy`).
4. The other lists are summed too, skipping blocks and postings whose impact plus every other term's
   maximum stays below theta (`sum_eager`).
5. Candidates are the passages whose partial score plus the lazy maxima can still reach theta
   (`candidates`); when there are many, the best are completed to raise theta (`raise_cut`).
6. The candidates are completed by binary search in the lazy lists, highest maximum first, with theta
   rising as partial scores come in (`complete`).

Ties go to the lower passage id, as in `LuceneBM25.top_k`.

A query may carry the passages it is `Allowed` to return (a date or source filter). Every bound above
stays an upper bound on the allowed passages' scores, and theta is taken from allowed passages only,
so the same steps rank exactly within them; a filter that allows few passages scores them directly
(`direct`), which costs a lookup per allowed passage and term instead of a pass over the lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .arrays import Float32s, Floats, Ids, Int32s
from .postings import Allowed as Allowed  # re-exported: filters build these for `search`
from .postings import PostingLists as PostingLists
from .postings import Query as Query
from .postings import Scratch as Scratch
from .postings import kth

# What `direct` costs, in summed postings: one step of a binary search in a list, or (for a list at
# most SCATTER_FACTOR times the allowed passages) a pass over the list. Fitted on a synthetic 1M
# corpus (benchmarks/filtered.py); it only picks the faster of two exact paths.
SEARCH_STEP_COST = 0.25
SCATTER_FACTOR = 16
MARGIN = 1e-9  # relative slack on theta, against rounding in the exponent extremes
TINY = 5e-324  # smallest positive float64: every impact and partial score is above it


@dataclass(frozen=True, slots=True)
class Tuning:
    """When to prune (tests shrink these to drive every path on small corpora)."""

    exhaustive_postings: int  # below this many postings per query, no pruning
    short_postings: int  # lists this short (or N/256) are summed in full first
    dense_fraction: int  # past N/dense_fraction summed postings, scan the dense array for candidates
    # A filtered query scores its allowed passages directly when that costs (`direct_cost`) at most
    # its postings divided by this; 0 always does, a huge value never does.
    direct_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class Seeds:
    """The short lists' best passages (sorted) and their partial scores."""

    ids: Ids
    partial: Floats
    summed: Int32s | None  # passages whose scratch sums hold partial scores (None: nothing summed)


def add_to(scratch: Scratch, parts: list[tuple[Int32s, Float32s]]) -> Int32s:
    """Add the impacts to the scratch sums; returns the ids added to."""
    ids = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    values = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    np.add.at(scratch.acc, ids, scratch.float64(values))
    return ids


def search(lists: PostingLists, scratch: Scratch, q: Query, tuning: Tuning) -> tuple[Ids, Floats]:
    """Distinct candidate passages, with exact scores, that include the top k (of the allowed ones)."""
    allowed = q.allowed
    if allowed is not None and direct_cost(q, len(allowed.ids)) * tuning.direct_ratio <= sum(q.sizes):
        return direct(lists, scratch, q, allowed.ids)
    if len(q.tids) == 1:
        if allowed is None:
            pos = lists.best_positions(q.tids[0], q.spans[0], q.k)
        else:
            pos = lists.allowed_best(q.tids[0], q.spans[0], q.k, allowed)
        return lists.at(q.tids[0], pos)
    if sum(q.sizes) <= tuning.exhaustive_postings:
        return exhaustive(lists, scratch, q)
    return pruned(lists, scratch, q, tuning)


def direct_cost(q: Query, n_allowed: int) -> float:
    """What `direct` costs for `n_allowed` passages, in summed postings."""
    return sum(
        size + n_allowed
        if n_allowed * SCATTER_FACTOR > size
        else n_allowed * math.log2(size) * SEARCH_STEP_COST
        for size in q.sizes
    )


def direct(lists: PostingLists, scratch: Scratch, q: Query, allowed: Int32s) -> tuple[Int32s, Floats]:
    """The allowed passages scored one by one: each list is searched for them (or scattered, if short)."""
    scores = np.zeros(len(allowed), dtype=np.float64)
    for tid, span, size in zip(q.tids, q.spans, q.sizes, strict=True):
        if len(allowed) * SCATTER_FACTOR > size:
            scores += lists.scatter_lookup(scratch, tid, span, allowed)
        else:
            scores += lists.lookup(tid, span, allowed)
    matching = np.flatnonzero(scores > 0)
    return allowed[matching], scores[matching]


def exhaustive(lists: PostingLists, scratch: Scratch, q: Query) -> tuple[Int32s, Floats]:
    """Every passage of every list summed in full."""
    ids = add_to(scratch, [lists.postings(tid, span) for tid, span in zip(q.tids, q.spans, strict=True)])
    kept = ids if q.allowed is None else ids[q.allowed.mask[ids]]
    sums = scratch.acc[kept]
    # A passage repeats once per matching term, so the (k * terms)-th best entry is a score at
    # least k distinct passages reach: nothing below it can place.
    cands = sorted_unique(kept[sums >= kth(sums, q.k * len(q.spans))])
    scores = scratch.acc[cands]
    scratch.acc[ids] = 0.0
    return cands, scores


def pruned(lists: PostingLists, scratch: Scratch, q: Query, tuning: Tuning) -> tuple[Ids, Floats]:
    """MaxScore over the query's lists, in the steps the module describes."""
    short, long = split_short(q, max(tuning.short_postings, lists.n_docs // 256))
    seeds = seed(lists, scratch, q, short)
    cut = lower_bound(lists, q, seeds, long) * (1 - MARGIN)
    lazy, lazy_bound = split_lazy(long, q.ub, cut)
    eager = long[len(lazy) :]
    summed = sum_eager(lists, scratch, q, eager, short, seeds.summed, cut)
    floor = max(cut - lazy_bound, TINY)
    cands, partial = candidates(lists, scratch, q, short, summed, floor, tuning.dense_fraction)
    if lazy and eager and len(cands) > 4 * q.n_seeds:
        cut = raise_cut(lists, scratch, q, lazy, cands, partial, cut)
    return complete(lists, scratch, q, lazy, cands, partial, cut)


def split_short(q: Query, short_size: int) -> tuple[list[int], list[int]]:
    """Step 1: the shortest list and every list of at most `short_size` postings; the rest by maximum."""
    by_size = sorted(range(len(q.tids)), key=q.sizes.__getitem__)
    short = [by_size[0], *(i for i in by_size[1:] if q.sizes[i] <= short_size)]
    long = sorted((i for i in by_size if i not in short), key=q.ub.__getitem__)
    return short, long


def seed(lists: PostingLists, scratch: Scratch, q: Query, short: list[int]) -> Seeds:
    """Step 1: the short lists' best passages; several lists are summed into the scratch sums."""
    if len(short) == 1:  # one list: its best postings are found by block
        tid, span = q.tids[short[0]], q.spans[short[0]]
        if q.allowed is None:
            pos = lists.best_positions(tid, span, q.n_seeds)
        else:
            pos = lists.allowed_best(tid, span, q.n_seeds, q.allowed)
        return Seeds(*lists.at(tid, pos), None)
    summed = add_to(scratch, [lists.postings(q.tids[i], q.spans[i]) for i in short])
    kept = summed if q.allowed is None else summed[q.allowed.mask[summed]]
    sums = scratch.acc[kept]
    ids = sorted_unique(kept[sums >= kth(sums, q.n_seeds * len(short))])
    return Seeds(ids, scratch.acc[ids], summed)


def lower_bound(lists: PostingLists, q: Query, seeds: Seeds, long: list[int]) -> float:
    """Step 2: theta, the k-th best of the seeds' partial scores, or of their full (exact) scores when
    the long lists might matter. 0 only if fewer than k passages match."""
    theta = kth(seeds.partial, q.k)
    if long and theta and sum(q.ub[i] for i in long) >= theta:
        partial = seeds.partial
        for i in long:
            partial = partial + lists.lookup(q.tids[i], q.spans[i], seeds.ids)
        return max(theta, kth(partial, q.k))
    if not theta and q.allowed is not None:  # fewer than k allowed seeds: no bound on the allowed
        return 0.0
    if not theta:  # fewer than k seeds: k distinct passages reach any list's k-th best block
        return max([kth(lists.blocks_of(q.tids[i]), q.k) for i in long], default=0.0)
    return theta


def split_lazy(long: list[int], ub: list[float], cut: float) -> tuple[list[int], float]:
    """Step 3: the long lists (by rising maximum) whose maxima sum below `cut`, and that sum.

    They cannot place a passage on their own: they are looked up only for the other lists' passages.
    """
    lazy: list[int] = []
    lazy_bound = 0.0
    for i in long:
        if lazy_bound + ub[i] >= cut:
            break
        lazy.append(i)
        lazy_bound += ub[i]
    return lazy, lazy_bound


def sum_eager(
    lists: PostingLists,
    scratch: Scratch,
    q: Query,
    eager: list[int],
    short: list[int],
    summed: Int32s | None,
    cut: float,
) -> Int32s | None:
    """Step 4: add the eager lists (and the short list, if not summed yet) to the scratch sums, less
    the postings that cannot reach `cut` even with every other list's maximum."""
    if not eager:
        return summed
    bound_all = sum(q.ub)
    more = short if summed is None else []
    parts = [lists.postings(q.tids[i], q.spans[i], cut - (bound_all - q.ub[i])) for i in eager + more]
    added = add_to(scratch, parts)
    return added if summed is None else np.concatenate([summed, added])


def candidates(
    lists: PostingLists,
    scratch: Scratch,
    q: Query,
    short: list[int],
    summed: Int32s | None,
    floor: float,
    dense_fraction: int,
) -> tuple[Ids, Floats]:
    """Step 5: passages (sorted) whose partial score reaches `floor`, with those scores; the scratch
    sums are zero again afterwards."""
    acc, allowed = scratch.acc, q.allowed
    if summed is None:  # one short list and every long list lazy: filter that list
        cands, values = lists.postings(q.tids[short[0]], q.spans[short[0]], floor)
        if allowed is not None:
            keep = allowed.mask[cands]
            cands, values = cands[keep], values[keep]
        return cands, values.astype(np.float64)
    if len(summed) * dense_fraction > lists.n_docs:
        # Most passages touched: scanning the array beats sorting the touched ids.
        reached = np.greater_equal(acc, floor, out=scratch.mask())
        if allowed is not None:
            reached &= allowed.mask
        dense = np.flatnonzero(reached)
        partial = acc[dense]
        acc.fill(0.0)
        return dense, partial
    reached = acc[summed] >= floor
    if allowed is not None:
        reached &= allowed.mask[summed]
    sparse = sorted_unique(summed[reached])
    partial = acc[sparse]
    acc[summed] = 0.0
    return sparse, partial


def raise_cut(
    lists: PostingLists, scratch: Scratch, q: Query, lazy: list[int], cands: Ids, partial: Floats, cut: float
) -> float:
    """Step 5: the eager lists brought new passages: complete the best ones to raise the cut.

    Worth it (and defined) only with more than `q.n_seeds` candidates; `pruned` asks for four times that.
    """
    best = np.flatnonzero(partial >= scratch.kth(partial, q.n_seeds))
    full = partial[best]
    for i in lazy:
        full = full + lists.lookup(q.tids[i], q.spans[i], cands[best])
    return max(cut, kth(full, q.k) * (1 - MARGIN))


def complete(
    lists: PostingLists, scratch: Scratch, q: Query, lazy: list[int], cands: Ids, partial: Floats, cut: float
) -> tuple[Ids, Floats]:
    """Step 6: add the lazy lists' impacts, highest maximum first, dropping the candidates that can no
    longer reach the k-th best partial score."""
    remaining = sum(q.ub[i] for i in lazy)
    for i in reversed(lazy):
        if len(cands) > q.k:
            cut = max(cut, scratch.kth(partial, q.k) * (1 - MARGIN))
            keep = np.flatnonzero(partial >= cut - remaining)
            if len(keep) < len(cands):
                cands, partial = cands[keep], partial[keep]
        if len(cands) * 16 > q.sizes[i]:
            partial = partial + lists.scatter_lookup(scratch, q.tids[i], q.spans[i], cands)
        else:
            partial = partial + lists.lookup(q.tids[i], q.spans[i], cands)
        remaining -= q.ub[i]
    return cands, partial


def sorted_unique(ids: Int32s) -> Int32s:
    ids = np.sort(ids)
    keep = np.empty(len(ids), dtype=bool)
    keep[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=keep[1:])
    return ids[keep]
