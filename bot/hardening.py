"""Keep the bot's secrets out of core dumps, verbose logs and files other users can read."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import sys
from pathlib import Path

_log = logging.getLogger(__name__)

# At DEBUG these log every gateway event and REST call in full: interaction tokens (valid 15 minutes),
# user ids and questions. They stay at INFO, whatever the level of the rest of the app.
CHATTY_LOGGERS = ("discord.gateway", "discord.http", "discord.webhook", "discord.state")
# discord.client says "logging in using static token" at INFO on every restart: noise in a retry loop.
QUIET_LOGGERS = ("discord.client",)
PR_SET_DUMPABLE = 4  # from <linux/prctl.h>


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # O_CREAT's mode does not apply to a file left by a crash
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def disable_core_dumps() -> None:
    """Keep the bot token out of core dumps: no core files, and (Linux) no dumps or ptrace by others."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
                _log.debug("prctl(PR_SET_DUMPABLE) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as err:
            _log.debug("cannot call prctl: %s", err)


def quiet_discord_loggers() -> None:
    """Keep discord.py's loggers that print secrets at INFO (and its retry chatter at WARNING)."""
    for names, floor in ((CHATTY_LOGGERS, logging.INFO), (QUIET_LOGGERS, logging.WARNING)):
        for name in names:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < floor:
                logger.setLevel(floor)
