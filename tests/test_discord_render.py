"""Answers as Discord embeds: escaping, highlighting, citations, Discord's limits, and the button view."""

from __future__ import annotations

import datetime as dt
import re
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_render import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    AnswerView,
    about_embed,
    answer_embed,
    escape,
    passage_markdown,
    source_markdown,
    sources_embed,
    trim,
    trim_start,
)
from bot.render import NO_ANSWER
from index.models import Answer, IndexStats, Passage, Source

# Same examples on every run, and no per-example deadline that a busy CI machine could miss.
DETERMINISTIC = settings(derandomize=True, deadline=None, database=None)

KERRY = Source(
    "No Resolution After Kerry, Lavrov Talk for Four Hours About Ukraine and Russia",
    None,
    None,
    None,
    "no-resolution-after-kerry-lavrov-talk.txt",
)
CBN = Source(
    "US, Russia Talks on Ukraine End in Deadlock",
    "CBN",
    dt.date(2014, 3, 30),
    "https://www1.cbn.com/cbnnews/world/2014/March/US-Russia-Talks-on-Ukraine-End-in-Deadlock",
)


def passage(text: str, sentence: str | None = None, sources: tuple[Source, ...] = (CBN,)) -> Passage:
    highlight = None
    if sentence is not None:
        start = text.index(sentence)
        highlight = (start, start + len(sentence))
    return Passage(text, 1.0, highlight, sources)


TALKS = passage(
    "Kerry and Lavrov met in Paris. They talked for four hours but agreed on nothing. Talks go on.",
    "They talked for four hours but agreed on nothing.",
    (KERRY, CBN),
)


def embed_strings(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    parts += [f"{field.name}\n{field.value}" for field in embed.fields]
    return "\n".join(parts)


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= TITLE_LIMIT
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert len(embed.fields) <= FIELD_COUNT_LIMIT
    for field in embed.fields:
        assert 0 < len(field.name or "") <= FIELD_NAME_LIMIT
        assert 0 < len(field.value or "") <= FIELD_VALUE_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT


# -- trimming ---------------------------------------------------------------------------------


def test_trim_prefers_a_sentence_end() -> None:
    text = "The talks lasted four hours. Nothing was agreed at the meeting in Paris on Sunday."
    assert trim(text, 50) == "The talks lasted four hours. …"


def test_trim_falls_back_to_a_word_boundary() -> None:
    assert trim("one two three four five six seven", 20) == "one two three four…"


def test_trim_leaves_short_text_alone() -> None:
    assert trim("short", 5) == "short"


def test_trim_never_leaves_a_dangling_escape() -> None:
    assert not trim(escape("*" * 50), 10).rstrip("…").endswith("\\")


def test_trim_start_keeps_the_end() -> None:
    assert trim_start("one two three four five six seven", 20) == "…five six seven"


@DETERMINISTIC
@given(st.text(), st.integers(min_value=0, max_value=300))
def test_trim_respects_any_limit(text: str, limit: int) -> None:
    assert len(trim(text, limit)) <= limit
    assert len(trim_start(text, limit)) <= limit


# -- escaping and highlighting ----------------------------------------------------------------


def test_passage_markdown_is_escaped_before_the_sentence_is_bolded() -> None:
    text = "Stocks *rose* 5% on_Monday. The deal was worth $2 `billion` ~ly. ||Spoiler|| ends here."
    markdown = passage_markdown(passage(text, "The deal was worth $2 `billion` ~ly."), 1000)
    assert markdown == (
        "Stocks \\*rose\\* 5% on\\_Monday. **The deal was worth $2 \\`billion\\` \\~ly.** "
        "\\|\\|Spoiler\\|\\| ends here."
    )


def test_escape_handles_quotes_headings_and_list_items() -> None:
    assert escape("> quoted\n# heading\n  - item") == "\\> quoted\n\\# heading\n  \\- item"


def test_bold_markers_touch_the_sentence_not_its_spaces() -> None:
    text = "First. Second sentence.  Third."
    start = text.index(" Second")
    markdown = passage_markdown(Passage(text, 1.0, (start, text.index("Third")), (CBN,)), 100)
    assert markdown == "First. **Second sentence.**  Third."


def test_a_long_passage_is_trimmed_around_the_answer_sentence() -> None:
    before = "Earlier context goes on and on. " * 40
    after = " Later context goes on and on." * 40
    text = before + "They talked for four hours." + after
    markdown = passage_markdown(passage(text, "They talked for four hours."), 300)
    assert len(markdown) <= 300
    assert "**They talked for four hours.**" in markdown
    assert markdown.startswith("…") and markdown.endswith("…")


@settings(DETERMINISTIC, max_examples=200)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=600),
    st.integers(0, 600),
    st.integers(0, 600),
    st.integers(10, 1100),
)
def test_highlighted_passages_fit_and_keep_bold_balanced(text: str, a: int, b: int, limit: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    markdown = passage_markdown(Passage(text, 1.0, (start, end), ()), limit)
    assert len(markdown) <= limit
    unescaped_stars = re.findall(r"(?<!\\)\*\*", markdown.replace("\\\\", ""))
    assert len(unescaped_stars) in (0, 2)


# -- sources ----------------------------------------------------------------------------------


def test_source_with_url_is_a_link_with_publisher_and_date() -> None:
    assert source_markdown(CBN) == (
        "[US, Russia Talks on Ukraine End in Deadlock]"
        "(https://www1.cbn.com/cbnnews/world/2014/March/US-Russia-Talks-on-Ukraine-End-in-Deadlock)"
        " · CBN · 30 Mar 2014"
    )


def test_source_without_url_is_its_title() -> None:
    assert source_markdown(KERRY) == KERRY.title


def test_source_links_survive_brackets_and_parentheses() -> None:
    source = Source("A [draft] title_", url="https://example.com/a (b)")
    assert source_markdown(source) == "[A \\[draft\\] title\\_](https://example.com/a%20%28b%29)"


def test_only_web_urls_become_links() -> None:
    assert source_markdown(Source("T", url="javascript:alert(1)")) == "T"


# -- the answer embed -------------------------------------------------------------------------


def test_answer_embed_shows_the_best_passage_bold_sentence_and_all_its_sources() -> None:
    answer = Answer("how long did the talks last", (TALKS,), short_answer="four hours")
    embed = answer_embed(answer)
    assert embed.title == "how long did the talks last"
    assert embed.description is not None
    assert embed.description.startswith("Answer: **four hours**\n\n")
    assert "**They talked for four hours but agreed on nothing.**" in embed.description
    assert KERRY.title in embed.description and f"[{CBN.title}]({CBN.url})" in embed.description
    assert embed.footer.text == "Passages 1\u20131 of 1"


def test_answer_embed_lists_up_to_k_passages_as_fields_and_pages_the_rest() -> None:
    passages = tuple(passage(f"Passage number {n}. It is here.", "It is here.") for n in range(1, 8))
    answer = Answer("q", passages)
    first = answer_embed(answer, per_page=3)
    assert [field.name for field in first.fields] == [f"#2 · {CBN.title}", f"#3 · {CBN.title}"]
    assert "Passage number 1" in (first.description or "")
    assert first.footer.text == "Passages 1\u20133 of 7 · page 1/3"
    second = answer_embed(answer, page=1, per_page=3)
    assert "Passage number 4" in (second.description or "")
    assert second.footer.text == "Passages 4\u20136 of 7 · page 2/3"
    assert answer_embed(answer, page=3, per_page=3).footer.text == first.footer.text  # wraps around


def test_not_found_says_so() -> None:
    embed = answer_embed(Answer("what is the airspeed of a swallow", ()))
    assert embed.description == NO_ANSWER


def test_question_markdown_is_escaped_in_the_title() -> None:
    assert answer_embed(Answer("**bold** _q_", ())).title == "\\*\\*bold\\*\\* \\_q\\_"


sources_strategy = st.builds(
    Source,
    title=st.text(min_size=1, max_size=400),
    publisher=st.none() | st.text(max_size=200),
    date=st.none() | st.dates(),
    url=st.none() | st.text(max_size=300).map(lambda s: "https://x.example/" + s),
)
passages_strategy = st.builds(
    lambda text, a, b, sources: Passage(
        text, 1.0, tuple(sorted((a % (len(text) + 1), b % (len(text) + 1)))), sources
    ),
    st.text(min_size=1, max_size=5000),
    st.integers(0, 5000),
    st.integers(0, 5000),
    st.lists(sources_strategy, max_size=30).map(tuple),
)


@settings(DETERMINISTIC, max_examples=60)
@given(
    st.text(min_size=1, max_size=1000),
    st.lists(passages_strategy, min_size=1, max_size=10).map(tuple),
    st.none() | st.text(max_size=500),
    st.integers(1, 10),
)
def test_every_page_of_any_answer_is_within_discord_limits(
    question: str, passages: tuple[Passage, ...], short: str | None, per_page: int
) -> None:
    answer = Answer(question, passages, short)
    for page in range(len(passages) // per_page + 1):
        assert_within_limits(answer_embed(answer, page=page, per_page=per_page))
    assert_within_limits(sources_embed(answer))


def test_sources_embed_lists_every_source_once() -> None:
    answer = Answer("q", (TALKS, passage("Other. Text here.", "Text here.", (CBN,))))
    description = sources_embed(answer).description or ""
    assert description.count(CBN.title) == 1 and description.count(KERRY.title) == 1


def test_many_sources_end_with_a_count_of_the_rest() -> None:
    sources = tuple(
        Source(f"Wire copy number {n} of the same story", url=f"https://e.x/{n}") for n in range(60)
    )
    embed = answer_embed(Answer("q", (passage("A. B c.", "B c.", sources),)))
    assert re.search(r"— and \d+ more$", embed.description or "")
    assert_within_limits(embed)


def test_about_embed_shows_counts_and_build_time() -> None:
    built = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    embed = about_embed(IndexStats(2, 9, built, 0.25, "corpus"))
    text = embed_strings(embed)
    assert "Articles\n2" in text and "Passages\n9" in text
    assert f"<t:{int(built.timestamp())}:f>" in text and "0.2 s" in text


# -- the view ---------------------------------------------------------------------------------


def interaction(user_id: int) -> MagicMock:
    mock = MagicMock()
    mock.user.id = user_id
    mock.response.send_message = AsyncMock()
    mock.response.edit_message = AsyncMock()
    mock.response.is_done.return_value = False
    return mock


def paged_answer() -> Answer:
    return Answer("q", tuple(passage(f"Passage {n}. It is here.", "It is here.") for n in range(1, 6)))


async def test_single_page_answers_have_no_more_button() -> None:
    view = AnswerView(Answer("q", (TALKS,)), per_page=3, owner_id=1)
    assert [getattr(item, "label", None) for item in view.children] == ["Sources"]


async def test_not_found_answers_have_no_buttons() -> None:
    assert AnswerView(Answer("q", ()), per_page=3, owner_id=1).children == []


async def test_more_pages_the_answer_for_the_asker() -> None:
    view = AnswerView(paged_answer(), per_page=2, owner_id=1)
    click = interaction(1)
    await view.more.callback(click)
    kwargs = click.response.edit_message.await_args.kwargs
    assert "Passage 3" in kwargs["embed"].description
    assert kwargs["view"] is view and kwargs["allowed_mentions"].to_dict() == {"parse": []}
    await view.more.callback(click)
    assert view.more.label == "Back to the top"
    await view.more.callback(click)
    assert view.page == 0 and view.more.label == "More"


async def test_more_refuses_other_users() -> None:
    view = AnswerView(paged_answer(), per_page=2, owner_id=1)
    click = interaction(2)
    await view.more.callback(click)
    click.response.edit_message.assert_not_awaited()
    assert click.response.send_message.await_args.kwargs["ephemeral"] is True
    assert view.page == 0


async def test_sources_button_answers_privately() -> None:
    view = AnswerView(Answer("q", (TALKS,)), per_page=3, owner_id=1)
    click = interaction(2)
    await view.show_sources.callback(click)
    kwargs = click.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True and KERRY.title in kwargs["embed"].description


async def test_buttons_are_disabled_when_the_view_times_out() -> None:
    view = AnswerView(paged_answer(), per_page=2, owner_id=1)
    view.message = MagicMock()
    view.message.edit = AsyncMock(side_effect=discord.NotFound(MagicMock(status=404), "gone"))
    await view.on_timeout()  # a deleted message is not an error
    assert all(getattr(item, "disabled", False) for item in view.children)
    view.message.edit.assert_awaited_once()


@pytest.mark.parametrize("done", [False, True])
async def test_a_failing_button_is_logged_and_answered(done: bool, caplog: pytest.LogCaptureFixture) -> None:
    view = AnswerView(paged_answer(), per_page=2, owner_id=1)
    click = interaction(1)
    click.response.is_done.return_value = done
    await view.on_error(click, RuntimeError("boom"), view.more)
    assert "boom" in caplog.text
    assert click.response.send_message.await_count == (0 if done else 1)


# -- link hygiene, authors, sentence-only citations and unanswered questions -------------------------


def test_link_text_is_escaped_once() -> None:
    source = Source("Court rules [again] on the *Smith* case (update)", url="https://news.example/smith")
    assert source_markdown(source) == (
        "[Court rules \\[again\\] on the \\*Smith\\* case (update)](https://news.example/smith)"
    )
    # A masked link inside a title is escaped by discord.py already; its brackets get no second backslash.
    markdown = source_markdown(Source("See [the ruling](page 3) here", url="https://n.example/a"))
    assert markdown == "[See \\[the ruling\\](page 3) here](https://n.example/a)"


def test_a_title_that_looks_like_an_address_is_never_a_link() -> None:
    source = Source("https://bank.example/login", url="https://other.example/story")
    markdown = source_markdown(source)
    assert "[https://bank.example/login]" not in markdown
    assert "https://bank.example" not in markdown  # Discord would turn it into a link of its own
    assert "bank.example/login" in markdown and "[link](https://other.example/story)" in markdown


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://files.example/a", "http:///no-host", "//x.example"]
)
def test_only_web_addresses_with_a_host_become_links(url: str) -> None:
    assert source_markdown(Source("Council backs flood barrier", url=url)) == "Council backs flood barrier"


def test_source_shows_its_author() -> None:
    source = Source(
        "Berlin Zoo shows off two red panda cubs", "City Post", dt.date(2024, 6, 24), author="Anna Keller"
    )
    assert (
        source_markdown(source)
        == "Berlin Zoo shows off two red panda cubs · City Post · by Anna Keller · 24 Jun 2024"
    )


def test_sentence_only_citations_follow_the_full_ones() -> None:
    shown = Passage(TALKS.text, 1.0, TALKS.highlight, (CBN,), also_in=(KERRY,))
    embed = answer_embed(Answer("how long did the talks last", (shown,)))
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert lines[-2].startswith("— [US, Russia Talks")
    assert lines[-1] == "— also in, this sentence only: " + KERRY.title


def test_an_unanswered_question_says_so_and_bolds_nothing() -> None:
    shown = Passage(TALKS.text, 1.0, TALKS.highlight, (CBN,), also_in=(KERRY,))
    embed = answer_embed(Answer("who won the world cup", (shown, shown), "four hours", answered=False))
    assert embed.description is not None
    assert embed.description.startswith("No passage answers this directly; the closest:\n\n")
    assert embed.fields[0].value is not None
    assert "**" not in embed.description and "**" not in embed.fields[0].value
    assert "also in" not in embed.description
