"""The miss-analysis script: its ranking changes from the command line and its report by cause."""

from __future__ import annotations

import pytest

from benchmarks.rank_misses import Outcome, report, rerank_config
from index.rerank import RerankConfig


def test_settings_and_switches_change_the_shipped_ranking() -> None:
    config = rerank_config(["adjacent=0.2", "calendar=false", "window=5"], ["lead"])
    assert config.adjacent == pytest.approx(0.2)
    assert config.calendar is False and config.window == 5 and config.lead == 0
    assert config.story == RerankConfig().story
    with pytest.raises(SystemExit, match="unknown rerank setting"):
        rerank_config(["speaker=1"], [])


def test_report_counts_misses_by_cause_and_length(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = [
        Outcome("q1", "Who signed the order?", True, 2, False, "other story", "Council budget vote"),
        Outcome("q2", "How many died in the Mogadishu helicopter crash?", False, 1, True, "hit", "Crash"),
        Outcome("q3", "Where was the helicopter flying to?", False, 3, False, "same story", "Crash"),
    ]
    report(outcomes, listing=True)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("all         3 questions  hit@1 0.333  sentence hit@1 0.333")
    assert printed[0].endswith("other story 1, same story 1, not found 0")
    assert printed[1].startswith("short       1 questions  hit@1 0.000")
    assert "q1\tother story\t2\tWho signed the order?\t[Council budget vote]" in printed
    assert not any(line.startswith("q2") for line in printed)
