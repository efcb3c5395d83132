"""Second-stage ranking: question types, answer spans, features, sentence choice and short answers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pytest

from index import grammar, rerank
from index.analyzer import Analyzer
from index.answer import AnswerConfig, QAService
from index.builder import build_index
from index.models import Chunk
from index.short_answer import short_answer
from tests.conftest import WriteFiles

ANALYZER = Analyzer()
UNIFORM = {"kerry": 1.0, "lavrov": 1.0, "talk": 1.0, "pari": 1.0}


def query(question: str, idf: dict[str, float] | None = None) -> rerank.Query:
    weights = idf or {}
    return rerank.Query.build(question, ANALYZER, lambda term: weights.get(term, 1.0))


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how long did the talks last", "duration"),
        ("For how many years did he rule?", "duration"),
        ("How many raised beds does the garden have?", "number"),
        ("How much did the city spend on soil?", "money"),
        ("What percentage of voters agreed?", "percent"),
        ("When did the bridge close?", "date"),
        ("On what day did the talks take place?", "date"),
        ("In what year was Kanye born?", "date"),
        ("Who is the Russian foreign minister?", "name"),
        ("Where were the talks held?", "name"),
        ("Which peninsula did Russia annex?", None),
        ("What reason did Russia give?", "reason"),
        ("How often have Kerry and Lavrov spoken by phone?", "frequency"),
        # The opening wh-word decides, not a later "when".
        ("Where was Kerry when he spoke to reporters?", "name"),
        ("When did Kerry say where they met?", "date"),
    ],
)
def test_question_type(question: str, kind: str | None) -> None:
    assert grammar.question_type(question) == kind


@pytest.mark.parametrize(
    ("kind", "text", "found"),
    [
        ("duration", "They talked for four hours in Paris.", ["four hours"]),
        ("duration", "a 48-hour truce", ["48-hour"]),
        ("duration", "It lasted 48 hours, then three more days.", ["48 hours", "three more days"]),
        ("number", "There were 30,000 to 100,000 troops.", ["30,000", "100,000"]),
        ("percent", "Turnout was 62.5% or 62.5 percent.", ["62.5%", "62.5 percent"]),
        ("money", "The city spent $30,000 and 2 million euros.", ["$30,000", "2 million euros"]),
        ("date", "On Sunday, March 30, 2014 they met; in 1977 too.", ["Sunday", "March 30, 2014", "1977"]),
        ("date", "in the 21st century, since February 22", ["21st century", "February 22"]),
        ("name", "The talks ended. Secretary John Kerry left.", ["Secretary John Kerry"]),
        ("frequency", "They have spoken by phone almost daily.", ["daily"]),
        (
            "frequency",
            "The council meets twice a year, and every four years votes.",
            ["twice a year", "every four years"],
        ),
    ],
)
def test_answer_spans(kind: str, text: str, found: list[str]) -> None:
    spans = grammar.answer_spans(kind, text, frozenset())
    assert [text[s:e] for s, e in spans] == found


def test_answer_spans_skip_words_of_the_question() -> None:
    text = "Kerry met Lavrov in Paris."
    spans = grammar.answer_spans("name", text, frozenset({"kerry", "paris"}))
    assert [text[s:e] for s, e in spans] == ["Lavrov"]


def test_how_many_questions_want_the_number_beside_what_they_count() -> None:
    q = query("How many Russian troops are at the border?")
    text = "Talks began 48 hours later. Sources said the troops number between 30,000 and 100,000."
    spans = grammar.answer_spans("number", text, q.words, q.counted)
    assert [text[s:e] for s, e in spans] == ["30,000"]  # "48" is far from "troops"; 100,000 too far
    assert grammar.counted_pattern("How many are there?", ANALYZER) is None


def test_frame_words_leave_the_subject() -> None:
    assert grammar.frame_words("How long did the talks last?") == {"long", "last"}
    assert grammar.frame_words("On what day did the talks take place?") == {"day"}
    terms = ANALYZER.query_terms("how long did the talks last")
    assert grammar.content_terms(ANALYZER, "how long did the talks last", terms) == ["talk"]
    # A question made only of frame words keeps them rather than becoming empty.
    assert grammar.content_terms(ANALYZER, "how long", ["long"]) == ["long"]


def test_query_weights_content_terms_and_pairs() -> None:
    q = query("How long did Kerry and Lavrov talk in Paris?")
    assert set(q.idf) == {"kerri", "lavrov", "talk", "pari"}
    assert ("lavrov", "talk") in q.pairs and ("talk", "pari") in q.pairs
    assert q.answer_type == "duration"
    assert q.total == pytest.approx(4.0)


def test_analyze_passage_assigns_terms_to_sentences() -> None:
    analysis = rerank.analyze_passage(ANALYZER, "Kerry met Lavrov. They talked in Paris.")
    assert analysis.terms == ("kerri", "meet", "lavrov", "talk", "pari")
    assert analysis.sentence_of == (0, 0, 0, 1, 1)
    assert len(analysis.sentences) == 2


def test_features_measure_coverage_sentence_proximity_and_pairs() -> None:
    q = query("Kerry Lavrov talk Paris")
    text = "Kerry arrived. Lavrov talk Paris today. Nothing else happened here at all today."
    found = rerank.features(q, rerank.analyze_passage(ANALYZER, text), window=3)
    assert found.coverage == pytest.approx(1.0)
    assert found.sentence == pytest.approx(0.75)
    assert found.best_sentence == 1
    assert found.proximity == pytest.approx(0.75)  # "lavrov talk pari" within 3 terms
    assert found.bigram == pytest.approx(2 / 3)  # lavrov-talk and talk-pari adjoin, kerri-lavrov not
    assert found.sentence_mass[0] == pytest.approx(0.25)


def test_bigram_share_counts_only_adjacent_pairs() -> None:
    q = query("Lavrov talk Paris")
    apart = rerank.features(q, rerank.analyze_passage(ANALYZER, "Lavrov met. Talk of Paris."), window=8)
    together = rerank.features(q, rerank.analyze_passage(ANALYZER, "Lavrov talk in Paris."), window=8)
    assert apart.bigram == pytest.approx(0.5)  # "talk of paris": "of" is a stopword, so talk-pari adjoin
    assert together.bigram == pytest.approx(1.0)


def test_best_sentence_prefers_a_span_of_the_expected_type_on_near_ties() -> None:
    q = query("How long were the talks?")
    text = "This is the first time they agreed to talk. The talks ran for four hours."
    analysis = rerank.analyze_passage(ANALYZER, text)
    found = rerank.features(q, analysis, window=8)
    plain = rerank.best_sentence(
        q, analysis, text, found, replace(rerank.RerankConfig(), sentence_type_bonus=0)
    )
    typed = rerank.best_sentence(q, analysis, text, found, rerank.RerankConfig())
    assert plain is not None and text[slice(*plain)].startswith("This is")
    assert typed is not None and text[slice(*typed)] == "The talks ran for four hours."
    assert short_answer(q, "How long were the talks?", ANALYZER, text, typed) == "four hours"


@dataclass
class FakeCandidate:
    score: float
    found: rerank.Features | None
    chunk: Chunk
    highlight: tuple[int, int] | None
    terms: set[str] = field(default_factory=set)
    title_terms: frozenset[str] = frozenset()
    story_terms: set[str] = field(default_factory=set)


def test_rescore_lets_sentence_evidence_beat_a_slightly_higher_bm25() -> None:
    q = query("Kerry Lavrov talk")
    loose_text = "Kerry spoke. Later, a long day. Lavrov spoke. Many talk shows aired."
    tight_text = "Kerry and Lavrov talk for hours in a long meeting in the city."
    candidates = []
    for n, (score, text) in enumerate([(1.0, loose_text), (0.9, tight_text)], 1):
        analysis = rerank.analyze_passage(ANALYZER, text)
        found = rerank.features(q, analysis, window=8)
        candidates.append(FakeCandidate(score, found, Chunk(f"a#{n}", "a", n, text, 0, len(text)), None))
    loose, tight = rerank.rescore(q, candidates, rerank.RerankConfig())
    assert tight > loose
    bm25_only = replace(
        rerank.RerankConfig(), coverage=0, sentence=0, proximity=0, bigram=0, answer_type=0, lead=0
    )
    assert rerank.rescore(q, candidates, bm25_only) == [pytest.approx(1.0), pytest.approx(0.9)]


def test_rescore_gives_the_lead_passage_its_prior() -> None:
    q = query("When did the Paris talks on the ceasefire resume?")
    text = "talks"
    chunks = [Chunk("a#0", "a", 0, text, 0, 5), Chunk("a#3", "a", 3, text, 90, 95)]
    scores = rerank.rescore(q, [FakeCandidate(1.0, None, c, None) for c in chunks], rerank.RerankConfig())
    assert scores[0] - scores[1] == pytest.approx(rerank.RerankConfig().lead)


def test_a_short_question_weighs_the_lead_more_and_can_weigh_the_headline_more() -> None:
    # "Who won the by-election?" keeps two terms: the passages of two by-election stories match it
    # alike, and only the article's lead and headline can say which story a reader means.
    short, longer = (
        query("Who won the by-election?"),
        query("Who won the Halden Moor by-election for the Greens?"),
    )
    assert len(short.idf) == 2 and len(longer.idf) > 2
    config = rerank.RerankConfig()
    text = "Counting finished at dawn, and the winner thanked volunteers."
    chunks = [Chunk("moor#0", "moor", 0, text, 0, len(text)), Chunk("vale#2", "vale", 2, text, 400, 460)]
    lead, later = (FakeCandidate(1.0, None, chunk, None) for chunk in chunks)
    for q, prior in ((short, config.lead + config.short_lead), (longer, config.lead)):
        scores = rerank.rescore(q, [lead, later], config)
        assert scores[0] - scores[1] == pytest.approx(prior)
    plain = rerank.rescore(short, [lead, later], rerank.without(config, ["short_lead"]))
    assert plain[0] - plain[1] == pytest.approx(config.lead)
    # Switched on, the headline "Greens win Halden Moor by-election", which holds the whole short
    # question, counts more for it than for a longer one.
    titled = replace(config, short_title=1.0)
    headline = replace(later, title_terms=frozenset({"green", "win", "halden", "moor", "elect"}))
    scores = rerank.rescore(short, [later, headline], titled)
    assert scores[1] - scores[0] == pytest.approx(titled.title + titled.short_title)
    plain = rerank.rescore(short, [later, headline], rerank.without(titled, ["short_title"]))
    assert plain[1] - plain[0] == pytest.approx(titled.title)


def test_service_shows_a_short_answer_and_highlights_the_typed_sentence(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    corpus = write_files(
        {
            "talks.txt": "Title: Envoys meet\n\nThe envoys agreed to talk again. The talks in Paris lasted "
            "four hours on Sunday.\n",
            "other.txt": "Title: Garden\n\nThe garden opened with 48 beds. Volunteers talk about soil.\n",
        }
    )
    build_index(corpus, tmp_path / "idx")
    service = QAService.open(tmp_path / "idx", AnswerConfig(top_k=2))
    answer = service.answer("how long did the talks last")
    assert answer.short_answer == "four hours"
    assert answer.highlighted_sentence == "The talks in Paris lasted four hours on Sunday."
    assert service.answer("garden beds").short_answer is None


def test_without_switches_named_rules_off() -> None:
    config = rerank.without(rerank.RerankConfig(), ["lead", "frame_words"])
    assert config.lead == 0 and config.frame_words is False and config.bigram == rerank.RerankConfig().bigram
    assert set(rerank.FEATURES) <= {field.name for field in fields(rerank.RerankConfig)}
    with pytest.raises(ValueError, match="unknown rule"):
        rerank.without(rerank.RerankConfig(), ["speaker"])
    # Without frame words, "long" of "how long" weighs in the rerank like any other term.
    q = rerank.Query.build("How long were the talks?", ANALYZER, lambda term: 1.0, config)
    assert set(q.idf) == {"long", "talk"}


def test_the_story_named_by_the_title_or_the_other_passages_wins_a_short_question() -> None:
    q = query("Who signed the evacuation order?", {"sign": 2.0, "evacu": 3.0, "order": 1.5})
    text = "The order was signed late on Tuesday, officials said."
    analysis = rerank.analyze_passage(ANALYZER, text)
    found = rerank.features(q, analysis, window=8)
    chunks = [Chunk(f"{name}#1", name, 1, text, 0, len(text)) for name in ("council.txt", "wildfire.txt")]
    plain = FakeCandidate(1.0, found, chunks[0], None, set(analysis.terms), frozenset({"council", "park"}))
    # Same passage wording, but its article is the wildfire story: its title names the evacuation.
    titled = FakeCandidate(1.0, found, chunks[1], None, set(analysis.terms), frozenset({"evacu", "wildfir"}))
    scores = rerank.rescore(q, [plain, titled], rerank.RerankConfig())
    assert scores[1] > scores[0]
    assert len(set(rerank.rescore(q, [plain, titled], replace(rerank.RerankConfig(), title=0)))) == 1
    # An article whose other passages speak of the evacuation supports its passage the same way.
    told = replace(plain, story_terms={"sign", "order", "evacu"})
    scores = rerank.rescore(q, [plain, told], rerank.RerankConfig())
    assert scores[1] > scores[0]


def test_lead_prior_can_require_the_rarest_term() -> None:
    q = query("Where did the talks take place?", {"talk": 1.0, "take": 0.5, "place": 0.5})
    text = "The envoys met again."
    found = rerank.features(q, rerank.analyze_passage(ANALYZER, text), window=8)
    lead = FakeCandidate(1.0, found, Chunk("a#0", "a", 0, text, 0, len(text)), None, {"envoy", "meet"})
    config = replace(rerank.RerankConfig(), title=0, story=0)
    shipped = rerank.rescore(q, [lead], config)[0]
    strict = rerank.rescore(q, [lead], replace(config, lead_rarest=True))[0]
    assert shipped - strict == pytest.approx(config.lead)  # "talk" is not in the lead: no prior


def test_why_questions_expect_a_cause() -> None:
    assert grammar.question_type("Why did Novalux choose Ohio?") == "reason"
    assert grammar.question_type("What caused the blackout in Spain?") == "reason"
    text = "The company chose Ohio because of the state's tax incentives."
    assert [text[s:e] for s, e in grammar.answer_spans("reason", text, frozenset())] == ["because"]
    without = rerank.Query.build(
        "Why did Novalux choose Ohio?", ANALYZER, lambda t: 1.0, rerank.RerankConfig(reason_type=False)
    )
    assert without.answer_type is None


def test_numbers_inside_dates_and_times_count_nothing() -> None:
    text = "On Wednesday, July 2, at 9:30 a.m. in 2025, five passengers died and 1,200 were evacuated."
    counts = grammar.answer_spans("number", text, frozenset(), calendar_counts=False)
    assert [text[s:e] for s, e in counts] == ["five", "1,200"]
    everything = grammar.answer_spans("number", text, frozenset())
    assert [text[s:e] for s, e in everything] == ["2", "9", "30", "2025", "five", "1,200"]
    # A "how many" question without a counted noun sees only the real counts, unless switched off.
    q = query("How many were there?")
    lead = (0, len("On Wednesday, July 2, at 9:30 a.m. in 2025"))
    assert rerank.has_answer_type(q, text, (0, len(text)))
    assert not rerank.has_answer_type(q, text, lead)
    plain = rerank.Query.build(
        "How many were there?", ANALYZER, lambda t: 1.0, rerank.RerankConfig(calendar=False)
    )
    assert rerank.has_answer_type(plain, text, lead)


def test_the_sentence_after_the_best_inherits_its_mass_only_when_it_alone_is_typed() -> None:
    q = query("How many died in the helicopter crash in Mogadishu?")
    text = (
        "A military helicopter crashed at the airport in Mogadishu on July 2. "
        "Five passengers died. "
        "The army opened an inquiry."
    )
    analysis = rerank.analyze_passage(ANALYZER, text)
    found = rerank.features(q, analysis, window=8)
    shipped = rerank.best_sentence(q, analysis, text, found, rerank.RerankConfig())
    plain = rerank.best_sentence(q, analysis, text, found, replace(rerank.RerankConfig(), adjacent=0))
    assert shipped is not None and text[slice(*shipped)] == "Five passengers died."
    assert plain is not None and text[slice(*plain)].startswith("A military helicopter")
    # When the best sentence holds a count itself, it keeps the bold.
    counted = text.replace("on July 2.", "on July 2, and 12 soldiers died in it.")
    analysis = rerank.analyze_passage(ANALYZER, counted)
    found = rerank.features(q, analysis, window=8)
    kept = rerank.best_sentence(q, analysis, counted, found, rerank.RerankConfig())
    assert kept is not None and counted[slice(*kept)].startswith("A military helicopter")


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Who directed The Caravan?", ["directed"]),
        ("When did Gus Lamont disappear?", ["disappear"]),
        ("Where was the C-130 crew's funeral?", ["crew", "funeral"]),
        ("Boca Raton plane destination?", ["plane", "destination"]),
    ],
)
def test_the_predicate_is_the_questions_lower_case_words_not_its_names(
    question: str, words: list[str]
) -> None:
    expected = {term for word in words for term in ANALYZER.tokens(word)}
    assert grammar.predicate_terms(ANALYZER, question) == expected


def test_a_name_written_in_lower_case_elsewhere_in_the_question_is_not_predicate() -> None:
    assert grammar.predicate_terms(ANALYZER, "Why did Apple cut apple prices?") == set(
        ANALYZER.tokens("cut prices")
    )
