"""The names in an index folder, and which folders and files the store can prove it made."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .manifest import FORMAT_NAME, MANIFEST

CURRENT = "CURRENT"
LOCK = "lock"
MARKER = "ARTICLE-QA-INDEX"
MARKER_TEXT = b"article-qa index folder: article-qa creates, replaces and removes the index files here.\n"
STAGING_MARK = ".article-qa-staging"  # in a generation until its manifest is written
FOLDER_MODE, FILE_MODE = 0o700, 0o600

GENERATION = re.compile(r"gen-\d{14}-[0-9a-f]{12}")
OLD_GENERATION = re.compile(r"gen-[0-9a-f]{12}")  # written before the ARTICLE-QA-INDEX marker existed
TEMP_FILE = re.compile(rf"({CURRENT}|{MARKER})\.tmp-[0-9a-f]{{8}}")
OLD_STAGED_FILE = re.compile(r"[a-z_.]+\.(npy|json|jsonl|txt)(\.tmp-[0-9a-f]{8})?")
# What else article-qa kept in an index folder before the state folder (bot.state): REPL history, eval
# indexes, the Discord command sync,
# and the single-file index of its first versions.
PRODUCT_NAMES = frozenset({"repl_history", "eval", "discord-commands.json", "index.json"})


def is_generation_name(name: str) -> bool:
    return bool(GENERATION.fullmatch(name) or OLD_GENERATION.fullmatch(name))


def is_store_name(name: str) -> bool:
    """A name this store writes in an index directory."""
    return (
        name in (CURRENT, LOCK, MARKER)
        or bool(TEMP_FILE.fullmatch(name))
        or is_generation_name(name.removesuffix(".tmp"))
    )


def is_own_generation(path: Path) -> bool:
    """A finished generation folder of this store: its strict name, and its manifest inside."""
    if not is_generation_name(path.name) or path.is_symlink() or not path.is_dir():
        return False
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT_NAME


def is_own_staging(path: Path) -> bool:
    """An unfinished generation folder of this store: its strict name, and its marker or manifest inside
    (builds before the marker existed: only files with the names of index files, or nothing)."""
    base = path.name.removesuffix(".tmp")
    if base == path.name or not is_generation_name(base) or path.is_symlink() or not path.is_dir():
        return False
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    names = {entry.name for entry in entries}
    if not names or STAGING_MARK in names or MANIFEST in names:
        return True
    return bool(OLD_GENERATION.fullmatch(base)) and all(
        entry.is_file(follow_symlinks=False) and OLD_STAGED_FILE.fullmatch(entry.name) for entry in entries
    )
