"""`python -m bot` runs the article-qa command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
