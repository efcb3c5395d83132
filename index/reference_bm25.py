"""The rank-bm25 reference ranking that every engine must match, with Lucene's IDF."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from .bm25 import BM25Params, lucene_idf

DEFAULT_PARAMS = BM25Params()


class LuceneBM25(BM25Okapi):  # type: ignore[misc]
    """rank-bm25's Okapi BM25 with Lucene's IDF.

    Stock BM25Okapi gives terms found in half or more of the documents a zero or floored IDF,
    so in a small corpus the right passage can score 0 (dorianbrown/rank_bm25#39).
    """

    def __init__(self, corpus: Sequence[Sequence[str]], params: BM25Params = DEFAULT_PARAMS) -> None:
        super().__init__(corpus, k1=params.k1, b=params.b)

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.doc_freqs_total = Counter(nd)
        self.idf = {word: lucene_idf(self.corpus_size, freq) for word, freq in nd.items()}

    def top_k(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Best `k` (passage id, score) pairs among passages sharing a term with the query."""
        known = [term for term in dict.fromkeys(terms) if term in self.idf]
        if not known or k <= 0:
            return []
        scores = np.asarray(self.get_scores(known), dtype=np.float64)
        matching = np.flatnonzero(scores > 0.0)
        if matching.size > k:
            matching = matching[np.argpartition(-scores[matching], k - 1)[:k]]
        order = sorted(matching.tolist(), key=lambda i: (-scores[i], i))
        return [(i, float(scores[i])) for i in order]
