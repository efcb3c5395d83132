"""The packages import from this checkout, and the engine never depends on the application."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_imports_resolve_inside_the_repository() -> None:
    import bot
    import index

    assert Path(bot.__file__).resolve().parent == REPO / "bot"
    assert Path(index.__file__).resolve().parent == REPO / "index"


def test_engine_does_not_import_discord_pydantic_or_asyncio() -> None:
    code = (
        "import sys, index, index.answer, index.builder\n"
        "bad = [m for m in ('discord', 'pydantic_settings', 'pydantic', 'bot', 'asyncio') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == ""
