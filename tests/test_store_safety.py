"""The index store on disk: it deletes only its own files, serves the last good index when it cannot
build, detects damaged passages, validates manifests, keeps files private and leaves no stray locks."""

from __future__ import annotations

import errno
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
from bot.service import open_or_stale, open_service, recover_from_damage
from index.answer import QAService
from index.builder import build_index, load_generation
from index.errors import (
    CorpusError,
    EmptyCorpusError,
    IndexDirectoryError,
    IndexFormatError,
    IndexWriteError,
)
from index.records import Records
from index.store import CURRENT, LOCK, MANIFEST, MARKER, IndexStore, Manifest, write_atomic

TRENDS_ARTICLE = """\
Title: Gen Z shoppers turn to second-hand fashion
Source: Retail Weekly
Date: 2024-03-11

Resale platforms reported a 40 percent rise in sales to buyers under 25 last year, according to an
industry survey published on Monday.

Analysts said rising prices and concern about waste drove the shift. Thrift stores in three cities
extended their opening hours to meet demand.
"""

FERRY_ARTICLE = """\
Title: Island ferry resumes after winter storms
Source: Coast Gazette
Date: 2024-02-02

The island ferry resumed sailing on Friday after a three-week pause caused by winter storms.

The operator said the first crossing carried 212 passengers and a delivery of medical supplies.
"""


def entries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def failing_builder(code: int):  # type: ignore[no-untyped-def]
    """A build that fails as the system does on a full disk (ENOSPC) or a read-only folder (EROFS)."""

    def build(*args: object, **kwargs: object) -> Manifest:
        raise OSError(code, os.strerror(code))

    return build


def read_everything(index_dir: Path) -> None:
    records = Records(IndexStore(index_dir).current())
    for passage in range(len(records)):
        records.chunk(passage)
        records.source(records.article_row(passage))


# ---------------------------------------------------------------- 1. only its own files


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


def test_the_corpus_folder_cannot_be_its_own_index(write_files) -> None:  # type: ignore[no-untyped-def]
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
    said = [r for r in caplog.records if r.name == "bot.service"]
    assert [r.levelno for r in said] == [logging.INFO]
    assert said[0].getMessage() == "the index was made by an older version of article-qa; updating the index"


def test_other_article_qa_files_do_not_make_a_folder_foreign(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / ".article-qa"
    (index_dir / "eval" / "squad-1a2b3c").mkdir(parents=True)
    (index_dir / "repl_history").write_text("how long did the talks last\n", encoding="utf-8")
    build_index(corpus_dir, index_dir)
    assert QAService.open(index_dir).answer("how long did the talks last").found
    assert (index_dir / "eval" / "squad-1a2b3c").is_dir() and (index_dir / "repl_history").is_file()


# ---------------------------------------------------------------- 2. stale but serving


def test_a_full_disk_serves_the_last_good_index_with_one_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    open_service(settings, stream=io.StringIO())
    (settings.corpus / "ferry.txt").write_text(FERRY_ARTICLE, encoding="utf-8")
    caplog.clear()
    service = open_service(settings, stream=io.StringIO(), builder=failing_builder(errno.ENOSPC))
    assert service.answer("how long did the talks last").found  # the previous index answers
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert re.fullmatch(
        r"index is out of date \(could not rebuild: No space left on device\); "
        r"answering from the index built \d{4}-\d\d-\d\d \d\d:\d\d UTC",
        warnings[0].getMessage(),
    )


def test_a_read_only_index_folder_reports_the_stale_index_to_the_bot(settings: Settings) -> None:
    first = open_service(settings, stream=io.StringIO())
    (settings.corpus / "ferry.txt").write_text(FERRY_ARTICLE, encoding="utf-8")
    opened = open_or_stale(settings, stream=io.StringIO(), builder=failing_builder(errno.EROFS))
    assert opened.stale_reason == "Read-only file system"
    assert opened.service.generation == first.generation
    assert opened.warning is not None and opened.warning.startswith("index is out of date (could not")
    # Once the folder can be written again, the same call brings the index up to date.
    opened = open_or_stale(settings, stream=io.StringIO())
    assert opened.stale_reason is None and opened.warning is None
    assert (
        "212 passengers" in opened.service.answer("how many passengers did the ferry carry").passages[0].text
    )


def test_a_read_only_folder_seen_by_the_store_is_a_stale_reason(settings: Settings) -> None:
    open_service(settings, stream=io.StringIO())
    (settings.corpus / "ferry.txt").write_text(FERRY_ARTICLE, encoding="utf-8")

    def read_only_store(corpus: Path, index_dir: Path, *args: object, **kwargs: object) -> Manifest:
        try:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(index_dir / LOCK))
        except OSError as err:  # what IndexStore.lock raises when it cannot create its lock file
            raise IndexDirectoryError(f"cannot use {index_dir} as the index directory") from err

    opened = open_or_stale(settings, stream=io.StringIO(), builder=read_only_store)
    assert opened.stale_reason == "Read-only file system"


def test_a_failed_rebuild_of_a_current_index_does_not_call_it_out_of_date(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    open_service(settings, stream=io.StringIO())
    caplog.clear()
    opened = open_or_stale(
        settings, rebuild=True, stream=io.StringIO(), builder=failing_builder(errno.ENOSPC)
    )
    assert opened.stale_reason is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "could not rebuild the index (No space left on device); answering from the current one"
    ]


def test_a_full_disk_without_a_previous_index_is_one_error(settings: Settings) -> None:
    with pytest.raises(IndexWriteError, match="No space left on device") as info:
        open_service(settings, stream=io.StringIO(), builder=failing_builder(errno.ENOSPC))
    assert "\n" not in str(info.value)


def test_a_damaged_index_is_never_served_stale(settings: Settings) -> None:
    open_service(settings, stream=io.StringIO())
    generation = IndexStore(settings.index_dir).current()
    (generation / "passages.npy").write_bytes(b"\x93NUMPY damaged")
    with pytest.raises(IndexWriteError, match="No space left on device"):
        open_service(settings, stream=io.StringIO(), builder=failing_builder(errno.ENOSPC))


@pytest.mark.parametrize("fail_at", [1, 2], ids=["writing the manifest", "writing the pointer"])
def test_a_publish_that_runs_out_of_space_leaves_the_previous_generation_alone(
    corpus_dir: Path, tmp_path: Path, fail_at: int
) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    live = IndexStore(index_dir).current().name
    calls = []

    def writer(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_atomic(path, data)

    store = IndexStore(index_dir, writer=writer)
    with store.lock(), pytest.raises(OSError, match="No space left"):
        store.publish(lambda folder: _copy_generation(index_dir / live, folder))
    # Neither the unfinished nor the finished-but-never-live generation stays behind.
    assert entries(index_dir) == sorted([MARKER, CURRENT, LOCK, live])
    assert QAService.open(index_dir).answer("how long did the talks last").found


def _copy_generation(source: Path, folder: Path) -> Manifest:
    for path in source.iterdir():
        if path.name != MANIFEST:
            shutil.copyfile(path, folder / path.name)
    return IndexStore(source.parent).read_manifest(source)


# ---------------------------------------------------------------- 3. damaged passages


def flip_in_passage_text(index_dir: Path, old: bytes, new: bytes) -> None:
    path = IndexStore(index_dir).current() / "passages.txt"
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def test_a_damaged_passage_is_never_served(index_dir: Path) -> None:
    service = QAService.open(index_dir)  # opening hashes no file: it loads
    flip_in_passage_text(index_dir, b"four hours", b"fouv hours")
    with pytest.raises(IndexFormatError, match=r"passage \d+ of the index is corrupt .*article-qa index"):
        service.answer("how long did Kerry and Lavrov talk in Paris")
    with pytest.raises(IndexFormatError, match="checksum"):
        service.verify()


def test_damaged_article_metadata_is_never_served(index_dir: Path) -> None:
    path = IndexStore(index_dir).current() / "articles.jsonl"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"City Times", b"City Tim3s"))
    with pytest.raises(IndexFormatError, match=r"article \d+ of the index is corrupt"):
        read_everything(index_dir)


def test_a_damaged_passage_found_while_answering_is_rebuilt_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    service = open_service(settings, stream=io.StringIO())
    flip_in_passage_text(settings.index_dir, b"four hours", b"fouv hours")
    with pytest.raises(IndexFormatError) as info:
        service.answer("how long did Kerry and Lavrov talk in Paris")
    caplog.clear()
    service = recover_from_damage(settings, service, info.value, stream=io.StringIO())
    assert "four hours" in service.answer("how long did Kerry and Lavrov talk in Paris").passages[0].text
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and said[0].startswith("index was corrupt (passage ")
    assert said[0].endswith("(checksum mismatch)); rebuilt it")


def test_damage_another_process_already_repaired_is_not_rebuilt_again(settings: Settings) -> None:
    service = open_service(settings, stream=io.StringIO())
    flip_in_passage_text(settings.index_dir, b"four hours", b"fouv hours")
    with pytest.raises(IndexFormatError) as info:
        service.answer("how long did Kerry and Lavrov talk in Paris")
    build_index(settings.corpus, settings.index_dir)  # another bot process found it first
    repaired = IndexStore(settings.index_dir).current()
    service = recover_from_damage(settings, service, info.value, stream=io.StringIO())
    assert service.generation == repaired == IndexStore(settings.index_dir).current()
    assert "four hours" in service.answer("how long did Kerry and Lavrov talk in Paris").passages[0].text


def test_verify_checks_the_generation_the_service_answers_from(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    service = QAService.open(index_dir)
    service.verify()
    served = service.generation
    build_index(corpus_dir, index_dir)  # the served generation is replaced and removed
    with pytest.raises(IndexFormatError, match=served.name):
        service.verify()
    QAService.open(index_dir).verify()


# ---------------------------------------------------------------- 4. opening while a build publishes


def test_opening_while_a_build_publishes_opens_the_new_generation(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    first = IndexStore(index_dir).current()
    opened = []

    def load_racing_a_publish(generation: Path, manifest: Manifest) -> Path:
        if not opened:
            build_index(corpus_dir, index_dir)  # another process publishes between pointer and files
        opened.append(generation)
        load_generation(generation, manifest)
        return generation

    generation = IndexStore(index_dir).open_live(load_racing_a_publish)
    assert opened[0] == first and generation != first
    assert generation == IndexStore(index_dir).current()


def test_a_damaged_index_is_not_retried_as_a_race(index_dir: Path) -> None:
    generation = IndexStore(index_dir).current()
    (generation / "inverted.json").write_text("[]", encoding="utf-8")
    manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"]["inverted.json"]["size"] = 2  # the manifest vouches for the damaged file
    (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    opened = []

    def load(generation: Path, manifest: Manifest) -> None:
        opened.append(generation)
        load_generation(generation, manifest)

    with pytest.raises(IndexFormatError, match="article-qa index"):
        IndexStore(index_dir).open_live(load)
    assert opened == [generation]  # the pointer did not move: damage, not a race, so no second try


# ---------------------------------------------------------------- 5. manifests


def test_a_pointer_to_a_tiny_generation_is_rebuilt(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    open_service(settings, stream=io.StringIO())
    store = IndexStore(settings.index_dir)
    manifest = json.loads((store.current() / MANIFEST).read_text(encoding="utf-8"))
    tiny = settings.index_dir / "gen-20240101000000-0123456789ab"
    tiny.mkdir()
    (tiny / MANIFEST).write_text(json.dumps({**manifest, "files": {}}), encoding="utf-8")
    (settings.index_dir / CURRENT).write_text(f"{tiny.name}\n", encoding="utf-8")
    with pytest.raises(IndexFormatError, match="article-qa index"):
        QAService.open(settings.index_dir)
    caplog.clear()
    service = open_service(settings, stream=io.StringIO())
    assert service.answer("how long did the talks last").found
    assert [r.getMessage()[:17] for r in caplog.records if r.levelno >= logging.WARNING] == [
        "index was corrupt"
    ]
    assert not tiny.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("articles", 10**30),
        ("articles", -1),
        ("passages", 2),  # fewer passages than articles
        ("skipped_files", True),
        ("build_seconds", float("nan")),
        ("build_seconds", -3.0),
        ("built_at", "2024-05-01T10:00:00"),  # no time zone
    ],
)
def test_manifest_values_out_of_range_are_rejected(index_dir: Path, field: str, value: object) -> None:
    generation = IndexStore(index_dir).current()
    manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    manifest[field] = value
    (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match=f"malformed '{field}'"):
        QAService.open(index_dir)


@pytest.mark.parametrize(("field", "delta"), [("articles", -1), ("passages", 1)])
def test_manifest_counts_must_match_the_arrays(index_dir: Path, field: str, delta: int) -> None:
    generation = IndexStore(index_dir).current()
    manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    manifest[field] += delta
    (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="its manifest states"):
        QAService.open(index_dir)


# ---------------------------------------------------------------- 6. permissions


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


# ---------------------------------------------------------------- 7. configuration errors and locks


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


def test_a_failed_first_build_leaves_no_index_folder_and_no_lock(write_files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
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
