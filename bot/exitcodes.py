"""The exit codes of `article-qa`, one place for every command."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # the command failed: a damaged index, a full disk
EXIT_USAGE = 2  # a bad flag, setting or path: fixing the command line fixes it
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped with Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports `yes | head -1`
