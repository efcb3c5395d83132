"""Stories: articles grouped by the event they report, named on every passage, shown as "reported by"."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.discord_render import answer_embed
from bot.render import passage_json, story_line, to_text
from index.answer import AnswerConfig, QAService
from index.builder import build_index
from index.loader import load_corpus
from index.models import Answer, Article, Passage, Source, Story
from index.records import FIRST_SEGMENT, Records
from index.rerank import RerankConfig, without
from index.segmented import LiveRecords
from index.stories import (
    SIGNATURE_FILE,
    Signatures,
    Stories,
    entities,
    group_stories,
    minhashes,
    signatures,
)
from index.story_table import StoryTable
from tests.conftest import SHIPPED_CORPUS

DATA = Path(__file__).parent / "data"
DATED_NEWS = DATA / "dated-news"
WIKINEWS = DATA / "news-wikinews" / "articles.jsonl"


def _name(article: Article) -> str:
    """The article's name in the gold files: its file name, or its record id."""
    return article.doc_id.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def dated_news() -> tuple[list[Article], dict[str, str], dict[str, str]]:
    """The dated-news articles, each article's gold story, and each story's split."""
    articles = list(load_corpus(DATED_NEWS / "articles").articles)
    story_of: dict[str, str] = {}
    split_of: dict[str, str] = {}
    for line in (DATED_NEWS / "stories.jsonl").read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        split_of[gold["story"]] = gold["split"]
        for name in gold["articles"]:
            story_of[name] = gold["story"]
    return articles, story_of, split_of


def _grouped(articles: list[Article]) -> Stories:
    return group_stories(signatures((article.text, article.date) for article in articles))


def _pairwise(found: Stories, gold: list[str]) -> tuple[float, float]:
    same_found = same_gold = both = 0
    for i, j in itertools.combinations(range(len(gold)), 2):
        a, b = found.story_of(i) == found.story_of(j), gold[i] == gold[j]
        same_found += a
        same_gold += b
        both += a and b
    return both / max(same_found, 1), both / max(same_gold, 1)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_grouping_matches_the_gold_stories(dated_news, split: str) -> None:
    articles, story_of, split_of = dated_news
    found = _grouped(articles)
    rows = [i for i, a in enumerate(articles) if split_of[story_of[_name(a)]] == split]
    sub = Stories.from_labels(found.labels[rows])
    precision, recall = _pairwise(sub, [story_of[_name(articles[i])] for i in rows])
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_template_twins_are_two_stories_and_own_words_accounts_one(dated_news) -> None:
    articles, story_of, _ = dated_news
    found = _grouped(articles)
    labels: dict[str, set[int]] = {}
    for row, article in enumerate(articles):
        labels.setdefault(story_of[_name(article)], set()).add(found.story_of(row))
    assert labels["s03"].isdisjoint(labels["s04"])  # the Ridge Fire and the Cedar Hollow Fire
    assert len(labels["s03"]) == 1 and len(labels["s04"]) == 1
    assert len(labels["s05"]) == 1  # the recount, told by three outlets in their own words
    stock = set().union(*(labels[f"s{n:02d}"] for n in range(9, 14)))
    assert len(stock) == 5  # one stock sentence ("did not immediately respond") joins no stories


def test_an_undated_explainer_joins_its_story_and_an_unrelated_one_stays_alone(dated_news) -> None:
    articles, _, _ = dated_news
    found = _grouped(articles)
    row = {_name(a): i for i, a in enumerate(articles)}
    explainer, bridge = row["hc-calder-bridge-what-to-know.txt"], row["hc-calder-bridge-to-close.html"]
    assert articles[explainer].date is None
    assert found.story_of(explainer) == found.story_of(bridge)
    go_bag = row["vs-wildfire-go-bag.html"]  # undated, about wildfires, but about no fire in the news
    assert found.members(found.story_of(go_bag)) == (go_bag,)


def test_unrelated_real_articles_stay_apart() -> None:
    articles = list(load_corpus(WIKINEWS).articles)
    found = _grouped(articles)
    groups = [found.members(s) for s in range(len(found)) if len(found.members(s)) > 1]
    # Wikinews follows a few events over several articles; everything else stays alone.
    assert len(groups) <= 4 and sum(map(len, groups)) <= 10
    titles = [{articles[row].title for row in group} for group in groups]
    assert any(
        any("pastor abducted" in t for t in group) and any("abducted US pastor" in t for t in group)
        for group in titles
    )
    for group in groups:
        dates = [date for row in group if (date := articles[row].date) is not None]
        assert max(dates) - min(dates) <= dt.timedelta(days=45)


def test_entities_are_names_inside_sentences_and_counted_figures() -> None:
    text = (
        "PINECREST — A wildfire forced about 600 residents from their homes west of Pinecrest on "
        "Tuesday. The Ridge Fire had burned 1,850 acres, said Fire Chief Dana Whitcomb's office. "
        "Crews expect rain on Friday."
    )
    found = entities(text)
    assert "600 residents" in found and "1850 acres" in found
    assert {"pinecrest", "ridge", "fire", "chief", "dana", "whitcomb"} <= set(found)
    assert "crews" not in found  # a sentence's first word
    assert "tuesday" not in found and "friday" not in found


def test_signatures_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Signatures are stored with the index: another process (another hash seed) must compute the same."""
    text = (DATED_NEWS / "articles" / "pg-ridge-fire-evacuations.txt").read_text(encoding="utf-8")
    script = (
        "import sys, numpy as np\n"
        "from index.stories import signatures\n"
        "found = signatures([(sys.stdin.read(), None)])\n"
        "np.save(sys.argv[1], np.concatenate([found.minhash[0].astype(np.uint64), found.entities]))\n"
    )
    out = tmp_path / "sig.npy"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(out)], input=text, text=True, check=True, env=env)
    here = signatures([(text, None)])
    expected = np.concatenate([here.minhash[0].astype(np.uint64), here.entities])
    assert np.array_equal(np.load(out), expected)


def test_minhash_estimates_overlap() -> None:
    wire = (DATED_NEWS / "articles" / "mws-commuter-train-contract.txt").read_text(encoding="utf-8")
    body = wire.split("\n\n", 1)[1]
    partial = body[: len(body) // 2] + " Pinecrest riders will wait two more years for a new platform."
    other = (DATED_NEWS / "articles" / "pg-ridge-fire-evacuations.txt").read_text(encoding="utf-8")
    same, half, unrelated, empty = minhashes([body, partial, other, ""])
    copy = minhashes([body.upper()])[0]  # case does not matter
    assert np.mean(copy == same) == 1.0
    assert 0.25 <= np.mean(half == same) < 0.9
    assert np.mean(unrelated == same) < 0.1
    assert (empty == np.iinfo(np.uint32).max).all()


def test_stories_regroup_from_stored_signatures_after_articles_come_and_go(
    dated_news, tmp_path: Path
) -> None:
    articles, _, _ = dated_news
    everything = signatures((a.text, a.date) for a in articles)
    everything.save(tmp_path)
    stored = Signatures.load(tmp_path)
    assert np.array_equal(stored.minhash, everything.minhash)
    assert np.array_equal(stored.entities, everything.entities)
    # Remove every third article, then add the last five again as if they had just arrived.
    kept_rows = [row for row in range(len(articles)) if row % 3 and row < len(articles) - 5]
    added = articles[-5:]
    grown = Signatures.concat([stored.select(kept_rows), signatures((a.text, a.date) for a in added)])
    fresh = signatures((a.text, a.date) for a in [*(articles[r] for r in kept_rows), *added])
    assert np.array_equal(group_stories(grown).labels, group_stories(fresh).labels)


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("dated-news-index")
    build_index(DATED_NEWS / "articles", index_dir, workers=1)
    return index_dir


def test_every_passage_names_its_story(dated_index: Path) -> None:
    qa = QAService.open(dated_index)
    answer = qa.answer("How many commuter trains did the state board approve?", k=3)
    story = answer.passages[0].story
    assert story is not None
    assert story.articles == 7 and story.outlets == 7
    assert story.first_date == dt.date(2025, 2, 11) and story.last_date == dt.date(2025, 2, 12)
    assert "Metro Wire Service" in story.publishers
    alone = qa.answer("What time did the library say it would open on Sundays?", k=1).passages[0].story
    assert alone is not None and alone.articles == 1


def test_an_index_without_stored_signatures_groups_the_same_stories(
    dated_index: Path, tmp_path: Path
) -> None:
    """An index built before stories existed computes the signatures from its passages."""
    generation = dated_index / (dated_index / "CURRENT").read_text(encoding="utf-8").strip()
    older = tmp_path / "older"
    shutil.copytree(generation, older)
    (older / SIGNATURE_FILE).unlink()
    stored = StoryTable(LiveRecords([Records(generation)], None, [FIRST_SEGMENT]), generation).stories
    computed = StoryTable(LiveRecords([Records(older)], None, [FIRST_SEGMENT]), older).stories
    assert len(stored) == len(computed) == 22
    assert np.array_equal(stored.labels, computed.labels)


def test_story_diversity_holds_other_articles_of_a_shown_story_back(dated_index: Path) -> None:
    qa = QAService.open(dated_index)
    question = "When is the Calder River Bridge expected to reopen?"
    on = qa.reconfigured(AnswerConfig(rerank=RerankConfig(story_diversity=True))).answer(question, k=3)
    off = qa.reconfigured(AnswerConfig(rerank=without(RerankConfig(), ["story_diversity"]))).answer(
        question, k=3
    )
    assert on.passages[0] == off.passages[0]  # the best passage never moves
    bridge = off.passages[0].story
    assert all(p.story == bridge for p in off.passages)
    assert on.passages[1].story != bridge  # another story answers, so it comes before a second article


def test_story_diversity_keeps_further_passages_of_the_article_shown(dated_index: Path) -> None:
    qa = QAService.open(dated_index).reconfigured(AnswerConfig(rerank=RerankConfig(story_diversity=True)))
    answer = qa.answer("What did a Calder Falls commuter say about the new train order?", k=3)
    first, second = answer.passages[:2]
    assert first.sources[0] == second.sources[0]  # one article's two passages, one after the other


def _story_answer(story: Story) -> Answer:
    source = Source(
        "Board OKs new commuter trains", "Coastline Daily", dt.date(2025, 2, 12), "https://c.example/t"
    )
    text = "The state transportation board on Monday approved a $212 million contract for 24 commuter trains."
    return Answer("how many trains", (Passage(text, 1.0, (0, len(text)), (source,), story=story),))


def test_a_story_of_several_outlets_reads_reported_by() -> None:
    story = Story(
        "story-1",
        7,
        ("Metro Wire Service", "Harborview Courier", "Coastline Daily"),
        dt.date(2025, 2, 11),
        dt.date(2025, 2, 12),
    )
    line = "reported by 3 outlets: Metro Wire Service, Harborview Courier, Coastline Daily; first 2025-02-11"
    assert story_line(story) == line
    assert line in to_text(_story_answer(story))
    assert "reported by 3 outlets" in (answer_embed(_story_answer(story)).description or "")
    assert passage_json(_story_answer(story).passages[0])["story"] == {
        "id": "story-1",
        "articles": 7,
        "publishers": ["Metro Wire Service", "Harborview Courier", "Coastline Daily"],
        "first_date": "2025-02-11",
        "last_date": "2025-02-12",
    }


def test_a_story_of_one_outlet_says_nothing_more() -> None:
    story = Story("story-2", 2, ("Coastline Daily",), dt.date(2025, 2, 12), dt.date(2025, 2, 13))
    assert story_line(story) is None
    assert "reported by" not in to_text(_story_answer(story))


def test_story_diversity_changes_nothing_when_every_passage_is_of_one_story(tmp_path: Path) -> None:
    """The shipped corpus tells one event in two articles: no other story answers, so nothing waits."""
    build_index(SHIPPED_CORPUS, tmp_path / "index", workers=1)
    qa = QAService.open(tmp_path / "index")
    assert len(qa.story_table.stories) == 1
    on = qa.reconfigured(AnswerConfig(rerank=RerankConfig(story_diversity=True)))
    off = qa.reconfigured(AnswerConfig(rerank=without(RerankConfig(), ["story_diversity"])))
    for line in (DATA / "seed-questions.jsonl").read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        assert on.answer(question, k=5).passages == off.answer(question, k=5).passages, question
