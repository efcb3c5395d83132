"""The engine's public API and its boundary: what bot/ may import, corpus names, healing, error advice."""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import index
from bot.commands import answering_settings, indexed_corpus, run_ask
from bot.config import Settings
from bot.service import open_service, user_message
from index import (
    Answer,
    CorpusError,
    IndexConfig,
    IndexFormatError,
    IndexMissingError,
    QAService,
    build_index,
    index_status,
    open_index,
)
from index.store import MANIFEST, IndexStore
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parent.parent
QUESTION = "how long did Kerry and Lavrov talk in Paris"


def index_imports(path: Path) -> list[str]:
    """Every `index` module a bot/ file imports, as written (`index`, `index.answer`, ...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "index" or name.startswith("index.")]


def test_the_application_imports_only_what_the_engine_exports() -> None:
    offenders = {
        str(path.relative_to(REPO)): [name for name in index_imports(path) if name != "index"]
        for path in sorted((REPO / "bot").rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_every_exported_name_resolves() -> None:
    assert len(set(index.__all__)) == len(index.__all__)  # ruff (RUF022) keeps the list in order
    for name in index.__all__:
        assert getattr(index, name) is not None, name


def test_answering_loads_neither_the_builder_nor_the_corpus_reader() -> None:
    code = (
        "import sys, index; index.QAService; index.open_index; index.IndexConfig; "
        "print(sorted(m for m in sys.modules if m in ('index.builder', 'index.loader', 'rank_bm25')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_manifest_names_the_corpus_by_folder_and_keeps_its_path_for_local_use(
    corpus_dir: Path, index_dir: Path
) -> None:
    manifest = IndexStore(index_dir).read_manifest()
    assert manifest.corpus == corpus_dir.name
    assert manifest.corpus_path == str(corpus_dir.resolve())
    assert QAService.open(index_dir).stats().corpus == corpus_dir.name  # what /about shows
    assert indexed_corpus(index_dir) == corpus_dir.resolve()  # what `ask` reopens


def test_a_moved_checkout_keeps_its_index(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir)
    moved = tmp_path / "moved" / corpus_dir.name
    shutil.copytree(corpus_dir, moved)  # copies modification times too, as `mv` keeps them
    status = index_status(moved, index_dir, IndexConfig())
    assert status.usable, status.reason
    assert QAService.open(index_dir).is_current(moved, IndexConfig())
    (moved / "talks.txt").write_text("Title: Talks\n\nThe talks resumed on Monday.\n", encoding="utf-8")
    assert not QAService.open(index_dir).is_current(moved, IndexConfig())


def test_an_index_built_before_corpus_names_still_serves_and_shows_only_the_name(
    corpus_dir: Path, index_dir: Path
) -> None:
    store = IndexStore(index_dir)
    path = store.current() / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data["corpus"] = data.pop("corpus_path")  # how earlier versions wrote it
    path.write_text(json.dumps(data), encoding="utf-8")
    # (the manifest is not among its own checksummed files, so this is not damage)
    assert index_status(corpus_dir, index_dir, IndexConfig()).usable
    assert QAService.open(index_dir).stats().corpus == corpus_dir.name
    assert indexed_corpus(index_dir) == corpus_dir.resolve()


def test_engine_errors_name_no_flag_and_the_command_line_adds_its_advice(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as missing_corpus:
        open_index(tmp_path / "missing", tmp_path / "index")
    with pytest.raises(IndexMissingError) as missing_index:
        QAService.open(tmp_path / "index")
    damaged = IndexFormatError(
        "index file passages.txt is corrupt (checksum mismatch); the index must be rebuilt"
    )
    for err in (missing_corpus.value, missing_index.value):
        assert "--" not in str(err) and "ARTICLE_QA" not in str(err) and "`article-qa" not in str(err)
    assert user_message(missing_corpus.value) == (
        f"corpus not found: {tmp_path / 'missing'} (pass --corpus PATH or set ARTICLE_QA_CORPUS)"
    )
    assert (
        user_message(missing_index.value)
        == f"no index in {tmp_path / 'index'}; run `article-qa index` to build it"
    )
    assert user_message(damaged) == (
        "index file passages.txt is corrupt (checksum mismatch); run `article-qa index` to rebuild it"
    )


def damage_passage(index_dir: Path, old: bytes, new: bytes) -> None:
    path = IndexStore(index_dir).current() / "passages.txt"
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def test_ask_heals_a_damaged_passage_once_and_answers(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    open_service(settings, stream=io.StringIO())
    damage_passage(settings.index_dir, b"four hours", b"fouv hours")
    out = io.StringIO()
    assert run_ask(settings, QUESTION, as_json=True, rebuild=False, out=out) == 0
    assert "four hours" in json.loads(out.getvalue())["passages"][0]["text"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("index was corrupt (passage")


def test_a_shared_answer_type_is_the_models_one() -> None:
    assert index.Answer is Answer
    assert os.path.basename(index.__file__) == "__init__.py"


def test_questions_are_normalized_one_way_everywhere() -> None:
    assert index.normalize_question("  how long\n\tdid the talks\u00a0last ") == "how long did the talks last"
    assert index.normalize_question("caf\udce9 opening hours") == "caf? opening hours"


def test_a_moved_checkout_answers_without_rebuilding(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copytree(corpus_dir, checkout / "corpus")
    monkeypatch.chdir(checkout)
    relative = make_settings(corpus=Path("corpus"), index_dir=Path(".article-qa"))
    open_service(relative, stream=io.StringIO())
    built = (checkout / ".article-qa" / "CURRENT").read_text(encoding="utf-8")
    moved = tmp_path / "moved"
    checkout.rename(moved)
    monkeypatch.chdir(moved)
    settings = answering_settings(relative, corpus_given=False)
    assert settings.corpus == Path("corpus")  # the recorded path is gone: the configured corpus answers
    assert open_service(settings, stream=io.StringIO()).answer(QUESTION).found
    assert (moved / ".article-qa" / "CURRENT").read_text(encoding="utf-8") == built  # not rebuilt
