"""Limits every front-end shares; free of heavy imports, so the command line's help can use them."""

from __future__ import annotations

MAX_PASSAGES = 10  # the most passages an answer shows, in every front-end
