"""HTML pages: metadata from JSON-LD, meta tags and the title; furniture; pages of unclosed tags."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from index.htmltext import guard_unclosed_tags, parse_html, split_title
from index.loader import load_corpus
from index.models import Article
from tests.conftest import DATA, WriteFiles

ARTICLES = DATA / "articles"


def read(path: Path) -> Article:
    (article,) = (a for a in load_corpus(path.parent).articles if a.doc_id == path.name)
    return article


def page(
    head: str, body: str = "<p>The ferry to Vashon Island resumed service on Monday morning.</p>"
) -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body><article>{body}</article></body></html>"


def jsonld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_json_ld_in_a_list_wins_and_gives_every_author() -> None:
    article = read(ARTICLES / "council-vote.html")
    assert article.title == "Council approves protected bike lanes on Harbor Avenue"  # not the <title>
    assert article.publisher == "The Daily Planet"
    assert article.author == "Priya Raman, Tom Okafor"  # not the meta tag's "Staff"
    assert article.date == dt.date(2025, 9, 16)
    assert article.url == "https://dailyplanet.example/news/council-bike-lanes"


def test_json_ld_in_a_graph_and_the_title_suffix_as_publisher() -> None:
    article = read(ARTICLES / "rate-decision.html")
    assert article.title == "Central bank holds rates steady as inflation cools"
    assert article.publisher == "Northwind Post"  # from "<title>… | Northwind Post", nothing better known
    assert article.author == "Daniel Park"
    assert article.date == dt.date(2025, 11, 5)


def test_page_furniture_is_removed_and_the_story_kept() -> None:
    council = read(ARTICLES / "council-vote.html").text
    rates = read(ARTICLES / "rate-decision.html").text
    for furniture in (
        "Subscribe",
        "Sign in",
        "Share this article",
        "Join the conversation",
        "Comments (12)",
        "Photo: Lee Chen",
        "By Priya Raman",
        "Related stories",
        "All rights reserved",
    ):
        assert furniture not in council
    for furniture in ("Reporting by", "Markets Daily newsletter", "Image caption", "Home | Economy"):
        assert furniture not in rates
    assert council.split("\n\n")[-1].startswith("Council member Rosa Ortiz, who voted no")
    assert rates.startswith("WASHINGTON (Reuters) - The central bank left its key interest rate unchanged")
    assert rates.endswith('"We are not yet where we need to be," the bank\'s chair told reporters.')


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Maya Chen", "Maya Chen"),
        ({"@type": "Person", "name": "Maya Chen"}, "Maya Chen"),
        ([{"name": "Maya Chen"}, "Luis Ortega", {"@type": "Person"}], "Maya Chen, Luis Ortega"),
    ],
)
def test_json_ld_author_as_string_object_or_list(author: object, expected: str) -> None:
    head = jsonld(
        {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry", "author": author}
    )
    assert parse_html(page(head)).meta["author"] == expected


def test_json_ld_modified_date_when_no_published_date_and_bad_blocks_ignored() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
        + jsonld({"@type": ["Thing", "NewsArticle"], "dateModified": "2025-02-03T10:00:00Z"})
        + '<meta property="og:site_name" content="Island Weekly">'
    )
    meta = parse_html(page(head)).meta
    assert meta["date"] == "2025-02-03T10:00:00Z"
    assert meta["publisher"] == "Island Weekly"


def test_og_site_name_is_preferred_to_the_title_suffix() -> None:
    head = (
        "<title>Ferry service resumes - Vashon News</title>"
        + '<meta property="og:site_name" content="The Beachcomber">'
    )
    meta = parse_html(page(head)).meta
    assert (meta["title"], meta["publisher"]) == ("Ferry service resumes", "The Beachcomber")
    head = (
        "<title>Ferry service resumes - The Beachcomber</title>"
        + '<meta property="og:site_name" content="The Beachcomber">'
    )
    assert parse_html(page(head)).meta["title"] == "Ferry service resumes"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Old bridge closes for repairs | City Times", ("Old bridge closes for repairs", "City Times")),
        ("Storm Hits Coast - BBC News", ("Storm Hits Coast", "BBC News")),
        ("Fire spreads - thousands flee", ("Fire spreads - thousands flee", None)),
        ("Fire spreads in the hills", ("Fire spreads in the hills", None)),
        ("Budget vote: what it means for schools", ("Budget vote: what it means for schools", None)),
    ],
)
def test_split_title(title: str, expected: tuple[str, str | None]) -> None:
    assert split_title(title) == expected


def test_a_page_without_meta_gets_its_publisher_from_the_title(write_files: WriteFiles) -> None:
    corpus = write_files(
        {
            "ferry.html": "<html><head><title>Ferry service resumes | Vashon News</title></head><body>"
            "<p>The ferry to Vashon Island resumed service on Monday morning.</p></body></html>"
        }
    )
    (article,) = load_corpus(corpus).articles
    assert (article.title, article.publisher) == ("Ferry service resumes", "Vashon News")


def test_whitespace_collapses_inside_blocks_and_blocks_break_lines() -> None:
    body = (
        "<p>The ferry to Vashon\n   Island resumed <b>service</b>\n on Monday.</p>"
        "<div>Crews   repaired the\tdock.<br>Tolls stay the same.</div>"
        "<pre>Route  1\nRoute  2</pre>"
    )
    assert parse_html(page("", body)).text.split("\n") == [
        "The ferry to Vashon Island resumed service on Monday.",
        "Crews repaired the dock.",
        "Tolls stay the same.",
        "Route 1",
        "Route 2",
    ]


def test_furniture_by_class_is_left_out_unless_nothing_else_remains() -> None:
    body = '<div class="social-share">Share on Facebook</div><p>The ferry resumed service on Monday.</p>'
    assert parse_html(page("", body)).text == "The ferry resumed service on Monday."
    only = '<div class="related-stories"><p>The ferry resumed service on Monday.</p></div>'
    assert parse_html(page("", only)).text == "The ferry resumed service on Monday."


# --- pages of unclosed tags parse in linear time -------------------------------------------------
# 300 KB of "<a " took the stdlib parser minutes (quadratic, CPython gh-135462): these would hang.


@pytest.mark.parametrize("unit", ["<a ", '<div class="x'])
def test_a_page_of_unclosed_tags_is_read(unit: str) -> None:
    story = "<p>The dam on the Klamath River held overnight, officials said.</p>"
    markup = "<html><body>" + story + unit * (300_000 // len(unit)) + "</body></html>"
    text = parse_html(markup).text
    assert text.startswith("The dam on the Klamath River held overnight, officials said.")
    assert unit.strip() in text  # the unclosed tags are text, as a browser shows them


def test_the_guard_leaves_well_formed_markup_alone() -> None:
    markup = (
        '<p class="a">x &lt; y</p><!-- a <b> comment --><script>if (a < b) { go(); }</script>'
        "<style>p > a { color: red }</style><img src='a.png'/><p>Rain < 2 inches</p>"
    )
    assert guard_unclosed_tags(markup) == markup.replace("Rain < 2", "Rain &lt; 2")


def test_a_page_without_a_title_keeps_its_lead_paragraph(write_files: WriteFiles) -> None:
    lead = (
        "The ferry to Vashon Island resumed service on Monday morning after a three-day shutdown caused"
        " by a cracked loading ramp at the Fauntleroy dock."
    )
    corpus = write_files(
        {"ferry.html": f"<html><body><p>{lead}</p><p>Tolls stay the same.</p></body></html>"}
    )
    (article,) = load_corpus(corpus).articles
    assert article.text.split("\n\n") == [lead, "Tolls stay the same."]
    assert article.title == "The ferry to Vashon Island resumed service on Monday morning after a…"
