"""Settings from the environment and .env, with the token kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings


def test_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.corpus == Path("corpus") and settings.index_dir == Path(".article-qa")
    assert settings.top_k == 3 and settings.discord_token is None


def test_env_file_and_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "ARTICLE_QA_TOP_K=5\nARTICLE_QA_CORPUS=news\nSOMETHING_ELSE=1\nARTICLE_QA_UNKNOWN=2\n",
        encoding="utf-8",
    )
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.top_k == 5 and settings.corpus == Path("news")
    monkeypatch.setenv("ARTICLE_QA_TOP_K", "7")
    assert Settings(_env_file=env).top_k == 7  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["ARTICLE_QA_DISCORD_TOKEN", "DISCORD_TOKEN"])
def test_token_is_secret(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "MTIz.secret-token-value")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "MTIz.secret-token-value"
    assert "secret-token-value" not in repr(settings) and "secret-token-value" not in str(settings)


def test_env_example_lists_every_setting() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"ARTICLE_QA_{name.upper()}" in example, name


def test_a_copy_of_env_example_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings == Settings(_env_file=None)  # type: ignore[call-arg]
