"""The scale benchmark runs end to end at a small size and finds every engine in parity (CI: no timings)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks import scale


@pytest.mark.slow
def test_scale_benchmark_parity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engines = "article-qa,rank-bm25" + (",bm25s" if importlib.util.find_spec("bm25s") else "")
    status = scale.main(
        [
            "--passages",
            "10000",
            "--queries",
            "60",
            "--ref-queries",
            "20",
            "--engines",
            engines,
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "parity  article-qa pruned vs exhaustive (all 60 questions): OK" in out
    assert "parity  article-qa vs rank-bm25 reference (20 questions): OK" in out
    assert "identical to full build: OK" in out
    if "bm25s" in engines:
        assert "parity  article-qa vs bm25s scores (60 questions): OK" in out
