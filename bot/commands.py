"""What `article-qa index`, `ask` and `repl` do once the command line is parsed and settings are read."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from index import (
    Answerer,
    ArticleQAError,
    CorpusError,
    IndexFormatError,
    IndexMissingError,
    Manifest,
    QAService,
    QuestionError,
    SearchFilter,
    corpus_path,
    has_searchable_words,
    index_status,
    live_manifest,
    verify_index,
)

from .config import Settings
from .exitcodes import EXIT_ERROR, EXIT_OK
from .render import timeline_json, timeline_text, to_json, to_text
from .repl import NO_WORDS, readline_history, run_repl, shortfall
from .service import build, index_config, open_service, recover_from_damage, update, user_message
from .state import REPL_HISTORY, state_path
from .terminal import age, bold_style
from .timeexpr import search_filter

log = logging.getLogger(__name__)

# Build progress goes to the stderr of the moment: bot.service binds its default stream when it is
# imported, and this module is imported late, by the command that runs.


def indexed_corpus(index_dir: Path) -> Path | None:
    """The corpus the live index of `index_dir` was built from, or None without a readable index."""
    manifest = live_manifest(index_dir)
    if manifest is None:
        return None
    # The manifest keeps the corpus's resolved path (index.corpus_path); indexes built before it did
    # kept it as their corpus. Anything else cannot be opened again, so it is not taken for one.
    recorded = Path(manifest.corpus_path or manifest.corpus)
    return recorded if recorded.is_absolute() else None


def answering_settings(settings: Settings, *, corpus_given: bool) -> Settings:
    """The settings with the corpus questions are answered from.

    A corpus named by --corpus, ARTICLE_QA_CORPUS or .env is used as given. Otherwise the corpus the
    index was built from is used, so `article-qa index --corpus ~/news` followed by a plain
    `article-qa ask` answers from ~/news instead of rebuilding from ./corpus.
    """
    if corpus_given:
        return settings
    recorded = indexed_corpus(settings.index_dir)
    if recorded is None or corpus_path(settings.corpus) == str(recorded):
        return settings
    if not recorded.exists() and _indexed_as_is(settings):
        return settings  # a moved checkout: its configured corpus is the one indexed, under a new path
    return settings.model_copy(update={"corpus": recorded})


def _indexed_as_is(settings: Settings) -> bool:
    """True when the index serves the configured corpus as it is (same name and files)."""
    if not settings.corpus.exists():
        return False
    return index_status(settings.corpus, settings.index_dir, index_config(settings)).usable


def warn_if_replacing(settings: Settings) -> bool:
    """Say so before an explicitly named corpus replaces the index of another corpus; True if it will."""
    recorded = indexed_corpus(settings.index_dir)
    if recorded is None or str(recorded) == corpus_path(settings.corpus):
        return False
    log.warning("replacing the index of %s with %s", recorded, settings.corpus)
    return True


def open_answering(settings: Settings, *, rebuild: bool = False) -> QAService:
    """Open the service, warning first when the index of another corpus is about to be replaced."""
    if warn_if_replacing(settings) and not rebuild:
        build(
            settings, stream=sys.stderr
        )  # built here, so opening does not report the same replacement a second time
    return open_service(settings, rebuild=rebuild, stream=sys.stderr)


def run_index(settings: Settings, out: TextIO, *, full: bool = False) -> int:
    """`article-qa index`: bring the index up to date (rebuild it with `full`) and say what changed, what
    it holds and which corpus it answers from."""
    warn_if_replacing(settings)
    report = update(settings, full=full, stream=sys.stderr)
    manifest = report.manifest
    skipped = manifest.skipped_files
    skipped_text = f", {count(skipped, 'file or record', 'files or records')} skipped" if skipped else ""
    how = "built in full" if report.full else "updated"
    out.write(
        f"{report.summary} from {count(manifest.articles, 'article')} of {_local(manifest)} "
        f"({how} in {manifest.build_seconds:.2f} s{skipped_text}) -> {settings.index_dir}\n"
    )
    return EXIT_OK


def count(number: int, singular: str, plural: str | None = None) -> str:
    """`number` with thousands separators and the noun that agrees with it: "1 article", "2,340 articles"."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def run_verify(settings: Settings, out: TextIO) -> int:
    """`article-qa index --verify`: checksum the index as it is, without building anything first."""
    try:
        manifest = verify_index(settings.index_dir)
    except IndexMissingError as err:
        log.error("%s", user_message(err))
        return EXIT_ERROR
    except ArticleQAError as err:
        log.error("the index is damaged: %s", user_message(err))
        return EXIT_ERROR
    status = index_status(settings.corpus, settings.index_dir, index_config(settings))
    freshness = (
        "It is up to date with the corpus."
        if status.usable
        else f"It needs a rebuild ({status.reason}); `article-qa ask` does that on its own."
    )
    out.write(
        f"The index in {settings.index_dir} is intact: {len(manifest.files)} files checked.\n"
        f"It holds {manifest.passages:,} passages from {manifest.articles:,} articles of "
        f"{_local(manifest)}, built {age(_built_at(manifest.built_at))}.\n{freshness}\n"
    )
    return EXIT_OK


def _local(manifest: Manifest) -> str:
    """Where the corpus of `manifest` is, for the person at this machine (Discord shows its name only)."""
    return manifest.corpus_path or manifest.corpus


def _built_at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def filter_options(args: argparse.Namespace, today: dt.date | None = None) -> SearchFilter | None:
    """The date and source filter of `--since`, `--until` and `--source` (None without them).

    Raises:
        QuestionError: a date cannot be read, or the window ends before it starts.
    """
    if not (args.since or args.until or args.source):
        return None
    return search_filter(args.since, args.until, tuple(args.source), today or dt.date.today())


def run_ask(
    settings: Settings,
    question: str,
    *,
    as_json: bool,
    rebuild: bool,
    out: TextIO,
    filters: SearchFilter | None = None,
) -> int:
    """`article-qa ask`: the best passages for one question, as text or JSON.

    Raises:
        QuestionError: the question has no searchable words, or is too long; a filter names an
            unknown source.
    """
    if not has_searchable_words(question):
        raise QuestionError(NO_WORDS)
    service = open_answering(settings, rebuild=rebuild)
    try:
        answer = service.answer(question, settings.top_k, filters)
    except IndexFormatError as err:  # a passage failed its checksum: heal once, then ask again
        service = recover_from_damage(settings, service, err)
        answer = service.answer(question, settings.top_k, filters)
    if as_json:
        out.write(json.dumps(to_json(answer), ensure_ascii=False) + "\n")
        return EXIT_OK
    note = shortfall(len(answer.passages), settings.top_k)
    out.write(to_text(answer, bold_style(out)) + (f"\n\n({note})" if note else "") + "\n")
    return EXIT_OK


def run_timeline(
    settings: Settings,
    query: str,
    *,
    as_json: bool,
    rebuild: bool,
    out: TextIO,
    filters: SearchFilter | None = None,
) -> int:
    """`article-qa timeline`: the dated updates of the stories that match `query`, oldest first.

    Raises:
        QuestionError: the query has no searchable words, or is too long; a filter names an unknown
            source.
    """
    if not has_searchable_words(query):
        raise QuestionError(NO_WORDS)
    service = open_answering(settings, rebuild=rebuild)
    try:
        found = service.timeline(query, filters)
    except IndexFormatError as err:  # a passage failed its checksum: heal once, then ask again
        service = recover_from_damage(settings, service, err)
        found = service.timeline(query, filters)
    if as_json:
        out.write(json.dumps(timeline_json(found), ensure_ascii=False) + "\n")
    else:
        out.write(timeline_text(found, bold_style(out)) + "\n")
    return EXIT_OK


def run_interactive(
    settings: Settings, *, rebuild: bool, out: TextIO, filters: SearchFilter | None = None
) -> int:
    """`article-qa repl`: a prompt on a terminal, one answer per line of input otherwise."""
    service = open_answering(settings, rebuild=rebuild)

    def reopen() -> QAService:
        return open_service(settings, stream=sys.stderr)

    def heal(answerer: Answerer, err: IndexFormatError) -> Answerer:
        if not isinstance(answerer, QAService):
            raise err
        return recover_from_damage(settings, answerer, err)

    if not sys.stdin.isatty():
        return run_repl(
            service,
            input_fn=_stdin_line,
            out=out,
            k=settings.top_k,
            interactive=False,
            reopen=reopen,
            heal=heal,
            filters=filters,
        )
    with readline_history(state_path(settings, REPL_HISTORY)):
        return run_repl(service, out=out, k=settings.top_k, reopen=reopen, heal=heal, filters=filters)


def _stdin_line(_prompt: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def run_fetch(settings: Settings, out: TextIO) -> int:
    """`article-qa fetch`: one pass over the feeds, then the index brought up to date.

    Raises:
        CorpusError: the feeds setting or the corpus cannot be used (a usage error).
    """
    from .feeds.schedule import fetch_pass
    from .feeds.sources import FeedListError
    from .watch import on_corpus_changed

    try:
        report = fetch_pass(settings, honour_backoff=False)  # asked for now: no waiting out a backoff
    except FeedListError as err:
        raise CorpusError(str(err)) from None
    out.write(report.summary() + "\n")
    if report.changed:
        on_corpus_changed(settings)
    return EXIT_OK
