"""Settings read once from the environment and `.env`, then passed down as arguments."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from .limits import MAX_PASSAGES

log = logging.getLogger(__name__)

ENV_PREFIX = "ARTICLE_QA_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What reading the settings can raise: bad values, a source that cannot be parsed, a .env that is not UTF-8.
SETTINGS_ERRORS: tuple[type[Exception], ...] = (ValidationError, SettingsError, UnicodeDecodeError)
# Settings whose values are JSON, with an example shown when one is wrong.
_EXAMPLES = {"discord_shard_ids": "[0,1]", "feeds": '["https://news.example/rss"]'}


class Settings(BaseSettings):
    """Every knob of article-qa; `.env.example` lists them with their defaults."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_prefix=ENV_PREFIX,
        extra="ignore",
        env_ignore_empty=True,  # the blank lines of .env.example mean "use the default"
        populate_by_name=True,
    )

    corpus: Path = Path("corpus")
    index_dir: Path = Path(".article-qa")
    # REPL history, Discord command sync and eval indexes; by default beside index_dir (bot.state).
    state_dir: Path | None = None
    top_k: int = Field(3, ge=1, le=MAX_PASSAGES)
    chunk_words: int = Field(150, ge=20, le=1000)
    chunk_overlap_sentences: int = Field(1, ge=0, le=10)
    max_question_chars: int = Field(500, ge=10, le=10_000)
    log_level: str = "INFO"  # one of LOG_LEVELS, any case
    build_workers: int | None = Field(None, ge=1)  # processes that read the corpus; None: one per core

    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ARTICLE_QA_DISCORD_TOKEN", "DISCORD_TOKEN", "discord_token")
    )
    discord_guild_id: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    discord_shard_count: int | None = Field(None, ge=1)
    discord_shard_ids: list[int] | None = None
    discord_cooldown_seconds: float = Field(5.0, ge=0)
    discord_max_in_flight: int = Field(100, ge=1, le=10_000)
    discord_answer_threads: int = Field(2, ge=1, le=64)
    reload_interval_seconds: float = Field(0.0, ge=0)

    # --- Feeds and the watched folder (bot/feeds, bot/watch.py) ---
    feeds: str | None = None  # a JSON list of feed URLs, or the path of a file with one URL per line
    fetch_interval_minutes: float = Field(30.0, ge=0)
    fetch_timeout_seconds: float = Field(20.0, gt=0, le=300)
    watch_corpus: bool = True
    watch_force_polling: bool | None = None  # None: events where the system has them
    watch_quiet_seconds: float = Field(1.0, ge=0.05, le=60)
    watch_max_delay_seconds: float = Field(10.0, ge=0.1, le=3600)

    # --- Standing queries on Discord (/follow, bot/follow) ---
    # Share of a query's term weight a new article's best passage must hold to be posted; 0.4 was chosen
    # on the dated-news dev stories (benchmarks/follow_threshold.py).
    follow_min_coverage: float = Field(0.4, ge=0, le=1)
    follow_max_per_server: int = Field(25, ge=1, le=1000)
    follow_max_query_chars: int = Field(200, ge=10, le=1000)
    follow_repost_minutes: float = Field(60.0, ge=0)  # one post per story per follow in this time

    @field_validator("feeds", mode="after")
    @classmethod
    def _feed_list_or_file(cls, value: str | None) -> str | None:
        if value is not None and value.lstrip().startswith("["):
            from .feeds.sources import parse_feed_list  # checks the JSON list now, not at the first fetch

            parse_feed_list(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_log_level(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}")


def settings_error_message(error: Exception) -> str:
    """One line for the user: each variable that is wrong and what it must be; never the values given."""
    if isinstance(error, ValidationError):
        problems = [_problem(details) for details in error.errors(include_url=False, include_input=False)]
    elif isinstance(error, UnicodeDecodeError):
        problems = [f"{_env_file()} is not UTF-8 text"]
    else:
        problems = [_settings_error_problem(error)]
    them = "it" if len(problems) == 1 else "them"
    return f"invalid settings: {'; '.join(problems)}; fix {them} in the environment or {_env_file()}"


def _problem(details: Any) -> str:
    loc = details["loc"]
    name = _variable(str(loc[0])) if loc else "settings"
    where = "".join(f" item {part}" if isinstance(part, int) else f".{part}" for part in loc[1:])
    message = str(details["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be "):
        # "Input should be a valid integer, unable to parse string as an integer": the first clause says it.
        message = "must be " + message.removeprefix("Input should be ").split(", ")[0]
    example = _EXAMPLES.get(str(loc[0])) if loc else None
    return f"{name}{where} {message}" + (f", for example {name}={example}" if example else "")


def _settings_error_problem(error: Exception) -> str:
    """pydantic-settings names the field in quotes when a source value cannot be parsed (some versions)."""
    text = str(error)
    for field in Settings.model_fields:
        if f'"{field}"' in text:
            example = _EXAMPLES.get(field)
            name = _variable(field)
            return f"{name} cannot be read" + (f", for example {name}={example}" if example else "")
    return text.splitlines()[0] if text else type(error).__name__


def _variable(field: str) -> str:
    """The environment variable a user sets for `field` (its first alias, if it has any)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"{ENV_PREFIX}{field.upper()}"


def _env_file() -> str:
    return str(Settings.model_config.get("env_file") or ".env")


def warn_about_env_file(path: Path | None = None) -> None:
    """Warn once when the .env file (which may hold the bot token) can be read by other users."""
    env_file = path or Path(_env_file())
    try:
        mode = env_file.stat().st_mode
    except OSError:
        return  # no .env: nothing to protect
    shared = stat.S_IMODE(mode) & 0o077
    if os.name == "posix" and shared:
        what = "readable" if shared & 0o044 else "writable"
        log.warning("%s is %s by other users; chmod 600 %s", env_file, what, env_file)
