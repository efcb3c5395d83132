"""Inverted BM25 index: segments of term frequencies, exact MaxScore top-k retrieval, memory-mapped files.

One module per job: `build` counts terms, `segment` holds (and stores) one batch of passages,
`vocabulary` finds terms, `format` writes and checks the header, `search` ranks, and `engine` ties them
into `InvertedIndex`, which computes BM25 impacts from the global statistics as queries read them.
"""

from __future__ import annotations

from .engine import InvertedIndex

__all__ = ["InvertedIndex"]
