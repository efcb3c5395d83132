"""The application's state folder: beside the index, private, and adopting what older versions left."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.state import COMMANDS_MARKER, REPL_HISTORY, state_dir, state_path
from index import build_index
from tests.conftest import make_settings


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    return make_settings(index_dir=tmp_path / "index", **extra)


def test_the_state_folder_is_beside_the_index_and_private(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    history = state_path(settings, REPL_HISTORY)
    assert history == tmp_path / "index-state" / REPL_HISTORY
    assert (history.parent.stat().st_mode & 0o777) == 0o700
    assert state_dir(settings_for(tmp_path, state_dir=tmp_path / "mine")) == tmp_path / "mine"


def test_deleting_the_index_keeps_the_history(corpus_dir: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    build_index(corpus_dir, settings.index_dir)
    history = state_path(settings, REPL_HISTORY)
    history.write_text("when did the bridge close\n", encoding="utf-8")
    shutil.rmtree(settings.index_dir)  # what a user does to start the index afresh
    assert history.read_text(encoding="utf-8") == "when did the bridge close\n"


def test_files_older_versions_kept_in_the_index_folder_move_to_the_state_folder(
    corpus_dir: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    build_index(corpus_dir, settings.index_dir)
    (settings.index_dir / REPL_HISTORY).write_text("who repaired the bridge\n", encoding="utf-8")
    (settings.index_dir / COMMANDS_MARKER).write_text('{"global": "3f2a"}', encoding="utf-8")
    history = state_path(settings, REPL_HISTORY)
    assert history.read_text(encoding="utf-8") == "who repaired the bridge\n"
    assert (history.parent / COMMANDS_MARKER).read_text(encoding="utf-8") == '{"global": "3f2a"}'
    assert not (settings.index_dir / REPL_HISTORY).exists()
    assert not (settings.index_dir / COMMANDS_MARKER).exists()


def test_a_history_already_in_the_state_folder_is_not_overwritten(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    current = state_path(settings, REPL_HISTORY)
    current.write_text("new question\n", encoding="utf-8")
    settings.index_dir.mkdir()
    (settings.index_dir / REPL_HISTORY).write_text("old question\n", encoding="utf-8")
    assert state_path(settings, REPL_HISTORY).read_text(encoding="utf-8") == "new question\n"
