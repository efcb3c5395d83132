"""`index_status` compares the corpus with the fingerprint in the manifest: one pass of names and file
times, the same fingerprint as before for every kind of file, and stale as soon as an article changes."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from index.builder import build_index
from index.corpusfiles import SkipFile, _readlink, _target, corpus_fingerprint, corpus_root, list_corpus
from index.settings import IndexConfig, index_status

HARBOR_VOTE = """\
Title: Harbor council approves ferry terminal upgrade
Source: Harborview Courier
Date: 2025-03-12

The Harborview council voted 7-2 on Tuesday to spend $14 million rebuilding the north ferry terminal,
whose pilings have rotted past repair, the port director told the meeting.

Work starts in June and the terminal stays open throughout, with boarding moved to the south ramp.
"""

BRIDGE_DELAY = """\
Title: Calder River Bridge reopening pushed to late April
Source: Riverbend Observer
Date: 2025-04-02

The Calder River Bridge will stay closed until April 25, a month later than planned, after inspectors
found more corroded deck plates than expected, the county roads department said on Wednesday.

Detours via Route 9 add about 20 minutes for commuters heading into Harborview.
"""

MARKET_NOTE = """\
# Fish market hours change for the spring

The Harborview fish market opens at 6 a.m. from April 1, an hour later than in winter, its board said.
"""


def reference_fingerprint(corpus: Path) -> str:
    """The fingerprint as every existing manifest holds it: one `Path` per file of `list_corpus`."""
    digest = hashlib.sha256()
    root = corpus_root(corpus)
    for path in list_corpus(corpus).articles:
        name = path.relative_to(corpus).as_posix() if corpus.is_dir() else path.name
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                _target(path, root)
                info = path.stat()
        except SkipFile:
            digest.update(f"{name}\0link\0{_readlink(path)}\n".encode("utf-8", "surrogateescape"))
            continue
        except OSError:
            continue
        digest.update(f"{name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def write(corpus: Path, name: str | bytes, text: str) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(corpus), os.fsencode(name))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "harbor-news"
    write(folder, "courier/harbor-vote.txt", HARBOR_VOTE)
    write(folder, "observer/2025/bridge-delay.txt", BRIDGE_DELAY)
    write(folder, "market-hours.md", MARKET_NOTE)
    return folder


def test_the_fingerprint_is_the_one_existing_indexes_hold(corpus: Path, tmp_path: Path) -> None:
    # Files of every kind the walk meets: an upgrade must not make every existing index stale.
    write(corpus, ".drafts/unpublished.txt", HARBOR_VOTE)
    write(corpus, "courier/.notes.txt", HARBOR_VOTE)
    write(corpus, "scans/front-page.pdf", "%PDF-1.4")
    write(corpus, "observer/Zürich ferries.MD", MARKET_NOTE)
    write(corpus, b"wire/caf\xe9-reopens.txt", MARKET_NOTE)  # a file name that is not UTF-8
    (corpus / "observer" / "latest.txt").symlink_to(corpus / "observer" / "2025" / "bridge-delay.txt")
    (tmp_path / "elsewhere.txt").write_text(HARBOR_VOTE, encoding="utf-8")
    (corpus / "courier" / "outside.txt").symlink_to(tmp_path / "elsewhere.txt")
    (corpus / "courier" / "hidden.txt").symlink_to(corpus / "courier" / ".notes.txt")
    (corpus / "courier" / "dangling.txt").symlink_to(corpus / "courier" / "deleted.txt")
    os.mkfifo(corpus / "wire" / "feed.txt")  # listed by its name and times, never opened
    assert corpus_fingerprint(corpus) == reference_fingerprint(corpus)
    one_file = corpus / "market-hours.md"
    assert corpus_fingerprint(one_file) == reference_fingerprint(one_file)


def test_status_turns_stale_when_an_article_changes(corpus: Path, tmp_path: Path) -> None:
    index_dir, config = tmp_path / "index", IndexConfig()
    build_index(corpus, index_dir)
    assert index_status(corpus, index_dir, config).state == "current"

    # Files the corpus does not read leave the index current.
    write(corpus, ".drafts/unpublished.txt", HARBOR_VOTE)
    write(corpus, "scans/front-page.pdf", "%PDF-1.4")
    assert index_status(corpus, index_dir, config).state == "current"

    # An edit that keeps the size ("7-2" becomes "6-3") shows in the file's time.
    article = corpus / "courier" / "harbor-vote.txt"
    info = article.stat()
    article.write_text(HARBOR_VOTE.replace("7-2", "6-3"), encoding="utf-8")
    os.utime(article, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    assert article.stat().st_size == info.st_size
    status = index_status(corpus, index_dir, config)
    assert (status.state, status.reason) == ("stale", "the corpus changed since the index was built")

    build_index(corpus, index_dir)
    assert index_status(corpus, index_dir, config).usable
    write(corpus, "observer/2025/bridge-reopens.txt", BRIDGE_DELAY.replace("stay closed", "reopen"))
    assert index_status(corpus, index_dir, config).state == "stale"
    (corpus / "observer" / "2025" / "bridge-reopens.txt").unlink()
    assert index_status(corpus, index_dir, config).usable
    (corpus / "market-hours.md").rename(corpus / "market-hours-spring.md")
    assert index_status(corpus, index_dir, config).state == "stale"
