"""The newest article's date, which time cues count from, read from the stored signatures' dates."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from index import QAService, build_index, update_index
from index.loader import load_corpus
from index.story_table import StoryTable

DATED = Path(__file__).parent / "data" / "dated-news" / "articles"


def _newest_in(corpus: Path) -> dt.date:
    return max(article.date for article in load_corpus(corpus).articles if article.date is not None)


def test_newest_date_is_the_newest_live_article_after_builds_and_updates(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATED, corpus)
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, workers=1)
    newest = QAService.open(index_dir).story_table.newest_date()
    assert newest == _newest_in(corpus)

    # The newest reports are removed: the anchor is the newest article left, never a removed one.
    for article in load_corpus(corpus).articles:
        if article.date is not None and article.date >= newest - dt.timedelta(days=1):
            (corpus / str(article.path)).unlink()
    update_index(corpus, index_dir, workers=1)
    updated = QAService.open(index_dir).story_table.newest_date()
    assert updated == _newest_in(corpus)
    assert updated is not None and updated < newest - dt.timedelta(days=1)


def test_without_stored_signatures_the_article_table_answers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATED, corpus)
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, workers=1)
    service = QAService.open(index_dir)
    for stored in service.generation.glob("*stories.npz"):
        stored.unlink()
    assert StoryTable(service._records, service.generation).newest_date() == _newest_in(corpus)
