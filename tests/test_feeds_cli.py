"""`article-qa fetch` end to end: feeds served on 127.0.0.1 become answers that cite their pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.feeds.sources import FeedListError, feed_urls, read_feed_file
from tests.conftest import WriteFiles, make_settings
from tests.feed_server import ATOM, FeedServer, Route


@pytest.fixture
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.feed("/rss.xml", "coastal-rss.xml", etag='"v1"')
        server.feed("/valley/atom.xml", "valley-atom.xml", content_type=ATOM)
        server.page("/news/2024/10/winter-ferry-timetable", "winter-ferry-timetable.html")
        server.page("/news/2024/10/harbour-wall-repairs", "harbour-wall-repairs.html")
        server.page("/valley/2024/council-bike-lanes", "council-bike-lanes.html")
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fetched_feeds_are_answered_with_their_urls(
    site: FeedServer,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(
        "ARTICLE_QA_FEEDS", json.dumps([f"{site.base}/rss.xml", f"{site.base}/valley/atom.xml"])
    )
    where = ["--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "idx")]

    code, out, _ = run(capsys, "fetch", *where)

    assert code == 0
    assert out == "2 feeds: 4 new articles, 0 updated\n"
    assert (tmp_path / "idx-state" / "feeds.sqlite3").exists()  # the state folder, not the index
    code, out, _ = run(capsys, "ask", "when does the last ferry leave Port Ellan in winter", "--json", *where)
    assert code == 0
    best = json.loads(out)["passages"][0]
    assert "6.40pm" in best["text"]
    assert best["sources"][0]["url"] == f"{site.base}/news/2024/10/winter-ferry-timetable"
    assert best["sources"][0]["publisher"] == "Coastal Gazette"

    code, out, _ = run(capsys, "fetch", *where)
    assert (code, out) == (0, "2 feeds: 0 new articles, 0 updated\n")


def test_a_deleted_article_is_no_longer_cited(
    site: FeedServer,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTICLE_QA_FEEDS", json.dumps([f"{site.base}/valley/atom.xml"]))
    where = ["--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "idx")]
    run(capsys, "fetch", *where)
    (corpus_dir / "feeds/valley-courier/council-approves-protected-bike-lanes-on-mill-road.json").unlink()

    run(capsys, "fetch", *where)
    code, out, _ = run(
        capsys, "ask", "how many parking spaces will the Mill Road bike lanes remove", "--json", *where
    )

    assert code == 0
    cited = [source["url"] for passage in json.loads(out)["passages"] for source in passage["sources"]]
    assert f"{site.base}/valley/2024/council-bike-lanes" not in cited


def test_feeds_file_with_one_url_per_line(
    site: FeedServer,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(f"# local papers\n{site.base}/rss.xml\n\n{site.base}/gone.xml\n", encoding="utf-8")
    monkeypatch.setenv("ARTICLE_QA_FEEDS", str(feeds))

    code, out, err = run(capsys, "fetch", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "idx"))

    assert code == 0, err
    assert out == "2 feeds: 3 new articles, 0 updated, 1 feed failed (HTTP 404)\n"


def test_fetch_without_feeds_is_a_usage_error(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "fetch", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "idx"))
    assert code == 2
    assert "no feeds to fetch: set ARTICLE_QA_FEEDS" in err


def test_fetch_into_a_one_file_corpus_is_a_usage_error(
    write_files: WriteFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = (
        write_files({"news.jsonl": '{"title": "A", "text": "Some text about the harbour."}\n'}) / "news.jsonl"
    )
    monkeypatch.setenv("ARTICLE_QA_FEEDS", '["https://news.example/rss"]')
    code, _, err = run(capsys, "fetch", "--corpus", str(corpus), "--index-dir", str(tmp_path / "idx"))
    assert code == 2
    assert "ARTICLE_QA_CORPUS is a file" in err


def test_a_bad_feed_list_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARTICLE_QA_FEEDS", '["ftp://old.example/feed"]')
    code, _, err = run(capsys, "fetch")
    assert code == 2
    assert "ARTICLE_QA_FEEDS" in err and "not an http(s) URL" in err


def test_feed_list_forms(tmp_path: Path) -> None:
    assert feed_urls(None) == []
    assert feed_urls(' ["https://a.example/rss", "https://a.example/rss", "https://b.example/atom"]') == [
        "https://a.example/rss",
        "https://b.example/atom",
    ]
    with pytest.raises(FeedListError, match="cannot read the feeds file"):
        read_feed_file(tmp_path / "missing.txt")
    settings = make_settings(feeds='["https://a.example/rss"]')
    assert feed_urls(settings.feeds) == ["https://a.example/rss"]
    # A URL as users type it, or several separated by commas or spaces.
    assert feed_urls("https://a.example/rss") == ["https://a.example/rss"]
    assert feed_urls("https://a.example/rss, https://b.example/atom https://a.example/rss") == [
        "https://a.example/rss",
        "https://b.example/atom",
    ]
    with pytest.raises(FeedListError, match="not an http"):
        feed_urls("https://a.example/rss, ftp://b.example/feed")


def test_the_index_is_not_rebuilt_when_nothing_new_arrived(
    site: FeedServer,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTICLE_QA_FEEDS", json.dumps([f"{site.base}/rss.xml"]))
    where = ["--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "idx")]
    code, out, err = run(capsys, "fetch", *where)
    assert (code, out) == (0, "1 feed: 3 new articles, 0 updated\n"), err
    live = (tmp_path / "idx" / "CURRENT").read_text(encoding="utf-8")
    site.routes["/rss.xml"] = Route(site.fixture("coastal-rss.xml"), etag='"v1"')

    run(capsys, "fetch", *where)

    assert (tmp_path / "idx" / "CURRENT").read_text(encoding="utf-8") == live
