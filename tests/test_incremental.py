"""Updating an index in place: after any articles are added, changed or removed, it answers exactly as a
full build of the same corpus, and it rebuilds in full (saying why) when an update cannot be exact."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from index import IndexConfig, QAService, build_index, update_index
from index.bm25 import BM25Params
from index.corpusfiles import corpus_fingerprint, list_corpus
from index.corpusscan import scan_corpus
from index.loader import relative_name
from index.store import IndexStore
from tests.news_corpus import NEWS_FILES, NEWS_QUESTIONS
from tests.test_watch import FERRY_STRIKE, MARKET_NOTE

ARTICLES: dict[str, str] = {**NEWS_FILES, "ferry-strike.txt": FERRY_STRIKE, "markets/note.md": MARKET_NOTE}
NAMES = sorted(ARTICLES)
OLD = 1_600_000_000  # a modification time long past: such files are not read again unless they change


def revised(text: str, revision: int) -> str:
    """The article as a later edition prints it: figures corrected, a paragraph added."""
    if not revision:
        return text
    header, body = text.split("\n\n", 1)
    body = body.replace("0", str(revision % 10)).replace("Tuesday", "Wednesday")
    return f"{header}\n\n{body}\nThis story was updated {revision} times with new figures from officials.\n"


def write(corpus: Path, name: str, text: str) -> None:
    path = corpus / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def answers(service: QAService) -> list[Any]:
    """Every question's passages: text, score, highlight, sources, and the articles printing the sentence.

    Passages of equal scores (articles written from one template) are in passage id order, which
    differs between an updated index and a full build, so they are compared as a set; so are the
    articles a passage cites besides its own.
    """
    found = []
    for question in NEWS_QUESTIONS:
        answer = service.answer(question, 4)
        passages = [
            (
                -p.score,
                p.chunk_id,
                p.text,
                p.highlight,
                p.sources[0],
                frozenset(p.sources),
                frozenset(p.also_in),
                p.story and (p.story.articles, frozenset(p.story.publishers), p.story.first_date),
            )
            for p in answer.passages
        ]
        found.append(sorted(passages))
    return found


def assert_answers_like_full_build(corpus: Path, updated_dir: Path, full_dir: Path) -> None:
    shutil.rmtree(full_dir, ignore_errors=True)
    build_index(corpus, full_dir, workers=1)
    updated, full = QAService.open(updated_dir), QAService.open(full_dir)
    assert (updated.manifest.articles, updated.manifest.passages) == (
        full.manifest.articles,
        full.manifest.passages,
    )
    assert updated.manifest.skipped_files == full.manifest.skipped_files
    assert updated.publishers() == full.publishers()
    assert answers(updated) == answers(full)
    assert stories(updated) == stories(full)


def stories(service: QAService) -> set[frozenset[str]]:
    """The index's stories, each as the document ids of its articles."""
    doc_ids = list(service.article_fingerprints())
    table = service.story_table
    return {frozenset(doc_ids[row] for row in table.members(row)) for row in range(len(doc_ids))}


edits = st.lists(
    st.tuples(st.sampled_from(["add", "revise", "remove"]), st.sampled_from(NAMES), st.integers(1, 3)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sets(st.sampled_from(NAMES), min_size=1), rounds=st.lists(edits, min_size=1, max_size=3))
def test_any_sequence_of_edits_answers_as_a_full_build(
    tmp_path_factory: pytest.TempPathFactory, start: set[str], rounds: list[list[tuple[str, str, int]]]
) -> None:
    work = tmp_path_factory.mktemp("edits")
    corpus, updated_dir = work / "corpus", work / "index"
    for name in start:
        write(corpus, name, ARTICLES[name])
    update_index(corpus, updated_dir, workers=1)
    for edit_round in rounds:
        for action, name, revision in edit_round:
            if action == "remove":
                (corpus / name).unlink(missing_ok=True)
            else:
                write(corpus, name, revised(ARTICLES[name], revision if action == "revise" else 0))
        if not any(corpus.rglob("*.*")):
            write(corpus, NAMES[0], ARTICLES[NAMES[0]])
        # Small limits, so that merges and removed passages happen at this size.
        report = update_index(corpus, updated_dir, workers=1, max_segments=3, max_removed=0.9)
        assert report.manifest == IndexStore(updated_dir).read_manifest()
    assert_answers_like_full_build(corpus, updated_dir, work / "full")


def test_an_update_reports_what_changed_and_keeps_the_rest(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:8]:
        write(corpus, name, ARTICLES[name])
    first = update_index(corpus, index_dir, workers=1)
    assert first.full and (first.added, first.updated, first.removed) == (8, 0, 0)
    generation = IndexStore(index_dir).current()
    before = (generation / "seg000000.doc_ids.npy").stat().st_ino

    write(corpus, NAMES[8], ARTICLES[NAMES[8]])
    write(corpus, NAMES[1], revised(ARTICLES[NAMES[1]], 2))
    (corpus / NAMES[2]).unlink()
    report = update_index(corpus, index_dir, workers=1, max_removed=0.5)  # a third of 19 passages go

    assert not report.full and (report.added, report.updated, report.removed) == (1, 1, 1)
    assert report.summary.startswith("added 1, updated 1, removed 1 articles; index now ")
    live = IndexStore(index_dir).current()
    assert live != generation and not generation.exists()
    assert (live / "seg000000.doc_ids.npy").stat().st_ino == before  # linked, never rewritten
    header = json.loads((live / "inverted.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in header["segments"]] == ["seg000000", "seg000001"]
    assert header["segments"][0]["deleted"] > 0
    IndexStore(index_dir).verify(live, IndexStore(index_dir).read_manifest(), full=True)
    assert_answers_like_full_build(corpus, index_dir, tmp_path / "full")


def test_an_unchanged_corpus_publishes_nothing(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:3]:
        write(corpus, name, ARTICLES[name])
        os.utime(corpus / name, (OLD, OLD))
    update_index(corpus, index_dir, workers=1)
    generation = IndexStore(index_dir).current()
    report = update_index(corpus, index_dir, workers=1)
    assert (report.added, report.updated, report.removed, report.full) == (0, 0, 0, False)
    assert IndexStore(index_dir).current() == generation


def test_a_file_rewritten_within_the_same_clock_tick_is_read_again(tmp_path: Path) -> None:
    # Same size, same modification time: only reading the file again shows the change.
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write(corpus, "strike.txt", FERRY_STRIKE)
    os.utime(corpus / "strike.txt", ns=(OLD * 10**9, OLD * 10**9 + 5))
    moment = time.time_ns() - 100_000_000  # a tenth of a second ago: both writes in one coarse tick
    write(corpus, "note.md", MARKET_NOTE)
    os.utime(corpus / "note.md", ns=(moment, moment))
    update_index(corpus, index_dir, workers=1)
    write(corpus, "note.md", MARKET_NOTE.replace("1", "7"))
    os.utime(corpus / "note.md", ns=(moment, moment))
    report = update_index(corpus, index_dir, workers=1)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)


def test_jsonl_records_are_compared_by_id(tmp_path: Path) -> None:
    records = [
        {"id": f"wire-{n}", "title": title, "text": ARTICLES[name].split("\n\n", 1)[1], "publisher": "Wire"}
        for n, (name, title) in enumerate(
            [(NAMES[0], "Berlin Zoo cubs"), (NAMES[3], "Stroller recall"), (NAMES[5], "Ferry strike")]
        )
    ]
    corpus = tmp_path / "wire.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    index_dir = tmp_path / "index"
    update_index(corpus, index_dir, workers=1)
    records[1]["text"] += "\n\nThe agency later raised the count to 95,000 strollers."
    del records[2]
    records.append({"id": "wire-9", "title": "Marathon", "text": ARTICLES[NAMES[4]], "publisher": "Wire"})
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = update_index(corpus, index_dir, workers=1, max_removed=0.9)  # 2 of 3 articles go at this size
    assert (report.added, report.updated, report.removed, report.full) == (1, 1, 1, False)
    assert_answers_like_full_build(corpus, index_dir, tmp_path / "full")


def test_other_settings_rebuild_in_full_and_say_why(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:3]:
        write(corpus, name, ARTICLES[name])
    update_index(corpus, index_dir, workers=1)
    with caplog.at_level(logging.INFO, logger="index.update"):
        report = update_index(corpus, index_dir, IndexConfig(bm25=BM25Params(k1=1.2)), workers=1)
    assert report.full and report.reason == "the analyzer, chunking or BM25 settings changed"
    assert "rebuilding the whole index: the analyzer, chunking or BM25 settings changed" in caplog.text


def test_many_removals_rebuild_in_full(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES:
        write(corpus, name, ARTICLES[name])
    update_index(corpus, index_dir, workers=1)
    for name in NAMES[:5]:
        (corpus / name).unlink()
    with caplog.at_level(logging.INFO, logger="index.update"):
        report = update_index(corpus, index_dir, workers=1)
    assert report.full and (report.added, report.updated, report.removed) == (0, 0, 5)
    assert "of its passages would be removed" in caplog.text
    header = json.loads((IndexStore(index_dir).current() / "inverted.json").read_text(encoding="utf-8"))
    assert [s["deleted"] for s in header["segments"]] == [0]


def test_merges_keep_the_number_of_segments_bounded(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    write(corpus, NAMES[0], ARTICLES[NAMES[0]])
    update_index(corpus, index_dir, workers=1)
    for name in NAMES[1:]:
        write(corpus, name, ARTICLES[name])
        update_index(corpus, index_dir, workers=1, max_segments=3)
        header = json.loads((IndexStore(index_dir).current() / "inverted.json").read_text(encoding="utf-8"))
        assert len(header["segments"]) <= 3
    assert_answers_like_full_build(corpus, index_dir, tmp_path / "full")


def test_an_id_in_two_files_rebuilds_in_full(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    record = {"id": "ferry-1", "title": "Ferry strike", "text": FERRY_STRIKE, "publisher": "Harbour News"}
    (corpus / "a").mkdir(parents=True)
    (corpus / "a" / "one.json").write_text(json.dumps(record), encoding="utf-8")
    update_index(corpus, index_dir, workers=1)
    (corpus / "b.json").write_text(json.dumps({**record, "title": "Strike"}), encoding="utf-8")
    report = update_index(corpus, index_dir, workers=1)
    assert report.full and report.reason == "the article id 'ferry-1' is used twice"
    assert_answers_like_full_build(corpus, index_dir, tmp_path / "full")


def test_full_rebuilds_on_request(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:4]:
        write(corpus, name, ARTICLES[name])
    update_index(corpus, index_dir, workers=1)
    (corpus / NAMES[0]).unlink()
    report = update_index(corpus, index_dir, workers=1, full=True)
    assert report.full and report.reason is None and (report.added, report.removed) == (0, 1)


def test_index_command_updates_and_rebuilds_with_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:6]:
        write(corpus, name, ARTICLES[name])
    where = ["--corpus", str(corpus), "--index-dir", str(index_dir)]
    assert main(["index", *where]) == 0
    assert capsys.readouterr().out.startswith("added 6, updated 0, removed 0 articles; index now ")
    write(corpus, NAMES[7], ARTICLES[NAMES[7]])
    assert main(["index", *where]) == 0
    out = capsys.readouterr().out
    assert out.startswith("added 1, updated 0, removed 0 articles; index now ")
    assert f"from 7 articles of {corpus.resolve()} (updated in " in out
    (corpus / NAMES[0]).unlink()
    assert main(["index", "--full", *where]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("added 0, updated 0, removed 1 articles; index now ") and "(built in full in " in out
    )


@pytest.mark.parametrize("with_links", [False, True])
def test_the_quick_scan_lists_and_fingerprints_as_a_build_does(tmp_path: Path, with_links: bool) -> None:
    corpus = tmp_path / "corpus"
    files = {
        "ferry-strike.txt": FERRY_STRIKE,
        "markets/note.md": MARKET_NOTE,
        "markets/Zürich ferries.md": MARKET_NOTE,
        "b/a/wire.json": json.dumps({"title": "Strike", "text": FERRY_STRIKE}),
        ".hidden/secret.txt": FERRY_STRIKE,
        "markets/.draft.txt": FERRY_STRIKE,
        "scan.pdf": "%PDF-1.4",
    }
    for name, text in files.items():
        write(corpus, name, text)
    if with_links:
        (corpus / "inside.txt").symlink_to(corpus / "ferry-strike.txt")
        (tmp_path / "outside.txt").write_text(FERRY_STRIKE, encoding="utf-8")
        (corpus / "outside.txt").symlink_to(tmp_path / "outside.txt")
    scan = scan_corpus(corpus)
    listing = list_corpus(corpus)
    assert scan.fingerprint == corpus_fingerprint(corpus)
    assert list(scan.stamps) == [relative_name(path, corpus) for path in listing.articles]
    assert list(scan.paths.values()) == [str(path) for path in listing.articles]
    assert scan.listing_skipped == len(listing.others) == 1
