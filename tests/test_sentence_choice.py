"""The bold sentence answers the question, not its neighbour: who voted, why, what started it, who called,
and how many died when the sentence naming the crash comes before the one counting its dead."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.answer import QAService
from index.builder import build_index
from index.rerank import without

ARTICLES = {
    "budget.txt": """Title: Harlow County commissioners pass budget despite objections

Harlow County's board of commissioners approved next year's spending plan on Monday night after a three-hour hearing. The $212 million budget includes a 4 percent raise for sheriff's deputies and money for two new ambulances. The budget passed by a vote of 7 to 2. Commissioners Elena Marsh and Robert Kline voted against it, arguing that the plan leaned too heavily on reserves. The board will revisit the road maintenance fund in March.
""",
    "novalux.txt": """Title: Novalux to build battery plant near Columbus

Battery maker Novalux said on Thursday it will build a $1.2 billion factory outside Columbus, Ohio, creating about 1,800 jobs by 2028. The company chose Ohio because of the state's tax incentives and its skilled manufacturing workforce, chief executive Marta Silva said. Construction is expected to begin next spring on a 300-acre site in Licking County. Novalux had also considered locations in Indiana and Georgia.
""",
    "wildfire.txt": """Title: Crews contain Cedar Ridge fire after four days

Firefighters said on Sunday they had fully contained the Cedar Ridge fire, which forced about 2,000 residents from their homes in the foothills east of Redding. The fire burned more than 11,000 acres and destroyed 46 buildings, including 31 homes. Investigators said the fire was started by sparks from a power line that came down in high winds. The utility said it was cooperating with the investigation.
""",
    "phonecall.txt": """Title: Putin and Trump discuss Ukraine in two-hour phone call

Russian President Vladimir Putin and U.S. President Donald Trump spoke by telephone for more than two hours on Tuesday, the Kremlin said. The two leaders discussed a possible ceasefire in Ukraine and an exchange of prisoners. Putin, who initiated the call, told Trump that Russia was ready to work on a memorandum with Kyiv, according to Kremlin aide Yuri Ushakov. The White House described the conversation as productive.
""",
    "helicopter.txt": """Title: Ugandan military helicopter crashes at Mogadishu airport

On Wednesday, July 2, a Ugandan military helicopter crashed at Aden Adde International Airport in the Somali capital of Mogadishu shortly after 9:30 a.m. local time. Five passengers died in the crash, and three others were pulled from the wreckage by airport firefighters. A spokesman for the Ugandan army said the aircraft had been on a routine escort mission for the African Union force.

Smoke from the burning wreck could be seen across the city, and flights were suspended for several hours. The African Union said it had opened an investigation into the cause of the crash.
""",
    "festival.txt": """Title: Queens World Film Festival closes with insulin road-trip drama

The Queens World Film Festival wrapped up its fifteenth edition in the Astoria area of Queens, New York City, on Sunday. Following the closing breakfast was a showing of The Caravan, a story about a man's road trip from New York City to Canada to buy affordable insulin. It was directed by Jefferson White, who grew up in Jackson Heights. Screenings were held at the Museum of the Moving Image, and about 2,400 tickets were sold over four days.
""",
    "bush.txt": """Title: Search for missing boy Gus Lamont resumes with new taskforce

Police have launched a taskforce to resume the search for August "Gus" Lamont at his family's sheep station in the mid-north of South Australia, Police Commissioner Grant Stevens said. Lamont, a four-year-old boy, disappeared on September 27 while playing outside the homestead. Volunteers and police divers searched the property for more than a week without finding any trace of him.
""",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    root = tmp_path_factory.mktemp("sentences")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index(corpus, root / "idx")
    return QAService.open(root / "idx")


@pytest.mark.parametrize(
    ("question", "bold_holds"),
    [
        ("Who voted against the budget?", "Elena Marsh and Robert Kline"),
        ("Why did Novalux choose Ohio?", "because of the state's tax incentives"),
        ("What started the fire?", "sparks from a power line"),
        ("Who initiated the phone call?", "Putin, who initiated the call"),
        # The sentence naming the crash holds most of the question; the next one counts the dead.
        ("How many died in the Ugandan helicopter crash in Mogadishu?", "Five passengers died"),
        # The lead sentence holds the names of the question; the next ones hold what it asks about.
        ("Who directed The Caravan?", "It was directed by Jefferson White"),
        ("When did Gus Lamont disappear?", "disappeared on September 27"),
    ],
)
def test_the_bold_sentence_holds_the_answer(service: QAService, question: str, bold_holds: str) -> None:
    answer = service.answer(question)
    assert answer.highlighted_sentence is not None and bold_holds in answer.highlighted_sentence


def test_without_the_neighbour_rule_the_sentence_naming_the_crash_stays_bold(service: QAService) -> None:
    question = "How many died in the Ugandan helicopter crash in Mogadishu?"
    plain = service.reconfigured(replace(service.config, rerank=without(service.config.rerank, ["adjacent"])))
    sentence = plain.answer(question).highlighted_sentence
    assert sentence is not None and sentence.startswith("On Wednesday, July 2")


@pytest.mark.parametrize(
    ("question", "lead_opening"),
    [
        ("Who directed The Caravan?", "Following the closing breakfast"),
        ("When did Gus Lamont disappear?", "Police have launched a taskforce"),
    ],
)
def test_without_the_predicate_rule_the_names_keep_the_bold_on_the_lead(
    service: QAService, question: str, lead_opening: str
) -> None:
    plain = service.reconfigured(
        replace(service.config, rerank=without(service.config.rerank, ["predicate"]))
    )
    sentence = plain.answer(question).highlighted_sentence
    assert sentence is not None and sentence.startswith(lead_opening)
