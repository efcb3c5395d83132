"""Settings read once from the environment and `.env`, then passed down as arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of article-qa; `.env.example` lists them with their defaults."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_prefix="ARTICLE_QA_",
        extra="ignore",
        env_ignore_empty=True,  # the blank lines of .env.example mean "use the default"
        populate_by_name=True,
    )

    corpus: Path = Path("corpus")
    index_dir: Path = Path(".article-qa")
    top_k: int = Field(3, ge=1, le=10)
    chunk_words: int = Field(150, ge=20, le=1000)
    chunk_overlap_sentences: int = Field(1, ge=0, le=10)
    max_question_chars: int = Field(500, ge=10, le=10_000)
    log_level: str = "INFO"

    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ARTICLE_QA_DISCORD_TOKEN", "DISCORD_TOKEN", "discord_token")
    )
    discord_guild_id: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    discord_shard_count: int | None = Field(None, ge=1)
    discord_shard_ids: list[int] | None = None
    discord_cooldown_seconds: float = Field(5.0, ge=0)
    reload_interval_seconds: float = Field(0.0, ge=0)
