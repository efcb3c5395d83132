"""The index store when things go wrong: it serves the last good index when it cannot build, detects
damaged passages, survives publishes while opening and validates manifests."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import open_or_stale, open_service, recover_from_damage
from index import stale_warning
from index.answer import QAService
from index.builder import build_index
from index.errors import (
    IndexDirectoryError,
    IndexFormatError,
    IndexWriteError,
)
from index.generation import load_generation
from index.records import Records
from index.store import CURRENT, LOCK, MANIFEST, MARKER, IndexStore, Manifest, write_atomic

FERRY_ARTICLE = """\
Title: Island ferry resumes after winter storms
Source: Coast Gazette
Date: 2024-02-02

The island ferry resumed sailing on Friday after a three-week pause caused by winter storms.

The operator said the first crossing carried 212 passengers and a delivery of medical supplies.
"""


def entries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def failing_builder(code: int) -> Callable[..., Manifest]:
    """A build that fails as the system does on a full disk (ENOSPC) or a read-only folder (EROFS)."""

    def build(*args: object, **kwargs: object) -> Manifest:
        raise OSError(code, os.strerror(code))

    return build


def read_everything(index_dir: Path) -> None:
    records = Records(IndexStore(index_dir).current())
    for passage in range(len(records)):
        records.chunk(passage)
        records.source(records.article_row(passage))


# ---------------------------------------------------------------- stale but serving


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
    assert opened.generation == first.generation
    warning = stale_warning(opened)
    assert warning is not None and warning.startswith("index is out of date (could not")
    # Once the folder can be written again, the same call brings the index up to date.
    opened = open_or_stale(settings, stream=io.StringIO())
    assert opened.stale_reason is None and stale_warning(opened) is None
    assert "212 passengers" in opened.answer("how many passengers did the ferry carry").passages[0].text


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


# ---------------------------------------------------------------- damaged passages


def flip_in_passage_text(index_dir: Path, old: bytes, new: bytes) -> None:
    path = IndexStore(index_dir).current() / "passages.txt"
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def test_a_damaged_passage_is_never_served(index_dir: Path) -> None:
    service = QAService.open(index_dir)  # opening hashes no file: it loads
    flip_in_passage_text(index_dir, b"four hours", b"fouv hours")
    with pytest.raises(
        IndexFormatError, match=r"passage \d+ of the index is corrupt .*the index must be rebuilt"
    ):
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


# ---------------------------------------------------------------- opening while a build publishes


def test_opening_while_a_build_publishes_opens_the_new_generation(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    first = IndexStore(index_dir).current()
    opened: list[Path] = []

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
    opened: list[Path] = []

    def load(generation: Path, manifest: Manifest) -> None:
        opened.append(generation)
        load_generation(generation, manifest)

    with pytest.raises(IndexFormatError, match="the index must be rebuilt"):
        IndexStore(index_dir).open_live(load)
    assert opened == [generation]  # the pointer did not move: damage, not a race, so no second try


# ---------------------------------------------------------------- manifests


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
    with pytest.raises(IndexFormatError, match="the index must be rebuilt"):
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
