"""The index on disk: atomic generations, manifest checks, stale and corrupt indexes."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.service import open_service
from index.answer import QAService
from index.builder import build_index
from index.chunker import ChunkingConfig
from index.errors import IndexFormatError, IndexMissingError, IndexWriteError
from index.settings import IndexConfig, index_status
from index.store import CURRENT, FORMAT_VERSION, LOCK, MANIFEST, MARKER, IndexStore


def live_generation(index_dir: Path) -> Path:
    return IndexStore(index_dir).current()


def test_manifest_records_how_the_index_was_built(index_dir: Path, corpus_dir: Path) -> None:
    manifest = IndexStore(index_dir).read_manifest()
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.settings == IndexConfig().to_json()
    assert manifest.corpus == corpus_dir.name  # shown to users: the name only
    assert manifest.corpus_path == str(corpus_dir.resolve())  # for reopening it on this machine
    assert (manifest.articles, manifest.skipped_files) == (4, 0)
    assert manifest.passages >= 4
    assert manifest.built_at and manifest.build_seconds >= 0
    assert manifest.package_version
    segment = {"passages.npy", "passages.txt", "articles.jsonl", "seg000000.doc_ids.npy"}
    assert set(manifest.files) >= {*segment, "corpus-state.json", "inverted.json"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest.files.values())


def test_rebuild_replaces_the_generation_and_leaves_no_temp_files(index_dir: Path, corpus_dir: Path) -> None:
    first = live_generation(index_dir)
    build_index(corpus_dir, index_dir)
    second = live_generation(index_dir)
    assert first != second and not first.exists()
    names = sorted(p.name for p in index_dir.iterdir())
    assert names == sorted([CURRENT, LOCK, MARKER, second.name])


def test_a_crash_during_a_build_keeps_the_previous_index(
    index_dir: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = live_generation(index_dir)

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("index.builder.write_records", explode)
    (corpus_dir / "new.txt").write_text("New article\n\nFresh text about harbours.", encoding="utf-8")
    with pytest.raises(IndexWriteError, match="disk full"):
        build_index(corpus_dir, index_dir)
    assert live_generation(index_dir) == before
    assert not [p for p in index_dir.iterdir() if ".tmp" in p.name]
    assert QAService.open(index_dir).answer("bridge repairs").found


def test_missing_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="no index in"):
        QAService.open(tmp_path / "nothing")


@pytest.mark.parametrize("damage", ["truncate", "manifest", "pointer", "format"])
def test_corrupt_index_is_detected(index_dir: Path, damage: str) -> None:
    generation = live_generation(index_dir)
    if damage == "truncate":
        path = generation / "passages.txt"
        path.write_bytes(path.read_bytes()[:-10])
    elif damage == "manifest":
        (generation / MANIFEST).write_text("{not json", encoding="utf-8")
    elif damage == "pointer":
        (index_dir / CURRENT).write_text("gen-missing\n", encoding="utf-8")
    else:
        manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
        manifest["format_version"] = 0
        (generation / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="the index must be rebuilt"):
        QAService.open(index_dir)


def test_status_tracks_corpus_and_settings(index_dir: Path, corpus_dir: Path) -> None:
    assert index_status(corpus_dir, index_dir, IndexConfig()).state == "current"
    other = IndexConfig(chunking=ChunkingConfig(max_words=60))
    assert index_status(corpus_dir, index_dir, other).state == "stale"
    (corpus_dir / "garden.md").write_text("# Garden\n\nChanged text.", encoding="utf-8")
    status = index_status(corpus_dir, index_dir, IndexConfig())
    assert (status.state, status.reason) == ("stale", "the corpus changed since the index was built")


def test_service_rebuilds_stale_and_corrupt_indexes(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert open_service(settings).answer("bridge arches cracks").found  # built on first use
    (settings.corpus / "ferry.txt").write_text(
        "Ferry service resumes\n\nThe island ferry resumed sailing on Friday.", encoding="utf-8"
    )
    with caplog.at_level(logging.INFO):
        service = open_service(settings)
    assert "ferry" in service.answer("when did the island ferry resume").passages[0].text.lower()
    assert "the corpus changed since the index was built; updating the index" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    generation = live_generation(settings.index_dir)
    np.save(generation / "passages.npy", np.zeros((1, 2)))  # a file replaced behind our back
    caplog.clear()
    service = open_service(settings)
    assert service.answer("island ferry").found
    assert "index was corrupt" in caplog.text and "truncated or replaced" in caplog.text
    assert "rebuilt it" in caplog.text and "article-qa index" not in caplog.text


def test_opening_a_current_index_removes_what_a_killed_build_left(settings: Settings) -> None:
    open_service(settings)
    index_dir = settings.index_dir
    live = live_generation(index_dir)
    # A build killed after making its generation live, before removing the previous one; and one
    # killed while writing.
    shutil.copytree(live, index_dir / "gen-000000000000")
    (index_dir / "gen-111111111111.tmp").mkdir()
    with (index_dir / "lock").open("a+b") as held:  # a build is running: leave everything alone
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        open_service(settings)
        assert (index_dir / "gen-000000000000").is_dir()
    assert open_service(settings).answer("bridge arches cracks").found
    assert sorted(path.name for path in index_dir.iterdir()) == sorted([live.name, CURRENT, LOCK, MARKER])


def test_a_read_only_index_folder_still_opens(settings: Settings) -> None:
    open_service(settings)
    (settings.index_dir / "lock").unlink()
    settings.index_dir.chmod(0o555)
    try:
        if os.access(settings.index_dir, os.W_OK):
            pytest.skip("root writes to read-only folders (tests run as root here)")
        assert open_service(settings).answer("bridge arches cracks").found
    finally:
        settings.index_dir.chmod(0o755)
