"""The answer path's faster readers give what the plain computations give."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from index.citations import SHINGLE_WORDS, _shingles, _words


@given(
    st.lists(
        st.sampled_from(["the", "port", "strike", "ended", "on", "Monday", "30,000", "U.S."]), max_size=40
    )
)
def test_shingles_are_the_hashes_of_every_run_of_words(words: list[str]) -> None:
    text = " ".join(words)
    normalized = _words(text)
    if len(normalized) < SHINGLE_WORDS:
        return
    expected = frozenset(
        hash(normalized[i : i + SHINGLE_WORDS]) for i in range(len(normalized) - SHINGLE_WORDS + 1)
    )
    assert _shingles(text) == expected
