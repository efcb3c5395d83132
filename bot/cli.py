"""The `article-qa` command line: reads settings, runs the command, turns its outcome into an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .exitcodes import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from .parser import parse

if TYPE_CHECKING:
    from .config import Settings

# Only argparse and the standard library load at start-up: `--help` and a bad flag answer at once,
# and each command imports the engine, pydantic, Discord or the evaluation code when it runs.

log = logging.getLogger("article_qa")


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and .env, with the flags on top.

    Raises:
        pydantic.ValidationError: a setting is invalid.
    """
    from .commands import answering_settings
    from .config import Settings

    overrides: dict[str, Any] = {}
    if args.corpus is not None:
        overrides["corpus"] = args.corpus
    if args.index_dir is not None:
        overrides["index_dir"] = args.index_dir
    if getattr(args, "k", None) is not None:
        overrides["top_k"] = args.k
    settings = Settings()
    corpus_given = args.corpus is not None or "corpus" in settings.model_fields_set
    settings = settings.model_copy(update=overrides) if overrides else settings
    if args.command == "eval":
        return settings  # eval keeps an index per corpus and never touches the bot's
    return answering_settings(settings, corpus_given=corpus_given)


def _configure_logging(args: argparse.Namespace, level_setting: str | None) -> None:
    level: int | str = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO
    if level_setting is not None and not args.verbose and not args.quiet:
        level = level_setting.upper()
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    try:
        try:
            return _main(list(sys.argv[1:] if argv is None else argv))
        finally:
            sys.stdout.flush()  # inside the try: a reader that went away must not cause a traceback
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush at exit cannot fail again (the recipe
    of the `signal` module's documentation for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file descriptor (tests capture it)
        pass


def _main(argv: list[str]) -> int:
    args = parse(argv)
    from index import ArticleQAError, CorpusError, IndexDirectoryError, QuestionError

    from .config import SETTINGS_ERRORS, settings_error_message, warn_about_env_file
    from .service import user_message

    try:
        settings = _settings(args)
    except SETTINGS_ERRORS as err:
        _configure_logging(args, None)
        log.error("%s", settings_error_message(err))
        return EXIT_USAGE
    _configure_logging(args, settings.log_level)
    warn_about_env_file()
    try:
        return _run(args, settings)
    except (CorpusError, IndexDirectoryError, QuestionError) as err:
        log.error("%s", user_message(err))
        return EXIT_USAGE
    except ArticleQAError as err:
        log.error("%s", user_message(err))
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception:
        log.exception("unexpected error; please report it with the lines above")
        return EXIT_ERROR


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from . import commands

    if args.command == "index":
        if args.verify:
            return commands.run_verify(settings, sys.stdout)
        return _interruptible_index(settings, full=args.full)
    if args.command == "ask":
        return commands.run_ask(
            settings,
            args.question,
            as_json=args.json,
            rebuild=args.rebuild,
            out=sys.stdout,
            filters=commands.filter_options(args),
        )
    if args.command == "timeline":
        return commands.run_timeline(
            settings,
            args.query,
            as_json=args.json,
            rebuild=args.rebuild,
            out=sys.stdout,
            filters=commands.filter_options(args),
        )
    if args.command == "repl":
        filters = commands.filter_options(args)
        return commands.run_interactive(settings, rebuild=args.rebuild, out=sys.stdout, filters=filters)
    if args.command == "discord":
        from .launcher import run_discord

        commands.warn_if_replacing(settings)
        return run_discord(settings, sync=args.sync)
    if args.command == "fetch":
        return commands.run_fetch(settings, sys.stdout)
    if args.command == "watch":
        from .watch import run_watch

        return run_watch(settings)
    if args.command == "eval":
        from .evaluate import run_eval

        return run_eval(args, settings)
    raise AssertionError(f"unhandled command {args.command}")


def _interruptible_index(settings: Settings, *, full: bool = False) -> int:
    """`article-qa index`, saying on Ctrl-C which index is live afterwards."""
    from index import live_generation

    from . import commands

    before = live_generation(settings.index_dir)
    try:
        return commands.run_index(settings, sys.stdout, full=full)
    except KeyboardInterrupt:
        after = live_generation(settings.index_dir)
        if after is None:
            outcome = "no index was built"
        elif after == before:
            outcome = "the previous index is unchanged"
        else:
            outcome = "the new index was already complete and is in use"
        sys.stderr.write(f"\ninterrupted; {outcome}\n")
        return EXIT_INTERRUPTED
