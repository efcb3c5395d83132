"""Shared fixtures: tiny corpora in tmp_path, built indexes, and settings isolated from the real environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from index.answer import QAService
from index.builder import build_index

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = REPO / "corpus"
DATA = Path(__file__).resolve().parent / "data"

WriteFiles = Callable[[Mapping[str, str | bytes]], Path]

TALKS_TXT = """\
Title: Kerry and Lavrov End Paris Talks Without a Deal
Source: Example Wire
URL: https://news.example/kerry-lavrov-paris
Date: 2014-03-30

Skip to main content
Kerry and Lavrov End Paris Talks Without a Deal
Share This article

U.S. Secretary of State John Kerry and Russian Foreign Minister Sergei Lavrov talked for four hours in Paris on Sunday. Mr. Kerry said nothing was resolved.

The meeting was held at the residence of the Russian ambassador. It included a working dinner.

COMMENTS
Please let us know if you're having issues with commenting.
"""

GARDEN_MD = """\
# Community garden opens on Elm Street

The new community garden on Elm Street opened on Saturday with 48 raised beds. Volunteers planted tomatoes, beans and squash.

The city spent $30,000 on soil, fencing and a water line. Organizers expect the first harvest in July.
"""

BRIDGE_HTML = """\
<html><head>
<title>Old bridge closes for repairs | City Times</title>
<meta property="og:title" content="Old bridge closes for repairs">
<meta property="og:site_name" content="City Times">
<meta property="og:url" content="https://citytimes.example/bridge">
<meta property="article:published_time" content="2023-05-02T08:00:00Z">
<script>var tracking = "bridge talks garden";</script>
<style>.x { color: red }</style>
</head><body>
<nav>Home | News | Sports</nav>
<header>City Times</header>
<article>
<h1>Old bridge closes for repairs</h1>
<p>The old stone bridge over the river closed on Tuesday for six months of repairs.</p>
<p>Engineers found cracks in two of the arches during an inspection in March.</p>
</article>
<aside>Read more: bridge stories</aside>
<footer>Copyright 2023 City Times. All rights reserved.</footer>
</body></html>
"""

LIBRARY_JSON = """\
{"id": "library-hours", "title": "Library extends weekend hours", "publisher": "Town Crier",
 "date": "2024-01-15", "url": "https://towncrier.example/library",
 "text": "The public library will stay open until 9 p.m. on Saturdays starting in February. The change follows a survey of 1,200 residents."}
"""


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep every test away from the developer's .env, environment and index directory."""
    import os

    for name in list(os.environ):
        if name.startswith("ARTICLE_QA_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


@pytest.fixture
def write_files(tmp_path: Path) -> WriteFiles:
    """Write `{relative path: content}` under a fresh corpus folder and return the folder."""
    root = tmp_path / "corpus"

    def write(files: Mapping[str, str | bytes]) -> Path:
        root.mkdir(exist_ok=True)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return write


def make_settings(env_file: Path | None = None, **values: Any) -> Settings:
    """Settings from `values` and `env_file` only: never from the .env of the folder the tests run in."""
    return Settings(_env_file=env_file, **values)


@pytest.fixture
def corpus_dir(write_files: WriteFiles) -> Path:
    return write_files(
        {
            "talks.txt": TALKS_TXT,
            "garden.md": GARDEN_MD,
            "city/bridge.html": BRIDGE_HTML,
            "library.json": LIBRARY_JSON,
        }
    )


@pytest.fixture
def index_dir(corpus_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "index"
    build_index(corpus_dir, directory)
    return directory


@pytest.fixture
def qa(index_dir: Path) -> QAService:
    return QAService.open(index_dir)


@pytest.fixture
def settings(corpus_dir: Path, tmp_path: Path) -> Settings:
    return make_settings(corpus=corpus_dir, index_dir=tmp_path / "index")
