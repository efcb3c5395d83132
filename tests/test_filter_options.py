"""Filters as users set them: ask and repl flags, REPL commands, Discord options, and how answers state them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any, cast

import pytest

from bot.cli import main
from bot.cogs.qa import QACog, source_choices
from bot.discord_render import answer_embed
from bot.repl import run_repl
from index.answer import QAService
from index.filters import SearchFilter
from index.models import Answer, Passage
from tests.conftest import make_settings
from tests.test_cog import FakeAnswerer, FakeHost, make_interaction
from tests.test_cog import ask as cog_ask
from tests.test_filters import DATED_NEWS, dated_news

__all__ = ["dated_news"]  # the fixture, shared with the engine tests


# ---- the command line and the REPL ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dated_index(dated_news: QAService) -> list[str]:
    """Options that answer from the built dated news index."""
    return ["--corpus", str(DATED_NEWS / "articles"), "--index-dir", str(dated_news.index_dir)]


BRIDGE = "When is the Calder River Bridge expected to reopen?"


def test_ask_states_the_window_and_the_undated_articles_left_out(
    dated_index: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ask", BRIDGE, "--since", "2025-02-11", "--until", "2025-03-15", *dated_index])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Searched articles from 2025-02-11 to 2025-03-15; 5 undated articles left out.\n")
    assert "April 25" in out


def test_ask_json_carries_the_filter(dated_index: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    question = "What did Rafael Dumont say after the recount?"
    code = main(
        [
            "ask",
            question,
            "--json",
            "--source",
            "valley SENTINEL",
            "--source",
            "www.valleysentinel.example.net",
            *dated_index,
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["filter"] == {
        "since": None,
        "until": None,
        "sources": ["valley SENTINEL", "www.valleysentinel.example.net"],
    }
    assert data["left_out_undated"] == 0
    cited = {s["publisher"] for p in data["passages"] for s in p["sources"] + p["also_in"]}
    assert cited == {"Valley Sentinel"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--since", "next tuesday"], "cannot read the date 'next tuesday': use a date (2025-02-11)"),
        (["--until", "since 2025"], "has no end date"),
        (["--since", "2025-03-01", "--until", "2025-02-01"], "starts (2025-03-01) after it ends"),
        (
            ["--source", "Daily Planet"],
            "no indexed source is called 'Daily Planet'; sources include: Coastline",
        ),
    ],
)
def test_unusable_filters_are_usage_errors(
    dated_index: list[str], capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code = main(["ask", BRIDGE, *options, *dated_index])
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_repl_filter_commands(dated_news: QAService) -> None:
    lines = iter(
        [
            ":since last week",
            ":until",
            ":since 2025-02-11",
            ":until 2025-03-15",
            ":since whenever",
            BRIDGE,
            ":source Harborview Courier",
            ":info",
            ":source",
            ":clear",
            ":info",
        ]
    )

    def feed(_prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    run_repl(dated_news, input_fn=feed, out=out, interactive=False, today=lambda: dt.date(2025, 3, 12))
    text = out.getvalue()
    # Last week, Monday to Sunday; still so with no end given, as a period alone is its own window.
    assert text.count("filter: articles from 2025-03-03 to 2025-03-09\n") == 2
    assert "filter: articles from 2025-02-11 to 2025-03-15\n" in text
    assert "cannot read the date 'whenever'" in text
    assert "Searched articles from 2025-02-11 to 2025-03-15; 5 undated articles left out." in text
    assert "April 25" in text
    assert "filter: Harborview Courier articles from 2025-02-11 to 2025-03-15\n" in text
    assert "sources: Coastline Daily, Harborview Courier, Lakeshore Business Journal," in text
    assert text.rstrip().endswith("filter: none")


def test_repl_starts_with_the_command_line_filter(dated_news: QAService) -> None:
    out = io.StringIO()
    answers = iter([":info"])

    def feed(_prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    start = SearchFilter(since=dt.date(2025, 4, 1), publishers=("Coastline Daily",))
    run_repl(dated_news, input_fn=feed, out=out, interactive=False, filters=start)
    assert "filter: Coastline Daily articles from 2025-04-01 to today" in out.getvalue()


# ---- Discord ------------------------------------------------------------------------------------------


@pytest.fixture
def discord_cog(tmp_path: Path) -> tuple[QACog, FakeAnswerer]:
    answerer = FakeAnswerer()
    host = FakeHost(answerer, make_settings(index_dir=tmp_path / "index", discord_cooldown_seconds=0))
    return QACog(host, today=lambda: dt.date(2025, 3, 12)), answerer


async def test_discord_ask_passes_the_filter_down(discord_cog: tuple[QACog, FakeAnswerer]) -> None:
    cog, answerer = discord_cog
    await cog_ask(cog, make_interaction(), "what did the port strike cost", since="last week", source="CBN")
    assert answerer.filters == [SearchFilter(dt.date(2025, 3, 3), dt.date(2025, 3, 9), ("CBN",))]
    await cog_ask(cog, make_interaction(), "what did the port strike cost")
    assert answerer.filters[-1] is None


async def test_discord_bad_date_is_refused_privately(discord_cog: tuple[QACog, FakeAnswerer]) -> None:
    cog, answerer = discord_cog
    interaction = make_interaction()
    await cog_ask(cog, interaction, "bridge reopening", until="the other day")
    assert answerer.calls == []
    args, kwargs = interaction.response.send_message.call_args
    assert "cannot read the date 'the other day'" in args[0] and kwargs["ephemeral"] is True


async def test_discord_source_autocompletes_from_the_indexed_publishers(
    discord_cog: tuple[QACog, FakeAnswerer],
) -> None:
    cog, _ = discord_cog
    assert QACog.ask._params["source"].autocomplete is not None  # wired to the option
    # discord.py types the decorated method loosely: call it as the library does, from the class.
    complete = cast(Any, QACog.source_autocomplete)
    choices = await complete(cog, make_interaction(), "co")
    assert [c.value for c in choices] == ["Coastline Daily", "Harborview Courier"]


def test_source_choices_prefix_first_then_substring_capped_at_25() -> None:
    names = [
        "Coastline Daily",
        "Harborview Courier",
        "Metro Wire Service",
        *(f"Outlet {i:02}" for i in range(40)),
    ]
    assert source_choices(names, "COURIER") == ["Harborview Courier"]
    assert source_choices(names, "o")[:2] == ["Outlet 00", "Outlet 01"]
    assert source_choices(names, "o")[-1] == "Outlet 24" and len(source_choices(names, "o")) == 25
    assert source_choices(names, " ") == names[:25]


def test_discord_embed_states_the_filter() -> None:
    window = SearchFilter(dt.date(2025, 2, 11), dt.date(2025, 3, 15))
    text = "The bridge will reopen April 25, officials said."
    found = Answer("When will the bridge reopen?", (Passage(text, 1.0, (0, len(text)), ()),), "April 25")
    embed = answer_embed(dataclasses.replace(found, search_filter=window, left_out_undated=1))
    assert embed.footer.text is not None
    assert embed.footer.text.endswith(
        "Searched articles from 2025-02-11 to 2025-03-15; 1 undated article left out."
    )
    nothing = answer_embed(Answer("When will the ferry run?", (), search_filter=window))
    assert (
        nothing.description is not None
        and "Searched articles from 2025-02-11 to 2025-03-15." in nothing.description
    )
