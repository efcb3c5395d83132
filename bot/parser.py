"""The `article-qa` argument parser: commands, flags, help texts with defaults and exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .limits import MAX_PASSAGES

DEFAULT_K = 3  # bot.config.Settings.top_k; a test keeps the two equal

CORPUS_HELP = (
    "the articles to answer from: a folder (searched recursively for .txt, .md, .markdown, .html, .htm, "
    ".json and .jsonl files), a .jsonl file of articles, or a single .txt, .md, .html, .htm or .json "
    "file. Default: the corpus the index was built from, else ./corpus (env ARTICLE_QA_CORPUS)"
)
INDEX_DIR_HELP = "where the index lives (default: ./.article-qa; env ARTICLE_QA_INDEX_DIR)"
AUTO_BUILD = (
    "The index is built on first use and rebuilt on its own when the corpus files or the settings "
    "change, or when it is damaged. Without --corpus or ARTICLE_QA_CORPUS, questions are answered "
    "from the corpus the index was last built from (./corpus at first)."
)
SETTINGS = "Settings come from ARTICLE_QA_* environment variables and .env (see .env.example); flags win."


def _exit_codes(*lines: str) -> str:
    return "exit codes:\n" + "\n".join(f"  {line}" for line in lines)


USAGE_CODE = "2    usage or configuration error (bad flag, missing corpus, invalid setting)"
INTERRUPT_CODE = "130  interrupted with Ctrl-C"
PIPE_CODE = "141  output cut short by a closed pipe (`| head`), ended quietly"


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps prose to the terminal, never inside a hyphenated name such as `.article-qa`, and keeps
    indented lines (the exit-code tables) as written."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            line
            if not line or line.startswith(" ")
            else textwrap.fill(
                " ".join(line.split()),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            for line in text.splitlines()
        )


class _Version(argparse.Action):
    """`--version`, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        from importlib import metadata

        try:
            version = metadata.version("article-qa")
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        sys.stdout.write(f"article-qa {version}\n")
        parser.exit()


def _add_common(
    parser: argparse.ArgumentParser,
    *,
    top: bool,
    corpus_help: str = CORPUS_HELP,
    index_dir_help: str = INDEX_DIR_HELP,
) -> None:
    """The flags every command takes. They are accepted before the command and after it; given after
    it they win, and left out there they keep what was given before it (hence SUPPRESS)."""
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--corpus", type=Path, metavar="PATH", help=corpus_help, **default)
    parser.add_argument("--index-dir", type=Path, metavar="DIR", help=index_dir_help, **default)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details on stderr", **default)
    parser.add_argument("-q", "--quiet", action="store_true", help="log only errors", **default)


Commands = argparse._SubParsersAction  # the object `add_subparsers` returns


def _command(
    commands: Commands[argparse.ArgumentParser], name: str, summary: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=summary, description=description, epilog=epilog, formatter_class=_HelpFormatter
    )
    _add_common(parser, top=False)
    return parser


def _k_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-k",
        "--k",
        type=int,
        choices=range(1, 11),
        metavar="N",
        help=f"passages to show, 1-{MAX_PASSAGES} (default: {DEFAULT_K}; env ARTICLE_QA_TOP_K)",
    )


def _filter_options(parser: argparse.ArgumentParser) -> None:
    dates = (
        "an ISO date (2025-02-11), 7d, 2w, 3m, 1y, today, yesterday, this week, last week, this month, "
        "last month, a month (March 2014), a year (2014) or 'since ...'"
    )
    parser.add_argument(
        "--since",
        metavar="DATE",
        help=f"only articles dated on or after DATE: {dates}. A period alone (last week) is the whole window",
    )
    parser.add_argument(
        "--until", metavar="DATE", help="only articles dated on or before DATE (the end of a period)"
    )
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="only articles from this publisher or site (any case; repeat for several)",
    )


def build_parser(*, with_eval: bool = True) -> argparse.ArgumentParser:
    """The `article-qa` parser with every subcommand, its help, defaults and exit codes.

    Without `with_eval`, `eval` is listed but its options are not loaded (they come with the
    evaluation code, which imports the whole engine).
    """
    parser = argparse.ArgumentParser(
        prog="article-qa",
        description=f"Ask questions about a folder of news articles. {SETTINGS}",
        epilog="Global options work before or after the command: `article-qa -v ask ...` or "
        "`article-qa ask ... -v`. `article-qa COMMAND --help` describes each command.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    _add_common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _index_parser(commands)
    _ask_parser(commands)
    _timeline_parser(commands)
    _repl_parser(commands)
    _discord_parser(commands)
    _fetch_parser(commands)
    _watch_parser(commands)
    if with_eval:
        _eval_parser(commands)
    else:
        commands.add_parser("eval", help=EVAL_SUMMARY)
    return parser


def _index_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    index = _command(
        commands,
        "index",
        "bring the index up to date with the corpus",
        "Apply the articles added, changed or removed since the index was built (with --full, or when "
        "there is no index yet, read every article and build it whole). The new index replaces the "
        "previous one only once it is complete. Later questions are answered from this corpus.",
        _exit_codes(
            "0    index updated or built (with --verify: the index is intact)",
            "1    the index cannot be written (with --verify: it is missing or damaged)",
            "2    usage or configuration error (bad flag, missing or empty corpus, invalid setting)",
            "130  interrupted with Ctrl-C; the previous index is unchanged",
        ),
    )
    index.add_argument(
        "--full",
        action="store_true",
        help="rebuild the whole index from scratch instead of updating it with the articles added, "
        "changed or removed since it was built",
    )
    index.add_argument(
        "--verify",
        action="store_true",
        help="check every file of the existing index against its checksums instead of building it, "
        "and say whether it is up to date with the corpus",
    )


def _ask_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    ask = _command(
        commands,
        "ask",
        "answer one question",
        "Print the best passages for QUESTION, the answer sentence in bold (**marked** when not on a "
        f"terminal or with NO_COLOR set), each with the articles it comes from. {AUTO_BUILD}",
        _exit_codes(
            "0    answered, or no answer found",
            "1    the index cannot be built or read",
            "2    usage or configuration error (bad flag, missing corpus, invalid setting, a question",
            "     that is too long or has no searchable words, a date that cannot be read, an unknown",
            "     source)",
            INTERRUPT_CODE,
            PIPE_CODE,
        ),
    )
    ask.add_argument("question", help="the question, in quotes")
    _k_option(ask)
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument("--rebuild", action="store_true", help="rebuild the index first")
    _filter_options(ask)


def _timeline_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    timeline = _command(
        commands,
        "timeline",
        "follow a story through its updates",
        "Print, oldest first, each dated article of the stories that best match QUERY (an event and "
        "its updates, as several outlets reported it) by its sentence that best matches QUERY, with the "
        f"articles that carry it. Undated articles are left out. {AUTO_BUILD}",
        _exit_codes(
            "0    printed, or no dated article found",
            "1    the index cannot be built or read",
            "2    usage or configuration error (bad flag, missing corpus, invalid setting, a query",
            "     that is too long or has no searchable words, a date that cannot be read, an unknown",
            "     source)",
            INTERRUPT_CODE,
            PIPE_CODE,
        ),
    )
    timeline.add_argument("query", help='what happened, in quotes ("Calder River Bridge closure")')
    timeline.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    timeline.add_argument("--rebuild", action="store_true", help="rebuild the index first")
    _filter_options(timeline)


def _repl_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    repl = _command(
        commands,
        "repl",
        "ask questions interactively (or from stdin)",
        "On a terminal: a prompt with line editing and history (kept in INDEX_DIR/repl_history, "
        "readable by you only). :help lists the commands (:k, :since, :until, :source, :clear, :info, "
        ":reload, :quit). Ctrl-C clears "
        "the line, Ctrl-D leaves. With stdin from a pipe or a file: one question per line, each answer "
        f"after a `question:` line. {AUTO_BUILD}",
        _exit_codes(
            "0    end of input or :quit",
            "1    the index cannot be built or read",
            USAGE_CODE,
            "130  interrupted with Ctrl-C while reading from a pipe",
            PIPE_CODE,
        ),
    )
    _k_option(repl)
    repl.add_argument("--rebuild", action="store_true", help="rebuild the index first")
    _filter_options(repl)


def _discord_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    discord = _command(
        commands,
        "discord",
        "run the Discord bot",
        "Connect to Discord with ARTICLE_QA_DISCORD_TOKEN (or DISCORD_TOKEN) and answer /ask, mentions "
        f"and direct messages until Ctrl-C or SIGTERM. {AUTO_BUILD}",
        _exit_codes(
            "0    stopped with Ctrl-C or SIGTERM",
            "1    unexpected error",
            "2    usage or configuration error (missing or rejected token, bad flag, invalid setting)",
        ),
    )
    discord.add_argument("--sync", action="store_true", help="sync the slash commands now")


def _fetch_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    _command(
        commands,
        "fetch",
        "fetch new articles from the feeds once",
        "Fetch every RSS or Atom feed of ARTICLE_QA_FEEDS (a JSON list of URLs, or a file with one URL "
        "per line) once, store each new article as a JSON file under CORPUS/feeds/<site>/, update the "
        "index, and say what was done. Items already fetched are not fetched again, even when their "
        "file was deleted; feeds that failed before are tried again now.",
        _exit_codes(
            "0    fetched (some feeds may have failed: the summary says which and why)",
            "1    the index cannot be built",
            "2    usage or configuration error (no feeds set, unreadable feeds file, corpus is a file)",
            INTERRUPT_CODE,
        ),
    )


def _watch_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    _command(
        commands,
        "watch",
        "keep the index current as the corpus folder changes",
        "Watch the corpus folder and update the index a second after files stop changing, and fetch "
        "the feeds every ARTICLE_QA_FETCH_INTERVAL_MINUTES, until Ctrl-C or SIGTERM. Set "
        "ARTICLE_QA_WATCH_FORCE_POLLING=true on network filesystems, where change events do not arrive.",
        _exit_codes(
            "0    stopped with Ctrl-C or SIGTERM",
            "1    the index cannot be built",
            USAGE_CODE,
        ),
    )


EVAL_SUMMARY = "measure answer quality on gold questions"


def _eval_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    from .evaluate import add_eval_parser

    common = argparse.ArgumentParser(add_help=False)
    _add_common(
        common,
        top=False,
        corpus_help="the articles the questions are about: a folder, a .jsonl file of articles, or a "
        "single .txt, .md, .html, .htm or .json file (default: ./corpus; env ARTICLE_QA_CORPUS)",
        index_dir_help="where the eval index lives (default: .article-qa/eval/<corpus name>-<hash>/, one "
        "per corpus, reused while the corpus and settings are unchanged; the bot's index is never "
        "replaced)",
    )
    add_eval_parser(commands, common)
    parser = commands.choices["eval"]
    parser.formatter_class = _HelpFormatter
    parser.epilog = (
        "The eval index is built on first use and rebuilt on its own when the corpus files or the "
        "settings change.\n\n"
    ) + _exit_codes(
        "0    measured",
        "1    the index cannot be built or read",
        "2    usage or configuration error (unreadable or empty questions file, missing corpus)",
        INTERRUPT_CODE,
    )


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse `argv`; a flag the command does not know is reported with that command's usage."""
    # `eval` can only be the command when the word is on the line; otherwise its options stay unloaded.
    parser = build_parser(with_eval="eval" in argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subparsers.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args
