"""Short questions ("Who won the by-election?"): the story whose lead answers them comes first."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from index import rerank
from index.answer import AnswerConfig, QAService
from index.builder import build_index
from tests.conftest import WriteFiles

HALDEN = """Title: Greens take Halden Moor in by-election upset
Date: 2025-03-07

Green Party candidate Maya Okafor won Thursday's by-election in Halden Moor with 41 per cent of the \
vote, ending ninety years of Labour control of the seat. Turnout was 38 per cent, the returning \
officer said, higher than at the last general election.

Okafor, a former primary school teacher, campaigned on bus services and the closure of the Halden \
Moor walk-in clinic. She thanked volunteers at the count in the town hall shortly after 3 a.m.

Labour's Peter Mallory came second with 29 per cent. Reform UK was third. The Conservatives, who held \
second place in 2024, fell to fourth and lost their deposit.

The seat fell vacant in January when the sitting MP, Andrew Hale, resigned to take up a post with a \
housing charity. Party leaders visited the constituency eleven times during the five-week campaign.
"""

# A council story that mentions an old ward by-election in passing, twice, in its last paragraph.
BRAYFORD = """Title: Brayford council approves ring road after two years of objections
Date: 2025-03-05

Brayford council approved the eastern ring road on Tuesday by nine votes to four, after two years of \
public objections and a judicial review that the council won last autumn. Work is due to start in June \
and to take three years.

The road will carry traffic around the market town and away from Station Street, where lorries have \
cracked the pavements of listed buildings. Its estimated cost has risen from 48 million pounds to 71 \
million pounds since the plan was first published.

Residents of Low Brayford, where the road crosses the river, said they would keep objecting. Their \
group delivered a petition of 3,100 names to the council chamber before the vote.

The vote split the ruling group. Councillor Derek Lane, who won the ward by-election in 2023 on a \
promise to stop the road, voted against it. "I won that by-election by twelve votes because people \
here trusted me to oppose this," Lane said. Lane was joined by three colleagues.
"""


def test_a_short_question_is_answered_from_the_story_whose_lead_holds_it(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    build_index(write_files({"halden.txt": HALDEN, "brayford.txt": BRAYFORD}), tmp_path / "idx")
    service = QAService.open(tmp_path / "idx", AnswerConfig(top_k=3))
    answer = service.answer("Who won the by-election?")
    assert answer.passages[0].sources[0].title == "Greens take Halden Moor in by-election upset"
    assert "Maya Okafor" in (answer.highlighted_sentence or "")
    # Without the short-question lead prior, the passing mention that repeats the words wins.
    plain = service.reconfigured(
        replace(service.config, rerank=rerank.without(service.config.rerank, ["short_lead"]))
    )
    first = plain.answer("Who won the by-election?").passages[0]
    assert first.sources[0].title.startswith("Brayford council approves ring road")
    # A longer question names its story itself, and its ranking is not changed by the rule.
    longer = "Who won the Halden Moor by-election for the Greens?"
    assert [p.text for p in service.answer(longer).passages] == [
        p.text for p in plain.answer(longer).passages
    ]
