"""Settings from the environment and .env, with the token kept secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from bot.cli import main
from bot.config import SETTINGS_ERRORS, Settings, settings_error_message, warn_about_env_file
from tests.conftest import make_settings


def test_defaults() -> None:
    settings = make_settings()
    assert settings.corpus == Path("corpus") and settings.index_dir == Path(".article-qa")
    assert settings.top_k == 3 and settings.discord_token is None


def test_env_file_and_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "ARTICLE_QA_TOP_K=5\nARTICLE_QA_CORPUS=news\nSOMETHING_ELSE=1\nARTICLE_QA_UNKNOWN=2\n",
        encoding="utf-8",
    )
    settings = make_settings(env_file=env)
    assert settings.top_k == 5 and settings.corpus == Path("news")
    monkeypatch.setenv("ARTICLE_QA_TOP_K", "7")
    assert make_settings(env_file=env).top_k == 7


@pytest.mark.parametrize("name", ["ARTICLE_QA_DISCORD_TOKEN", "DISCORD_TOKEN"])
def test_token_is_secret(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "MTIz.secret-token-value")
    settings = make_settings()
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "MTIz.secret-token-value"
    assert "secret-token-value" not in repr(settings) and "secret-token-value" not in str(settings)


def test_env_example_lists_every_setting() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"ARTICLE_QA_{name.upper()}" in example, name


def test_a_copy_of_env_example_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    settings = make_settings(env_file=example)
    assert settings == make_settings()


@pytest.mark.parametrize("value", ["debug", "INFO", " Warning ", "error", "CRITICAL"])
def test_log_levels_are_accepted_in_any_case(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_LOG_LEVEL", value)
    assert make_settings().log_level == value.strip().upper()


def error_line(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    """The message a user sees for these environment variables (they must be invalid)."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SETTINGS_ERRORS) as info:
        make_settings()
    return settings_error_message(info.value)


def test_an_unknown_log_level_is_a_settings_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert error_line(monkeypatch, ARTICLE_QA_LOG_LEVEL="LOUD") == (
        "invalid settings: ARTICLE_QA_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL; "
        "fix it in the environment or .env"
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"ARTICLE_QA_TOP_K": "lots"}, "ARTICLE_QA_TOP_K must be a valid integer;"),
        ({"ARTICLE_QA_TOP_K": "99"}, "ARTICLE_QA_TOP_K must be less than or equal to 10;"),
        (
            {"ARTICLE_QA_DISCORD_GUILD_ID": "my-server"},
            "ARTICLE_QA_DISCORD_GUILD_ID must be a valid integer;",
        ),
        (
            {"ARTICLE_QA_DISCORD_SHARD_IDS": "0,1"},
            "ARTICLE_QA_DISCORD_SHARD_IDS must be a valid list, for example ARTICLE_QA_DISCORD_SHARD_IDS=[0,1];",
        ),
        (
            {"ARTICLE_QA_DISCORD_SHARD_IDS": '["zero"]'},
            "ARTICLE_QA_DISCORD_SHARD_IDS item 0 must be a valid integer, "
            "for example ARTICLE_QA_DISCORD_SHARD_IDS=[0,1];",
        ),
    ],
)
def test_settings_errors_name_the_variable_in_one_line(
    variables: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = error_line(monkeypatch, **variables)
    assert line.startswith("invalid settings: ") and expected in line
    assert "\n" not in line and "top_k" not in line and "discord_" not in line


def test_every_wrong_variable_is_named_and_no_value_is_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    line = error_line(
        monkeypatch,
        ARTICLE_QA_TOP_K="MTIzNDU2.secret-looking-value",
        ARTICLE_QA_CHUNK_WORDS="5",
        ARTICLE_QA_LOG_LEVEL="LOUD",
    )
    assert "ARTICLE_QA_TOP_K must be" in line and "ARTICLE_QA_CHUNK_WORDS must be greater" in line
    assert "ARTICLE_QA_LOG_LEVEL must be one of" in line and line.count("; ") == 3
    assert line.endswith("; fix them in the environment or .env")
    assert "secret-looking-value" not in line and "LOUD" not in line


def test_a_dotenv_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_bytes("ARTICLE_QA_CORPUS=actualités\n".encode("latin-1"))
    with pytest.raises(SETTINGS_ERRORS) as info:
        make_settings(env_file=env)
    assert settings_error_message(info.value) == (
        "invalid settings: .env is not UTF-8 text; fix it in the environment or .env"
    )


def test_a_source_that_cannot_be_parsed_names_the_variable_with_an_example() -> None:
    # What some pydantic-settings versions raise for a list setting that is not JSON.
    error = SettingsError('error parsing value for field "discord_shard_ids" from source "EnvSettingsSource"')
    assert settings_error_message(error) == (
        "invalid settings: ARTICLE_QA_DISCORD_SHARD_IDS cannot be read, "
        "for example ARTICLE_QA_DISCORD_SHARD_IDS=[0,1]; fix it in the environment or .env"
    )


@pytest.mark.parametrize(("mode", "word"), [(0o644, "readable"), (0o640, "readable"), (0o620, "writable")])
def test_a_dotenv_open_to_other_users_gets_one_warning(
    mode: int, word: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = tmp_path / ".env"
    env.write_text("ARTICLE_QA_DISCORD_TOKEN=MTIzNDU2.secret-token\n", encoding="utf-8")
    env.chmod(mode)
    with caplog.at_level(logging.WARNING):
        warn_about_env_file(env)
    assert [r.getMessage() for r in caplog.records] == [f"{env} is {word} by other users; chmod 600 {env}"]


def test_a_private_or_missing_dotenv_gets_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = tmp_path / ".env"
    env.write_text("ARTICLE_QA_TOP_K=4\n", encoding="utf-8")
    env.chmod(0o600)
    with caplog.at_level(logging.DEBUG):
        warn_about_env_file(env)
        warn_about_env_file(tmp_path / "missing.env")
    assert not caplog.records


def test_the_command_line_reports_a_bad_log_level_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARTICLE_QA_LOG_LEVEL", "LOUD")
    assert main(["ask", "who won the vote"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "ARTICLE_QA_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL" in err


def test_the_command_line_warns_about_a_shared_dotenv_at_start_up(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Path(".env")  # the working folder of this test (see conftest)
    env.write_text("ARTICLE_QA_TOP_K=2\n", encoding="utf-8")
    env.chmod(0o644)
    code = main(["index", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "index")])
    assert code == 0
    assert "WARNING: .env is readable by other users; chmod 600 .env" in capsys.readouterr().err
