"""Timelines: a story's dated updates, oldest first, each by its best sentence and cited; on the command
line (`article-qa timeline`) and on Discord (`/timeline`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest

from bot.cli import main
from bot.cogs.timeline import TimelineCog
from bot.config import Settings
from bot.render import timeline_text
from index.answer import QAService
from index.builder import build_index
from index.errors import IndexFormatError, IndexMissingError
from index.filters import SearchFilter
from index.loader import load_corpus
from index.models import Timeline
from tests.conftest import make_settings

DATED_NEWS = Path(__file__).parent / "data" / "dated-news"


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("dated-news-timeline")
    build_index(DATED_NEWS / "articles", index_dir, workers=1)
    return index_dir


@pytest.fixture(scope="module")
def qa(dated_index: Path) -> QAService:
    return QAService.open(dated_index)


@pytest.fixture(scope="module")
def name_of_url() -> dict[str, str]:
    """Each article's name in the gold files (file name or record id), by its URL."""
    return {a.url or "": a.doc_id.rsplit("/", 1)[-1] for a in load_corpus(DATED_NEWS / "articles").articles}


def _timeline_questions() -> list[dict[str, Any]]:
    lines = (DATED_NEWS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [q for q in map(json.loads, lines) if q["kind"] == "timeline"]


@pytest.mark.parametrize("question", _timeline_questions(), ids=lambda q: q["id"])
def test_timeline_questions_list_their_story_in_date_order(
    qa: QAService, name_of_url: dict[str, str], question: dict[str, Any]
) -> None:
    found = qa.timeline(question["question"])
    listed = [name_of_url[source.url or ""] for entry in found.entries for source in entry.sources]
    assert listed == question["expect_articles"]
    dates = [entry.date for entry in found.entries]
    assert dates == sorted(dates)
    text = " ".join(entry.text for entry in found.entries).casefold()
    assert sum(answer.casefold() in text for answer in question["answers"]) >= len(question["answers"]) - 1


def test_undated_articles_are_left_out_and_counted(qa: QAService, name_of_url: dict[str, str]) -> None:
    found = qa.timeline("Calder River Bridge closure")
    names = {name_of_url[s.url or ""] for entry in found.entries for s in entry.sources}
    assert "hc-calder-bridge-what-to-know.txt" not in names  # the undated explainer
    assert found.left_out_undated == 1
    assert all(entry.story.articles == 8 for entry in found.entries)


def test_copies_of_one_update_share_an_entry(qa: QAService) -> None:
    found = qa.timeline("state board contract for commuter trains")
    first = found.entries[0]
    assert first.date == dt.date(2025, 2, 11)
    assert len(first.sources) >= 5  # the wire story and the outlets that printed it word for word
    assert "212 million" in first.sentence
    sources = [source for entry in found.entries for source in entry.sources]
    assert len(sources) == len(set(sources)) == 7  # every copy is cited, once


def test_filters_keep_the_window_and_the_source(qa: QAService) -> None:
    late = qa.timeline("Cedar Hollow Fire", SearchFilter(since=dt.date(2025, 4, 10)))
    assert [entry.date for entry in late.entries] == [dt.date(2025, 4, 10), dt.date(2025, 4, 16)]
    observer = qa.timeline("Cedar Hollow Fire", SearchFilter(publishers=("Riverbend Observer",)))
    assert {s.publisher for entry in observer.entries for s in entry.sources} == {"Riverbend Observer"}
    assert len(observer.entries) == 2


def test_relative_dates_read_as_the_days_they_mean(qa: QAService) -> None:
    text = timeline_text(qa.timeline("Cedar Hollow Fire"))
    assert "by Wednesday evening (9 April 2025) and was 5 percent contained" in text
    assert "declared fully contained on Wednesday (16 April 2025)" in text


def test_a_query_without_searchable_words_has_no_entries(qa: QAService) -> None:
    assert qa.timeline("the of and").entries == ()


def _cli_settings_args(dated_index: Path) -> list[str]:
    return ["--corpus", str(DATED_NEWS / "articles"), "--index-dir", str(dated_index)]


def test_timeline_command_prints_json(dated_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["timeline", "Port of Harborview strike", "--json", *_cli_settings_args(dated_index)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(data) == {"query", "entries", "filter", "left_out_undated"}
    assert data["query"] == "Port of Harborview strike"
    assert [e["date"] for e in data["entries"]] == [
        "2025-03-03",
        "2025-03-11",
        "2025-03-18",
        "2025-03-19",
        "2025-03-29",
    ]
    for entry in data["entries"]:
        assert set(entry) == {"date", "text", "highlight", "sources", "dates"}
        start, end = entry["highlight"]
        assert 0 <= start < end <= len(entry["text"])
        for found in entry["dates"]:  # relative dates of the sentence, resolved against its article's date
            assert start <= found["start"] < found["end"] <= end
            assert entry["text"][found["start"] : found["end"]] == found["text"]
        assert entry["sources"][0]["publisher"]


def test_timeline_command_prints_dated_sentences(
    dated_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["timeline", "Calder River Bridge closure", "--until", "2025-02-28", *_cli_settings_args(dated_index)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Searched articles up to 2025-02-28")
    assert "2025-01-08  **HARBORVIEW — The Calder River Bridge will close" in out
    assert "2025-03-27" not in out
    assert "    — Calder River Bridge to close Jan. 20 for bearing repairs · Harborview Courier" in out


def test_timeline_command_refuses_a_query_without_words(
    dated_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["timeline", "?", *_cli_settings_args(dated_index)]) == 2


class _Host:
    """The bot, as far as the timeline cog can tell."""

    def __init__(self, service: Any, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    async def heal_service(self, damaged: Any, damage: IndexFormatError) -> Any:
        raise damage


async def _run(cog: TimelineCog, interaction: MagicMock, query: str) -> None:
    """Run /timeline as discord.py does, on a mock interaction (which its types refuse)."""
    command: Any = TimelineCog.timeline
    await command.callback(cog, interaction, query=query)


def _interaction() -> MagicMock:
    interaction = MagicMock()
    interaction.user.id = 4242
    interaction.response.defer = AsyncMock()
    interaction.response.send_message = AsyncMock()
    interaction.followup.send = AsyncMock()
    return interaction


async def test_discord_timeline_sends_the_updates_in_order(qa: QAService, tmp_path: Path) -> None:
    cog = TimelineCog(_Host(qa, make_settings(index_dir=tmp_path / "i")))
    interaction = _interaction()
    await _run(cog, interaction, "Cedar Hollow Fire")
    interaction.response.defer.assert_awaited_once()
    embed = interaction.followup.send.await_args.kwargs["embed"]
    assert embed.title == "Timeline: Cedar Hollow Fire"
    description = embed.description or ""
    dates = ["**2025-04-09**", "**2025-04-10**", "**2025-04-16**"]
    assert [description.index(d) for d in dates] == sorted(description.index(d) for d in dates)
    assert "Riverbend Observer" in description and "3 updates, oldest first" in embed.footer.text


async def test_discord_timeline_refuses_a_second_query_during_the_cooldown(
    qa: QAService, tmp_path: Path
) -> None:
    now = [100.0]
    host = _Host(qa, make_settings(index_dir=tmp_path / "i", discord_cooldown_seconds=5))
    cog = TimelineCog(host, clock=lambda: now[0])
    await _run(cog, _interaction(), "Cedar Hollow Fire")
    again = _interaction()
    await _run(cog, again, "Ridge Fire")
    assert "try again in 5 s" in again.response.send_message.await_args.args[0]
    again.response.defer.assert_not_awaited()


async def test_discord_timeline_explains_a_service_without_timelines(tmp_path: Path) -> None:
    class Answers:  # an answerer that builds no timelines
        def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Any: ...

    cog = TimelineCog(_Host(Answers(), make_settings(index_dir=tmp_path / "i")))
    interaction = _interaction()
    await _run(cog, interaction, "Cedar Hollow Fire")
    assert "not available" in interaction.followup.send.await_args.args[0]


async def test_discord_timeline_keeps_index_errors_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:  # an index whose files went missing under the bot
        def timeline(self, query: str, filters: SearchFilter | None = None) -> Timeline:
            raise IndexMissingError("no index in /srv/qa/index yet")

        def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Any: ...

    cog = TimelineCog(_Host(Broken(), make_settings(index_dir=tmp_path / "i")))
    interaction = _interaction()
    await _run(cog, interaction, "Cedar Hollow Fire")
    (reply,) = interaction.followup.send.await_args.args
    assert "/srv" not in reply and "cannot be searched" in reply
    assert "/srv/qa/index" in caplog.text


def test_timeline_is_a_plain_value(qa: QAService) -> None:
    found = qa.timeline("Dunmore County recount")
    assert isinstance(found, Timeline) and found.entries
    assert all(entry.sentence in entry.text for entry in found.entries)
