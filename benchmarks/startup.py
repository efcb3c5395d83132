"""How long `article-qa` takes to start: wall and CPU time of --help, --version and `ask` on a warm index.

    python -m benchmarks.startup                 # this checkout, 15 runs each
    python -m benchmarks.startup --repo OTHER    # another checkout (run with its code, this Python)

`ask` answers from the shipped corpus, indexed once in a temporary folder first, so every timed run
opens a current index (the warm case). The last table lists the modules that take longest to import
during one `ask`, from `python -X importtime`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUESTION = "how long did the talks last"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run; CPU time varies less on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(command: list[str], cwd: Path, env: dict[str, str], count: int) -> list[tuple[int, str]]:
    """The `count` top-level imports with the largest cumulative time, in microseconds."""
    result = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    rows: list[tuple[int, str]] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if len(name) - len(name.lstrip()) <= 3:  # imported by the program, not by another module
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose bot/ and index/ are timed")
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    args = parser.parse_args()
    repo = args.repo.resolve()
    env = {**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": "1"}
    env = {name: value for name, value in env.items() if not name.startswith("ARTICLE_QA_")}
    with tempfile.TemporaryDirectory() as scratch:
        index_dir = Path(scratch) / "index"
        base = [sys.executable, "-m", "bot"]
        where = ["--corpus", str(repo / "corpus"), "--index-dir", str(index_dir)]
        subprocess.run([*base, "index", *where], cwd=repo, env=env, check=True, capture_output=True)
        commands = {
            "--help": [*base, "--help"],
            "--version": [*base, "--version"],
            "ask (warm index)": [*base, "ask", QUESTION, *where],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        print(f"{repo} (load average {os.getloadavg()[0]:.2f}), {args.runs} runs each")
        print(f"{'command':<20} {'wall median s':>14} {'wall min s':>11} {'cpu median s':>13}")
        for name, command in commands.items():
            walls, cpus = zip(*(timed(command, repo, env) for _ in range(args.runs)), strict=True)
            wall, fastest, cpu = statistics.median(walls), min(walls), statistics.median(cpus)
            print(f"{name:<20} {wall:>14.3f} {fastest:>11.3f} {cpu:>13.3f}")
        print("\nslowest imports of one `ask` (cumulative ms):")
        for micros, module in slowest_imports(commands["ask (warm index)"], repo, env, 8):
            print(f"  {micros / 1000:>7.1f}  {module}")


if __name__ == "__main__":
    main()
