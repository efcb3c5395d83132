"""Time cues in questions: which words are cues, the windows they name, and how they shift the ranking."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from index.answer import AnswerConfig, QAService
from index.builder import build_index
from index.filters import SearchFilter
from index.models import Source
from index.rerank import FEATURES, RerankConfig, without
from index.timecues import DateWindow, anchor_date, find_cues, time_scores
from tests.conftest import DATA, WriteFiles

TIME_RULES = ["recency", "event_order", "time_window", "undated_last", "time_words"]
SATURDAY = dt.date(2014, 3, 29)  # the newest article of an archive

# --- which words are cues --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest on the Marsh Creek levee?",
        "Is the boil-water notice still in effect?",
        "Has the levee reopened yet?",
        "How many homes have flooded so far?",
        "What is the most recent estimate of the damage?",
        "Who is currently leading the repairs?",
        "What is the current cost of the repairs?",
        "What was the final cost of the repairs?",
    ],
)
def test_recency_words_ask_for_the_newest_report(question: str) -> None:
    cues = find_cues(question, SATURDAY)
    assert cues.recency and cues.active and cues.window is None


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("Has the levee reopened yet?", "Has the levee reopened    ?"),
        ("What is the latest on the levee?", "What is            on the levee?"),
        ("Is the notice still in effect?", "Is the notice       in effect?"),
        ("What happened yesterday at the levee?", "What happened           at the levee?"),
        # "current" and "final" are often the topic ("ocean current", "the cup final"): they stay.
        ("What is the current cost?", "What is the current cost?"),
        ("What was the final score?", "What was the final score?"),
        # A month and a year are printed in articles: they stay searched for.
        ("How many homes burned in March 2014?", "How many homes burned in March 2014?"),
    ],
)
def test_pure_cue_words_leave_the_search(question: str, searched: str) -> None:
    assert find_cues(question, SATURDAY).search_text == searched


@pytest.mark.parametrize(
    "question",
    [
        "How long did the talks last?",  # "last" of a duration, not of "last week"
        "Who won the Champions League match in Lisbon?",
        "Where was the treaty signed?",
        "What did Kerry say about Crimea?",
        "Which river floods every spring?",
        "Who is the Russian foreign minister?",
    ],
)
def test_questions_without_time_words_have_no_cues(question: str) -> None:
    cues = find_cues(question, SATURDAY)
    assert not cues.active
    assert cues.search_text == question and cues.phrases == ()


# --- the windows they name, read against the newest article -----------------------------------------


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        # News reports a day's events that day or the next: "yesterday" takes in both, up to the anchor.
        ("What happened yesterday in Paris?", dt.date(2014, 3, 28), dt.date(2014, 3, 29)),
        ("What happened today in Paris?", SATURDAY, SATURDAY),
        ("What did Kerry say this week?", dt.date(2014, 3, 24), SATURDAY),
        ("What did Kerry say last week?", dt.date(2014, 3, 17), dt.date(2014, 3, 24)),
        ("What did the council decide last month?", dt.date(2014, 2, 1), dt.date(2014, 3, 1)),
        ("Who spoke on Monday?", dt.date(2014, 3, 24), dt.date(2014, 3, 25)),
        ("Who has resigned since Monday?", dt.date(2014, 3, 24), SATURDAY),
        # Named dates are reported for some days after.
        ("How many homes burned in March 2014?", dt.date(2014, 3, 1), dt.date(2014, 4, 7)),
        ("What happened on 3 March?", dt.date(2014, 3, 3), dt.date(2014, 3, 10)),
        ("What happened on March 3, 2013?", dt.date(2013, 3, 3), dt.date(2013, 3, 10)),
        # A month without a year is the latest one not after the anchor.
        ("What was decided in November?", dt.date(2013, 11, 1), dt.date(2013, 12, 7)),
        ("What did the army do in 2013?", dt.date(2013, 1, 1), dt.date(2014, 1, 7)),
    ],
)
def test_windows_count_from_the_anchor(question: str, start: dt.date, end: dt.date) -> None:
    assert find_cues(question, SATURDAY).window == DateWindow(start, end)


def test_an_archive_of_2014_asked_about_yesterday_means_the_day_before_its_last_article() -> None:
    cues = find_cues("What happened yesterday?", anchor_date(dt.date(2014, 3, 31), None))
    assert cues.window == DateWindow(dt.date(2014, 3, 30), dt.date(2014, 3, 31))


def test_a_filter_ending_earlier_moves_the_anchor() -> None:
    assert anchor_date(dt.date(2014, 3, 31), dt.date(2014, 3, 10)) == dt.date(2014, 3, 10)
    assert anchor_date(dt.date(2014, 3, 31), dt.date(2015, 1, 1)) == dt.date(2014, 3, 31)
    assert anchor_date(None, None) is None


def test_a_date_that_does_not_exist_names_no_window() -> None:
    assert find_cues("What happened on 31 February?", SATURDAY).window is None


@pytest.mark.parametrize(
    ("question", "order"),
    [
        ("What did the mayor say after the vote?", 1),
        ("What did polls show before the vote?", -1),
        ("What did the unions demand ahead of the talks?", -1),
        ("What did Dumont say following the recount?", 1),
    ],
)
def test_events_of_the_story_order_it(question: str, order: int) -> None:
    assert find_cues(question, SATURDAY).order == order


def test_without_an_anchor_windows_stay_unresolved() -> None:
    cues = find_cues("What happened yesterday?", None)
    assert cues.window is None and cues.phrases == ("yesterday",)


# --- the shift -----------------------------------------------------------------------------------


@dataclasses.dataclass
class FakeCandidate:
    date: dt.date | None
    terms: set[str]

    @property
    def sources(self) -> list[Source]:
        return [Source("Levee", "Delta Herald", self.date)]

    @property
    def title_terms(self) -> frozenset[str]:
        return frozenset()

    @property
    def story_terms(self) -> set[str]:
        return self.terms


IDF = {"marsh": 3.0, "creek": 2.0, "levee": 4.0}
STORY = {"marsh", "creek", "levee"}


def test_the_newest_dated_candidate_on_the_story_gains_most() -> None:
    candidates = [
        FakeCandidate(dt.date(2014, 3, 3), STORY),
        FakeCandidate(dt.date(2014, 3, 20), STORY),
        FakeCandidate(dt.date(2014, 3, 27), {"creek"}),  # another story: it gains nothing
    ]
    cues = find_cues("What is the latest on the Marsh Creek levee?", SATURDAY)
    shifted = time_scores(cues, candidates, [3.0, 2.0, 2.5], IDF, RerankConfig())
    assert shifted == [3.0 + 1.0, 2.0 + 2.0, 2.5]


def test_an_undated_candidate_never_wins_a_recency_question_over_a_dated_one_on_the_story() -> None:
    candidates = [FakeCandidate(None, STORY), FakeCandidate(dt.date(2014, 3, 3), STORY)]
    cues = find_cues("What is the latest on the Marsh Creek levee?", SATURDAY)
    shifted = time_scores(cues, candidates, [9.0, 1.0], IDF, RerankConfig())
    assert shifted[0] < shifted[1]
    kept = time_scores(cues, candidates, [9.0, 1.0], IDF, without(RerankConfig(), ["undated_last"]))
    assert kept[0] > kept[1]


def test_articles_dated_in_the_window_gain() -> None:
    candidates = [FakeCandidate(dt.date(2014, 3, 28), STORY), FakeCandidate(dt.date(2014, 3, 20), STORY)]
    cues = find_cues("What happened at the Marsh Creek levee yesterday?", SATURDAY)
    assert time_scores(cues, candidates, [1.0, 1.0], IDF, RerankConfig()) == [1.5, 1.0]


def test_without_cues_or_dates_the_scores_are_untouched() -> None:
    dated = [FakeCandidate(dt.date(2014, 3, 3), STORY), FakeCandidate(dt.date(2014, 3, 20), STORY)]
    plain = find_cues("Who built the Marsh Creek levee?", SATURDAY)
    assert time_scores(plain, dated, [2.0, 1.0], IDF, RerankConfig()) == [2.0, 1.0]
    undated = [FakeCandidate(None, STORY), FakeCandidate(None, STORY)]
    latest = find_cues("What is the latest on the levee?", SATURDAY)
    assert time_scores(latest, undated, [2.0, 1.0], IDF, RerankConfig()) == [2.0, 1.0]


def test_every_time_rule_has_a_switch() -> None:
    for name in TIME_RULES:
        assert name in FEATURES
    off = without(RerankConfig(), TIME_RULES)
    assert (off.recency, off.event_order, off.time_window) == (0, 0, 0)
    assert not off.undated_last and not off.time_words


# --- answers over a developing story -------------------------------------------------------------

LEVEE_ANNOUNCED = """\
Title: Marsh Creek levee to close for repairs
Source: Delta Herald
Date: 2014-03-03

MARSH CREEK — County engineers will close the Marsh Creek levee road on Monday, March 10, after a \
routine inspection found seepage along a 200-foot stretch of the earthen levee.

The repairs are expected to take six weeks and cost about $2.1 million, said county public works \
director Alma Reyes. The levee protects about 1,400 homes in the Marsh Creek basin.

Drivers will be detoured along Route 12, adding about 15 minutes to most trips.
"""

LEVEE_DELAYED = """\
Title: Marsh Creek levee repairs run over budget
Source: Valley Ledger
Date: 2014-03-20

MARSH CREEK — Repairs to the Marsh Creek levee will cost about $2.6 million, county engineers said \
Wednesday, after crews found a second area of seepage near the pumping station.

The levee road remains closed, and the county now expects to reopen it in early May. Public works \
director Alma Reyes said the extra work was needed to keep the levee safe through the spring rains.
"""

LEVEE_REOPENED = """\
Title: Marsh Creek levee road reopens ahead of schedule
Source: Delta Herald
Date: 2014-03-29

MARSH CREEK — The Marsh Creek levee road reopened to traffic on Friday morning, weeks ahead of \
schedule, after crews finished sealing both areas of seepage.

The final cost of the Marsh Creek levee repairs was $2.4 million, public works director Alma Reyes \
said. Route 12 detour signs were taken down the same day.
"""

LEVEE_EXPLAINER = """\
Title: What to know about the Marsh Creek levee closure
Source: Delta Herald

The Marsh Creek levee road is closed while county crews repair seepage along the earthen levee. \
The Marsh Creek levee repairs are expected to cost about $2.1 million, and the road is expected \
to stay closed for six weeks. The Marsh Creek levee protects about 1,400 homes.

Drivers should use Route 12. The detour adds about 15 minutes to most trips.
"""

SCHOOL_BOARD = """\
Title: School board approves later start times
Source: Valley Ledger
Date: 2014-03-28

FAIRVIEW — The Fairview school board voted 5-2 on Thursday night to start high school classes at \
8:30 a.m. next fall, 45 minutes later than now. Board members cited research on teenage sleep.

Parents who spoke at the meeting were divided. Superintendent Gary Holt said bus routes would be \
redrawn over the summer.
"""


@pytest.fixture
def levee_qa(write_files: WriteFiles, tmp_path: Path) -> QAService:
    corpus = write_files(
        {
            "levee-announced.txt": LEVEE_ANNOUNCED,
            "levee-delayed.txt": LEVEE_DELAYED,
            "levee-reopened.txt": LEVEE_REOPENED,
            "levee-explainer.txt": LEVEE_EXPLAINER,
            "school-board.txt": SCHOOL_BOARD,
        }
    )
    build_index(corpus, tmp_path / "levee-index")
    return QAService.open(tmp_path / "levee-index")


def _first_article(service: QAService, question: str, filters: SearchFilter | None = None) -> str:
    answer = service.answer(question, 3, filters)
    return answer.passages[0].chunk_id.rpartition("#")[0]


def _without_time(service: QAService) -> QAService:
    return service.reconfigured(AnswerConfig(rerank=without(RerankConfig(), TIME_RULES)))


def test_the_latest_on_a_story_is_its_newest_update(levee_qa: QAService) -> None:
    question = "What is the latest on the Marsh Creek levee?"
    assert _first_article(levee_qa, question) == "levee-reopened.txt"
    # The explainer repeats the story's words most: without the time rules it comes first.
    assert _first_article(_without_time(levee_qa), question) == "levee-explainer.txt"


def test_a_recency_question_gets_the_newest_figure(levee_qa: QAService) -> None:
    answer = levee_qa.answer("How much do the Marsh Creek levee repairs cost so far?", 3)
    assert "$2.4 million" in (answer.highlighted_sentence or "")


def test_a_still_question_is_answered_by_the_newest_update_in_its_own_words(levee_qa: QAService) -> None:
    # The newest update says "reopened", not "closed": the story's name, not the word, keeps it in.
    assert _first_article(levee_qa, "Is the Marsh Creek levee road still closed?") == "levee-reopened.txt"


def test_a_window_reads_against_the_newest_article_and_a_filter_end(levee_qa: QAService) -> None:
    # The archive ends on 29 March 2014: "last week" is 17-23 March, when the budget grew.
    assert (
        _first_article(levee_qa, "What happened to the Marsh Creek levee last week?") == "levee-delayed.txt"
    )
    until = SearchFilter(until=dt.date(2014, 3, 10))
    assert _first_article(levee_qa, "What is the latest on the Marsh Creek levee?", until) == (
        "levee-announced.txt"
    )


def test_questions_without_cues_rank_as_before(levee_qa: QAService) -> None:
    plain = _without_time(levee_qa)
    for question in ("Who is the public works director?", "How many homes does the levee protect?"):
        assert levee_qa.answer(question, 5) == plain.answer(question, 5)


def _ranking(service: QAService, question: str) -> list[tuple[str, float]]:
    return [(p.chunk_id, p.score) for p in service.answer(question, 10).passages]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder", "corpus_name"),
    [("news-wikinews", "articles.jsonl"), ("squad-subset", "articles.jsonl")],
)
def test_questions_without_cues_rank_exactly_as_without_the_time_rules(
    folder: str, corpus_name: str, tmp_path: Path
) -> None:
    build_index(DATA / folder / corpus_name, tmp_path / "index")
    service = QAService.open(tmp_path / "index")
    plain = _without_time(service)
    lines = (DATA / folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines[:250]]
    anchor = anchor_date(dt.date(2026, 3, 13), None)
    without_cues = [q for q in questions if not find_cues(q, anchor).active]
    assert len(without_cues) > 200
    for question in without_cues:
        assert _ranking(service, question) == _ranking(plain, question), question
