"""The `article-qa` command line: index, ask, repl and discord, over settings read once here."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from index.errors import ArticleQAError, CorpusError, IndexDirectoryError, QuestionError

from .config import Settings
from .evaluate import add_eval_parser, run_eval
from .render import ansi_bold, marker_bold, to_json, to_text
from .repl import readline_history, run_repl
from .service import build, open_service

log = logging.getLogger("article_qa")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, help="corpus folder or .jsonl file (default: ./corpus)")
    common.add_argument("--index-dir", type=Path, help="where the index lives (default: ./.article-qa)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details on stderr")
    common.add_argument("-q", "--quiet", action="store_true", help="log only errors")

    parser = argparse.ArgumentParser(
        prog="article-qa",
        description="Ask questions about a folder of news articles. Settings come from ARTICLE_QA_* "
        "environment variables and .env; flags override them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser("index", parents=[common], help="build or rebuild the index")
    index.add_argument("--verify", action="store_true", help="check every file of the built index afterwards")

    ask = commands.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("-k", "--k", type=int, choices=range(1, 11), metavar="N", help="passages to show (1-10)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument("--rebuild", action="store_true", help="rebuild the index first")

    repl = commands.add_parser("repl", parents=[common], help="ask questions interactively (or from stdin)")
    repl.add_argument(
        "-k", "--k", type=int, choices=range(1, 11), metavar="N", help="passages to show (1-10)"
    )
    repl.add_argument("--rebuild", action="store_true", help="rebuild the index first")

    discord = commands.add_parser("discord", parents=[common], help="run the Discord bot")
    discord.add_argument("--sync", action="store_true", help="sync the slash commands now")
    add_eval_parser(commands, common)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.corpus is not None:
        overrides["corpus"] = args.corpus
    if args.index_dir is not None:
        overrides["index_dir"] = args.index_dir
    if getattr(args, "k", None) is not None:
        overrides["top_k"] = args.k
    settings = Settings()
    return settings.model_copy(update=overrides) if overrides else settings


def _configure_logging(args: argparse.Namespace, settings: Settings | None) -> None:
    level: int | str = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO
    if settings is not None and not args.verbose and not args.quiet:
        level = settings.log_level.upper()
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValidationError as err:
        _configure_logging(args, None)
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in err.errors()
        )
        log.error("invalid settings (%s); fix the ARTICLE_QA_* variables or .env", problems)
        return EXIT_USAGE
    _configure_logging(args, settings)
    try:
        return _run(args, settings)
    except (CorpusError, IndexDirectoryError, QuestionError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    except ArticleQAError as err:
        log.error("%s", err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("unexpected error; please report it with the lines above")
        return EXIT_ERROR


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "index":
        manifest = build(settings)
        if args.verify:
            open_service(settings).verify()
        skipped = f", {manifest.skipped_files} file(s) skipped" if manifest.skipped_files else ""
        print(
            f"Indexed {manifest.passages:,} passages from {manifest.articles:,} articles "
            f"in {manifest.build_seconds:.2f} s{skipped} -> {settings.index_dir}"
        )
        return EXIT_OK
    if args.command == "ask":
        service = open_service(settings, rebuild=args.rebuild)
        answer = service.answer(args.question, settings.top_k)
        if args.json:
            print(json.dumps(to_json(answer), ensure_ascii=False))
        else:
            print(to_text(answer, ansi_bold if sys.stdout.isatty() else marker_bold))
        return EXIT_OK
    if args.command == "repl":
        service = open_service(settings, rebuild=args.rebuild)
        if not sys.stdin.isatty():
            return run_repl(
                service, input_fn=_stdin_line, out=sys.stdout, k=settings.top_k, interactive=False
            )
        with readline_history(settings.index_dir / "repl_history"):
            return run_repl(service, out=sys.stdout, k=settings.top_k)
    if args.command == "discord":
        from .discord_app import run_discord  # discord.py loads only for this command

        return run_discord(settings, sync=args.sync)
    if args.command == "eval":
        return run_eval(args, settings)
    raise AssertionError(f"unhandled command {args.command}")


def _stdin_line(_prompt: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line
