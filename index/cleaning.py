"""Shape article text into paragraphs and remove site furniture, one article at a time."""

from __future__ import annotations

import re
from collections.abc import Callable

from .chunker import sentence_spans

# Site furniture that is never part of an article, matched against whole lines (case-insensitive).
_SOCIAL = (
    r"(?:facebook|x|twitter|e-?mail|linkedin|whatsapp|reddit|pinterest|messenger|telegram|bluesky"
    r"|threads|flipboard|instagram|tiktok|youtube|print|copy(?: link)?|sms)"
)
BOILERPLATE_LINES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"skip to (?:main )?content",
        rf"share(?: this| on \w+)?(?: article| story| page| post| via)?:?(?:[ ,|]+{_SOCIAL})*",
        rf"{_SOCIAL}(?:[ ,|]+{_SOCIAL})+",
        r"comments?(?: \(\d+\))?:?",
        r"\d+ comments?",
        r"please let us know if you'?re having issues with commenting\.?",
        r"join the (?:conversation|discussion|debate)\b.{0,80}",
        r"(?:leave|add|post|write|view|show|see|read|hide|load) (?:a |all |the )?(?:\d+ )?comments?"
        r"(?: \(\d+\)| below| here)?[.:]?",
        r"be the first to comment\.?",
        r"advertisement",
        r"sponsored(?: content)?",
        r"(?:read|see) more(?: stories| news)?:?",
        r"related(?: articles| stories| coverage| content)?:?",
        r"(?:most (?:read|popular|viewed|shared)|trending(?: now)?|top stories|latest news|editor'?s picks)",
        r"(?:recommended(?: for you)?|you (?:may|might) also like|more (?:from|in|on) [^.!?]{1,40})",
        r"click here.*",
        r"follow us(?: on .*)?",
        rf"(?:follow|like) [\w@ .'&-]{{1,40}} (?:on {_SOCIAL}|for (?:more|the latest)\b.*)\.?",
        r"sign up for (?:our|the) .*newsletter.*",
        r"(?:sign up|subscribe|register|want more|don'?t miss|never miss)\b.{0,80}\bnewsletters?\b.{0,80}",
        r"(?:get|receive) (?:our|the) [\w '-]{0,30}(?:newsletter|alerts|briefing)s?\b.{0,80}",
        r"(?:download|get|install) (?:the|our) (?:free )?[\w '-]{0,30}\bapps?\b.{0,60}",
        r"subscribe(?: now| today)?\.?",
        r"(?:sign in|log in|login|register)(?: to (?:comment|continue|read more))?\.?",
        r"(?:photo|photograph|image|picture|video|graphic|illustration|credit)s?(?: credit)?:\s?.{1,120}",
        r"(?:image|media) (?:caption|source)\b.{0,300}",
        r".{0,300}\((?:[\w.'&-]+ ){0,3}photos?(?:/| by )[^()]{1,80}\)\.?",
        r"(?:getty images|shutterstock|ap photo|afp photo|reuters photo)(?:/.{1,60})?",
        r".{1,100} contributed (?:to this report|reporting|to this story)\.?",
        r"(?:copyright|©) .*",
        r".*all rights reserved\.?",
        r"print(?: this article)?",
        r"email(?: this article)?",
    )
)
# Every pattern above in one: a line matches it whole exactly when it matches one of them whole, and one
# call tries them all without a Python loop.
_ANY_BOILERPLATE = re.compile("|".join(f"(?:{p.pattern})" for p in BOILERPLATE_LINES), re.IGNORECASE)
# "Reporting by Jane Doe in London; Editing by John Smith": a staff credit, not a sentence about reporting.
_CREDIT = re.compile(
    r"\(?(?:additional )?(?:reporting|writing|editing|research|compiled|written|edited) by\s", re.IGNORECASE
)
# "By Priya Raman and Tom Okafor" above the first paragraph: the byline, which the metadata carries.
_BYLINE = re.compile(r"By (?:[A-Z][\w.'-]*(?:,? (?:and )?| |$)){1,8}")
_CREDIT_CONNECTORS = frozenset({"and", "in", "from", "with", "for", "at", "de", "van", "von"})
# Short navigation entries that, joined by separators, make a line of site chrome ("Subscribe | Sign in").
_NAV_ENTRIES = frozenset(
    entry.strip()
    for entry in """subscribe|sign in|sign up|log in|login|log out|register|my account|account|menu|
    search|home|newsletters|newsletter|e-edition|podcasts|games|help|contact us|about us|privacy policy|
    terms of use|cookie settings|accessibility""".split("|")
)
_SEPARATORS = re.compile(r"\s*[|\u00b7\u2022\u00bb\u203a]\s*")
_SEPARATOR_CHARS = "|\u00b7\u2022\u00bb\u203a"
# A sentence's last character and the closing quotes and brackets that may follow it.
_SENTENCE_MARKS = ".!?"
_CLOSERS = "\"'\u2019\u201d)]"
# Characters trimmed from the ends of a line before it is compared with the furniture patterns.
_EDGE_CHARS = " |\u00b7\u2022\u2013\u2014-"
# Lines longer than this are article text: furniture is short, and bounding the patterns keeps them cheap.
MAX_FURNITURE_CHARS = 400
# Markdown headings stand alone and list items start a paragraph when hard-wrapped lines are joined.
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+\u2022]|\d{1,3}[.)])\s+\S")
# The dateline that opens wire copy: "PINE VALLEY, Calif. (AP) — ", "WASHINGTON (Reuters) - ".
_DATELINE = re.compile(
    r"^[A-Z][A-Z .'-]+(?:, [A-Z][\w.]*(?: [A-Z]?[\w.]+)?)? \([\w .&/-]{1,30}\)\s*[\u2014\u2013-]+\s*"
)
# A lead paragraph of more words than this, that reads as a sentence, is body text and not a headline.
HEADLINE_MAX_WORDS = 12
# A derived title is the lead's first sentence, cut at a word boundary after this many words.
DERIVED_TITLE_WORDS = 12


def paragraphs(lines: list[str], shape: Callable[[str], str] | None = None) -> list[str]:
    """Join hard-wrapped lines into paragraphs, whitespace collapsed.

    Paragraphs are separated by blank lines, and the single newlines inside one are spaces. Markdown
    headings, list items and furniture lines keep a line of their own. Text without any blank line
    between two lines (scraped text, one paragraph per line) keeps one paragraph per line. `shape`
    rewrites each line (Markdown to text) after its own-line status is read.
    """
    collapsed = [" ".join((shape(line) if shape else line).split()) for line in lines]
    first = next((i for i, line in enumerate(collapsed) if line), len(collapsed))
    last = max((i for i, line in enumerate(collapsed) if line), default=-1)
    if "" not in collapsed[first:last]:
        return [line for line in collapsed if line]
    result: list[str] = []
    current: list[str] = []
    for raw, line in zip(lines, collapsed, strict=True):
        # Headings and furniture ("Skip to main content" above the headline) stand alone, so that
        # furniture is removed whole and never glued to the text around it; a list item starts a new
        # paragraph that its wrapped continuation lines join.
        alone = bool(_HEADING.match(raw)) or _is_collapsed_boilerplate(line)
        if not line or alone or _LIST_ITEM.match(raw):
            if current:
                result.append(" ".join(current))
            current = []
            if alone:
                result.append(line)
                continue
        if line:
            current.append(line)
    if current:
        result.append(" ".join(current))
    return result


def text_paragraphs(lines: list[str], *, markdown: bool) -> list[str]:
    """The paragraphs of a text file's body, by the blank-line rule of `paragraphs`.

    A headline standing on its own first line above a body without blank lines (scraped text, one
    paragraph per line) does not make the body hard-wrapped: the rule is decided below the first line.
    """
    shape = strip_markdown if markdown else None
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    head = lines[: first + 1]
    rest = lines[first + 1 :]
    if first + 1 < len(lines) and not lines[first + 1].strip():
        return paragraphs(head, shape) + paragraphs(rest, shape)
    return paragraphs(lines, shape)


def strip_markdown(line: str) -> str:
    """One Markdown line as text: heading, quote and list marks, images and link targets removed."""
    line = re.sub(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+(?=\S))", "", line)
    line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)  # images
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)  # links keep their text
    return re.sub(r"(\*\*|__|`)(.+?)\1", r"\2", line)


def is_boilerplate(line: str) -> bool:
    """True when a whole line is site furniture (see BOILERPLATE_LINES): share and comment prompts,
    photo credits, staff credits, newsletter and app promotions, navigation entries."""
    if len(line) > 2 * MAX_FURNITURE_CHARS:
        return False  # checked before collapsing whitespace: article text can be megabytes on one line
    return _is_furniture(" ".join(line.split()))


def _is_collapsed_boilerplate(line: str) -> bool:
    """`is_boilerplate` of a line whose whitespace is collapsed already (so it is not collapsed again)."""
    return len(line) <= 2 * MAX_FURNITURE_CHARS and _is_furniture(line)


def _is_furniture(collapsed: str) -> bool:
    if len(collapsed) > MAX_FURNITURE_CHARS and collapsed[0] not in _EDGE_CHARS:
        if collapsed[-1] not in _EDGE_CHARS:
            return False  # too long for furniture, and stripping the edges would not shorten it
    stripped = collapsed.strip(_EDGE_CHARS)
    if len(stripped) > MAX_FURNITURE_CHARS:
        return False
    if _ANY_BOILERPLATE.fullmatch(stripped):
        return True
    if _is_staff_credit(stripped):
        return True
    if not _has_separator(stripped):
        return False
    entries = _SEPARATORS.split(stripped)
    return len(entries) > 1 and all(
        entry.casefold() in _NAV_ENTRIES or _ANY_BOILERPLATE.fullmatch(entry) for entry in entries
    )


def _is_staff_credit(line: str) -> bool:
    match = _CREDIT.match(line)
    if match is None:
        return False
    if ";" in line or "editing by" in line.casefold():
        return True
    names = line[match.end() :].rstrip(".)").replace(",", " ").split()
    return bool(names) and all(word[:1].isupper() or word in _CREDIT_CONNECTORS for word in names)


def _has_separator(line: str) -> bool:
    """Whether `_SEPARATORS` can split `line` at all (a few substring searches instead of a regex scan)."""
    return any(char in line for char in _SEPARATOR_CHARS)


def _ends_sentence(line: str) -> bool:
    """Whether `line` ends with sentence punctuation and closing quotes or brackets (`[.!?]["')]*$`)."""
    tail = (line[:-1] if line.endswith("\n") else line).rstrip(_CLOSERS)
    return bool(tail) and tail[-1] in _SENTENCE_MARKS


def _is_label(line: str) -> bool:
    """A short line without sentence punctuation, such as a bare publisher name ("CBN")."""
    words = line.split(None, 4)  # five words or more is no label: the rest need not be split
    return 0 < len(words) <= 4 and not re.search(r"[.!?:;,\"]$", line) and line[:1].isupper()


def _is_link_list(line: str) -> bool:
    """A row of short links joined by separators ("World | Politics | Business"), not a table row."""
    if line.startswith("|") or _ends_sentence(line) or not _has_separator(line):
        return False
    entries = [entry for entry in _SEPARATORS.split(line) if entry]
    return len(entries) > 1 and all(len(entry.split()) <= 5 for entry in entries)


def clean_lines(lines: list[str], *, title: str, publisher: str | None) -> list[str]:
    """The article's paragraphs without furniture: boilerplate lines anywhere, the repeated title, bare
    labels (publisher names) and link rows before the first paragraph, and link rows after the last.

    Every rule looks at one article only, so an article cleans the same alone or in any corpus.
    """
    folded_title = " ".join(title.split()).casefold()
    kept: list[str] = []
    in_lead = True  # before the first real paragraph
    for line in paragraphs(lines):
        if _is_collapsed_boilerplate(line):
            continue
        if _same_text(line, folded_title) and (in_lead or not kept):
            continue
        if publisher and _same_text(line, publisher.casefold()):
            continue
        if in_lead and (_is_label(line) or _is_link_list(line) or _BYLINE.fullmatch(line)):
            continue
        in_lead = False
        kept.append(line)
    while kept and _is_link_list(kept[-1]):
        kept.pop()
    return kept


def _same_text(line: str, folded: str) -> bool:
    # Lengths first: casefolding a paragraph of megabytes to compare it with a title is wasted work.
    return len(line) <= 2 * len(folded) + 8 and line.casefold() == folded


def lead_publisher(lines: list[str], title: str) -> str | None:
    """A bare name line among the lead lines of a page, taken as its publisher ("CBN")."""
    folded_title = " ".join(title.split()).casefold()
    for raw in lines:
        if len(raw) > MAX_FURNITURE_CHARS:
            return None  # a paragraph, not a name
        line = " ".join(raw.split())
        if not line or is_boilerplate(line) or _same_text(line, folded_title):
            continue
        if not _is_label(line):
            return None
        return line
    return None


def reads_as_body(paragraph: str) -> bool:
    """True when a first paragraph is a lead sentence rather than a headline."""
    words = len(paragraph.split())
    if words > 2 * HEADLINE_MAX_WORDS:
        return True
    return words > HEADLINE_MAX_WORDS and (_ends_sentence(paragraph) or len(sentence_spans(paragraph)) > 1)


def title_from_lead(paragraph: str) -> str:
    """A headline for an article that has none: its first sentence without the dateline, shortened."""
    text = _DATELINE.sub("", paragraph, count=1) or paragraph
    spans = sentence_spans(text)
    sentence = text[spans[0][0] : spans[0][1]] if spans else text
    words = sentence.split()
    if len(words) <= DERIVED_TITLE_WORDS:
        return sentence
    return " ".join(words[:DERIVED_TITLE_WORDS]).rstrip(",;:\u2014\u2013-") + "\u2026"
