"""Passages are shown from near their highlighted sentence, so readers see the answer in the first lines."""

from __future__ import annotations

from pathlib import Path

from bot.render import to_text
from index.answer import AnswerConfig, QAService
from index.builder import build_index
from index.evaluation import shown_words
from tests.conftest import WriteFiles

COUNCIL = """Title: Riverton council approves budget after long night of debate

Riverton's city council met for more than six hours on Tuesday before voting on the budget for the coming year, the largest in the city's history at $48 million. Residents filled the chamber and the overflow room, and more than forty of them spoke during the public comment period, most of them about the planned closure of the Eastside branch library. The mayor, Dana Whitfield, opened the meeting by thanking staff for what she called months of careful work. Several speakers asked the council to delay the vote until the library's future was settled. The budget passed by a vote of 7 to 2. Council members Luis Ortega and Priya Raman voted against it, saying the library cuts went too far.

The new budget takes effect on July 1 and raises the city's property tax rate by 1.5 percent.
"""


def service(write_files: WriteFiles, tmp_path: Path, config: AnswerConfig | None = None) -> QAService:
    corpus = write_files({"council.txt": COUNCIL})
    build_index(corpus, tmp_path / "idx")
    return QAService.open(tmp_path / "idx", config or AnswerConfig())


def test_passage_is_shown_from_the_sentence_before_its_highlight(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    answer = service(write_files, tmp_path).answer("By what vote did the budget pass?")
    best = answer.passages[0]
    assert answer.highlighted_sentence == "The budget passed by a vote of 7 to 2."
    shown, highlight = best.shown
    assert shown.startswith("\u2026 Several speakers asked the council")
    assert highlight is not None and shown[slice(*highlight)] == "The budget passed by a vote of 7 to 2."
    assert best.text.startswith("Riverton's city council met")  # the whole passage stays available
    assert "7 to 2" in " ".join(shown_words(answer).split()[:50])
    assert "\u2026 Several speakers" in to_text(answer)


def test_a_long_sentence_before_the_highlight_is_left_out(write_files: WriteFiles, tmp_path: Path) -> None:
    answer = service(write_files, tmp_path).answer("Who thanked staff for their careful work?")
    shown, _ = answer.passages[0].shown
    # The sentence before the mayor's is 33 words long: the passage is shown from the mayor's sentence.
    assert answer.highlighted_sentence is not None and answer.highlighted_sentence.startswith("The mayor")
    assert shown.startswith("\u2026 The mayor, Dana Whitfield")


def test_passages_can_be_shown_whole(write_files: WriteFiles, tmp_path: Path) -> None:
    whole = service(write_files, tmp_path, AnswerConfig(shown_context=None))
    answer = whole.answer("By what vote did the budget pass?")
    assert answer.passages[0].shown == (answer.passages[0].text, answer.passages[0].highlight)
