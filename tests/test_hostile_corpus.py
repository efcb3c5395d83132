"""Hostile corpora: every bad file is skipped or handled with one warning, and the rest is indexed."""

from __future__ import annotations

import json
import logging
import os
import random
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.answer import QAService
from index.builder import build_index
from index.errors import CorpusError, EmptyCorpusError
from index.loader import MAX_FILE_BYTES, MAX_JSONL_LINE_BYTES, Corpus, load_corpus
from index.settings import IndexConfig, index_status

MiB = 1024 * 1024
GOOD = {
    "good-one.txt": "Harbour strike\n\nDock workers in the harbour began a strike on Monday over pay.\n",
    "good-two.md": "# Museum reopens\n\nThe city museum reopened its painting gallery after repairs.\n",
}


def rng_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def write_bytes(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def write_text(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return write_bytes(text.encode(encoding))


def symlink_to(target: str | Path) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def sparse(size: int) -> Callable[[Path], None]:
    """A file of `size` bytes that takes no disk space and no time to write."""

    def write(path: Path) -> None:
        with path.open("wb") as handle:
            handle.truncate(size)

    return write


def no_nul_noise(size: int, seed: int) -> bytes:
    return bytes(b or 1 for b in rng_bytes(size, seed))


def one_mb_line() -> bytes:
    words = ["alpha", "beta", "gamma", "delta", "epsilon"] * (MiB // 30)
    middle = len(words) // 2
    words[middle : middle + 1] = ["quasarline"]
    return ("Long line\n\n" + " ".join(words) + ".\n").encode()


# Terminal escapes (title change, clear screen, colours, an 8-bit CSI) inside ordinary article text.
ANSI_ARTICLE = (
    "Escape\n\nThe \x1b]0;owned\x07\x1b[2J vortexial \x1b[0m text.\x9b31m "
    + "An ordinary sentence follows the escapes. " * 10
)


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile file: how to write it, and what loading it must do."""

    name: str
    write: Callable[[Path], None]
    skipped: bool  # True: skipped with one warning; False: indexed (at most one warning)
    reason: str = ""  # part of the warning when skipped
    probe: str = ""  # a word that finds the file's article once indexed
    absent: str = ""  # text that must not reach the index (control characters and the like)


CASES = [
    Case("binary.txt", write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + rng_bytes(4000, 1)), True, "binary"),
    Case("binary-no-nul.md", write_bytes(no_nul_noise(4000, 2)), True, "not UTF-8 text"),
    Case("image.html", write_bytes(b"GIF89a" + no_nul_noise(3000, 3)), True, ""),
    # Not UTF-8 but valid Windows-1252, and full of control characters: one warning (binary), not two.
    Case(
        "controls.txt", write_bytes(b"\x01\x02\x03\x04 text " * 200 + b"caf\xe9"), True, "control characters"
    ),
    Case("late-nul.txt", write_bytes(b"Late NUL\n\n" + b"plain words " * 1000 + b"\x00tail"), True, "NUL"),
    Case(
        "utf16-le.txt",
        write_text("Ledger\n\nThe zanzibarite ledger balanced.", "utf-16"),
        False,
        probe="zanzibarite",
    ),
    Case(
        "utf16-be.txt",
        write_text("\ufeffLedger\n\nThe kestrelwing flew.", "utf-16-be"),
        False,
        probe="kestrelwing",
    ),
    Case("utf16-no-bom.txt", write_text("Ledger\n\nThe plover song.", "utf-16-le"), True, "NUL"),
    Case("utf8-bom.md", write_text("\ufeffBOM\n\nThe marmoset climbed.", "utf-8"), False, probe="marmoset"),
    Case(
        "cp1252.txt",
        write_text("Café news\n\nThe naïve “quinoaplex” café — opened.", "cp1252"),
        False,
        probe="quinoaplex",
    ),
    Case(
        "ansi.txt",
        write_text(ANSI_ARTICLE),
        False,
        probe="vortexial",
        absent="\x1b",
    ),
    Case("empty.txt", write_bytes(b""), True, "empty"),
    Case("blank.md", write_text(" \n\t\n\r\n  "), True, "empty"),
    Case("huge.txt", sparse(200 * MiB), True, "too large"),
    Case("huge.json", sparse(MAX_FILE_BYTES + 1), True, "too large"),
    Case("one-mb-line.txt", write_bytes(one_mb_line()), False, probe="quasarline"),
    Case(
        "one-mb-word.txt", write_bytes(b"Word\n\n" + b"x" * MiB + b" glyptodont."), False, probe="glyptodont"
    ),
    Case(
        "scripts.html",
        write_text("<html><script>var a = 1;</script><style>p{}</style></html>"),
        True,
        "without article text",
    ),
    Case("deep-array.json", write_text("[" * 100_000 + "]" * 100_000), True, "malformed JSON"),
    Case("deep-object.json", write_text('{"a":' * 100_000 + "1" + "}" * 100_000), True, ""),
    Case(
        "truncated.json", write_text('{"title": "Cut", "text": "The sentence stops'), True, "malformed JSON"
    ),
    Case("number.json", write_text("42"), True, "JSON object"),
    Case("empty-list.json", write_text("[]"), True, "empty"),
    Case(
        "surrogates.json",
        write_text('{"title": "Odd \\ud800", "text": "The \\udc00 jabiru \\ud83d waded."}'),
        False,
        probe="jabiru",
    ),
    Case(
        "escapes.json",
        write_text('{"title": "Esc", "text": "The \\u001b[2J cassowary\\u0000 ran."}'),
        False,
        probe="cassowary",
        absent="\x1b",
    ),
    Case("binary.jsonl", write_bytes(no_nul_noise(20_000, 4)), True, "no usable article"),
    Case("loop.txt", symlink_to("loop.txt"), True, "cannot read"),
    Case("dangling.txt", symlink_to("nowhere/at/all.txt"), True, "cannot read"),
    Case("fifo.txt", lambda path: os.mkfifo(path), True, "not a regular file"),
    # Links out of the corpus are never followed, whatever they point to (see test_corpus_safety.py).
    Case("zero.txt", symlink_to("/dev/zero"), True, "outside the corpus"),
    Case("unreadable.txt", symlink_to("/proc/self/mem"), True, "outside the corpus"),
    Case("secrets.txt", symlink_to("/etc/passwd"), True, "outside the corpus"),
]


def write_corpus(folder: Path, cases: list[Case]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in GOOD.items():
        (folder / name).write_text(text, encoding="utf-8")
    for case in cases:
        case.write(folder / case.name)


def load_guarded(corpus: Path, timeout: float = 60.0) -> Corpus:
    """`load_corpus`, failing (instead of hanging the suite) if a FIFO blocks it."""
    result: list[Corpus] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(load_corpus(corpus))
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in corpus.rglob("*"):
            if fifo.is_fifo():  # give the blocked open() a writer, so the thread can end
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail(f"loading the corpus blocked for more than {timeout} s")
    if errors:
        raise errors[0]
    return result[0]


def warnings_naming(records: list[logging.LogRecord], name: str) -> list[str]:
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING and name in r.getMessage()]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_hostile_file_is_skipped_or_handled_with_at_most_one_warning(
    case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, [case])
    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        loaded = load_guarded(corpus)
        elapsed = time.monotonic() - started
    assert elapsed < 10, f"{case.name} took {elapsed:.1f} s to load"
    warnings = warnings_naming(caplog.records, case.name)
    assert all("\n" not in w for w in warnings)
    paths = {article.path for article in loaded.articles}
    assert {"good-one.txt", "good-two.md"} <= paths  # the rest of the corpus is indexed
    if case.skipped:
        assert len(warnings) == 1, warnings
        assert case.reason in warnings[0]
        assert case.name not in paths
        assert [s.path for s in loaded.skipped] == [case.name]
    else:
        assert len(warnings) <= 1, warnings
        (article,) = [a for a in loaded.articles if a.path == case.name]
        assert case.probe in article.text
        assert not case.absent or case.absent not in article.text + article.title
        assert not loaded.skipped


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode (tests run as root here)")
def test_a_file_without_read_permission_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, [Case("locked.txt", write_text("Locked\n\nSecret words."), True)])
    (corpus / "locked.txt").chmod(0)
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert warnings_naming(caplog.records, "locked.txt") == [
        "skipped locked.txt: cannot read (Permission denied)"
    ]
    assert len(loaded.articles) == 2


@pytest.mark.parametrize("name", ["feed.jsonl", "story.txt"])
def test_a_one_file_corpus_linked_to_a_file_that_fails_to_read_is_skipped_with_one_warning(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / name
    # A one-file corpus is followed (the user named it). /proc/self/mem is a regular file that even root
    # cannot read at offset 0 (EIO); the JSON Lines reader used to let that error escape.
    corpus.symlink_to("/proc/self/mem")
    with caplog.at_level(logging.WARNING), pytest.raises(EmptyCorpusError):
        load_guarded(corpus)
    (warning,) = warnings_naming(caplog.records, name)
    assert "cannot read" in warning


def test_a_one_file_corpus_that_is_a_device_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "feed.jsonl"
    corpus.symlink_to("/dev/zero")  # never ends
    with pytest.raises(CorpusError, match="neither a folder nor a file"):
        load_guarded(corpus)


def test_the_whole_hostile_corpus_builds_answers_and_stays_within_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, CASES)
    (corpus / "folder-link.txt").symlink_to(corpus)  # a file name that is a folder (loop): not followed
    (corpus / "sub").mkdir()
    (corpus / "sub" / "up").symlink_to("..")  # a folder symlink loop: not followed
    tracemalloc.start()
    try:
        load_corpus(corpus)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Reading never holds more than a file at a time, and the 200 MB file is not read at all.
    assert peak < 32 * MiB, f"peak {peak / MiB:.0f} MiB"
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        manifest = build_index(corpus, index_dir)
    indexed = [case for case in CASES if not case.skipped]
    assert manifest.articles == len(GOOD) + len(indexed)
    assert manifest.skipped_files == len(CASES) - len(indexed)
    for case in CASES:
        warnings = warnings_naming(caplog.records, case.name)
        assert len(warnings) == 1 if case.skipped else len(warnings) <= 1, (case.name, warnings)
    service = QAService.open(index_dir)
    for case in indexed:
        answer = service.answer(case.probe)
        assert case.name in {s.path for s in answer.sources}, case.name
        for passage in answer.passages:
            assert not case.absent or case.absent not in passage.text
    assert {s.path for s in service.answer("harbour strike").sources} >= {"good-one.txt"}


def test_json_text_that_is_not_valid_unicode_is_indexed_not_fatal(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, [case for case in CASES if case.name in ("surrogates.json", "escapes.json")])
    build_index(corpus, index_dir)  # lone surrogates cannot be encoded: this used to stop the build
    service = QAService.open(index_dir)
    (passage,) = service.answer("jabiru").passages
    assert passage.text == "The \ufffd jabiru \ufffd waded."
    assert passage.sources[0].title == "Odd \ufffd"


def test_a_jsonl_corpus_skips_bad_lines_in_a_bounded_number_of_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "feed.jsonl"
    good = json.dumps({"title": "Fjord ferry", "text": "The fjord ferry sailed at dawn."})
    lines = [
        good.encode(),
        b'{"title": "cut", "text": ',  # malformed
        b"\x00\x01\x02 binary",  # binary line
        b'{"id": 7, "text": "' + b"long " * (MAX_JSONL_LINE_BYTES // 5 + 10) + b'"}',  # a 16+ MB line
        *[b"[1, 2, 3]"] * 50,  # valid JSON, not articles
        json.dumps({"title": "Tundra", "text": "The tundra thawed early."}).encode(),
    ]
    corpus.write_bytes(b"\n".join(lines) + b"\n")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert [(a.doc_id, a.title) for a in loaded.articles] == [
        ("feed.jsonl#1", "Fjord ferry"),
        ("feed.jsonl#55", "Tundra"),  # line numbers stay right after a line longer than the read limit
    ]
    warnings = warnings_naming(caplog.records, "feed.jsonl")
    assert warnings[:3] == [
        "skipped feed.jsonl line 2: malformed JSON (Expecting value)",
        "skipped feed.jsonl line 3: binary file (contains NUL bytes)",
        "skipped feed.jsonl line 4: line too long",
    ]
    assert warnings[3:] == ["skipped feed.jsonl: 50 more bad line(s)"]


def test_a_binary_file_named_jsonl_gets_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, [])
    (corpus / "dump.jsonl").write_bytes(b"\n".join(no_nul_noise(300, seed) for seed in range(200)))
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert len(warnings_naming(caplog.records, "dump.jsonl")) == 1
    assert [s.path for s in loaded.skipped] == ["dump.jsonl"]


def test_a_file_name_that_is_not_utf8_is_indexed_under_a_printable_name(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, [])
    name = os.fsencode(corpus) + b"/caf\xe9-\x1b[2J.txt"  # Latin-1 bytes, and an escape sequence
    with open(name, "wb") as handle:
        handle.write(b"Odd name\n\nThe okapi grazed quietly.\n")
    build_index(corpus, index_dir)
    sources = QAService.open(index_dir).answer("okapi").sources
    assert [s.path for s in sources] == ["caf\ufffd-[2J.txt"]
    assert index_status(corpus, index_dir, IndexConfig()).state == "current"


class Saboteur:
    """A build progress callback that deletes or rewrites a corpus file while the build reads."""

    def __init__(self, corpus: Path, at_file: int, action: Callable[[], None]) -> None:
        self._corpus = corpus
        self._at = at_file
        self._action = action
        self.fired = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "reading" and done == self._at and not self.fired:
            self.fired = True
            self._action()


def test_a_file_deleted_during_the_build_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, [Case("z-doomed.txt", write_text("Doomed\n\nThe ibex climbed."), False)])
    saboteur = Saboteur(corpus, 1, (corpus / "z-doomed.txt").unlink)  # files are read in sorted order
    with caplog.at_level(logging.WARNING):
        manifest = build_index(corpus, index_dir, progress=saboteur)
    assert saboteur.fired
    assert warnings_naming(caplog.records, "z-doomed.txt") == [
        "skipped z-doomed.txt: cannot read (No such file or directory)"
    ]
    assert manifest.articles == 2
    # The index remembers the corpus as it was when the build began, so it is known to be stale.
    assert index_status(corpus, index_dir, IndexConfig()).state == "stale"


@pytest.mark.parametrize("when", ["before it is read", "after it is read"])
def test_a_file_modified_during_the_build_leaves_an_index_known_to_be_stale(
    when: str, tmp_path: Path
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, [Case("m-changing.txt", write_text("Change\n\nThe original tapir."), False)])

    def rewrite() -> None:
        (corpus / "m-changing.txt").write_text("Change\n\nThe rewritten tapir, longer now.", encoding="utf-8")

    # Sorted order: good-one.txt, good-two.md, m-changing.txt.
    build_index(
        corpus, index_dir, progress=Saboteur(corpus, 1 if when == "before it is read" else 3, rewrite)
    )
    assert index_status(corpus, index_dir, IndexConfig()).state == "stale"  # the next run rebuilds
    build_index(corpus, index_dir)
    assert index_status(corpus, index_dir, IndexConfig()).state == "current"
    (passage,) = QAService.open(index_dir).answer("tapir").passages
    assert "rewritten" in passage.text


# ---------------------------------------------------------------- property-based


MARKER = st.from_regex(r"zq[a-z]{6}", fullmatch=True)
NOISE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufeff"), max_size=300
)
# Any code point, lone surrogates included (mixed in as whole draws: as characters of a text strategy,
# Hypothesis would almost never pick them).
LONE_SURROGATE = st.characters(categories=["Cs"])
ANY_TEXT = st.lists(st.text(max_size=40) | LONE_SURROGATE, max_size=8).map("".join)
JSON_NOISE = ANY_TEXT
SUFFIXES = [".txt", ".md", ".html", ".json", ".jsonl", ".htm", ".markdown"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]


@st.composite
def valid_article(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(suffix, bytes, marker): an article in some format and encoding, noise around its marker line."""
    marker = draw(MARKER)
    kind = draw(st.sampled_from(["txt", "md", "json", "jsonl", "html"]))
    # JSON strings can carry any code point, lone surrogates included (as "\\ud800" escapes).
    noise = JSON_NOISE if kind.startswith("json") else NOISE
    before, after = draw(noise), draw(noise)
    body = f"{before}\n\nThe marker word is {marker} here.\n\n{after}"
    if kind == "json":
        return ".json", json.dumps({"title": "Fuzzed", "text": body}).encode(), marker
    if kind == "jsonl":
        return ".jsonl", json.dumps({"title": "Fuzzed", "text": body}).encode() + b"\n", marker
    if kind == "html":
        escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        paragraphs = "".join(f"<p>{p}</p>" for p in escaped.split("\n\n"))
        return ".html", f"<html><title>Fuzzed</title><body>{paragraphs}</body></html>".encode(), marker
    text = f"Title: Fuzzed article\n\n{body}\n"
    encoding = draw(st.sampled_from(ENCODINGS))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    return "." + kind, data, marker


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["title", "text", "id", "url", "date", "author"]), inner)
    ),
    max_leaves=12,
)
HOSTILE_FILE = st.one_of(
    st.binary(max_size=2000),  # random bytes
    ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),  # any code point, as (invalid) UTF-8
    st.text(max_size=500).map(lambda t: t.encode("utf-16")),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),  # ensure_ascii: lone surrogates as \ud800 escapes
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(
    hostile=st.lists(st.tuples(st.sampled_from(SUFFIXES), HOSTILE_FILE), max_size=6),
    valid=st.lists(valid_article(), min_size=1, max_size=4, unique_by=lambda a: a[2]),
)
def test_random_bytes_and_unicode_never_crash_a_build_and_valid_articles_stay_searchable(
    hostile: list[tuple[str, bytes]], valid: list[tuple[str, bytes, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        for n, (suffix, data) in enumerate(hostile):
            (corpus / f"hostile{n}{suffix}").write_bytes(data)
        for n, (suffix, data, _) in enumerate(valid):
            (corpus / f"valid{n}{suffix}").write_bytes(data)
        build_index(corpus, index_dir)
        service = QAService.open(index_dir)
        for n, (suffix, _, marker) in enumerate(valid):
            sources = {source.path for source in service.answer(marker, k=10).sources}
            assert f"valid{n}{suffix}" in sources, (marker, sources)
        for answer_text in (p.text for p in service.answer("marker word fuzzed").passages):
            answer_text.encode("utf-8")  # everything indexed can be shown
