"""Ingest: formats, metadata, boilerplate removal and skipped files."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from index.cleaning import BOILERPLATE_LINES, is_boilerplate
from index.errors import CorpusError, EmptyCorpusError
from index.loader import load_corpus, parse_date
from index.models import Article
from tests.conftest import SHIPPED_CORPUS, WriteFiles


def articles_of(corpus: Path) -> dict[str, Article]:
    return {article.doc_id: article for article in load_corpus(corpus).articles}


def test_text_file_headers_title_and_boilerplate(corpus_dir: Path) -> None:
    article = next(a for a in load_corpus(corpus_dir).articles if a.doc_id == "talks.txt")
    assert article.title == "Kerry and Lavrov End Paris Talks Without a Deal"
    assert article.publisher == "Example Wire"
    assert article.url == "https://news.example/kerry-lavrov-paris"
    assert article.date == dt.date(2014, 3, 30)
    assert article.path == "talks.txt"
    assert article.text.startswith("U.S. Secretary of State John Kerry")
    for furniture in (
        "Skip to main content",
        "Share This article",
        "COMMENTS",
        "having issues with commenting",
    ):
        assert furniture not in article.text
    assert "Kerry and Lavrov End Paris Talks" not in article.text  # the repeated title line


def test_markdown_title_from_heading(corpus_dir: Path) -> None:
    article = next(a for a in load_corpus(corpus_dir).articles if a.doc_id == "garden.md")
    assert article.title == "Community garden opens on Elm Street"
    assert article.text.startswith("The new community garden")


def test_html_article_body_and_meta(corpus_dir: Path) -> None:
    article = next(a for a in load_corpus(corpus_dir).articles if a.doc_id == "city/bridge.html")
    assert article.title == "Old bridge closes for repairs"
    assert article.publisher == "City Times"
    assert article.url == "https://citytimes.example/bridge"
    assert article.date == dt.date(2023, 5, 2)
    assert "closed on Tuesday for six months" in article.text
    for hidden in ("tracking", "color: red", "Home | News", "Read more", "All rights reserved"):
        assert hidden not in article.text


def test_json_article_fields(corpus_dir: Path) -> None:
    article = next(a for a in load_corpus(corpus_dir).articles if a.doc_id == "library-hours")
    assert (article.title, article.publisher, article.date) == (
        "Library extends weekend hours",
        "Town Crier",
        dt.date(2024, 1, 15),
    )
    assert article.path == "library.json"


def test_json_list_and_body_key(write_files: WriteFiles) -> None:
    records = [{"title": "One", "body": "First body text here."}, {"title": "Two", "content": "Second text."}]
    corpus = write_files({"many.json": json.dumps(records)})
    articles = load_corpus(corpus).articles
    assert [(a.doc_id, a.title) for a in articles] == [("many.json#0", "One"), ("many.json#1", "Two")]


def test_jsonl_file_as_corpus_in_the_eval_format(tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    lines = [
        {
            "id": "kanye-west",
            "title": "Kanye West",
            "text": "Kanye Omari West was born in 1977.\n\nRaised in Chicago.",
        },
        {"id": "zinc", "title": "Zinc", "text": "Zinc is a chemical element."},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    articles = load_corpus(path).articles
    assert [a.doc_id for a in articles] == ["kanye-west", "zinc"]
    assert articles[0].text == "Kanye Omari West was born in 1977.\n\nRaised in Chicago."


def test_bad_files_are_skipped_with_one_warning_each(
    write_files: WriteFiles, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_files(
        {
            "good.txt": "A good article\n\nThe harbour reopened after the storm.",
            "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20,
            "empty.md": "",
            "broken.json": '{"title": "x", "text": ',
            "notext.json": '{"title": "only a title"}',
            "lines.jsonl": '{"id": "a", "title": "A", "text": "Alpha text."}\nnot json\n',
        }
    )
    with caplog.at_level(logging.WARNING, logger="index.loader"):
        result = load_corpus(corpus)
    assert sorted(a.doc_id for a in result.articles) == ["a", "good.txt"]
    skipped = {s.path: s.reason for s in result.skipped}
    assert set(skipped) == {"binary.txt", "empty.md", "broken.json", "notext.json", "lines.jsonl line 2"}
    assert "binary" in skipped["binary.txt"] and "malformed JSON" in skipped["broken.json"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 5
    assert all(message.startswith("skipped ") for message in warnings)


def test_windows_1252_and_utf16_are_decoded(write_files: WriteFiles) -> None:
    corpus = write_files(
        {
            "cp1252.txt": "Caf\u00e9 owners\n\nThe caf\u00e9 \u2019reopened\u2019 today.".encode("cp1252"),
            "utf16.txt": "Harbour news\n\nThe harbour reopened.".encode("utf-16"),
        }
    )
    texts = {a.doc_id: a.text for a in load_corpus(corpus).articles}
    assert texts == {
        "cp1252.txt": "The caf\u00e9 \u2019reopened\u2019 today.",
        "utf16.txt": "The harbour reopened.",
    }


def test_empty_and_missing_corpus_are_clear_errors(write_files: WriteFiles, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus not found"):
        load_corpus(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyCorpusError, match=r"no \.txt/\.md/\.html/\.json/\.jsonl file"):
        load_corpus(tmp_path / "empty")
    with pytest.raises(EmptyCorpusError, match="none with a usable article"):
        load_corpus(write_files({"empty.txt": "   \n"}))


def test_a_site_footer_is_removed_by_what_it_is_not_by_how_often_it_repeats(write_files: WriteFiles) -> None:
    footer = "Follow the Daily Planet for more local news"
    files = {
        f"a{i}.txt": f"Story {i}\n\nThe pool on Elm Street reopens on day {i} of the month.\n\n{footer}"
        for i in range(5)
    }
    articles = articles_of(write_files(files))
    assert all(footer not in a.text for a in articles.values())
    assert articles["a0.txt"].text == "The pool on Elm Street reopens on day 0 of the month."
    alone = articles_of(write_files({"only.txt": files["a3.txt"]}))["only.txt"]
    assert alone.text == articles["a3.txt"].text


def test_short_paragraphs_repeated_across_articles_are_kept(write_files: WriteFiles) -> None:
    shared = "Officials said the road would reopen on Friday."
    files = {
        f"road{i}.txt": f"Road closure {i}\n\nA mudslide closed Highway {i} overnight.\n\n{shared}"
        for i in range(6)
    }
    articles = articles_of(write_files(files))
    assert all(a.text.endswith(shared) for a in articles.values())


def test_shipped_corpus_is_cleaned() -> None:
    articles = {a.doc_id: a for a in load_corpus(SHIPPED_CORPUS).articles}
    cbn = articles["us-russia-talks-on-ukraine-end-in-deadlock.txt"]
    assert cbn.title == "US, Russia Talks on Ukraine End in Deadlock"
    assert cbn.publisher == "CBN"
    assert cbn.text.startswith("The United States and Russia agreed Sunday")
    assert "Share This article" not in cbn.text
    other = articles["no-resolution-after-kerry-lavrov-talk.txt"]
    assert other.title.startswith("No Resolution After Kerry, Lavrov Talk")
    assert other.text.startswith("Secretary of State John Kerry")
    assert "COMMENTS" not in other.text and "commenting" not in other.text


@pytest.mark.parametrize(
    "line",
    [
        "Skip to main content",
        "Share This article",
        "COMMENTS",
        "Advertisement",
        "© 2024 Example Media",
        "Share this article: Facebook X Email",
        "Share on Facebook",
        "Facebook Twitter LinkedIn Email",
        "Subscribe | Sign in",
        "Home | Newsletters | Log in",
        "Join the conversation",
        "Comments (12)",
        "Leave a comment",
        "View 38 comments",
        "Photo: Jane Doe/AP",
        "(AP Photo/Noah Berger)",
        "Firefighters battle the Border Fire near Pine Valley, Calif., on Tuesday. (AP Photo/Noah Berger)",
        "(Photo by Lee Chen/Getty Images)",
        "Image caption, Traders watch screens on the floor of the exchange",
        "Image source, Getty Images",
        "Credit: Marin Ledger",
        "Reporting by Daniel Park; Editing by Susan Fenton",
        "Reporting by Daniel Park in Washington and Aoife White in Brussels",
        "(Additional reporting by Tom Okafor; Writing by Priya Raman; Editing by Ana Lopez)",
        "Associated Press writer Julie Watson contributed to this report.",
        "Sign up for our Morning Briefing newsletter to get the day's top stories.",
        "Get our free Markets Daily newsletter in your inbox.",
        "Download the Daily Planet app for breaking news alerts.",
        "Follow us on Instagram",
        "Most read",
        "More from Metro",
    ],
)
def test_boilerplate_rules(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Comments made by the minister angered the opposition.",
        "Share prices fell on Monday.",
        "Reporting by the Gazette found that the mayor had misled the council.",
        "The photo, taken by a tourist, shows the bridge collapsing.",
        "Officials said the new app would let residents report potholes.",
        "More than 600 people spent the night in shelters.",
        "Subscribers to the water utility will see a 4% rise in their bills.",
        "Image quality of the new satellite is ten times better, NASA said.",
        "When will schools reopen?",
        "Home sales fell 12% | Prices rose 3%.",
        "Residents can register for the city's newsletter at City Hall.",
        "See the comments the mayor made on Tuesday, which drew a rebuke from the council.",
    ],
)
def test_boilerplate_rules_leave_sentences_alone(line: str) -> None:
    assert BOILERPLATE_LINES
    assert not is_boilerplate(line)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014-03-30", dt.date(2014, 3, 30)),
        ("2014-03-30T10:00:00Z", dt.date(2014, 3, 30)),
        ("Sun, 30 Mar 2014 10:00:00 +0000", dt.date(2014, 3, 30)),
        ("March 30, 2014", dt.date(2014, 3, 30)),
        ("sometime", None),
        (None, None),
    ],
)
def test_parse_date(value: str | None, expected: dt.date | None) -> None:
    assert parse_date(value) == expected
