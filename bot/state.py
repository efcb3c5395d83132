"""The application's own files (REPL history, Discord command sync, eval indexes), kept apart from the
index, so that clearing either one never deletes the other."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from .config import Settings

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700  # the history holds every question asked: private to its owner
REPL_HISTORY = "repl_history"
COMMANDS_MARKER = "discord-commands.json"  # what was last synced, to skip needless syncs
EVAL_INDEXES = "eval"
# Files earlier versions kept in the index folder; moved to the state folder on first use.
_LEGACY = (REPL_HISTORY, COMMANDS_MARKER)


def state_dir(settings: Settings) -> Path:
    """The configured state folder, or by default one beside the index folder (`.article-qa-state`
    beside `.article-qa`)."""
    if settings.state_dir is not None:
        return settings.state_dir
    index_dir = settings.index_dir
    return index_dir.parent / f"{index_dir.name or 'article-qa'}-state"


def state_path(settings: Settings, name: str) -> Path:
    """`name` in the state folder, which is created (0700) when missing; files earlier versions kept in
    the index folder move there first."""
    folder = state_dir(settings)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(folder, FOLDER_MODE)  # also a folder made by hand or by an older umask
    _adopt_legacy(settings.index_dir, folder)
    return folder / name


def _adopt_legacy(index_dir: Path, folder: Path) -> None:
    for name in _LEGACY:
        old, new = index_dir / name, folder / name
        if old.is_file() and not old.is_symlink() and not new.exists():
            try:
                os.replace(old, new)
            except OSError as err:  # another file system: the next run starts afresh, nothing is lost
                log.debug("could not move %s to %s: %s", old, new, err)
            else:
                log.info("moved %s to the state folder %s", name, folder)
