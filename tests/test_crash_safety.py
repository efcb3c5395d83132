"""Crash safety of the index: SIGKILLed and concurrent builds, corrupt and foreign index files."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.crash_loop import BUILD_CHILD, build_stages, write_corpus, write_extra, write_vault
from bot.config import Settings
from bot.service import open_service
from index.answer import QAService
from index.builder import build_index
from index.chunker import ChunkingConfig
from index.errors import IndexDirectoryError, IndexFormatError, IndexMissingError
from index.records import Records
from index.settings import IndexConfig, index_status
from index.store import CURRENT, LOCK, MANIFEST, MARKER, IndexStore, Manifest
from index.update import update_index
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
KILLS = 21  # at least 20 kills, whatever the timing
KILL_LOOP_ARTICLES = 2000
UPDATE_KILLS = 15
UPDATE_LOOP_ARTICLES = 1000


# ---------------------------------------------------------------- corpus and subprocess utilities


def vault_code(service: QAService) -> str | None:
    """The code the index answers with; the vault words appear in no other article."""
    answer = service.answer("secret vault code")
    codes = {m.group(1) for p in answer.passages for m in re.finditer(r"vault code is (\w+)", p.text)}
    assert len(codes) <= 1, f"one index answered with several vault codes: {codes}"
    return codes.pop() if codes else None


def child_env() -> dict[str, str]:
    """The test's environment without settings that could leak in, and with the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLE_QA_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True, slots=True)
class BuildRun:
    """What one build subprocess did before it ended or was killed."""

    killed: bool  # SIGKILLed before it reported success
    stages: dict[str, float]  # stage -> seconds after "ready"
    stderr: str


def start_build(corpus: Path, index_dir: Path, mode: str = "build") -> tuple[subprocess.Popen[str], float]:
    """Start a build (or, with `mode` "update", an update) subprocess; returns it and the monotonic time it
    became ready (imports done)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", BUILD_CHILD, str(corpus), str(index_dir), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=corpus.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready"), f"build child did not start: {line!r} {proc.communicate()[1]}"
    return proc, float(line.split()[1])


def kill_build_after(
    proc: subprocess.Popen[str], ready: float, delay: float, *, stage: str | None = None
) -> BuildRun:
    """SIGKILL the build `delay` seconds after it became ready, or after it reported `stage` (unless it
    has finished by then)."""
    assert proc.stdout is not None
    seen = []
    if stage is None:
        time.sleep(max(0.0, ready + delay - time.monotonic()))
    else:
        while (line := proc.stdout.readline()) and not line.startswith(f"stage {stage}"):
            seen.append(line)
        seen.append(line)
        time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    out = "".join(seen) + out
    stages = build_stages(out, ready)
    if proc.returncode not in (0, -signal.SIGKILL):
        pytest.fail(f"build failed with exit code {proc.returncode}:\n{err}")
    return BuildRun(killed="done" not in stages, stages=stages, stderr=err)


def index_entries(index_dir: Path) -> list[str]:
    return sorted(path.name for path in index_dir.iterdir()) if index_dir.exists() else []


def settings_for(corpus: Path, index_dir: Path, **overrides: Any) -> Settings:
    return make_settings(corpus=corpus, index_dir=index_dir, **overrides)


# ---------------------------------------------------------------- 1. SIGKILL at any moment


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_an_index_that_loads_wrongly(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, KILL_LOOP_ARTICLES)
    rng = random.Random(1234)
    possible: list[str] = []  # vault codes the live index may hold, oldest first
    loaded_once = False
    whole, tail = 3.0, 0.4  # seconds a build takes, and from its "indexing" report to its end (updated)
    kills = rounds = 0
    while kills < KILLS:
        assert rounds < 3 * KILLS, "too many builds finished before the kill: the kill window is wrong"
        code = f"code{rounds}"
        rounds += 1
        write_vault(corpus, code)
        possible.append(code)
        proc, ready = start_build(corpus, index_dir)
        # Half the kills anywhere in the build, half in its last part (writing files, fsync, rename,
        # pointer swap), which is short but where a careless store would break.
        if rng.random() < 0.5:
            run = kill_build_after(proc, ready, rng.uniform(0.0, whole * 1.05))
        else:
            run = kill_build_after(proc, ready, rng.uniform(0.0, tail * 1.1), stage="indexing")
        if run.killed:
            kills += 1
        else:
            possible = [code]  # it finished: its generation is live
            whole, tail = run.stages["done"], run.stages["done"] - run.stages.get("indexing", 0.0)

        # The previous index (or the killed build's, if it got as far as swapping the pointer) loads.
        try:
            service = QAService.open(index_dir)
        except IndexMissingError:
            assert not loaded_once, "an index that loaded before is gone after a killed build"
        else:
            loaded_once = True
            service.verify()  # every checksum, not only those of small files
            found = vault_code(service)
            assert found in possible, f"index answers {found!r}; expected one of {possible}"
            assert service.manifest.articles == KILL_LOOP_ARTICLES + 1
            possible = possible[possible.index(found) :]  # never goes back to an older build
        # Killed builds leave at most one of each leftover (staging folder, temp pointer, generation never
        # made live) behind: each build removes what the ones before it left.
        leftovers = [n for n in index_entries(index_dir) if n not in (CURRENT, LOCK, MARKER)]
        assert len(leftovers) <= 3, leftovers

    # The next run serves the current corpus: it rebuilds unless the last killed build got through.
    service = open_service(settings_for(corpus, index_dir), stream=io.StringIO())
    assert vault_code(service) == possible[-1]
    entries = index_entries(index_dir)
    assert len(entries) == 4 and entries[:2] == [MARKER, CURRENT] and entries[3] == LOCK, entries
    assert entries[2].startswith("gen-") and not entries[2].endswith(".tmp")
    assert kills >= 20


@pytest.mark.slow
def test_sigkill_during_updates_never_loses_the_last_good_index(tmp_path: Path) -> None:
    # Each round changes the vault article, adds one article and removes another: the update links the
    # live segments, writes tombstones and a new segment, and merges segments every few rounds.
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, UPDATE_LOOP_ARTICLES)
    write_extra(corpus, 0)
    build_index(corpus, index_dir, workers=1)
    rng = random.Random(4321)
    possible = ["initial"]
    whole, tail = 1.0, 0.2  # seconds an update takes, and from its "indexing" report to its end (updated)
    kills = rounds = 0
    while kills < UPDATE_KILLS:
        assert rounds < 4 * UPDATE_KILLS, (
            "too many updates finished before the kill: the kill window is wrong"
        )
        code = f"code{rounds}"
        rounds += 1
        write_vault(corpus, code)
        write_extra(corpus, rounds)
        possible.append(code)
        proc, ready = start_build(corpus, index_dir, "update")
        if rng.random() < 0.5:
            run = kill_build_after(proc, ready, rng.uniform(0.0, whole * 1.05))
        else:
            run = kill_build_after(proc, ready, rng.uniform(0.0, tail * 1.1), stage="indexing")
        if run.killed:
            kills += 1
        else:
            possible = [code]
            whole, tail = run.stages["done"], run.stages["done"] - run.stages.get("indexing", 0.0)
        service = QAService.open(index_dir)  # never missing: a good index existed before the first kill
        service.verify()
        found = vault_code(service)
        assert found in possible, f"index answers {found!r}; expected one of {possible}"
        assert service.manifest.articles == UPDATE_LOOP_ARTICLES + 2
        possible = possible[possible.index(found) :]
        leftovers = [n for n in index_entries(index_dir) if n not in (CURRENT, LOCK, MARKER)]
        assert len(leftovers) <= 3, leftovers

    report = update_index(corpus, index_dir, workers=1)
    assert not report.full, report.reason
    service = QAService.open(index_dir)
    assert vault_code(service) == possible[-1]
    assert service.answer("ferry timetable changes").passages[0].text.endswith(f"the {rounds}th time.")
    entries = index_entries(index_dir)
    assert len(entries) == 4 and entries[2].startswith("gen-") and not entries[2].endswith(".tmp")


UPDATE_CHILD = """
import sys, time
from pathlib import Path
from index.update import update_index
corpus, index_dir, barrier, me, count = sys.argv[1:]
(Path(barrier) / me).touch()
while len(list(Path(barrier).iterdir())) < int(count):
    time.sleep(0.005)
print(update_index(Path(corpus), Path(index_dir), workers=1).summary)
"""


def test_updates_started_at_once_apply_every_change_once(tmp_path: Path) -> None:
    corpus, index_dir, barrier = tmp_path / "corpus", tmp_path / "index", tmp_path / "barrier"
    write_corpus(corpus, 200)
    build_index(corpus, index_dir, workers=1)
    write_vault(corpus, "changed")
    write_extra(corpus, 1)
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPDATE_CHILD, str(corpus), str(index_dir), str(barrier), str(n), "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for n in range(3)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], [err for _, err in results]
    # The lock lets one update apply the changes; the others find (at most) files to read again.
    applied = [out for out, _ in results if out.startswith("added 1, updated 1, removed 0")]
    assert len(applied) == 1, results
    service = QAService.open(index_dir)
    service.verify()
    assert vault_code(service) == "changed" and service.manifest.articles == 202


def test_leftovers_of_killed_builds_are_removed_even_when_the_next_build_fails(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, 5)
    build_index(corpus, index_dir)
    live = IndexStore(index_dir).current().name
    # What builds killed at each step leave: a staging folder, a temp pointer, a generation never made live.
    (index_dir / "gen-0123456789ab.tmp").mkdir()
    (index_dir / "gen-0123456789ab.tmp" / "terms.json").write_text("{", encoding="utf-8")
    (index_dir / "CURRENT.tmp-0badc0de").write_text("gen-", encoding="utf-8")
    shutil.copytree(index_dir / live, index_dir / "gen-ba9876543210")

    def dies(folder: Path) -> Manifest:
        raise OSError(28, "No space left on device")

    store = IndexStore(index_dir)
    with store.lock(), pytest.raises(OSError):
        store.publish(dies)
    assert index_entries(index_dir) == [MARKER, CURRENT, live, LOCK]
    assert vault_code(QAService.open(index_dir)) == "initial"


# ---------------------------------------------------------------- concurrent builds

# Waits at a barrier (files in a folder) so that every process starts at the same moment.
OPEN_CHILD = """
import io, logging, sys, time
from pathlib import Path
from bot.config import Settings
from bot.service import open_service
corpus, index_dir, barrier, me, count = sys.argv[1:]
logging.basicConfig(level=logging.INFO, format="%(message)s")
(Path(barrier) / me).touch()
while len(list(Path(barrier).iterdir())) < int(count):
    time.sleep(0.005)
service = open_service(Settings(_env_file=None, corpus=corpus, index_dir=index_dir), stream=io.StringIO())
print(service.answer("secret vault code").passages[0].text)
"""


def test_processes_opening_a_missing_index_at_once_build_it_once(tmp_path: Path) -> None:
    corpus, index_dir, barrier = tmp_path / "corpus", tmp_path / "index", tmp_path / "barrier"
    write_corpus(corpus, 300)
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_CHILD, str(corpus), str(index_dir), str(barrier), str(n), "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for n in range(3)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "vault code is initial" in out
    logs = "".join(err for _, err in results)
    # Without the re-check under the build lock, each process rebuilt the index in turn.
    assert logs.count("indexed ") == 1, logs
    assert logs.count("built meanwhile by another process") == 2, logs
    assert len([n for n in index_entries(index_dir) if n.startswith("gen-")]) == 1


def test_builds_started_at_once_on_one_directory_leave_one_whole_index(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    corpora = []
    for n in range(3):
        corpus = tmp_path / f"corpus{n}"
        write_corpus(corpus, 150, seed=n)
        write_vault(corpus, f"corpus{n}")
        corpora.append(corpus)
    runs = [start_build(corpus, index_dir) for corpus in corpora]
    for proc, _ in runs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    service = QAService.open(index_dir)
    service.verify()
    # The live index is whole and self-consistent: its answers come from the corpus its manifest names.
    assert vault_code(service) == Path(service.manifest.corpus).name
    assert len([n for n in index_entries(index_dir) if n.startswith("gen-")]) == 1
    assert not [n for n in index_entries(index_dir) if ".tmp" in n]


# ---------------------------------------------------------------- 2. corrupt and foreign files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small corpus and its index, copied by each test that damages it."""
    base = tmp_path_factory.mktemp("built")
    corpus, index_dir = base / "corpus", base / "index"
    write_corpus(corpus, 40)
    build_index(corpus, index_dir, IndexConfig(chunking=ChunkingConfig(150, 1)))
    return corpus, index_dir


@pytest.fixture
def damaged(built: tuple[Path, Path], tmp_path: Path) -> Callable[[], tuple[Path, Path]]:
    """A fresh copy of the built index (and its generation folder) per call."""
    source = built[1]
    counter = iter(range(1000))

    def copy() -> tuple[Path, Path]:
        index_dir = tmp_path / f"index{next(counter)}"
        shutil.copytree(source, index_dir)
        return index_dir, IndexStore(index_dir).current()

    return copy


def data_files(built: tuple[Path, Path]) -> list[str]:
    """Every file of a generation: the manifest and whatever the engine and records wrote."""
    return sorted(path.name for path in IndexStore(built[1]).current().iterdir())


def assert_detected_and_rebuilt(
    corpus: Path, index_dir: Path, caplog: pytest.LogCaptureFixture, what: str
) -> None:
    """Loading fails with a one-line IndexFormatError; opening the service warns once and rebuilds."""
    with pytest.raises(IndexFormatError) as info:
        QAService.open(index_dir)
    message = str(info.value)
    # The engine says what is wrong, never how a front-end's users fix it.
    assert "\n" not in message and "`article-qa" not in message, f"{what}: {message}"
    assert message.endswith("the index must be rebuilt"), f"{what}: {message}"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        service = open_service(settings_for(corpus, index_dir), stream=io.StringIO())
    # One line says what the service does: a warning for damage, information for an index made with
    # other settings or by an older version (nothing is wrong with it).
    said = [r for r in caplog.records if r.name == "index.api" or r.levelno >= logging.WARNING]
    assert len(said) == 1, f"{what}: {[r.getMessage() for r in said]}"
    line = said[0].getMessage()
    assert "\n" not in line and said[0].exc_info is None and "run `article-qa index`" not in line
    if said[0].levelno >= logging.WARNING:
        assert line.startswith("index was corrupt") and line.endswith("rebuilt it"), line
    else:
        assert line.endswith("; updating the index"), line
    assert vault_code(service) == "initial", what
    service.verify()


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flipper(position: float) -> Callable[[Path], None]:
    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[min(int(len(data) * position), len(data) - 1)] ^= 0x04
        path.write_bytes(bytes(data))

    return flip


def to_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x", encoding="utf-8")


def empty(path: Path) -> None:
    path.write_bytes(b"")


MUTATIONS: dict[str, Callable[[Path], None]] = {
    "truncated": truncate,
    "emptied": empty,
    "deleted": Path.unlink,
    "bit-flipped at the start": flipper(0.0),
    "bit-flipped in the header": flipper(0.02),
    "bit-flipped in the middle": flipper(0.5),
    "bit-flipped at the end": flipper(1.0),
    "a folder": to_folder,
}


def read_everything(index_dir: Path) -> None:
    """Read every passage and article of the live index, as answering questions eventually does."""
    records = Records(IndexStore(index_dir).current())
    for passage in range(len(records)):
        records.chunk(passage)
        records.source(records.article_row(passage))


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_each_damaged_index_file_is_detected_and_rebuilt(
    mutation: str,
    built: tuple[Path, Path],
    damaged: Callable[[], tuple[Path, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in data_files(built):
        index_dir, generation = damaged()
        MUTATIONS[mutation](generation / name)
        try:
            service = QAService.open(index_dir)
        except IndexFormatError:
            assert_detected_and_rebuilt(built[0], index_dir, caplog, f"{name} {mutation}")
            continue
        # Opening hashes no file, so a flipped bit inside an array or a text can load: the full check
        # catches it, and the text files are checked passage by passage (and article by article) on read.
        assert mutation.startswith("bit-flipped"), f"{name} {mutation} loaded"
        if name == MANIFEST:
            # A flipped bit may leave valid JSON that still describes the files: then the index is
            # intact, and must answer as before.
            assert vault_code(service) == "initial"
            continue
        with pytest.raises(IndexFormatError, match="checksum"):
            service.verify()
        if name in ("passages.txt", "articles.jsonl"):
            with pytest.raises(IndexFormatError, match="corrupt"):
                read_everything(index_dir)


def test_a_file_swapped_in_from_another_index_is_detected(
    built: tuple[Path, Path],
    damaged: Callable[[], tuple[Path, Path]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other_corpus, other_index = tmp_path / "other-corpus", tmp_path / "other-index"
    write_corpus(other_corpus, 40, seed=99)
    build_index(other_corpus, other_index)
    other = IndexStore(other_index).current()
    for name in data_files(built):
        if name == MANIFEST:
            continue
        index_dir, generation = damaged()
        if (other / name).read_bytes() == (generation / name).read_bytes():
            continue  # the same bytes in both indexes (passage lengths, say): nothing to detect
        shutil.copyfile(other / name, generation / name)
        try:
            service = QAService.open(index_dir)
        except IndexFormatError:
            assert_detected_and_rebuilt(built[0], index_dir, caplog, f"foreign {name}")
            continue
        with pytest.raises(IndexFormatError, match="checksum"):  # same size: only the full check sees it
            service.verify()


def test_an_unlisted_file_in_the_generation_is_detected(
    built: tuple[Path, Path], damaged: Callable[[], tuple[Path, Path]], caplog: pytest.LogCaptureFixture
) -> None:
    index_dir, generation = damaged()
    (generation / "extra.npy").write_bytes(b"\x93NUMPY")
    assert_detected_and_rebuilt(built[0], index_dir, caplog, "unlisted file")


def edit_manifest(generation: Path, change: Callable[[dict[str, object]], object]) -> None:
    path = generation / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def settings_of(data: dict[str, object]) -> dict[str, dict[str, object]]:
    settings = data["settings"]
    assert isinstance(settings, dict)
    return settings


MANIFEST_EDITS: dict[str, Callable[[dict[str, object]], object]] = {
    "an older format": lambda d: d.update(format_version=0),
    "another program's format": lambda d: d.update(format="someone-elses-index"),
    "an older analyzer": lambda d: settings_of(d)["analyzer"].update(version=0),
    "an unknown stemmer": lambda d: settings_of(d)["analyzer"].update(language="klingon"),
    "unknown analyzer options": lambda d: settings_of(d)["analyzer"].update(lowercase=False),
    "no chunking settings": lambda d: settings_of(d).pop("chunking"),
    "settings that are not an object": lambda d: d.update(settings="bm25"),
    "a file list that is not an object": lambda d: d.update(files=["terms.json"]),
    "a file entry without a checksum": lambda d: d.update(
        files={name: {"size": 1} for name in d["files"]}  # type: ignore[attr-defined]
    ),
    "no files listed": lambda d: d.update(files={}),
    "a size that is text": lambda d: d.update(
        files={n: {**e, "size": str(e["size"])} for n, e in d["files"].items()}  # type: ignore[attr-defined]
    ),
    "an unreadable build date": lambda d: d.update(built_at="yesterday"),
    "a missing field": lambda d: d.pop("passages"),
    "a count that is text": lambda d: d.update(articles="40"),
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS))
def test_a_foreign_or_malformed_manifest_is_detected_and_rebuilt(
    edit: str,
    built: tuple[Path, Path],
    damaged: Callable[[], tuple[Path, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    index_dir, generation = damaged()
    edit_manifest(generation, MANIFEST_EDITS[edit])
    assert_detected_and_rebuilt(built[0], index_dir, caplog, edit)


@pytest.mark.parametrize(
    "content",
    [b"[" * 200_000, b'{"format": "article-qa-index", "format_version": 1}', b"\xff\xfe\x00", b"null"],
    ids=["deeply nested", "incomplete", "not UTF-8", "null"],
)
def test_a_garbage_manifest_is_detected_and_rebuilt(
    content: bytes,
    built: tuple[Path, Path],
    damaged: Callable[[], tuple[Path, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    index_dir, generation = damaged()
    (generation / MANIFEST).write_bytes(content)
    assert_detected_and_rebuilt(built[0], index_dir, caplog, repr(content[:20]))


POINTERS: dict[str, Callable[[Path], object]] = {
    "empty": lambda p: p.write_bytes(b""),
    "not UTF-8": lambda p: p.write_bytes(b"\xff\xfegen-"),
    "a missing generation": lambda p: p.write_text("gen-000000000000\n", encoding="utf-8"),
    "a path outside": lambda p: p.write_text("gen-/../../etc\n", encoding="utf-8"),
    "a NUL byte": lambda p: p.write_bytes(b"gen-\x00\n"),
    "a staging folder": lambda p: p.write_text(p.read_text(encoding="utf-8").strip() + ".tmp\n", "utf-8"),
    "a folder": to_folder,
}


@pytest.mark.parametrize("pointer", list(POINTERS))
def test_a_broken_pointer_is_detected_and_rebuilt(
    pointer: str,
    built: tuple[Path, Path],
    damaged: Callable[[], tuple[Path, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    index_dir, _ = damaged()
    POINTERS[pointer](index_dir / CURRENT)
    assert_detected_and_rebuilt(built[0], index_dir, caplog, pointer)
    assert not (index_dir / CURRENT).is_dir()


def test_a_generation_that_is_a_file_is_detected_and_rebuilt(
    built: tuple[Path, Path], damaged: Callable[[], tuple[Path, Path]], caplog: pytest.LogCaptureFixture
) -> None:
    index_dir, generation = damaged()
    shutil.rmtree(generation)
    generation.write_text("not a folder", encoding="utf-8")
    assert_detected_and_rebuilt(built[0], index_dir, caplog, "generation is a file")


def test_a_folder_where_the_lock_file_belongs_does_not_stop_a_build(
    built: tuple[Path, Path], damaged: Callable[[], tuple[Path, Path]]
) -> None:
    index_dir, _ = damaged()
    to_folder(index_dir / "lock")
    build_index(built[0], index_dir)
    assert (index_dir / "lock").is_file()


def test_an_index_directory_that_is_a_file_is_reported_in_one_line(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, 3)
    index_dir.write_text("oops", encoding="utf-8")
    with pytest.raises(IndexDirectoryError, match=r"cannot use .* as the index directory") as info:
        open_service(settings_for(corpus, index_dir), stream=io.StringIO())
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode (tests run as root here)")
def test_an_unreadable_index_file_is_detected_and_rebuilt(
    built: tuple[Path, Path], damaged: Callable[[], tuple[Path, Path]], caplog: pytest.LogCaptureFixture
) -> None:
    index_dir, generation = damaged()
    for path in generation.iterdir():
        if path.name != MANIFEST:
            path.chmod(0)
    assert_detected_and_rebuilt(built[0], index_dir, caplog, "unreadable")


def test_a_whole_index_of_another_corpus_is_rebuilt_not_served(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    other_corpus, index_dir = tmp_path / "other-corpus", tmp_path / "index"
    write_corpus(other_corpus, 10, seed=5)
    write_vault(other_corpus, "other")
    build_index(other_corpus, index_dir)
    assert index_status(built[0], index_dir, IndexConfig()).state == "stale"
    service = open_service(settings_for(built[0], index_dir), stream=io.StringIO())
    assert vault_code(service) == "initial"


def test_an_index_from_another_analyzer_or_chunking_is_rebuilt(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    corpus, index_dir = built[0], tmp_path / "index"
    build_index(corpus, index_dir, IndexConfig(chunking=ChunkingConfig(40, 0)))
    # It is a valid index with its own settings: loading it directly answers from it consistently...
    assert vault_code(QAService.open(index_dir)) == "initial"
    # ...but the service configured otherwise rebuilds it rather than mixing settings.
    settings = settings_for(corpus, index_dir)
    assert index_status(corpus, index_dir, IndexConfig()).state == "stale"
    service = open_service(settings, stream=io.StringIO())
    assert service.manifest.settings == IndexConfig().to_json()


def test_an_index_in_an_older_layout_is_replaced(built: tuple[Path, Path], tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "index.json").write_text('{"manifest": {"schema": 1}, "chunks": []}', encoding="utf-8")
    with pytest.raises(IndexMissingError):
        QAService.open(index_dir)
    assert vault_code(open_service(settings_for(built[0], index_dir), stream=io.StringIO())) == "initial"


# ---------------------------------------------------------------- contents the checksum cannot catch


def vouch_for(generation: Path, name: str) -> None:
    """Rewrite the manifest so that it describes `name` as it now is (a writer bug, or a large file
    that is not checksummed on load)."""
    path = generation / name

    def change(data: dict[str, object]) -> None:
        files = data["files"]
        assert isinstance(files, dict)
        files[name] = {"size": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

    edit_manifest(generation, change)


def npy_with_header(path: Path, header_edit: Callable[[str], str]) -> None:
    """Rewrite the header text of an .npy file, keeping its length (so the data stays in place)."""
    data = path.read_bytes()
    length = int.from_bytes(data[8:10], "little")
    header = data[10 : 10 + length].decode("latin1")
    new = header_edit(header).ljust(length - 1)[: length - 1] + "\n"
    path.write_bytes(data[:10] + new.encode("latin1") + data[10 + length :])


NPY_DAMAGE: dict[str, Callable[[str], str]] = {
    "bad magic": lambda h: h,  # replaced below: the magic string itself
    "object dtype": lambda h: h.replace("'<i8'", "'|O'"),
    "unparsable header": lambda h: h.replace("{", "(", 1),
    "more rows than data": lambda h: re.sub(r"\((\d+)", lambda m: f"({int(m.group(1)) * 10}", h, count=1),
    "fewer columns": lambda h: h.replace(", 5)", ", 4)"),
    "another dtype": lambda h: h.replace("'<i8'", "'<f4'"),
    "one dimension": lambda h: re.sub(r"\((\d+), 5\)", r"(\1,)", h),
}


@pytest.mark.parametrize("damage", list(NPY_DAMAGE))
def test_an_npy_file_that_its_manifest_vouches_for_but_is_wrong_fails_to_load_cleanly(
    damage: str, built: tuple[Path, Path], damaged: Callable[[], tuple[Path, Path]]
) -> None:
    for path in sorted(IndexStore(built[1]).current().glob("*.npy")):
        index_dir, generation = damaged()
        target = generation / path.name
        if damage == "bad magic":
            target.write_bytes(b"\x93NUMPX" + target.read_bytes()[6:])
        else:
            npy_with_header(target, NPY_DAMAGE[damage])
        if target.read_bytes() == path.read_bytes():
            continue  # this damage does not apply to this file's header
        vouch_for(generation, path.name)
        try:
            service = QAService.open(index_dir)
        except IndexFormatError as err:
            assert "\n" not in str(err)
            continue
        # If it loads, it must still answer correctly (the damage was harmless), never crash.
        assert vault_code(service) == "initial", f"{path.name}: {damage}"


def test_files_are_size_checked_on_load_and_checksummed_by_verify(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index")
    big = "big.bin"
    size = 80 * 1024 * 1024  # larger than any size earlier versions checksummed on every load

    def fill(folder: Path) -> Manifest:
        with (folder / big).open("wb") as handle:  # sparse: cheap to write, read back as zeros
            handle.truncate(size)
        return Manifest({}, "corpus", "fingerprint", 0, 0, 0, "2024-01-01T00:00:00+00:00", 0.0)

    with store.lock():
        manifest = store.publish(fill)
    generation = store.current()
    store.verify(generation, manifest)
    with (generation / big).open("r+b") as handle:  # a flipped bit...
        handle.seek(size // 2)
        handle.write(b"\x01")
    store.verify(generation, manifest)  # ...passes the quick check on load (by design, for load speed)
    with pytest.raises(IndexFormatError, match="checksum"):
        store.verify(generation, manifest, full=True)  # ...and fails `article-qa index --verify`
    with (generation / big).open("r+b") as handle:  # a truncated file fails on every load
        handle.truncate(size - 1)
    with pytest.raises(IndexFormatError, match="truncated"):
        store.verify(generation, manifest)


def test_the_passage_table_is_checked_when_loaded(
    built: tuple[Path, Path], damaged: Callable[[], tuple[Path, Path]]
) -> None:
    index_dir, generation = damaged()
    table = np.load(generation / "passages.npy")
    table[0, 1] = 10**12  # a byte offset past the end of the passage text
    np.save(generation / "passages.npy", table)
    vouch_for(generation, "passages.npy")
    with pytest.raises(IndexFormatError):
        QAService.open(index_dir)
