"""Fetch passes against a news site served on 127.0.0.1: storing, deduplicating, remembering, backing off."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.feeds.fetch import FeedFetcher, PassReport
from bot.feeds.http import HttpFetcher
from bot.feeds.state import FetchState
from index.loader import load_corpus
from tests.feed_server import ATOM, RSS, FeedServer, Route

START = dt.datetime(2024, 10, 16, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[FetchState]:
    with FetchState(tmp_path / "index" / "feeds.sqlite3") as db:
        yield db


def news_site(site: FeedServer) -> tuple[str, str]:
    """The Coastal Gazette (RSS) and the Valley Courier (Atom), with their article pages."""
    coastal = site.feed("/rss.xml", "coastal-rss.xml", etag='"coastal-v1"')
    valley = site.feed("/valley/atom.xml", "valley-atom.xml", content_type=ATOM)
    site.page("/news/2024/10/winter-ferry-timetable", "winter-ferry-timetable.html")
    site.page("/news/2024/10/harbour-wall-repairs", "harbour-wall-repairs.html")
    # /news/2024/10/lifeboat-kayakers is missing (404): its feed item carries the whole story.
    site.page("/valley/2024/council-bike-lanes", "council-bike-lanes.html")
    site.page("/valley/2024/ferry-timetable-copy", "ferry-timetable-copy.html")
    return coastal, valley


def run(
    tmp_path: Path, state: FetchState, clock: Clock, feeds: list[str], *, timeout: float = 5.0
) -> PassReport:
    with HttpFetcher(timeout=timeout, max_bytes=5 * 1024 * 1024) as http:
        return FeedFetcher(tmp_path / "corpus", state, http, clock=clock).run_pass(feeds)


def stored(tmp_path: Path) -> dict[str, dict[str, str]]:
    root = tmp_path / "corpus"
    return {
        path.relative_to(root).as_posix(): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.json"))
    }


def test_a_pass_stores_each_outlets_story_once_with_its_metadata(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, valley = news_site(site)
    report = run(tmp_path, state, clock, [coastal, valley])

    assert report.summary() == "2 feeds: 5 new articles, 0 updated"
    files = stored(tmp_path)
    # The partner's copy of the ferry story is kept too: an answer cites every outlet that printed it.
    assert sorted(files) == [
        "feeds/coastal-gazette/harbour-wall-repairs-to-start-after-storm-damage-survey.json",
        "feeds/coastal-gazette/lifeboat-crew-rescues-two-kayakers-off-gull-point.json",
        "feeds/coastal-gazette/winter-ferry-timetable-cuts-evening-crossings-to-marlow-island.json",
        "feeds/valley-courier/council-approves-protected-bike-lanes-on-mill-road.json",
        "feeds/valley-courier/winter-ferry-timetable-cuts-evening-crossings-to-marlow-island.json",
    ]
    partner = files[
        "feeds/valley-courier/winter-ferry-timetable-cuts-evening-crossings-to-marlow-island.json"
    ]
    assert partner["publisher"] == "Valley Courier"
    ferry = files["feeds/coastal-gazette/winter-ferry-timetable-cuts-evening-crossings-to-marlow-island.json"]
    assert ferry["title"] == "Winter ferry timetable cuts evening crossings to Marlow Island"
    assert ferry["url"] == f"{site.base}/news/2024/10/winter-ferry-timetable"  # canonical: no utm_ tags
    assert ferry["publisher"] == "Coastal Gazette"
    assert ferry["date"] == "2024-10-15"
    assert ferry["author"] == "Fiona Baird"
    assert ferry["feed"] == coastal
    assert ferry["fetched_at"] == "2024-10-16T09:00:00+00:00"
    assert "last evening crossing from Port Ellan will leave at 6.40pm" in ferry["text"]
    for furniture in (
        "Skip to main content",
        "Share this article",
        "cookies",
        "Sign up",
        "All rights reserved",
    ):
        assert furniture not in ferry["text"]
    # The page is gone, so the feed's own copy of the story is kept.
    lifeboat = files["feeds/coastal-gazette/lifeboat-crew-rescues-two-kayakers-off-gull-point.json"]
    assert lifeboat["text"].startswith("Two kayakers were rescued by the Port Ellan lifeboat crew")
    assert "\n\nThe volunteer crew launched at 2.15pm" in lifeboat["text"]
    assert lifeboat["url"] == f"{site.base}/news/2024/10/lifeboat-kayakers"


def test_stored_files_are_private_and_read_by_the_loader(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, valley = news_site(site)
    run(tmp_path, state, clock, [coastal, valley])

    corpus = tmp_path / "corpus"
    for path in [*corpus.rglob("*.json"), *(tmp_path / "index").glob("feeds.sqlite3*")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not [p for p in corpus.rglob(".*")], "no temporary file is left behind"
    articles = {article.title: article for article in load_corpus(corpus).articles}
    bikes = articles["Council approves protected bike lanes on Mill Road"]
    assert bikes.publisher == "Valley Courier"
    assert bikes.author == "Priya Nair"
    assert bikes.date == dt.date(2024, 10, 16)
    assert bikes.url == f"{site.base}/valley/2024/council-bike-lanes"
    assert "voted 9 to 4 on Tuesday night" in bikes.text


def test_requests_name_the_product_and_ask_robots_txt_once_per_host(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, valley = news_site(site)
    run(tmp_path, state, clock, [coastal, valley])

    assert all(seen.headers["user-agent"].startswith("article-qa/") for seen in site.requests)
    assert site.paths().count("/robots.txt") == 1


def test_a_second_pass_asks_conditionally_and_fetches_no_page_again(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, valley = news_site(site)
    run(tmp_path, state, clock, [coastal, valley])
    site.requests.clear()
    clock.now += dt.timedelta(minutes=30)

    report = run(tmp_path, state, clock, [coastal, valley])

    assert report.summary() == "2 feeds: 0 new articles, 0 updated"
    feed_request = next(seen for seen in site.requests if seen.path == "/rss.xml")
    assert feed_request.headers["if-none-match"] == '"coastal-v1"'
    assert feed_request.headers["if-modified-since"] == "Tue, 15 Oct 2024 07:30:00 GMT"
    assert sorted(site.paths()) == ["/rss.xml", "/valley/atom.xml"]
    assert state.feed(coastal) is not None and state.feed(coastal).status == "ok (not modified)"  # type: ignore[union-attr]


def test_a_deleted_article_is_not_fetched_again(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, valley = news_site(site)
    site.routes["/rss.xml"].etag = None  # the feed comes back in full every time
    run(tmp_path, state, clock, [coastal, valley])
    ferry = (
        tmp_path
        / "corpus/feeds/coastal-gazette/winter-ferry-timetable-cuts-evening-crossings-to-marlow-island.json"
    )
    ferry.unlink()

    report = run(tmp_path, state, clock, [coastal, valley])

    assert report.new == 0
    assert not ferry.exists()
    assert state.article_count(coastal) == 3  # the record stays, so the item is remembered


def test_an_edited_item_updates_its_file(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, valley = news_site(site)
    run(tmp_path, state, clock, [coastal, valley])
    route = site.routes["/valley/atom.xml"]
    route.body = route.body.replace(b"2024-10-16T08:45:00Z</updated>", b"2024-10-16T15:10:00Z</updated>")
    page = site.routes["/valley/2024/council-bike-lanes"]
    page.body = page.body.replace(b"voted 9 to 4", b"voted 10 to 3")

    report = run(tmp_path, state, clock, [coastal, valley])

    assert (report.new, report.updated) == (0, 1)
    bikes = stored(tmp_path)["feeds/valley-courier/council-approves-protected-bike-lanes-on-mill-road.json"]
    assert "voted 10 to 3" in bikes["text"]


def test_an_edit_that_cannot_be_read_keeps_the_stored_article(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    _, valley = news_site(site)
    run(tmp_path, state, clock, [valley])
    before = stored(tmp_path)
    route = site.routes["/valley/atom.xml"]
    route.body = route.body.replace(b"2024-10-16T08:45:00Z</updated>", b"2024-10-16T15:10:00Z</updated>")
    del site.routes["/valley/2024/council-bike-lanes"]  # the page is gone; the summary is a teaser

    first = run(tmp_path, state, clock, [valley])
    site.page("/valley/2024/council-bike-lanes", "council-bike-lanes.html")
    clock.now += dt.timedelta(hours=1)
    second = run(tmp_path, state, clock, [valley])

    assert (first.new, first.updated, second.new, second.updated) == (0, 0, 0, 0)
    assert stored(tmp_path) == before
    assert state.article_count(valley) == 2  # the bike lanes and the partner copy of the ferry story


def test_bad_sources_fail_alone_and_the_pass_goes_on(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    coastal, _ = news_site(site)
    site.routes["/slow.xml"] = Route(site.fixture("coastal-rss.xml"), content_type=RSS, kind="slow")
    site.routes["/huge.xml"] = Route(content_type=RSS, kind="huge")
    site.routes["/loop-a"] = Route(kind="redirect", location="/loop-b")
    site.routes["/loop-b"] = Route(kind="redirect", location="/loop-a")
    site.feed("/broken.xml", "malformed.xml")
    site.page("/not-a-feed", "cookie-wall.html")
    bad = [
        f"{site.base}{path}"
        for path in ("/gone.xml", "/slow.xml", "/huge.xml", "/loop-a", "/broken.xml", "/not-a-feed")
    ]

    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        report = run(tmp_path, state, clock, [*bad, coastal], timeout=0.5)

    failures = {outcome.url.removeprefix(site.base): outcome.failure for outcome in report.outcomes}
    assert failures == {
        "/gone.xml": "HTTP 404",
        "/slow.xml": "timeout",
        "/huge.xml": "too large (over 5 MB)",
        "/loop-a": "too many redirects",
        "/broken.xml": "malformed feed (SAXParseException)",
        "/not-a-feed": "not an RSS or Atom feed (a web page)",
        "/rss.xml": None,
    }
    assert report.new == 3
    assert report.summary().startswith("7 feeds: 3 new articles, 0 updated, 6 feeds failed (HTTP 404, ")
    assert len(caplog.records) == 6  # one warning per bad feed
    gone = state.feed(f"{site.base}/gone.xml")
    assert gone is not None
    assert (gone.status, gone.failures, gone.next_retry) == (
        "failed: HTTP 404",
        1,
        START + dt.timedelta(minutes=5),
    )


def test_a_compressed_bomb_and_a_dripping_server_are_cut_off(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    # 64 MB of spaces compress to about 64 KB: the cap must count what the body expands to.
    bomb = gzip.compress(b"<rss>" + b" " * (64 * 1024 * 1024), compresslevel=9)
    site.routes["/bomb.xml"] = Route(bomb, content_type=RSS, headers={"Content-Encoding": "gzip"})
    site.routes["/drip.xml"] = Route(content_type=RSS, kind="drip")

    report = run(tmp_path, state, clock, [f"{site.base}/bomb.xml", f"{site.base}/drip.xml"], timeout=0.3)

    assert [outcome.failure for outcome in report.outcomes] == ["too large (over 5 MB)", "timeout"]


def test_a_failing_feed_backs_off_and_warns_once_an_hour(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = f"{site.base}/gone.xml"
    with caplog.at_level(logging.DEBUG, logger="bot.feeds"):
        run(tmp_path, state, clock, [gone])
        clock.now += dt.timedelta(minutes=2)
        waiting = run(tmp_path, state, clock, [gone])
        clock.now += dt.timedelta(minutes=4)
        retried = run(tmp_path, state, clock, [gone])

    assert waiting.summary() == "1 feed: 0 new articles, 0 updated, 1 waiting to retry"
    assert site.paths().count("/gone.xml") == 2
    assert retried.outcomes[0].failure == "HTTP 404"
    record = state.feed(gone)
    assert record is not None
    assert record.failures == 2
    assert record.next_retry == clock.now + dt.timedelta(minutes=10)  # the wait doubles
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 404 (failure 1 in a row" in warnings[0].getMessage()


def test_robots_txt_keeps_pages_unfetched_and_the_feed_text_is_used(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, _ = news_site(site)
    site.routes["/robots.txt"] = Route(
        b"User-agent: *\nAllow: /\n\nUser-agent: article-qa\nDisallow: /news/\n", content_type="text/plain"
    )

    report = run(tmp_path, state, clock, [coastal])

    assert not [path for path in site.paths() if path.startswith("/news/")]
    # Only the lifeboat item carries its whole story; the other two summaries are one-line teasers.
    assert report.new == 1
    assert list(stored(tmp_path)) == [
        "feeds/coastal-gazette/lifeboat-crew-rescues-two-kayakers-off-gull-point.json"
    ]
    assert state.feed(coastal).status == "ok (2 item(s) without readable text)"  # type: ignore[union-attr]


def test_an_unreachable_robots_txt_means_no_pages_for_now(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, _ = news_site(site)
    site.routes["/robots.txt"] = Route(b"<h1>Service Unavailable</h1>", status=503)

    report = run(tmp_path, state, clock, [coastal])

    assert not [path for path in site.paths() if path.startswith("/news/")]
    assert report.new == 1  # the lifeboat story, from the feed's own text


def test_item_pages_that_fail_are_retried_later_then_stored(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path
) -> None:
    coastal, _ = news_site(site)
    site.routes["/rss.xml"].etag = None
    site.routes["/news/2024/10/winter-ferry-timetable"] = Route(kind="huge")
    site.page("/news/2024/10/harbour-wall-repairs", "cookie-wall.html")

    first = run(tmp_path, state, clock, [coastal])
    site.page("/news/2024/10/winter-ferry-timetable", "winter-ferry-timetable.html")
    site.page("/news/2024/10/harbour-wall-repairs", "harbour-wall-repairs.html")
    clock.now += dt.timedelta(minutes=30)
    second = run(tmp_path, state, clock, [coastal])

    assert (first.new, second.new) == (1, 2)
    assert len(stored(tmp_path)) == 3


def test_a_feed_that_repeats_items_stores_them_once(
    site: FeedServer, state: FetchState, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hillside = site.feed("/hillside/rss.xml", "repeating-rss.xml")

    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        report = run(tmp_path, state, clock, [hillside])

    assert report.new == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{hillside}: the feed lists 1 item(s) more than once"
    ]
    (school,) = stored(tmp_path).values()
    assert "The work cost £412,000" in school["text"]
