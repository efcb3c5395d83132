"""Standing queries: the follow store across restarts, matching new articles, posting and the commands."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import numpy as np
import pytest

from bot.cogs.follow import FollowCog, following_embed
from bot.config import Settings
from bot.follow.matcher import FollowMatcher, find_matches, new_articles, story_key
from bot.follow.posting import CHANNEL_GONE, deliver, post_content
from bot.follow.store import SCHEMA_VERSION, Follow, FollowStore, FollowStoreError
from index import QAService, SearchFilter, Source, Story, build_index
from tests.conftest import make_settings

DATED_NEWS = Path(__file__).resolve().parent / "data" / "dated-news" / "articles"
GUILD, OTHER_GUILD = 333333333333333333, 444444444444444444
CHANNEL, MANAGER = 555555555555555555, 666666666666666666
NOON = dt.datetime(2025, 2, 19, 12, 0, tzinfo=dt.UTC)
BRIDGE_QUERY = "When will the Calder River Bridge reopen?"
# The corpus before the update: the bridge closure announced, a water main break, a measles exposure.
BEFORE = ("hc-calder-bridge-to-close.html", "ro-water-main-break.txt", "hc-measles-airport-exposure.txt")


# -- the store ------------------------------------------------------------------------------------


def test_follows_and_posts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "follows.sqlite3"
    with FollowStore(path) as store:
        bridge = store.add(GUILD, CHANNEL, BRIDGE_QUERY, MANAGER, NOON, limit=25)
        assert bridge is not None
        store.add(OTHER_GUILD, CHANNEL + 1, "port strike", MANAGER, NOON, limit=25)
        store.record_post(bridge.id, {"title:bridge", "text:reopen"}, NOON)
    assert path.stat().st_mode & 0o777 == 0o600  # it names servers, channels and members
    with FollowStore(path) as store:  # a new process on the same file
        [kept] = store.of_guild(GUILD)
        assert (kept.id, kept.query, kept.channel_id, kept.added_by) == (
            bridge.id,
            BRIDGE_QUERY,
            CHANNEL,
            MANAGER,
        )
        assert kept.added_at == NOON and kept.last_post == NOON
        assert store.recently_posted(bridge.id, {"text:reopen"}, NOON - dt.timedelta(hours=1))
        assert not store.recently_posted(bridge.id, {"text:reopen"}, NOON + dt.timedelta(seconds=1))
        assert [f.query for f in store.active()] == [BRIDGE_QUERY, "port strike"]
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_server_sees_and_removes_only_its_own_follows(tmp_path: Path) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        ours = store.add(GUILD, CHANNEL, BRIDGE_QUERY, MANAGER, NOON, limit=25)
        theirs = store.add(OTHER_GUILD, CHANNEL, "port strike", MANAGER, NOON, limit=25)
        assert ours is not None and theirs is not None
        assert store.remove(GUILD, theirs.id) is None
        assert store.get(OTHER_GUILD, theirs.id) is not None
        store.record_post(ours.id, {"text:reopen"}, NOON)
        removed = store.remove(GUILD, ours.id)
        assert removed is not None and removed.id == ours.id
        assert store.of_guild(GUILD) == []
        # Its post history went with it: a follow added later starts afresh.
        assert not store.recently_posted(ours.id, {"text:reopen"}, NOON - dt.timedelta(hours=1))


def test_a_server_cannot_pass_its_cap(tmp_path: Path) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        for n in range(3):
            assert store.add(GUILD, CHANNEL, f"story {n}", MANAGER, NOON, limit=3) is not None
        assert store.add(GUILD, CHANNEL, "one too many", MANAGER, NOON, limit=3) is None
        assert store.add(OTHER_GUILD, CHANNEL, "another server", MANAGER, NOON, limit=3) is not None


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "follows.sqlite3"
    FollowStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(FollowStoreError, match="newer article-qa"):
        FollowStore(path)


def test_problems_are_noted_once_and_cleared_by_the_next_post(tmp_path: Path) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        follow = store.add(GUILD, CHANNEL, BRIDGE_QUERY, MANAGER, NOON, limit=25)
        assert follow is not None
        assert store.set_problem(follow.id, "may not post")
        assert not store.set_problem(follow.id, "may not post")  # already known: no second warning
        store.record_post(follow.id, {"text:x"}, NOON)
        refreshed = store.get(GUILD, follow.id)
        assert refreshed is not None and refreshed.problem is None
        store.disable(follow.id, CHANNEL_GONE)
        assert store.active() == []
        stopped = store.get(GUILD, follow.id)
        assert stopped is not None and stopped.disabled == CHANNEL_GONE


# -- matching against a real index ----------------------------------------------------------------


def indexed(tmp_path: Path, names: tuple[str, ...], tag: str) -> QAService:
    """An index of these dated-news articles, as the bot would have it after an update."""
    corpus = tmp_path / f"corpus-{tag}"
    corpus.mkdir()
    for name in names:
        shutil.copy(DATED_NEWS / name, corpus / name)
    build_index(corpus, tmp_path / f"index-{tag}")
    return QAService.open(tmp_path / f"index-{tag}")


def test_an_article_restriction_searches_only_those_articles(tmp_path: Path) -> None:
    service = indexed(tmp_path, (*BEFORE, "hc-calder-bridge-delay.html"), "all")
    only = SearchFilter(articles=frozenset({"ro-water-main-break.txt"}))
    answer = service.answer(BRIDGE_QUERY, 5, only)
    assert answer.passages and {p.chunk_id.split("#")[0] for p in answer.passages} == {
        "ro-water-main-break.txt"
    }
    assert service.answer(BRIDGE_QUERY, 5, SearchFilter(articles=frozenset())).passages == ()
    assert (
        service.answer(BRIDGE_QUERY, 5, SearchFilter(articles=frozenset({"no-such-article"}))).passages == ()
    )
    assert only.describe() == "1 chosen article"
    dated = SearchFilter(since=dt.date(2025, 1, 1), articles=frozenset({"a", "b"}))
    assert dated.describe() == "2 chosen articles among articles from 2025-01-01 to today"


def test_an_article_restriction_combines_with_the_other_filters() -> None:
    from index.filters import ArticleFacets

    sources = [
        Source("Bridge to close", "Harborview Courier", dt.date(2025, 1, 8)),
        Source("Detours", "Northfield Ledger", dt.date(2025, 1, 21)),
        Source("Bridge delay", "Harborview Courier", dt.date(2025, 2, 19)),
    ]
    ids_read: list[int] = []

    def doc_ids() -> list[str]:
        ids_read.append(1)
        return ["hc-close.html", "nl-detours.txt", "hc-delay.html"]

    facets = ArticleFacets(np.repeat(np.arange(3, dtype=np.int32), 2), sources, doc_ids)
    facets.select(SearchFilter(since=dt.date(2025, 1, 1)))
    assert ids_read == []  # only an article restriction reads the ids
    chosen = frozenset({"hc-delay.html", "nl-detours.txt"})
    assert facets.select(SearchFilter(articles=chosen)).allowed.ids.tolist() == [2, 3, 4, 5]
    courier = SearchFilter(publishers=("Harborview Courier",), articles=chosen)
    assert facets.select(courier).allowed.ids.tolist() == [4, 5]
    assert ids_read == [1]


def test_only_added_or_rewritten_articles_are_new(tmp_path: Path) -> None:
    old = {"a.txt": "1", "b.txt": "2", "c.txt": "3"}
    new = {"a.txt": "1", "b.txt": "9", "d.txt": "4", "": "", "e.txt": ""}
    assert new_articles(old, new) == {"b.txt", "d.txt"}


def test_the_fingerprint_changes_with_the_text_and_not_with_the_date(tmp_path: Path) -> None:
    before = indexed(tmp_path, BEFORE, "before").article_fingerprints()
    corpus = tmp_path / "corpus-before"
    article = corpus / "ro-water-main-break.txt"
    original = article.read_text(encoding="utf-8")
    article.write_text(original.replace("Date: 2025-01-27", "Date: 2025-01-28"), encoding="utf-8")
    build_index(corpus, tmp_path / "index-before")
    redated = QAService.open(tmp_path / "index-before").article_fingerprints()
    assert new_articles(before, redated) == frozenset()
    article.write_text(
        original + "\nCrews expect to finish the repair by Friday evening.\n", encoding="utf-8"
    )
    build_index(corpus, tmp_path / "index-before")
    edited = QAService.open(tmp_path / "index-before").article_fingerprints()
    assert new_articles(before, edited) == {"ro-water-main-break.txt"}


def test_a_new_article_of_the_story_matches_and_other_stories_do_not(tmp_path: Path) -> None:
    after = indexed(tmp_path, (*BEFORE, "hc-calder-bridge-delay.html", "ro-fernway-air-fined.html"), "after")
    new = frozenset({"hc-calder-bridge-delay.html", "ro-fernway-air-fined.html"})
    [found] = find_matches(after, BRIDGE_QUERY, new, min_coverage=0.4, limit=3)
    assert found.source.title == "Calder River Bridge reopening pushed to late April"
    assert "The bridge is now expected to reopen April 25" in found.sentence
    assert found.coverage >= 0.4
    assert (
        find_matches(
            after, "Fernway Air fine", frozenset({"hc-calder-bridge-delay.html"}), min_coverage=0.4, limit=3
        )
        == []
    )


def test_wire_copies_of_one_story_make_one_match(tmp_path: Path) -> None:
    copies = ("mws-commuter-train-contract.txt", "nl-state-buys-trains.txt", "hc-new-commuter-trains.html")
    service = indexed(tmp_path, (*BEFORE, *copies), "wire")
    found = find_matches(
        service,
        "Which company will build the new commuter trains?",
        frozenset(copies),
        min_coverage=0.4,
        limit=3,
    )
    assert len(found) == 1
    assert len(found[0].passage.sources) == 3  # the one post cites every outlet


def test_story_keys_ignore_the_outlet_and_the_case() -> None:
    wire = story_key(
        Source("State buys 24 commuter trains", "Northfield Ledger"), "Alder Rail Works will build them."
    )
    copy = story_key(
        Source("New trains for the state", "Harborview Courier"), "ALDER rail works will build them!"
    )
    assert wire & copy  # the same sentence, whatever the headline
    same_title = story_key(Source("State buys 24 commuter trains", "Coastline Daily"), "Another sentence.")
    assert wire & same_title
    assert not story_key(Source("Ridge Fire grows"), "Crews gained ground.") & wire


def test_the_index_story_names_an_update_told_in_other_words() -> None:
    bridge = Story("s-bridge", 3, ("Harborview Courier", "Valley Sentinel"), None, None)
    closing = story_key(Source("Calder River Bridge to close"), "The bridge will close Jan. 20.", bridge)
    delayed = story_key(Source("Bridge reopening delayed"), "Crews found more cracks.", bridge)
    assert closing & delayed  # one story: one post an hour, however its updates are worded
    other = Story("s-ferry", 1, ("Coastline Daily",), None, None)
    assert not story_key(Source("Calder River Bridge to close"), "Ferries add trips.", other) & closing


class FakeService:
    """Finds one fixed passage in whatever new articles it is asked about."""

    def __init__(self, fingerprints: dict[str, str], coverage: float = 0.9) -> None:
        self.fingerprints = fingerprints
        self.coverage = coverage
        self.asked: list[SearchFilter | None] = []

    def article_fingerprints(self) -> dict[str, str]:
        return self.fingerprints

    def answer_with_evidence(
        self, question: str, k: int | None = None, filters: SearchFilter | None = None
    ) -> Any:
        from index import Answer, Passage

        self.asked.append(filters)
        assert filters is not None and filters.articles is not None
        if not filters.articles:
            return Answer(question, ()), None
        doc = sorted(filters.articles)[0]
        text = "The Calder River Bridge will reopen on April 25, a month later than planned."
        source = Source("Calder River Bridge reopening pushed to late April", "Harborview Courier")
        passage = Passage(text, 1.0, (0, len(text)), (source,), chunk_id=f"{doc}#0")
        return Answer(question, (passage,)), MagicMock(coverage=self.coverage)


def test_a_story_is_posted_once_an_hour_per_follow(tmp_path: Path) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        follow = store.add(GUILD, CHANNEL, BRIDGE_QUERY, MANAGER, NOON, limit=25)
        assert follow is not None
        matcher = FollowMatcher(store, min_coverage=0.4, repost_after=dt.timedelta(hours=1))
        old, new = FakeService({"a": "1"}), FakeService({"a": "1", "b": "2"})
        [post] = matcher.posts(old, new, NOON)
        assert post.follow.id == follow.id and new.asked[0] == SearchFilter(articles=frozenset({"b"}))
        store.record_post(follow.id, post.found.stories, NOON)
        newer = FakeService({"a": "1", "b": "2", "c": "3"})
        assert matcher.posts(new, newer, NOON + dt.timedelta(minutes=59)) == []
        assert len(matcher.posts(new, newer, NOON + dt.timedelta(minutes=61))) == 1
        weak = FakeService({"a": "1", "b": "2", "c": "3"}, coverage=0.3)
        assert matcher.posts(new, weak, NOON + dt.timedelta(hours=2)) == []
        # Nothing new, or nobody following: the index is not even searched.
        unchanged = FakeService({"a": "1", "b": "2"})
        assert matcher.posts(new, unchanged, NOON) == [] and unchanged.asked == []


# -- posting --------------------------------------------------------------------------------------


def a_post(tmp_path: Path, store: FollowStore) -> Any:
    follow = store.add(GUILD, CHANNEL, "When will the @everyone bridge *reopen*?", MANAGER, NOON, limit=25)
    assert follow is not None
    matcher = FollowMatcher(store, min_coverage=0.4, repost_after=dt.timedelta(hours=1))
    [post] = matcher.posts(FakeService({}), FakeService({"hc-calder-bridge-delay.html": "1"}), NOON)
    return post


def channel_answering(error: Exception | None = None) -> tuple[MagicMock, Any]:
    channel = MagicMock()
    channel.send = AsyncMock(side_effect=error)
    return channel, lambda follow: channel


async def test_a_post_is_an_embed_with_the_sentence_and_no_mentions(tmp_path: Path) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        post = a_post(tmp_path, store)
        channel, channel_of = channel_answering()
        assert await deliver(post, channel_of, store, NOON)
        kwargs = channel.send.await_args.kwargs
        assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
        assert kwargs["content"] == post_content(post.follow)
        assert "\\*reopen\\*" in kwargs["content"]  # the user's markdown shows as typed
        embed = kwargs["embed"].to_dict()
        assert embed["title"] == "Calder River Bridge reopening pushed to late April"
        assert "**The Calder River Bridge will reopen on April 25" in embed["description"]
        assert "Harborview Courier" in embed["fields"][0]["value"]
        [kept] = store.of_guild(GUILD)
        assert kept.last_post == NOON
        assert store.recently_posted(kept.id, post.found.stories, NOON)


async def test_a_deleted_channel_stops_the_follow_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        post = a_post(tmp_path, store)
        _, channel_of = channel_answering(
            discord.NotFound(MagicMock(status=404, reason="x"), "Unknown Channel")
        )
        assert not await deliver(post, channel_of, store, NOON)
        assert store.active() == []
        [stopped] = store.of_guild(GUILD)
        assert stopped.disabled == CHANNEL_GONE
        assert caplog.text.count("stopped") == 1


async def test_missing_permissions_keep_the_follow_and_warn_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FollowStore(tmp_path / "follows.sqlite3") as store:
        post = a_post(tmp_path, store)
        forbidden = discord.Forbidden(MagicMock(status=403, reason="x"), "Missing Permissions")
        _, channel_of = channel_answering(forbidden)
        assert not await deliver(post, channel_of, store, NOON)
        assert not await deliver(post, channel_of, store, NOON)
        [kept] = store.active()
        assert kept.problem is not None and "Send Messages" in kept.problem
        assert caplog.text.count("not posted") == 1


# -- the commands ---------------------------------------------------------------------------------


class Host:
    """The bot, as far as the follow cog can tell."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.channel = MagicMock()
        self.channel.send = AsyncMock()

    def get_partial_messageable(self, id: int, *, guild_id: int | None = None, type: Any = None) -> Any:
        self.channel.id = id
        return self.channel


async def invoke(command: Any, cog: FollowCog, asked: MagicMock, **options: Any) -> None:
    """Run a slash command's callback as discord.py does, on a mock interaction (which its types refuse)."""
    await command.callback(cog, asked, **options)


def interaction(*, guild_id: int | None = GUILD) -> MagicMock:
    fake = MagicMock()
    fake.guild_id = guild_id
    fake.channel_id = CHANNEL
    fake.user.id = MANAGER
    fake.response.send_message = AsyncMock()
    return fake


def reply_of(fake: MagicMock) -> str:
    call = fake.response.send_message.await_args
    assert call.kwargs["ephemeral"] and call.kwargs["allowed_mentions"].to_dict() == {"parse": []}
    return str(call.args[0]) if call.args else ""


@pytest.fixture
def cog(tmp_path: Path) -> FollowCog:
    settings = make_settings(index_dir=tmp_path / "index", follow_max_per_server=2, follow_max_query_chars=60)
    return FollowCog(Host(settings), FollowStore(tmp_path / "follows.sqlite3"), clock=lambda: NOON)


async def test_follow_adds_a_standing_query_for_this_channel(cog: FollowCog) -> None:
    asked = interaction()
    await invoke(FollowCog.follow, cog, asked, query="  When will the   Calder River Bridge reopen? ")
    [follow] = cog.store.of_guild(GUILD)
    assert (follow.query, follow.channel_id, follow.added_by) == (BRIDGE_QUERY, CHANNEL, MANAGER)
    assert reply_of(asked) == (
        f"Following #{follow.id} in <#{CHANNEL}>: {BRIDGE_QUERY}\n"
        f"New articles that answer it will be posted there; /unfollow {follow.id} stops it."
    )


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        ("x" * 61, "That query is 61 characters long; please keep it under 60."),
        ("the of and?", "That query has no words to look for; try e.g. `when will the bridge reopen`."),
    ],
)
async def test_follow_refuses_queries_in_one_line(cog: FollowCog, query: str, refusal: str) -> None:
    asked = interaction()
    await invoke(FollowCog.follow, cog, asked, query=query)
    assert reply_of(asked) == refusal
    assert cog.store.of_guild(GUILD) == []


async def test_follow_refuses_the_same_query_twice_in_one_channel(cog: FollowCog) -> None:
    await invoke(FollowCog.follow, cog, interaction(), query=BRIDGE_QUERY)
    asked = interaction()
    await invoke(FollowCog.follow, cog, asked, query=BRIDGE_QUERY.upper())
    [follow] = cog.store.of_guild(GUILD)
    assert reply_of(asked) == f"<#{CHANNEL}> already follows that query (#{follow.id})."


async def test_follow_refuses_past_the_cap_and_outside_servers(cog: FollowCog) -> None:
    for query in ("port strike", "bridge reopening"):
        await invoke(FollowCog.follow, cog, interaction(), query=query)
    asked = interaction()
    await invoke(FollowCog.follow, cog, asked, query="ridge fire")
    assert reply_of(asked) == (
        "This server already follows 2 queries, the most it may; remove one with /unfollow first."
    )
    direct = interaction(guild_id=None)
    await invoke(FollowCog.follow, cog, direct, query="ridge fire")
    assert reply_of(direct) == "Follows belong to a server: use this command in one."


async def test_follow_refuses_a_channel_the_bot_cannot_post_in(cog: FollowCog) -> None:
    channel = MagicMock(spec=discord.TextChannel)
    channel.id, channel.mention = CHANNEL + 7, f"<#{CHANNEL + 7}>"
    channel.permissions_for.return_value = discord.Permissions(view_channel=True, send_messages=True)
    asked = interaction()
    await invoke(FollowCog.follow, cog, asked, query="port strike", channel=channel)
    assert (
        reply_of(asked)
        == f"I need View Channel, Send Messages and Embed Links in <#{CHANNEL + 7}> to post there."
    )
    channel.permissions_for.return_value = discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True
    )
    await invoke(FollowCog.follow, cog, interaction(), query="port strike", channel=channel)
    assert [f.channel_id for f in cog.store.of_guild(GUILD)] == [CHANNEL + 7]


async def test_unfollow_and_its_suggestions_cover_this_server_only(cog: FollowCog) -> None:
    await invoke(FollowCog.follow, cog, interaction(), query="port strike")
    await invoke(FollowCog.follow, cog, interaction(), query=BRIDGE_QUERY)
    theirs = cog.store.add(OTHER_GUILD, CHANNEL, "bridge toll", MANAGER, NOON, limit=25)
    assert theirs is not None
    ours = cog.store.of_guild(GUILD)
    # discord.py's decorator types the method as unbound: call it as the library does.
    suggest: Any = vars(FollowCog)["follow_autocomplete"]
    choices = await suggest(cog, interaction(), "bridge")
    assert [(c.name, c.value) for c in choices] == [(f"#{ours[1].id} {BRIDGE_QUERY}", ours[1].id)]
    asked = interaction()
    await invoke(FollowCog.unfollow, cog, asked, follow_id=theirs.id)
    assert reply_of(asked) == f"This server has no follow #{theirs.id}; /following lists them."
    asked = interaction()
    await invoke(FollowCog.unfollow, cog, asked, follow_id=ours[0].id)
    assert reply_of(asked) == f"Stopped follow #{ours[0].id}: port strike"
    assert [f.query for f in cog.store.of_guild(GUILD)] == [BRIDGE_QUERY]


async def test_following_lists_each_follow_with_its_state(cog: FollowCog) -> None:
    await invoke(FollowCog.follow, cog, interaction(), query=BRIDGE_QUERY)
    [follow] = cog.store.of_guild(GUILD)
    cog.store.record_post(follow.id, {"text:x"}, NOON)
    asked = interaction()
    await invoke(FollowCog.following, cog, asked)
    embed = asked.response.send_message.await_args.kwargs["embed"].to_dict()
    assert embed["title"] == "Following (1 of 2)"
    stamp = int(NOON.timestamp())
    assert embed["description"] == (
        f"**#{follow.id}** {BRIDGE_QUERY} → <#{CHANNEL}> · by <@{MANAGER}> <t:{stamp}:d> · last post <t:{stamp}:R>"
    )


def test_a_long_list_of_follows_fits_one_embed() -> None:
    follows = [
        Follow(n, GUILD, CHANNEL, "q" * 200, MANAGER, NOON, NOON, problem="the bot may not post " * 5)
        for n in range(1, 31)
    ]
    description = following_embed(follows, 30).to_dict()["description"]
    assert len(description) <= 4096
    assert description.endswith("more")


async def test_an_index_update_posts_into_the_follows_channel(cog: FollowCog, tmp_path: Path) -> None:
    await invoke(FollowCog.follow, cog, interaction(), query=BRIDGE_QUERY)
    old = indexed(tmp_path, BEFORE, "old")
    new = indexed(tmp_path, (*BEFORE, "hc-calder-bridge-delay.html"), "new")
    await cog.on_index_swapped(old, new)
    host = cog.host
    assert isinstance(host, Host)
    assert host.channel.id == CHANNEL
    embed = host.channel.send.await_args.kwargs["embed"]
    assert embed.title == "Calder River Bridge reopening pushed to late April"
    await cog.on_index_swapped(new, new)  # nothing new: nothing posted
    assert host.channel.send.await_count == 1


async def test_a_failing_match_never_reaches_the_bot(
    cog: FollowCog, caplog: pytest.LogCaptureFixture
) -> None:
    await invoke(FollowCog.follow, cog, interaction(), query=BRIDGE_QUERY)
    broken = MagicMock()
    broken.article_fingerprints.side_effect = OSError("the old index files are gone")
    await cog.on_index_swapped(broken, broken)
    assert "not matched against the follows" in caplog.text


async def test_a_follow_removed_while_articles_are_matched_is_not_posted(cog: FollowCog) -> None:
    await invoke(FollowCog.follow, cog, interaction(), query=BRIDGE_QUERY)
    [follow] = cog.store.of_guild(GUILD)

    class UnfollowedMidway(FakeService):
        def answer_with_evidence(
            self, question: str, k: int | None = None, filters: SearchFilter | None = None
        ) -> Any:
            cog.store.remove(GUILD, follow.id)  # /unfollow, answered while the matching thread runs
            return super().answer_with_evidence(question, k, filters)

    await cog.on_index_swapped(FakeService({}), UnfollowedMidway({"hc-calder-bridge-delay.html": "1"}))
    host = cog.host
    assert isinstance(host, Host)
    assert host.channel.send.await_count == 0
