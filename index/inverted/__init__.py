"""Inverted BM25 index: precomputed impacts, exact MaxScore top-k retrieval, memory-mapped files.

One module per job: `build` counts terms and computes impacts (and grows an index exactly),
`vocabulary` finds terms, `format` writes and checks the files, `search` ranks, and `engine` ties them
into `InvertedIndex`.
"""

from __future__ import annotations

from .engine import InvertedIndex

__all__ = ["InvertedIndex"]
