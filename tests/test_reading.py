"""Articles are read as their authors wrote them: paragraphs, leads, datelines, syndicated copies.

The articles in tests/data/articles/ are written like real pages and wire copy: a hard-wrapped AP
story whose first line is its lead, a scraped page with one paragraph per line, hard-wrapped Markdown,
HTML pages with JSON-LD and site furniture, a JSON article, and one flood story carried by four
outlets (syndicated/) with each site's own furniture around the same text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import long_line
from index.answer import QAService
from index.builder import build_index
from index.chunker import TEXT_VERSION, ChunkingConfig, chunk_article, sentence_spans
from index.cleaning import paragraphs
from index.loader import load_corpus
from index.models import Article
from index.settings import IndexConfig, index_status
from tests.conftest import DATA, WriteFiles

ARTICLES = DATA / "articles"
SYNDICATED = ARTICLES / "syndicated"


def articles_of(corpus: Path) -> dict[str, Article]:
    return {article.doc_id: article for article in load_corpus(corpus).articles}


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


@pytest.fixture(scope="module")
def fixture_articles() -> dict[str, Article]:
    return articles_of(ARTICLES)


# --- syndicated copies keep every paragraph --------------------------------------------------------


def test_syndicated_copies_keep_their_short_paragraphs(fixture_articles: dict[str, Article]) -> None:
    copies = [a for doc_id, a in fixture_articles.items() if doc_id.startswith("syndicated/")]
    assert len(copies) == 4
    for copy in copies:
        paragraphs = copy.text.split("\n\n")
        assert "When will schools reopen?" in paragraphs, copy.doc_id
        assert "Cedar Rapids schools will reopen on Wednesday, the district said." in paragraphs
        assert "About 1,400 people remained in shelters on Friday night." in paragraphs
    # The four sites' own furniture is gone and the story text is the same in every copy.
    assert len({copy.text for copy in copies}) == 1


def test_the_question_about_a_short_syndicated_paragraph_is_answered(tmp_path: Path) -> None:
    build_index(ARTICLES, tmp_path / "index")
    answer = QAService.open(tmp_path / "index").answer("When will schools reopen in Cedar Rapids?")
    assert answer.found
    assert "Wednesday" in answer.passages[0].text


def test_an_article_cleans_the_same_alone_and_in_a_full_build(
    write_files: WriteFiles, fixture_articles: dict[str, Article]
) -> None:
    alone = write_files({"gazette.txt": (SYNDICATED / "gazette.txt").read_text(encoding="utf-8")})
    assert articles_of(alone)["gazette.txt"].text == fixture_articles["syndicated/gazette.txt"].text


def test_planted_files_cannot_delete_a_paragraph_from_other_articles(write_files: WriteFiles) -> None:
    victim = (ARTICLES / "wildfire-wire.txt").read_text(encoding="utf-8")
    planted = {
        f"planted-{i}.txt": f"Notice {i}\n\nWhen will schools reopen?\n\nThe utility said it expected to"
        f" restore power to most customers by Sunday evening.\n\nPlanted note number {i} ends here."
        for i in range(6)
    }
    corpus = write_files({"wildfire.txt": victim, **planted})
    text = articles_of(corpus)["wildfire.txt"].text
    assert "When will schools reopen?" in text.split("\n\n")
    assert "restore power to most customers by Sunday evening." in text


# --- a .txt lead is body text, not a title --------------------------------------------------------


def test_a_lead_on_the_first_line_stays_in_the_text(fixture_articles: dict[str, Article]) -> None:
    article = fixture_articles["wildfire-wire.txt"]
    assert article.text.startswith("PINE VALLEY, Calif. (AP) — A fast-moving wildfire forced thousands")
    # The title is the lead's first sentence without its dateline, cut at a word boundary.
    assert article.title == "A fast-moving wildfire forced thousands of residents to flee their homes in…"


def test_a_headline_on_the_first_line_is_still_the_title(fixture_articles: dict[str, Article]) -> None:
    article = fixture_articles["scraped-harbor.txt"]
    assert article.title == "Harbor dredging to begin next month after years of delay"
    assert article.text.startswith("Crews will begin dredging the inner harbor")


def test_a_short_lead_sentence_is_not_mistaken_for_a_long_one(write_files: WriteFiles) -> None:
    corpus = write_files(
        {
            "notice.txt": "Library closes early on Friday.\n\nThe Main Street branch will close at 3 p.m. for repairs."
        }
    )
    article = articles_of(corpus)["notice.txt"]
    assert article.title == "Library closes early on Friday."
    assert article.text == "The Main Street branch will close at 3 p.m. for repairs."


# --- paragraphs: blank lines separate them, single newlines are spaces ----------------------------


def test_hard_wrapped_wire_copy_joins_into_paragraphs(fixture_articles: dict[str, Article]) -> None:
    text = fixture_articles["wildfire-wire.txt"].text
    assert "\n" not in text.replace("\n\n", "")
    assert "The utility said it expected to restore power to most customers by Sunday evening." in sentences(
        text
    )


def test_the_answer_sentence_of_hard_wrapped_text_is_whole(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLES / "power-outage.md", corpus)
    build_index(corpus, tmp_path / "index")
    answer = QAService.open(tmp_path / "index").answer("When will power be restored to most customers?")
    assert answer.highlighted_sentence is not None
    assert answer.highlighted_sentence.startswith("Pacific Gas and Electric said its crews")
    assert "by Sunday evening" in answer.highlighted_sentence


def test_markdown_headings_and_list_items_keep_their_own_lines(fixture_articles: dict[str, Article]) -> None:
    paragraphs = fixture_articles["power-outage.md"].text.split("\n\n")
    assert "Where to get help" in paragraphs
    assert "Marin Civic Center, 3501 Civic Center Drive, open until 10 p.m." in paragraphs
    # A wrapped list item joins its continuation line.
    assert "Novato Community House, 901 Sherman Avenue, open around the clock through Monday." in paragraphs
    assert paragraphs[1].startswith(
        "Pacific Gas and Electric said its crews were working to restore power to"
    )


def test_text_without_blank_lines_keeps_one_paragraph_per_line(fixture_articles: dict[str, Article]) -> None:
    paragraphs = fixture_articles["scraped-harbor.txt"].text.split("\n\n")
    assert paragraphs == [
        "Crews will begin dredging the inner harbor in Port Hollis on April 7, the port authority said"
        " Thursday, ending a six-year wait for the project that shippers say is overdue.",
        "The $48 million project will deepen the main channel from 38 feet to 45 feet so that larger"
        " container ships can dock without waiting for high tide.",
        "Port director Alan Whitcomb said the work would take about 14 months.",
        '"Every week we wait, cargo goes to other ports," Whitcomb said.',
        "Fishing boats will be moved to a temporary dock near the ferry terminal while the work goes on.",
    ]


def test_json_text_joins_wrapped_lines(fixture_articles: dict[str, Article]) -> None:
    article = fixture_articles["school-budget-2025"]
    assert article.text.split("\n\n")[0] == (
        "The Riverside school board adopted a $212 million budget on Wednesday that adds 35 teaching"
        " positions and raises starting pay for teachers to $52,000."
    )
    assert article.author == "Ana Lopez, Mark Hill"


def test_html_whitespace_inside_a_block_collapses(fixture_articles: dict[str, Article]) -> None:
    paragraphs = fixture_articles["council-vote.html"].text.split("\n\n")
    assert paragraphs[0] == (
        "The city council voted 7-2 on Tuesday night to build protected bike lanes along a two-mile"
        " stretch of Harbor Avenue, one of the city's busiest commercial streets."
    )


# --- datelines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        (
            "PINE VALLEY, Calif. (AP) — A fast-moving wildfire forced thousands to flee. Crews arrived late.",
            "PINE VALLEY, Calif. (AP) — A fast-moving wildfire forced thousands to flee.",
        ),
        (
            "WASHINGTON (Reuters) - The Senate passed the bill on Friday. It now goes to the House.",
            "WASHINGTON (Reuters) - The Senate passed the bill on Friday.",
        ),
        (
            "LONDON, March 3 (AP) — Britain's economy grew 0.3% in January. Economists had expected less.",
            "LONDON, March 3 (AP) — Britain's economy grew 0.3% in January.",
        ),
        (
            "SAVANNAH, Ga. (AP) - The port reopened Monday after the storm. Ships lined up offshore.",
            "SAVANNAH, Ga. (AP) - The port reopened Monday after the storm.",
        ),
        (
            "BOSTON, Mass. — Snow closed Logan Airport on Sunday. Flights resume Monday.",
            "BOSTON, Mass. — Snow closed Logan Airport on Sunday.",
        ),
    ],
)
def test_a_dateline_does_not_split_the_first_sentence(text: str, first: str) -> None:
    assert sentences(text)[0] == first


def test_a_state_abbreviation_without_a_dateline_still_ends_a_sentence_when_ambiguous() -> None:
    assert sentences("They went to Mass. Then they ate lunch.") == [
        "They went to Mass.",
        "Then they ate lunch.",
    ]


# --- the cleaned text's version is part of the index settings ------------------------------------


def test_an_index_built_from_differently_read_text_is_stale(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLES / "scraped-harbor.txt", corpus)
    old = IndexConfig(chunking=ChunkingConfig(text_version=TEXT_VERSION - 1))
    build_index(corpus, tmp_path / "index", old)
    assert index_status(corpus, tmp_path / "index", IndexConfig()).state == "stale"
    assert IndexConfig().to_json()["chunking"]["text_version"] == TEXT_VERSION


# --- long lines are split in linear time ---------------------------------------------------------


def test_a_multi_megabyte_line_is_chunked(write_files: WriteFiles) -> None:
    # Quadratic splitting took 30 s for 2.1 MB; this 8 MB line would take minutes.
    sentence = "The council met on Tuesday and voted to close the pool, Mr. Smith said. "
    text = sentence * (8_000_000 // len(sentence))
    chunks = chunk_article(Article(doc_id="long.txt", title="Long", text=text), ChunkingConfig())
    assert len(chunks) > 1000
    assert chunks[-1].text.endswith("Mr. Smith said.")
    assert all(len(chunk.text.split()) <= 150 for chunk in chunks)


def test_the_long_line_benchmark_runs_at_a_small_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert long_line.main(["--mb", "0.2", "--html-mb", "0.02"]) == 0
    out = capsys.readouterr().out
    assert "build_index (load, chunk, analyze, save)" in out
    assert "parse_html of 0.02 MB of '<a '" in out


# --- paragraph shaping is stable -----------------------------------------------------------------


def test_a_headline_above_one_paragraph_per_line_keeps_those_lines(write_files: WriteFiles) -> None:
    text = (
        "Harbor dredging to begin next month\n\n"
        "Crews will begin dredging the inner harbor on April 7, the port authority said.\n"
        "The $48 million project will deepen the main channel to 45 feet.\n"
        "Port director Alan Whitcomb said the work would take about 14 months.\n"
    )
    article = articles_of(write_files({"harbor.txt": text}))["harbor.txt"]
    assert article.title == "Harbor dredging to begin next month"
    assert len(article.text.split("\n\n")) == 3


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "",
                "   ",
                "The council voted 7-2 on Tuesday night to build",
                "protected bike lanes along Harbor Avenue.",
                "# Where to get help",
                "- Marin Civic Center, open until 10 p.m.",
                "  through Monday.",
                "Share this article: Facebook X Email",
                "1. Novato Community House",
                "When will schools reopen?",
            ]
        ),
        max_size=14,
    )
)
def test_shaping_paragraphs_twice_changes_nothing(lines: list[str]) -> None:
    once = paragraphs(lines)
    assert paragraphs("\n\n".join(once).splitlines()) == once
    assert all(paragraph and "\n" not in paragraph for paragraph in once)
