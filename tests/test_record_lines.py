"""Article lines written field by field are exactly what encoding each article's fields as JSON gives."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from index.models import Article
from index.records import _article_json, article_line

# Text that JSON must escape or may keep as it is: quotes, backslashes, control characters, accents,
# typographic quotes and dashes, and characters outside the basic plane.
FIELD_TEXT = st.text(st.sampled_from(list('Harbour "wall" \\ /\t\n\x00\x1f\u2028é—“”😀ß')), max_size=30)


def reference_line(article: Article) -> bytes:
    return json.dumps(_article_json(article), ensure_ascii=False).encode() + b"\n"


@settings(max_examples=300, deadline=None)
@given(
    FIELD_TEXT,
    FIELD_TEXT,
    st.none() | FIELD_TEXT,
    st.none() | FIELD_TEXT,
    st.none() | st.dates(),
    st.none() | FIELD_TEXT,
    st.none() | FIELD_TEXT,
)
def test_an_article_line_is_its_fields_encoded_as_json(
    doc_id: str,
    title: str,
    publisher: str | None,
    url: str | None,
    date: dt.date | None,
    author: str | None,
    path: str | None,
) -> None:
    article = Article(doc_id, title, "The council voted.", publisher, url, date, author, path)
    assert article_line(article) == reference_line(article)


def test_a_field_that_is_not_text_is_written_as_the_encoder_writes_it() -> None:
    # A JSON Lines record whose id is a number, if a reader ever let one through.
    article = Article(2024, "Flood wall approved", "The council voted.", None, None, None, None, None)  # type: ignore[arg-type]
    assert article_line(article) == reference_line(article)
    assert b'"doc_id": 2024,' in article_line(article)


def test_a_wire_story_line() -> None:
    article = Article(
        "wire/harbour-vote",
        "Harbour council backs \u201cstopgap\u201d flood wall",
        "PINE VALLEY, Calif. (AP) \u2014 The council voted 7-2 on Tuesday.",
        "Associated Press",
        "https://news.example/harbour-vote?ref=rss",
        dt.date(2024, 5, 1),
        "Jos\u00e9 Alvarez",
        "wire/2024-05.jsonl",
    )
    line = article_line(article)
    assert line == reference_line(article)
    assert json.loads(line)["title"] == "Harbour council backs \u201cstopgap\u201d flood wall"
