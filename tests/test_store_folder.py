"""The index folder: the store deletes only what it made, refuses folders that are not index folders,
keeps its files private and leaves no lock behind after a failed first build."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.service import open_service
from index.answer import QAService
from index.builder import build_index
from index.errors import (
    CorpusError,
    EmptyCorpusError,
    IndexDirectoryError,
)
from index.store import CURRENT, LOCK, MANIFEST, MARKER, IndexStore
from tests.conftest import WriteFiles
from tests.test_store_safety import FERRY_ARTICLE, entries

TRENDS_ARTICLE = """\
Title: Gen Z shoppers turn to second-hand fashion
Source: Retail Weekly
Date: 2024-03-11

Resale platforms reported a 40 percent rise in sales to buyers under 25 last year, according to an
industry survey published on Monday.

Analysts said rising prices and concern about waste drove the shift. Thrift stores in three cities
extended their opening hours to meet demand.
"""


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


# ---------------------------------------------------------------- only its own files


def test_a_build_in_a_project_folder_is_refused_and_deletes_nothing(corpus_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "gen-ideas").mkdir(parents=True)
    (project / "gen-ideas" / "pitch.md").write_text(
        "# Newsletter ideas\n\nA weekly digest.", encoding="utf-8"
    )
    (project / "budget.tmp.xlsx").write_bytes(b"PK\x03\x04 spreadsheet")
    (project / "backup.tmp").write_text("notes kept while the laptop was repaired", encoding="utf-8")
    (project / "README.md").write_text("# Newsroom tools\n", encoding="utf-8")
    before = tree(project)
    with pytest.raises(IndexDirectoryError, match="not an article-qa index folder") as info:
        build_index(corpus_dir, project)
    assert "\n" not in str(info.value)
    assert tree(project) == before  # not even a lock or marker file


def test_a_users_folder_named_like_the_lock_is_not_removed(corpus_dir: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    (chosen / "lock").mkdir(parents=True)
    (chosen / "lock" / "combination.txt").write_text("12-34-56", encoding="utf-8")
    with pytest.raises(IndexDirectoryError, match="'lock'"):
        build_index(corpus_dir, chosen)
    assert (chosen / "lock" / "combination.txt").read_text(encoding="utf-8") == "12-34-56"


def test_the_corpus_folder_cannot_be_its_own_index(write_files: WriteFiles) -> None:
    corpus = write_files({"news/gen-z-trends/resale.txt": TRENDS_ARTICLE, "news/ferry.txt": FERRY_ARTICLE})
    before = tree(corpus)
    with pytest.raises(IndexDirectoryError):
        build_index(corpus, corpus)
    with pytest.raises(IndexDirectoryError):
        build_index(corpus, corpus / "news")
    assert tree(corpus) == before


def test_a_rebuild_keeps_what_others_put_in_the_index_folder(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    first = IndexStore(index_dir).current().name
    # Look-alikes of the store's own names that it did not make: a user's folders and files.
    (index_dir / "gen-ideas").mkdir()
    (index_dir / "gen-ideas" / "notes.txt").write_text("story ideas", encoding="utf-8")
    (index_dir / "gen-0123456789ab").mkdir()  # the old generation pattern, but no manifest
    (index_dir / "gen-0123456789ab" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (index_dir / "gen-20240101000000-0123456789ab.tmp").mkdir()  # staging pattern, a user's file
    (index_dir / "gen-20240101000000-0123456789ab.tmp" / "draft.docx").write_bytes(b"PK")
    (index_dir / "budget.tmp.xlsx").write_bytes(b"PK\x03\x04")
    (index_dir / "CURRENT.tmp-notes").write_text("mine", encoding="utf-8")
    theirs = {
        name: tree(index_dir / name) if (index_dir / name).is_dir() else None for name in entries(index_dir)
    }
    theirs = {name: content for name, content in theirs.items() if name not in (CURRENT, LOCK, MARKER, first)}

    build_index(corpus_dir, index_dir)
    second = IndexStore(index_dir).current().name
    assert second != first and not (index_dir / first).exists()
    for name, content in theirs.items():
        assert (index_dir / name).exists(), name
        if content is not None:
            assert tree(index_dir / name) == content, name


def test_generation_names_carry_the_build_time(index_dir: Path) -> None:
    assert re.fullmatch(r"gen-\d{14}-[0-9a-f]{12}", IndexStore(index_dir).current().name)
    assert (index_dir / MARKER).is_file()


def make_previous_version_index(index_dir: Path) -> str:
    """Turn a fresh index into what the previous version left: no marker, `gen-<12 hex>` names, format 1,
    and the leftovers of a killed build."""
    store = IndexStore(index_dir)
    generation = store.current()
    old_name = "gen-5d41402abc4b"
    manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    generation.rename(index_dir / old_name)
    (index_dir / CURRENT).write_text(f"{old_name}\n", encoding="utf-8")
    (index_dir / MARKER).unlink()
    (index_dir / "gen-7d793037a076.tmp").mkdir()
    (index_dir / "gen-7d793037a076.tmp" / "inverted.json").write_text("{", encoding="utf-8")
    (index_dir / "CURRENT.tmp-0badc0de").write_text("gen-", encoding="utf-8")
    return old_name


def test_an_index_of_the_previous_version_is_replaced_cleanly(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    open_service(settings, stream=io.StringIO())
    index_dir = settings.index_dir
    (index_dir / "repl_history").write_text("who won the vote\n", encoding="utf-8")
    make_previous_version_index(index_dir)
    with caplog.at_level(logging.INFO):
        service = open_service(settings, stream=io.StringIO())
    assert service.answer("how many raised beds does the garden have").found
    live = IndexStore(index_dir).current().name
    assert entries(index_dir) == sorted([MARKER, CURRENT, LOCK, live, "repl_history"])
    said = [r for r in caplog.records if r.name == "index.api"]
    assert [r.levelno for r in said] == [logging.INFO]
    assert said[0].getMessage() == "the index was made by an older version of article-qa; updating the index"


def test_other_article_qa_files_do_not_make_a_folder_foreign(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / ".article-qa"
    (index_dir / "eval" / "squad-1a2b3c").mkdir(parents=True)
    (index_dir / "repl_history").write_text("how long did the talks last\n", encoding="utf-8")
    build_index(corpus_dir, index_dir)
    assert QAService.open(index_dir).answer("how long did the talks last").found
    assert (index_dir / "eval" / "squad-1a2b3c").is_dir() and (index_dir / "repl_history").is_file()


# ---------------------------------------------------------------- permissions


def test_a_private_corpus_gives_a_private_index_whatever_the_umask(corpus_dir: Path, tmp_path: Path) -> None:
    for path in corpus_dir.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    index_dir = tmp_path / "private" / "index"
    previous = os.umask(0)  # the most permissive umask: every mode below must be explicit
    try:
        build_index(corpus_dir, index_dir)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(index_dir.stat().st_mode) == 0o700
    generation = IndexStore(index_dir).current()
    assert stat.S_IMODE(generation.stat().st_mode) == 0o700
    files = [*generation.iterdir(), index_dir / CURRENT, index_dir / MARKER, index_dir / LOCK]
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {p.name: 0o600 for p in files}


# ---------------------------------------------------------------- configuration errors and locks


def test_an_index_dir_that_is_a_file_is_a_configuration_error(corpus_dir: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "index.txt"
    not_a_folder.write_text("meeting notes", encoding="utf-8")
    for index_dir in (not_a_folder, not_a_folder / "index"):
        with pytest.raises(IndexDirectoryError, match="cannot use"):
            build_index(corpus_dir, index_dir)
        rc = main(["index", "--corpus", str(corpus_dir), "--index-dir", str(index_dir)])
        assert rc == 2
    assert not_a_folder.read_text(encoding="utf-8") == "meeting notes"
    assert not list(tmp_path.rglob(LOCK))


def test_a_failed_first_build_leaves_no_index_folder_and_no_lock(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    with pytest.raises(CorpusError):
        build_index(tmp_path / "no-such-corpus", tmp_path / "index")
    assert not (tmp_path / "index").exists()
    empty = write_files({"notes/readme.csv": "not an article"})
    with pytest.raises(EmptyCorpusError):
        build_index(empty, tmp_path / "index")
    assert not (tmp_path / "index").exists()
    (tmp_path / "chosen").mkdir()  # a folder the user made for the index stays, empty
    with pytest.raises(EmptyCorpusError):
        build_index(empty, tmp_path / "chosen")
    assert entries(tmp_path / "chosen") == []
    assert not list(tmp_path.rglob(LOCK))


def test_a_failed_rebuild_keeps_the_lock_of_a_live_index(index_dir: Path, corpus_dir: Path) -> None:
    shutil.rmtree(corpus_dir)
    corpus_dir.mkdir()
    with pytest.raises(EmptyCorpusError):
        build_index(corpus_dir, index_dir)
    assert (index_dir / LOCK).is_file() and (index_dir / MARKER).is_file()
    assert QAService.open(index_dir).answer("how long did the talks last").found
