"""One analyzer for indexing, querying, highlighting and evaluation."""

from __future__ import annotations

from index.analyzer import Analyzer, AnalyzerConfig, fold, normalize_answer


def test_normalization_stemming_stopwords_and_numbers() -> None:
    analyzer = Analyzer()
    assert analyzer.tokens("The talks lasted FOUR hours") == ["talk", "last", "four", "hour"]
    assert analyzer.tokens("between 30,000-100,000 troops and 48 hours") == [
        "30000",
        "100000",
        "troop",
        "48",
        "hour",
    ]
    assert analyzer.tokens("America\u2019s \u201cU.S.\u201d ambassador") == analyzer.tokens(
        'America\'s "U.S." ambassador'
    )
    assert analyzer.tokens("U.S. and US") == ["us", "us"]
    assert analyzer.tokens("\ufb01nal \uff21\uff22\uff23 caf\u00e9") == ["final", "abc", "caf\u00e9"]


def test_irregular_past_forms_meet_their_base_verb() -> None:
    analyzer = Analyzer()
    assert analyzer.tokens("They met, spoke and won") == analyzer.tokens("they meet, speak and win")
    assert analyzer.tokens("Lavrov gave him ideas; the talks began") == [
        "lavrov",
        "give",
        "idea",
        "talk",
        "begin",
    ]
    # "found" is the past of "find"; "founded" stays the verb "to found".
    assert analyzer.tokens("found founded") == ["find", "found"]
    assert analyzer.tokens("left born") == ["left", "born"]  # more often other words: left alone


def test_query_terms_are_distinct_and_stopword_only_questions_are_empty() -> None:
    analyzer = Analyzer()
    assert analyzer.query_terms("talks and more talks") == ["talk"]
    assert analyzer.query_terms("who is it that they are?") == []


def test_spans_point_at_the_original_text() -> None:
    text = "Kerry\u2019s talks lasted four hours."
    spans = list(Analyzer().spans(text))
    assert [(text[s:e], term) for s, e, term in spans] == [
        ("Kerry", "kerri"),
        ("talks", "talk"),
        ("lasted", "last"),
        ("four", "four"),
        ("hours", "hour"),
    ]


def test_config_switches() -> None:
    plain = Analyzer(AnalyzerConfig(stem=False, remove_stopwords=False))
    assert plain.tokens("The talks") == ["the", "talks"]


def test_fold_and_answer_normalization() -> None:
    assert fold("\u201cit\u2019s\u201d \u2014 ok") == '"it\'s" - ok'
    assert normalize_answer("  30,000\u2013100,000 Troops!") == "30 000 100 000 troops"


def test_acronyms_without_their_last_dot_stay_one_term() -> None:
    analyzer = Analyzer()
    # A question mark or a typo takes the last dot: the acronym must not become single rare letters.
    assert analyzer.tokens("Who leads the U.S?") == analyzer.tokens("Who leads the U.S.?") == ["lead", "us"]
    assert analyzer.tokens("The U.N envoy arrived") == ["un", "envoy", "arriv"]
    # A sentence run into the next without a space is not an acronym.
    assert analyzer.tokens("talks ended.The envoy") == ["talk", "end", "envoy"]


def test_only_and_once_are_terms_and_whose_is_a_question_word() -> None:
    analyzer = Analyzer()
    assert analyzer.tokens("Whose plan was approved only once?") == ["plan", "approv", "onli", "onc"]
    # "voted against" is what a reader asks about: the word marks the sentence that names the votes.
    assert analyzer.tokens("Two voted against it") == ["two", "vote", "against"]


def test_protected_forms_keep_a_term_of_their_own() -> None:
    analyzer = Analyzer()
    assert analyzer.tokens("armed men") != analyzer.tokens("arm men")
    assert analyzer.tokens("the business") != analyzer.tokens("the busy")
    assert analyzer.tokens("businesses") == analyzer.tokens("business")  # the plural still meets it
    assert analyzer.tokens("authorities") == analyzer.tokens("authority") == ["authority"]
