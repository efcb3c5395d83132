"""The corpus reader reads nothing outside the corpus, cleans metadata and names every file it skips."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import pytest

from index.builder import build_index
from index.dates import read_date
from index.errors import EmptyCorpusError
from index.loader import SkippedFile, _drop_emptied, corpus_fingerprint, load_corpus
from index.models import Article
from index.settings import IndexConfig, index_status
from tests.conftest import WriteFiles

HARBOUR = """\
Title: Harbour strike ends after nine days
Source: Coastal Herald
Date: 2024-03-12

Dock workers at the northern harbour returned to work on Tuesday after a nine-day strike over pay.

The union said members had accepted a 6 percent rise over two years, and the port authority promised
to review night-shift rosters before the summer season.
"""

MUSEUM = """\
# Museum reopens its painting gallery

The city museum reopened its painting gallery on Saturday after eighteen months of roof repairs.

Visitors queued along the river path before the doors opened at ten.
"""

BOT_SECRETS = "ARTICLE_QA_DISCORD_TOKEN=MTIzNDU2.discord-bot-token-value\nDATABASE_PASSWORD=hunter2\n"


def write_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (corpus / "museum.md").write_text(MUSEUM, encoding="utf-8")
    return corpus


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------- symbolic links


def test_a_link_to_a_secret_outside_the_corpus_is_never_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_corpus(tmp_path)
    (tmp_path / ".env").write_text(BOT_SECRETS, encoding="utf-8")
    (corpus / "notes.md").symlink_to("../.env")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    texts = " ".join(a.title + " " + a.text for a in loaded.articles)
    assert "discord-bot-token-value" not in texts and "hunter2" not in texts and "root:" not in texts
    assert sorted(a.path or "" for a in loaded.articles) == ["harbour.txt", "museum.md"]
    assert sorted(warnings_of(caplog)) == [
        "skipped notes.md: symbolic link to a file outside the corpus",
        "skipped passwd.txt: symbolic link to a file outside the corpus",
    ]
    assert loaded.skipped_count == 2


def test_a_link_into_a_hidden_folder_of_the_corpus_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_corpus(tmp_path)
    (corpus / ".private").mkdir()
    (corpus / ".private" / "draft.txt").write_text("Draft\n\nThe embargoed figures are 41 percent.\n")
    (corpus / "draft.txt").symlink_to(".private/draft.txt")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert "embargoed" not in " ".join(a.text for a in loaded.articles)
    assert warnings_of(caplog) == ["skipped draft.txt: symbolic link to a hidden file"]


def test_a_link_to_an_article_inside_the_corpus_is_read(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path)
    (corpus / "archive").mkdir()
    (corpus / "harbour.txt").rename(corpus / "archive" / "harbour.txt")
    (corpus / "latest.txt").symlink_to("archive/harbour.txt")
    loaded = load_corpus(corpus)
    assert sorted(a.path or "" for a in loaded.articles) == ["archive/harbour.txt", "latest.txt", "museum.md"]
    assert not loaded.skipped


def test_a_corpus_folder_reached_through_a_link_still_reads_its_own_files(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path)
    (tmp_path / "news").symlink_to(corpus)
    assert len(load_corpus(tmp_path / "news").articles) == 2


def test_a_single_file_corpus_that_is_a_link_is_read(tmp_path: Path) -> None:
    feed = tmp_path / "feeds" / "march.jsonl"
    feed.parent.mkdir()
    record = {"title": "Ferry timetable changes", "text": "The island ferry adds a late sailing on Fridays."}
    feed.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (tmp_path / "current.jsonl").symlink_to(feed)  # the user named this file: follow it
    (article,) = load_corpus(tmp_path / "current.jsonl").articles
    assert article.title == "Ferry timetable changes"


def test_a_link_to_a_file_that_always_changes_does_not_make_the_index_stale(tmp_path: Path) -> None:
    corpus, index_dir = write_corpus(tmp_path), tmp_path / "index"
    log_file = (
        tmp_path / "server.log"
    )  # outside the corpus, and written all the time (like /proc/self/status)
    log_file.write_text("GET /harbour 200\n", encoding="utf-8")
    (corpus / "activity.txt").symlink_to(log_file)
    manifest = build_index(corpus, index_dir)
    assert manifest.skipped_files == 1
    before = corpus_fingerprint(corpus)
    with log_file.open("a", encoding="utf-8") as handle:
        handle.write("GET /museum 200\n")
    assert corpus_fingerprint(corpus) == before
    assert index_status(corpus, index_dir, IndexConfig()).state == "current"


# ---------------------------------------------------------------- metadata


def test_urls_that_are_not_plain_http_links_are_left_out_with_one_warning_each(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    urls = {  # name: (as given, as kept)
        "newline": ("https://herald.example/harbour\n[click](https://evil.example)", None),
        "tab": ("https://herald.example/harbour\tstrike", None),
        "script": ("javascript:alert(document.cookie)", None),
        "relative": ("/news/harbour-strike", None),
        "file": ("file:///etc/passwd", None),
        "rlo": ("https://herald.example/\u202egpj.exe", None),
        "user": ("https://herald.example@evil.example/harbour", None),
        "backslash": ("https://herald.example\\@evil.example/harbour", None),
        "good": ("https://herald.example/news/harbour-strike?ref=rss#top",) * 2,
        "idn": ("https://fr.example/actualités/grève-du-port",) * 2,
        # As Wikinews publishes them: quotes that would end a link in HTML are percent-encoded instead.
        "quotes": (
            'https://en.wikinews.org/wiki/Dockers_end_"longest"_strike',
            "https://en.wikinews.org/wiki/Dockers_end_%22longest%22_strike",
        ),
        "markup": ('https://herald.example/a"><img>`', "https://herald.example/a%22%3E%3Cimg%3E%60"),
    }
    records = [
        {
            "id": name,
            "title": f"Harbour strike, report {n}",
            "url": given,
            "text": f"Dock workers met {n} times.",
        }
        for n, (name, (given, _)) in enumerate(urls.items())
    ]
    corpus = write_files({"feed.json": json.dumps(records)})
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert {a.doc_id: a.url for a in loaded.articles} == {name: kept for name, (_, kept) in urls.items()}
    warnings = warnings_of(caplog)
    assert len(warnings) == 3 + 1  # the first few by name, then one summary line
    assert warnings[0].startswith("feed.json item 0: URL 'https://herald.example/harbour\\n[click]")
    assert all("\n" not in w and "\t" not in w and "\u202e" not in w for w in warnings)
    assert warnings[-1] == "feed.json: 5 more item(s) with a date or URL left out"


def test_a_bad_url_in_a_text_file_header_gets_one_warning(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_files({"harbour.txt": HARBOUR.replace("Date:", "URL: ftp://herald.example/x\nDate:")})
    with caplog.at_level(logging.WARNING):
        (article,) = load_corpus(corpus).articles
    assert article.url is None and article.date == dt.date(2024, 3, 12)
    assert warnings_of(caplog) == [
        "harbour.txt: URL 'ftp://herald.example/x' is not an http(s) link; left out"
    ]


def test_titles_publishers_and_authors_lose_invisible_and_reordering_characters(
    write_files: WriteFiles,
) -> None:
    record = {
        "title": "Port \u202eekirts\u202c deal\u200b signed\n\nby   unions",
        "publisher": "\u2066Coastal\u2069 \ufeffHerald\u200d",
        "author": ["Ana\u200e Ruiz", "Li\u061c  Wei\u2060"],
        "text": "Dock workers returned to work on Tuesday after a nine-day strike over pay.",
    }
    corpus = write_files({"deal.json": json.dumps(record)})
    (article,) = load_corpus(corpus).articles
    assert article.title == "Port ekirts deal signed by unions"
    assert article.publisher == "Coastal Herald"
    assert article.author == "Ana Ruiz, Li Wei"


def test_a_title_taken_from_the_first_line_is_cleaned_too(write_files: WriteFiles) -> None:
    corpus = write_files({"museum.md": MUSEUM.replace("Museum reopens", "Museum\u200b reopens\u202e")})
    (article,) = load_corpus(corpus).articles
    assert article.title == "Museum reopens its painting gallery"


# ---------------------------------------------------------------- skipped files and records


def test_an_article_with_only_a_title_and_furniture_is_skipped_with_a_warning(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_files(
        {
            "harbour.txt": HARBOUR,
            "teaser.txt": "Title: Storm warning for the coast\n\nAdvertisement\nShare this article\n",
            "promo.json": json.dumps({"title": "Subscribe", "text": "Subscribe now.\nAdvertisement"}),
        }
    )
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert [a.path for a in loaded.articles] == ["harbour.txt"]
    assert sorted(warnings_of(caplog)) == [
        "skipped promo.json: no text (only a title or site furniture)",
        "skipped teaser.txt: no text (only a title or site furniture)",
    ]
    assert loaded.skipped_count == 2


def test_pdf_and_other_documents_are_named_as_unsupported(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_files(
        {
            "harbour.txt": HARBOUR,
            "annual-report.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            "minutes.docx": b"PK\x03\x04\x14\x00\x06\x00" + bytes(40),
            "photos/quay.JPG": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
        }
    )
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert sorted(warnings_of(caplog)) == [
        "skipped annual-report.pdf: unsupported file type (.pdf)",
        "skipped minutes.docx: unsupported file type (.docx)",
        "skipped photos/quay.JPG: unsupported file type (.jpg)",
    ]
    assert loaded.skipped_count == 3 and len(loaded.articles) == 1


def test_a_one_file_corpus_that_is_a_pdf_is_unsupported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    with caplog.at_level(logging.WARNING), pytest.raises(EmptyCorpusError):
        load_corpus(report)
    assert warnings_of(caplog) == ["skipped report.pdf: unsupported file type (.pdf)"]


def test_the_skipped_count_counts_every_bad_record_not_warning_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_corpus(tmp_path)
    good = {"title": "Ferry timetable changes", "text": "The island ferry adds a late sailing on Fridays."}
    feed = [json.dumps(good), "", "not json", *['{"title": "no body"}'] * 40, "", json.dumps(good)]
    (corpus / "feed.jsonl").write_text("\n".join(feed) + "\n", encoding="utf-8")
    listing = [good, {"title": "no body"}, 7, *[{"text": "   "}] * 9]
    (corpus / "wire.json").write_text(json.dumps(listing), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert loaded.skipped_count == 41 + 11  # blank lines are not records
    feed_warnings = [w for w in warnings_of(caplog) if "feed.jsonl" in w]
    wire_warnings = [w for w in warnings_of(caplog) if "wire.json" in w]
    assert feed_warnings[0] == "skipped feed.jsonl line 3: malformed JSON (Expecting value)"
    assert feed_warnings[3:] == ["skipped feed.jsonl: 38 more bad line(s)"]
    assert wire_warnings[0] == 'skipped wire.json item 1: no "text", "body" or "content" string'
    assert wire_warnings[3:] == ["skipped wire.json: 8 more bad item(s)"]
    manifest = build_index(corpus, tmp_path / "index")
    assert manifest.skipped_files == 52


def test_a_huge_bad_json_lines_file_logs_a_bounded_number_of_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_corpus(tmp_path)
    tides = [
        {"title": f"Tide table {n}", "text": f"High tide on day {n} is at 06:{n % 60:02d}.", "date": "spring"}
        for n in range(3_000)
    ]
    lines = [json.dumps(record) for record in tides] + ["{broken"] * 3_000
    (corpus / "archive.jsonl").write_text("\n".join(lines), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert warnings_of(caplog)[3:4] == ["archive.jsonl: 2997 more line(s) with a date or URL left out"]
    assert len(warnings_of(caplog)) == 2 * (3 + 1)
    assert loaded.skipped_count == 3_000
    assert sum(a.path == "archive.jsonl" for a in loaded.articles) == 3_000


def test_articles_emptied_by_cleaning_are_skipped_with_bounded_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kept = Article("harbour.txt", "Harbour strike ends", "Dock workers returned.", path="harbour.txt")
    emptied = [Article(f"flash.jsonl#{n}", "Ferry cancelled", "", path="flash.jsonl") for n in range(1, 7)]
    skipped: list[SkippedFile] = []
    with caplog.at_level(logging.WARNING):
        usable = _drop_emptied([kept, *emptied], skipped)
    assert usable == (kept,)
    assert warnings_of(caplog)[0] == (
        "skipped flash.jsonl (flash.jsonl#1): no article text once site furniture is removed"
    )
    assert warnings_of(caplog)[3:] == ["skipped flash.jsonl: 3 more article(s) with no text left"]
    assert sum(item.count for item in skipped) == 6


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-12", dt.date(2024, 3, 12)),
        ("March 12, 2024", dt.date(2024, 3, 12)),
        ("12 March 2024", dt.date(2024, 3, 12)),
        ("Tue, 12 Mar 2024 09:30:00 +0100", dt.date(2024, 3, 12)),
        ("13/03/2024", dt.date(2024, 3, 13)),
        ("03/13/2024", dt.date(2024, 3, 13)),
        ("2024/03/12", dt.date(2024, 3, 12)),
        ("2024-03-12T23:10:00Z", dt.date(2024, 3, 12)),
        ("07/07/2024", dt.date(2024, 7, 7)),  # the same read either way round
    ],
)
def test_unambiguous_dates_are_read(value: str, expected: dt.date) -> None:
    reading = read_date(value)
    assert (reading.date, reading.problem) == (expected, None)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("12/03/2024", "ambiguous"),
        ("04-05-2024", "ambiguous"),
        ("2024-02-30", "not a valid date"),
        ("31/02/2024", "not a valid date"),
        ("Fri, 30 Feb 2024 10:00:00 +0000", "not a valid date"),
        ("sometime in spring", "not a date"),
        ("spring " * 100, "not a date"),
    ],
)
def test_ambiguous_and_invalid_dates_are_left_unknown(value: str, problem: str) -> None:
    reading = read_date(value)
    assert reading.date is None and reading.problem is not None and problem in reading.problem


def test_an_ambiguous_date_from_a_french_publisher_is_left_unknown_with_a_warning(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    article = (
        "Title: Grève au port du Havre\nSource: Le Courrier du Havre\nDate: 12/03/2024\n\n"
        "Les dockers du Havre ont repris le travail mardi après neuf jours de grève.\n"
    )
    corpus = write_files({"havre.txt": article})
    with caplog.at_level(logging.WARNING):
        (loaded,) = load_corpus(corpus).articles
    assert loaded.date is None
    assert warnings_of(caplog) == [
        "havre.txt: date '12/03/2024' is ambiguous (day and month could be either way round); left unknown"
    ]


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads folders whatever their mode (tests run as root here)"
)
def test_an_unreadable_folder_is_named_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = write_corpus(tmp_path)
    (corpus / "embargoed").mkdir()
    (corpus / "embargoed" / "budget.txt").write_text(HARBOUR, encoding="utf-8")
    (corpus / "embargoed").chmod(0)
    try:
        with caplog.at_level(logging.WARNING):
            loaded = load_corpus(corpus)
    finally:
        (corpus / "embargoed").chmod(0o755)
    assert warnings_of(caplog) == ["skipped embargoed: cannot read the folder (Permission denied)"]
    assert loaded.skipped_count == 1


def test_a_file_name_with_line_breaks_cannot_forge_a_log_line(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_files(
        {
            "harbour.txt": HARBOUR,
            "minutes\nWARNING: token leaked.pdf": b"%PDF-1.4\n",
            "notes\r\nINFO: ok\tx.txt": "Council notes\n\nThe council approved the ferry budget on Monday.\n",
        }
    )
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert warnings_of(caplog) == ["skipped minutes WARNING: token leaked.pdf: unsupported file type (.pdf)"]
    assert sorted(a.path or "" for a in loaded.articles) == ["harbour.txt", "notes  INFO: ok x.txt"]
