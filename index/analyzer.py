"""Text analysis shared by indexing, querying, highlighting and evaluation: one place, one set of rules."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import chain
from typing import Any

import Stemmer

# Bump when a rule below changes: indexes built with another version are rebuilt.
ANALYZER_VERSION = 3

_FOLD = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        "\u00a0": " ",
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
    }
)

# Dotted acronyms ("U.S.", and "U.S" or "U.N" whose last dot a question mark or a typo took) and numbers
# with separators ("30,000", "2.5") stay one token; the rest is \w+. Written as
#     [^\W\d_](?:\.[^\W\d_])+\.?(?![^\W\d_])  |  \d+(?:[.,]\d+)*  |  \w+
# and matched as the same tokens, with the alternatives split by their first character (a letter, a
# digit or "_") and possessive repeats: an ordinary word is then read once instead of being tried by
# every alternative in turn (a sixth less time per text). TOKEN_PLAIN is kept for the tests.
TOKEN_PLAIN = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?(?![^\W\d_])|\d+(?:[.,]\d+)*|\w+")
TOKEN = re.compile(r"[^\W\d_](?:(?:\.[^\W\d_])+\.?(?![^\W\d_])|\w*+)|\d++(?:[.,]\d+)*+|_\w*+")
# Distinct raw tokens, and distinct words, whose terms an Analyzer remembers (news vocabulary is Zipfian:
# a few hundred thousand forms cover nearly every token of a large corpus); each memory is dropped and
# refilled when it is full.
TERM_CACHE_SIZE = 500_000
# Longer words and tokens are worked out every time instead: words are short, and a corpus of megabyte
# "words" (minified text, base64) must not fill the memory with them.
MAX_REMEMBERED_CHARS = 100

# DrQA-style English stopwords, plus the clitic fragments left by splitting on apostrophes.
STOPWORDS = frozenset(
    """
    a about above after again ain all am an and any are aren as at be because been before being
    below between both but by can couldn could d did didn do does doesn doing don down during each few for
    from further had hadn has hasn have haven having he her here hers herself him himself his how i if in
    into is isn it its itself just ll m ma me mightn more most mustn my myself needn no nor not now o of off
    on or other our ours ourselves out over own re s same shan she should shouldn so some such t
    than that the their theirs them themselves then there these they this those through to too under until
    up ve very was wasn we were weren what when where which while who whom whose why will with won wouldn
    y you your yours yourself yourselves also would may might must shall could many much
    """.split()
)


# Irregular past forms mapped to their base verb, which the stemmer cannot do: a question asks "where did
# they meet" of a text that says "they met". Forms that are more often another word ("left", "born",
# "rose", "lay", "bound", "fed", "sat", "bit", "lent") are left alone.
_IRREGULAR_VERBS = """
arise arose arisen; awake awoke awoken; become became; begin began begun; bend bent; bite bitten;
bleed bled; blow blew blown; break broke broken; breed bred; bring brought; build built; burn burnt;
buy bought; catch caught; choose chose chosen; cling clung; come came; creep crept; deal dealt; dig dug;
draw drew drawn; dream dreamt; drink drank drunk; drive drove driven; eat ate eaten; fall fell fallen;
feel felt; fight fought; find found; flee fled; fly flew flown; forbid forbade forbidden;
forget forgot forgotten; forgive forgave forgiven; freeze froze frozen; get got gotten;
give gave given; go went gone; grow grew grown; hang hung; hear heard; hide hid hidden; hold held;
keep kept; kneel knelt; know knew known; lay laid; lead led; leap leapt; learn learnt; lose lost;
make made; mean meant; meet met; mislead misled; oversee oversaw overseen; overthrow overthrew overthrown;
pay paid; ride rode ridden; ring rang rung; rise risen; run ran; say said; see saw seen; seek sought;
sell sold; send sent; shake shook shaken; shine shone; shoot shot; show shown; shrink shrank shrunk;
sing sang sung; sink sank sunk; sleep slept; slide slid; speak spoke spoken; spend spent; spin spun;
spring sprang sprung; stand stood; steal stole stolen; stick stuck; strike struck stricken;
strive strove striven; swear swore sworn; sweep swept; swim swam swum; swing swung; take took taken;
teach taught; tear tore torn; tell told; think thought; throw threw thrown; undergo underwent undergone;
understand understood; undertake undertook undertaken; uphold upheld; wake woke woken; wear wore worn;
weave wove woven; weep wept; win won; withdraw withdrew withdrawn; withhold withheld; write wrote written
"""
IRREGULAR_VERBS: dict[str, str] = {
    form: forms.split()[0] for forms in _IRREGULAR_VERBS.split(";") for form in forms.split()[1:]
}


# Forms the stemmer would merge with an unrelated word ("armed" with "arm", "business" with "busy"):
# each keeps a term of its own, shared with its plural.
_PROTECTED_STEMS = """
armed; taping; business businesses; authority authorities; executive executives; animal animals;
animation animations; ironic; stocking stockings
"""
PROTECTED_STEMS: dict[str, str] = {
    form: forms.split()[0] for forms in _PROTECTED_STEMS.split(";") for form in forms.split()
}


def fold(text: str) -> str:
    """NFKC-normalize and fold curly quotes, dashes and invisible characters to plain ASCII forms."""
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


def normalize_answer(text: str) -> str:
    """Case-folded text with punctuation as spaces and whitespace collapsed, for answer matching."""
    folded = fold(text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


@dataclass(frozen=True, slots=True)
class AnalyzerConfig:
    """How text becomes terms; stored in the index manifest and compared on load."""

    language: str = "english"
    stem: bool = True
    remove_stopwords: bool = True
    version: int = ANALYZER_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _TermCache(dict[str, str]):
    """Raw token -> its term ("" for a stopword), worked out the first time the token is seen."""

    def __init__(self, term_of: Callable[[str], str | None], limit: int) -> None:
        super().__init__()
        self._term_of = term_of
        self._limit = limit

    def __missing__(self, raw: str) -> str:
        term = self._term_of(raw) or ""
        if len(raw) <= MAX_REMEMBERED_CHARS:
            if len(self) >= self._limit:
                self.clear()
            self[raw] = term
        return term


class _WordCache(dict[str, tuple[str, ...]]):
    """Whitespace-separated word ("U.S.-led", "said,") -> the terms of its tokens, in order."""

    def __init__(self, terms: _TermCache, limit: int) -> None:
        super().__init__()
        self._term = terms.__getitem__
        self._limit = limit

    def __missing__(self, word: str) -> tuple[str, ...]:
        terms = tuple(filter(None, map(self._term, TOKEN.findall(word))))
        if len(word) <= MAX_REMEMBERED_CHARS:
            if len(self) >= self._limit:
                self.clear()
            self[word] = terms
        return terms


class NumberedWords(dict[str, tuple[int, ...]]):
    """Whitespace-separated word -> the numbers of its terms, in order: `Analyzer.tokens` with each term
    numbered by `number` (called once per term of a new word, in text order, so that a numbering by first
    appearance numbers the terms as it would numbering every token). One dict lookup per word instead of
    one for the word and one more per term."""

    def __init__(
        self, analyzer: Analyzer, number: Callable[[str], int], limit: int = TERM_CACHE_SIZE
    ) -> None:
        super().__init__()
        self._terms = analyzer._words.__getitem__
        self._number = number
        self._limit = limit

    def __missing__(self, word: str) -> tuple[int, ...]:
        numbers = tuple(map(self._number, self._terms(word)))
        if len(word) <= MAX_REMEMBERED_CHARS:
            if len(self) >= self._limit:
                self.clear()  # the numbering itself is kept: the same terms get the same numbers again
            self[word] = numbers
        return numbers

    def numbers(self, text: str) -> list[int]:
        """The numbers of `Analyzer.tokens(text)`."""
        if text.isascii():
            text = text.lower()
        return list(chain.from_iterable(map(self.__getitem__, text.split())))

    def lowered_numbers(self, text: str) -> list[int]:
        """`numbers(text)` for a text that is ASCII and already lowered."""
        return list(chain.from_iterable(map(self.__getitem__, text.split())))


class Analyzer:
    """Turns text into index terms, and finds where each term sits in the original text."""

    def __init__(self, config: AnalyzerConfig = AnalyzerConfig(), cache_size: int = TERM_CACHE_SIZE) -> None:
        self.config = config
        self._stemmer = Stemmer.Stemmer(config.language) if config.stem else None
        # Dicts looked up from C (map) rather than an lru_cache called once per token in Python.
        self._terms = _TermCache(self._term_uncached, cache_size)
        self._words = _WordCache(self._terms, cache_size)

    def _term_uncached(self, raw: str) -> str | None:
        # NFKC and the quote and dash folding leave ASCII as it is, and casefold() is lower() on ASCII.
        word = raw.lower() if raw.isascii() else fold(raw).casefold()
        if "." in word and not word[:1].isdigit():
            word = word.replace(".", "")  # "U.S." -> "us"
        if word[:1].isdigit():
            # "30,000" and "30000" are the same number; "2.5" keeps its point.
            return word.replace(",", "")
        word = IRREGULAR_VERBS.get(word, word)  # before the stopword check: "won" is a clitic stopword too
        if self.config.remove_stopwords and word in STOPWORDS:
            return None
        if self._stemmer is not None:
            word = PROTECTED_STEMS.get(word) or self._stemmer.stemWord(word)
        return word

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Yield `(start, end, term)` for every indexable token of `text`, offsets into `text`."""
        terms = self._terms
        for match in TOKEN.finditer(text):
            term = terms[match.group()]
            if term:
                yield match.start(), match.end(), term

    def tokens(self, text: str) -> list[str]:
        """The index terms of `text`, in order, repeats kept."""
        # No token holds whitespace or ends by looking at it (TOKEN only looks ahead for a letter), so the
        # tokens of a text are those of its words one after the other: split() cuts the words in a
        # fraction of the time the token pattern takes, and each word is tokenized once. ASCII text is
        # lowered first (it keeps its tokens, whose terms are lowered anyway): "The" and "the" are then
        # one word to remember.
        if text.isascii():
            text = text.lower()
        return list(chain.from_iterable(map(self._words.__getitem__, text.split())))

    def query_terms(self, text: str) -> list[str]:
        """The distinct terms of a question, in order of first appearance."""
        return list(dict.fromkeys(self.tokens(text)))
