"""Hostile questions: a clear reply, no ping, intact formatting and bounded time; fuzzed with Hypothesis."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.discord_render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    answer_embed,
)
from bot.render import NO_ANSWER, ansi_bold, marker_bold, to_json, to_text
from index.answer import AnswerConfig, QAService
from index.builder import build_index
from index.errors import QuestionError
from index.models import Answer
from tests.bot_process import start_bot
from tests.fake_discord import JSON, FakeDiscord, Interaction, Reply

MAX_CHARS = AnswerConfig().max_question_chars
SECONDS_PER_QUESTION = 5.0  # catches runaway work only: answers take milliseconds, but CI machines are shared

ARABIC_HELLO = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"  # hello world
ARABIC_QUESTION = "\u0643\u0645 \u0627\u0633\u062a\u063a\u0631\u0642\u062a"  # how long did it take


def fullwidth(text: str) -> str:
    """ASCII letters as their fullwidth forms (NFKC folds them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


# Articles that themselves carry markdown, mentions and code fences, so answers to the fuzzed
# questions exercise the renderers' escaping too.
ARTICLES = {
    "talks.txt": "Paris talks end\n\nKerry and Lavrov talked for four hours in Paris on Sunday. "
    "Nothing was resolved, and the ministers will meet again.\n",
    "markdown.md": "Markdown in the wild\n\nThe council posted **bold** claims, `code`, ~~strikes~~ and "
    "||spoilers|| about the budget of 30,000 dollars.\n\nA reader wrote @everyone and <@123456789012345678> "
    "and <@&987654321098765432> in the comments about the budget.\n",
    "fences.txt": "Fences and quotes\n\n```python\nprint('the budget')\n```\n\n> The mayor said the bridge "
    "repairs will take six months.\n\n# Not a heading, a hash.\n",
    "rtl.txt": f"Arabic and emoji\n\n{ARABIC_HELLO} and the harbour \U0001f6a2 reopened on Friday after "
    "eleven months.\n",
}

HOSTILE = [
    "",
    " ",
    "\t\n\r  \n",
    "x" * 10_000,
    "talks " * 2_000,
    "?!.,;:'\"()[]{}<>/\\|-_=+*&^%$#@!~`",
    "...",
    "\U0001f980\U0001f525\U0001f4a5\U0001f6a2" * 30,
    "\u200b\u200c\u200d\u2060\ufeff",
    "talks\u200bhours",
    f"{ARABIC_HELLO} {ARABIC_QUESTION}",
    "\u202eshruoh ruof\u202c how long did the talks last",
    "\u2067rtl isolate\u2069 harbour",
    "@everyone how long did the talks last",
    "@here budget",
    "<@123456789012345678> budget",
    "<@!123456789012345678> budget",
    "<@&987654321098765432> role budget",
    "<#123456789012345678> channel",
    "**bold** __under__ ~~strike~~ ||spoiler|| budget",
    "```python\nprint(1)\n``` budget",
    "`",
    "```",
    "``` ``` ```",
    "> quote budget",
    "# heading budget",
    "[click](https://evil.example/) budget",
    "https://evil.example/?q=talks&x=<script>",
    "\\",
    "\\*\\*",
    "*" * 500,
    "\x00\x01\x02\x1b[2J\x1b]0;title\x07 talks",
    fullwidth("All fullwidth talks"),
    "e\u0301\u0301\u0301\u0301\u0301\u0301 zalgo t\u0336a\u0336l\u0336k\u0336s",
    "the of and a to in",  # stopwords only
    "\U0001f1fa\U0001f1f8 \U0001f3f3\ufe0f\u200d\U0001f308",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    base = tmp_path_factory.mktemp("hostile-questions")
    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index(corpus, base / "index")
    return QAService.open(base / "index")


def unescaped(text: str, token: str) -> int:
    """How often `token` occurs in `text` not preceded by a backslash escape."""
    return len(re.findall(r"(?<!\\)" + re.escape(token), text))


def check_embed(answer: Answer) -> None:
    """Discord's limits hold, and bold markers come in pairs (article markdown is escaped)."""
    for page in range(3):
        embed = answer_embed(answer, page=page)
        assert len(embed) <= EMBED_TOTAL_LIMIT
        assert len(embed.title or "") <= TITLE_LIMIT
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        assert len(embed.fields) <= FIELD_COUNT_LIMIT
        for embed_field in embed.fields:
            assert len(embed_field.name or "") <= FIELD_NAME_LIMIT
            assert len(embed_field.value or "") <= FIELD_VALUE_LIMIT
        for text in [embed.title or "", embed.description or "", *(f.value or "" for f in embed.fields)]:
            assert unescaped(text, "**") % 2 == 0, text
            assert unescaped(text, "```") == 0, text
            assert unescaped(text, "||") == 0, text


def ask(service: QAService, question: str) -> Answer | None:
    """Answer `question` as every front-end does; None when it is refused as too long."""
    started = time.perf_counter()
    try:
        answer = service.answer(question)
    except QuestionError as err:
        assert len(" ".join(question.split())) > MAX_CHARS
        assert "\n" not in str(err) and str(MAX_CHARS) in str(err)
        return None
    finally:
        elapsed = time.perf_counter() - started
        assert elapsed < SECONDS_PER_QUESTION, f"{elapsed:.2f} s for {question[:40]!r}"
    assert answer.question == " ".join(question.split())
    assert len(answer.passages) <= service.config.top_k
    for passage in answer.passages:
        if passage.highlight is not None:
            start, end = passage.highlight
            assert 0 <= start < end <= len(passage.text)
        assert passage.sources
    return answer


def check_renderers(answer: Answer) -> None:
    for bold in (marker_bold, ansi_bold):
        text = to_text(answer, bold)
        assert text.strip()
        assert (text == NO_ANSWER) == (not answer.found)
        assert "\x1b]" not in text and "\x00" not in text  # no escapes from articles reach the terminal
    data = to_json(answer)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # printable on a UTF-8 stdout
    check_embed(answer)


@pytest.mark.parametrize("question", HOSTILE, ids=[f"q{n}" for n in range(len(HOSTILE))])
def test_each_hostile_question_gets_a_clear_reply_in_bounded_time(service: QAService, question: str) -> None:
    answer = ask(service, question)
    if answer is not None:
        check_renderers(answer)


def test_questions_that_should_find_something_still_do(service: QAService) -> None:
    for question in (
        "@everyone how long did the talks last",
        "**bold** __under__ ~~strike~~ ||spoiler|| budget",
    ):
        answer = ask(service, question)
        assert answer is not None and answer.found, question


# Fragments of hostile text mixed with words the corpus holds, so that many fuzzed questions do find
# passages (and the renderers get real answers to format).
FRAGMENTS = st.sampled_from(HOSTILE[:3] + HOSTILE[5:] + ["talks", "budget", "harbour", "four hours", "the"])
QUESTIONS = st.one_of(
    st.text(max_size=600),
    st.lists(FRAGMENTS | st.text(max_size=20), max_size=12).map(" ".join),
    st.text(st.characters(categories=["Zs", "Cf", "Mn", "Po", "Sm", "So"]), max_size=200),
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(question=QUESTIONS)
def test_fuzzed_questions_never_crash_the_service_or_the_renderers(service: QAService, question: str) -> None:
    answer = ask(service, question)
    if answer is not None:
        check_renderers(answer)


def test_a_question_that_is_not_valid_unicode_can_be_printed_as_json(service: QAService) -> None:
    answer = service.answer("budget \udcff")
    json.dumps(to_json(answer), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- through Discord (the fake)

TOKEN = "FAKE-hostile-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.never-log-me"


def check_reply(reply: Reply) -> None:
    """No ping, and within Discord's limits."""
    assert reply.payload["allowed_mentions"] == {"parse": []}
    assert len(reply.payload.get("content") or "") <= CONTENT_LIMIT
    for embed in reply.payload.get("embeds") or []:
        assert len(embed.get("title") or "") <= TITLE_LIMIT
        assert len(embed.get("description") or "") <= DESCRIPTION_LIMIT
        assert len(embed.get("fields") or []) <= FIELD_COUNT_LIMIT
        assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed.get("fields") or [])


def discord_questions() -> Iterator[str]:
    """The hostile questions a Discord client can send (it strips NUL and trims; /ask needs text)."""
    for question in HOSTILE:
        cleaned = question.replace("\x00", "")
        if cleaned.strip():
            yield cleaned[:6000]  # Discord caps option values at 6000 characters


@pytest.mark.slow
async def test_hostile_questions_through_discord_get_one_clear_reply_each_and_ping_nobody(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    debug = {"log_level": "DEBUG"}
    async with (
        FakeDiscord(token=TOKEN) as fake,
        start_bot(fake, tmp_path, TOKEN, corpus=corpus, settings=debug),
    ):
        questions = list(discord_questions())
        started = time.monotonic()
        interactions = [await fake.send_interaction("ask", question=q) for q in questions]
        # From many users in many channels: one user's burst of mentions in one channel gets few replies.
        messages = [
            await fake.send_message(
                f"{fake.bot_mention} {q}",
                user=fake.make_user(f"hostile-{i}"),
                channel_id=fake.new_channel_id(),
            )
            for i, q in enumerate(questions)
        ]
        everything: list[Interaction | JSON] = [*interactions, *messages]
        for sent in everything:
            check_reply(await fake.wait_for_reply(sent, timeout=30))
        elapsed = time.monotonic() - started
        for sent in everything:  # exactly one reply each, nothing more
            with pytest.raises(TimeoutError):
                await fake.wait_for_reply(sent, timeout=0.01, skip=1)
    assert elapsed < 30
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "Traceback" not in log and TOKEN not in log
