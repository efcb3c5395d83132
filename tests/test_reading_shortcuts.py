"""The shortcuts of reading, cleaning and sentence splitting decide exactly as the code they replace."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from index import chunker
from index.chunker import ABBREVIATIONS, ChunkingConfig, _word_count, chunk_article, sentence_spans
from index.cleaning import (
    _NAV_ENTRIES,
    _SEPARATORS,
    BOILERPLATE_LINES,
    _ends_sentence,
    _is_collapsed_boilerplate,
    _is_label,
    _is_link_list,
    _is_staff_credit,
    is_boilerplate,
)
from index.corpusfiles import CONTROL_CHARS, SkipFile, decode
from index.metadata import _quote, clean_url
from index.models import Article
from index.rawarticle import safe_text as _safe_text

# The sentence splitter as it was written before it read lines in place: the reference for its output.
_END = re.compile(r"[.!?]+[\"'\u2019\u201d)\]]*(?=\s)")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_DATELINE_AGENCY = re.compile(r"\s*\([A-Z][\w .&/-]{0,30}\)\s*[\u2014\u2013-]")


def reference_is_abbreviation(text: str, end: int) -> bool:
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:end].lstrip("\"'(\u201c\u2018[").rstrip(".")
    if not word:
        return False
    if word.lower() in ABBREVIATIONS:
        return True
    if "." in word and all(len(part) <= 2 for part in word.split(".")):
        return True
    return len(word) == 1 and word.isalpha() and word.isupper()


def reference_sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []

    def append_trimmed(line: str, offset: int, start: int, end: int) -> None:
        piece = line[start:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((offset + start + lead, offset + start + lead + len(stripped)))

    for line in re.finditer(r"[^\n]+", text):
        line_text, start = line.group(), 0
        for match in _END.finditer(line_text):
            end = match.end()
            if line_text[match.start()] == "." and match.group().count(".") == 1:
                if reference_is_abbreviation(line_text, match.start() + 1):
                    continue
                if _DATELINE_AGENCY.match(line_text, end):
                    continue
            following = _NEXT_CHAR.match(line_text, end)
            char = following.group(1) if following else ""
            if char and not (char.isupper() or char.isdigit() or char in "\"'\u201c\u2018(["):
                continue
            append_trimmed(line_text, line.start(), start, end)
            start = end
        append_trimmed(line_text, line.start(), start, len(line_text))
    return spans


WORDS = (
    "The",
    "talks",
    "ended.",
    "Mr.",
    "Dr.",
    "U.S.",
    "U.S",
    "a.m.",
    "e.g.",
    "Calif.",
    "(AP)",
    "(Reuters)",
    "\u2014",
    "-",
    "John",
    "F.",
    "Kennedy.",
    "\u201cYes.\u201d",
    "'No.'",
    "end.)",
    "Wow?!",
    "Really...",
    "no.",
    "5.",
    "30,000.",
    "[sic].",
    "St.",
    "x" * 70 + ".",
    "y" * 70 + "z.",
    "(see",
    "below).",
    "\u00e9t\u00e9.",
)
SPACES = (" ", " ", " ", "  ", "\n", "\n\n", "\t", "\u00a0", " \n ", "\u2003")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SPACES)), max_size=40))
def test_sentences_split_as_the_reference_splitter_does(words: list[tuple[str, str]]) -> None:
    text = "".join(word + space for word, space in words)
    assert sentence_spans(text) == reference_sentence_spans(text)
    assert sentence_spans(text.strip()) == reference_sentence_spans(text.strip())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aB. !?\"')]\u201d([\u201c\n\t\u00a0\u2014(AP)Mr", max_size=80))
def test_sentences_of_any_text_split_as_the_reference_splitter_does(text: str) -> None:
    assert sentence_spans(text) == reference_sentence_spans(text)
    assert [m.span() for m in chunker._END.finditer(text)] == [m.span() for m in _END.finditer(text)]


@given(st.text(alphabet="ab \t\n\u00a0\u2003\u3000\x1c\x85\u200b.", max_size=40))
def test_words_are_counted_at_the_same_whitespace_as_before(text: str) -> None:
    assert _word_count(text) == len(re.findall(r"\S+", text))


@given(st.text(alphabet=".!?\"')]\u2019\u201d a|\n", max_size=12))
def test_sentence_end_check_agrees_with_its_pattern(line: str) -> None:
    assert _ends_sentence(line) == bool(re.search(r"[.!?][\"'\u2019\u201d)\]]*$", line))


@given(st.text(alphabet="ab\x00\x07\x0b\x1b\x7f\x85\x9f\t\n\u00e9\ud800\udfff", max_size=20))
def test_safe_text_replaces_what_it_did(text: str) -> None:
    assert _safe_text(text) == CONTROL_CHARS.sub("", re.sub("[\ud800-\udfff]", "\ufffd", text))


URL_PARTS = (
    "http",
    "HTTPS",
    "https",
    "ftp",
    "://",
    ":",
    "/",
    "//",
    "news.example",
    "EXAMPLE.org",
    "10.0.0.1",
    ":8080",
    ":",
    "@",
    "user@",
    "[::1]",
    "?q=1",
    "#top",
    "%20",
    '"',
    "<",
    ">",
    "`",
    "\\",
    " ",
    "\t",
    "\u00e9",
    "\u200b",
    "a-b",
    "..",
    "~x",
    ";",
    "{",
    "}",
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(URL_PARTS), max_size=8))
def test_plain_links_are_cleaned_as_every_link_is(parts: list[str]) -> None:
    url = "".join(parts)
    assert clean_url(url) == reference_clean_url(url)


def reference_clean_url(value: str) -> tuple[str | None, str | None]:
    """`clean_url` without its shortcut for plain links: every check made on every link."""
    url = value.strip()
    if not url:
        return None, None
    if len(url) > 2048:
        return None, "URL is longer than 2048 characters; left out"
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"} for char in url):
        return None, f"URL {_quote(url)} contains spaces, control or invisible characters; left out"
    if "\\" in url:
        return None, f"URL {_quote(url)} contains a backslash; left out"
    url = url.translate({ord(char): f"%{ord(char):02X}" for char in '"<>`'})
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None, f"URL {_quote(url)} is not an http(s) link; left out"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None, f"URL {_quote(url)} is not an http(s) link; left out"
    if "@" in parts.netloc:
        return None, f"URL {_quote(url)} names a user before its host; left out"
    return url, None


FURNITURE_WORDS = (
    *WORDS,
    "Share",
    "this",
    "|",
    "Facebook",
    "\u00b7",
    "Subscribe",
    "Sign",
    "in",
    "-",
    "z" * 90,
)


def reference_is_boilerplate(line: str) -> bool:
    """`is_boilerplate` as written before it skipped scans: every pattern tried on every short line."""
    if len(line) > 800:
        return False
    stripped = " ".join(line.split()).strip(" |\u00b7\u2022\u2013\u2014-")
    if len(stripped) > 400:
        return False
    if any(pattern.fullmatch(stripped) for pattern in BOILERPLATE_LINES) or _is_staff_credit(stripped):
        return True
    entries = _SEPARATORS.split(stripped)
    return len(entries) > 1 and all(
        entry.casefold() in _NAV_ENTRIES or any(p.fullmatch(entry) for p in BOILERPLATE_LINES)
        for entry in entries
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FURNITURE_WORDS), max_size=30), st.sampled_from([" ", "  ", "\t"]))
def test_lines_are_furniture_exactly_when_they_were(words: list[str], space: str) -> None:
    line = space.join(words)
    assert is_boilerplate(line) == reference_is_boilerplate(line)
    collapsed = " ".join(line.split())
    assert _is_collapsed_boilerplate(collapsed) == reference_is_boilerplate(collapsed)
    words_count = len(collapsed.split())
    assert _is_label(collapsed) == (
        0 < words_count <= 4 and not re.search(r"[.!?:;,\"]$", collapsed) and collapsed[:1].isupper()
    )
    entries = [entry for entry in _SEPARATORS.split(collapsed) if entry]
    assert _is_link_list(collapsed) == (
        not collapsed.startswith("|")
        and not re.search(r"[.!?][\"'\u2019\u201d)\]]*$", collapsed)
        and len(entries) > 1
        and all(len(entry.split()) <= 5 for entry in entries)
    )


@given(st.binary(max_size=40).map(lambda data: bytes(byte & 0x7F for byte in data)), st.integers(0, 9000))
def test_binary_check_counts_control_characters_as_it_did(data: bytes, padding: int) -> None:
    data = b"a" * padding + data  # some checks reach past the first 8192 characters
    try:
        text, _ = decode(data)
    except SkipFile as skip:
        reason = str(skip)
    else:
        reason = ""
        assert text == data.decode("utf-8-sig")
    if b"\x00" not in data:
        text = data.decode("utf-8-sig")
        binary = len(CONTROL_CHARS.findall(text, 0, 8192)) > 0.05 * min(len(text), 8192)
        assert reason == ("binary file (control characters)" if binary else "")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SPACES)), max_size=30), st.integers(1, 40))
def test_an_article_of_one_passage_is_its_sentences_from_first_to_last(
    words: list[tuple[str, str]], max_words: int
) -> None:
    text = "".join(space + word for word, space in words) + " "
    article = Article(doc_id="brief", title="Council brief", text=text)
    chunks = chunk_article(article, ChunkingConfig(max_words=max_words))
    if len(text.split()) > max_words:
        return  # longer articles are split into sentences as they always were
    spans = reference_sentence_spans(text)
    expected = [(spans[0][0], spans[-1][1])] if spans else []
    assert [(chunk.start, chunk.end) for chunk in chunks] == expected
    assert all(chunk.text == text[chunk.start : chunk.end] and chunk.n == 0 for chunk in chunks)
