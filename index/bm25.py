"""BM25 scoring parameters and Lucene's IDF, the one formula every ranking here uses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .reference_bm25 import LuceneBM25


@dataclass(frozen=True, slots=True)
class BM25Params:
    """Okapi BM25 constants, stored in the index manifest."""

    # Chosen on the SQuAD development split (article-qa eval): questions share many words with their
    # passage, so term repeats saturate early (k1) and long passages are penalized less (b).
    k1: float = 0.9
    b: float = 0.5


def lucene_idf(n_docs: int, doc_freq: int) -> float:
    """Non-negative IDF, log(1 + (N - n + 0.5) / (n + 0.5)), as Lucene computes it."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def lucene_idf_array(n_docs: int, doc_freq: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """`lucene_idf` of many document frequencies at once."""
    idf: npt.NDArray[np.float64] = np.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
    return idf


def __getattr__(name: str) -> Any:
    # The rank-bm25 reference (LuceneBM25) loads on first use: only evaluation and tests need it.
    if name == "LuceneBM25":
        from .reference_bm25 import LuceneBM25

        return LuceneBM25
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BM25Params", "LuceneBM25", "lucene_idf", "lucene_idf_array"]
