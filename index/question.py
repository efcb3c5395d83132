"""A question as every front-end and the engine read it: one line, printable, whitespace collapsed."""

from __future__ import annotations


def normalize_question(question: str) -> str:
    """`question` on one line with single spaces; lone surrogates (argv bytes that are not UTF-8), which
    could never be printed or sent, become "?"."""
    return " ".join(question.encode("utf-8", "replace").decode("utf-8").split())
