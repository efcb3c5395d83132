"""Kill index builds with SIGKILL at random moments, then check the index still loads and answers right.

    python -m benchmarks.crash_loop --articles 3000 --kills 100
    python -m benchmarks.crash_loop --articles 3000 --kills 100 --updates   # mostly in-place updates

Each round changes one "vault" article (its code word identifies the build), starts `build_index` in a
subprocess, SIGKILLs it at a random moment (half of the kills land in the build's last part: writing
files, fsync, rename, pointer swap), then opens the index: it must load, pass a full checksum check and
answer with the code of the last finished build or of a later one, never an older one. Builds that
finish before their kill are counted too. At the end, `open_service` must serve the current corpus and
leave nothing behind but the live generation. Prints the figures; exits 1 on any failure.

With --updates, four rounds in five run `update_index` instead (the vault article changed, one article
added and one removed: its segments linked, tombstones written, segments merged now and then), so
kills land in updates too.
"""

from __future__ import annotations

import argparse
import collections
import io
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.config import Settings
from bot.service import open_service
from index.answer import QAService
from index.errors import IndexMissingError
from index.store import CURRENT, LOCK, MARKER

ROOT = Path(__file__).resolve().parents[1]

WORDS = (
    "talks minister border troops agreement meeting paris sunday federation crisis sanctions ambassador "
    "proposal government election market shares bank inflation storm river flood harvest school teacher "
    "museum painting concert festival bridge railway harbour"
).split()
VAULT = "vault.txt"

# Prints a line per build stage with CLOCK_MONOTONIC stamps (shared by all processes on Linux).
BUILD_CHILD = """
import sys, time
from pathlib import Path
from index.builder import build_index
from index.update import update_index
seen = set()
def progress(stage, done, total):
    if stage not in seen:
        seen.add(stage)
        print("stage", stage, time.monotonic(), flush=True)
print("ready", time.monotonic(), flush=True)
if sys.argv[3] == "update":
    update_index(Path(sys.argv[1]), Path(sys.argv[2]), progress=progress)
else:
    build_index(Path(sys.argv[1]), Path(sys.argv[2]), progress=progress)
print("done", time.monotonic(), flush=True)
"""


def build_stages(output: str, ready: float) -> dict[str, float]:
    """When each stage of a BUILD_CHILD run began (and "done"), in seconds after `ready`."""
    stages = {}
    for line in output.splitlines():
        parts = line.split()
        if parts[0] == "stage":
            stages[parts[1]] = float(parts[2]) - ready
        elif parts[0] == "done":
            stages["done"] = float(parts[1]) - ready
    return stages


def write_corpus(folder: Path, articles: int, seed: int = 0) -> None:
    """`articles` small deterministic articles, plus the vault article whose code changes per build.

    The seed picks the words and the titles, so two seeds give indexes that differ in every file.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(articles):
        paragraphs = (" ".join(rng.choice(WORDS) for _ in range(35)).capitalize() + "." for _ in range(3))
        (folder / f"a{i:05d}.txt").write_text(
            f"Article {seed}-{i}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
    write_vault(folder, "initial")


def write_vault(folder: Path, code: str) -> None:
    (folder / VAULT).write_text(
        f"The vault report\n\nThe secret vault code is {code} today.\n", encoding="utf-8"
    )


def write_extra(folder: Path, number: int) -> None:
    """The one extra article, replaced by the next each round: an update adds one and removes one."""
    (folder / f"extra-{number - 1}.txt").unlink(missing_ok=True)
    (folder / f"extra-{number}.txt").write_text(
        f"Harbour report {number}\n\nThe ferry timetable changes for the {number}th time.\n", encoding="utf-8"
    )


def vault_code(service: QAService) -> str | None:
    answer = service.answer("secret vault code")
    codes = {m.group(1) for p in answer.passages for m in re.finditer(r"vault code is (\w+)", p.text)}
    if len(codes) > 1:
        raise AssertionError(f"one index answered with several codes: {codes}")
    return codes.pop() if codes else None


def leftovers(index_dir: Path, live: str | None) -> list[str]:
    """What a killed build left: staging folders, temp files, generations nothing points to."""
    if not index_dir.exists():
        return []
    names = [p.name for p in index_dir.iterdir() if p.name not in (CURRENT, LOCK, MARKER, live)]
    kinds = []
    for name in names:
        if name.endswith(".tmp"):
            kinds.append("staging folder")
        elif ".tmp-" in name:
            kinds.append("temp pointer")
        elif name.startswith("gen-"):
            kinds.append("generation never made live")
        else:
            kinds.append(f"other: {name}")
    return kinds


def run(articles: int, kills: int, seed: int, workdir: Path, updates: bool = False) -> int:
    corpus, index_dir = workdir / "corpus", workdir / "index"
    write_corpus(corpus, articles)
    write_extra(corpus, 0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLE_QA_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT)
    rng = random.Random(seed)
    possible: list[str] = []
    loaded_once = False
    # Seconds a build (an update) takes, and from its "indexing" report to its end (measured as they run).
    timing = {"build": (4.0, 0.5), "update": (1.0, 0.3)}
    modes: collections.Counter[str] = collections.Counter()
    phases: collections.Counter[str] = collections.Counter()
    left: collections.Counter[str] = collections.Counter()
    load_seconds: list[float] = []
    build_seconds: list[float] = []
    survived = finished = rounds = 0
    started = time.monotonic()
    while survived < kills:
        code = f"code{rounds}"
        rounds += 1
        write_vault(corpus, code)
        write_extra(corpus, rounds)
        possible.append(code)
        mode = "update" if updates and rounds > 1 and rng.random() < 0.8 else "build"
        whole, tail = timing[mode]
        proc = subprocess.Popen(
            [sys.executable, "-c", BUILD_CHILD, str(corpus), str(index_dir), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        seen = [proc.stdout.readline()]
        ready = float(seen[0].split()[1])
        if rng.random() < 0.5:  # anywhere in the build
            time.sleep(max(0.0, ready + rng.uniform(0.0, whole * 1.05) - time.monotonic()))
        else:  # in its last part: writing the files, fsync, rename, pointer swap
            while (line := proc.stdout.readline()) and not line.startswith("stage indexing"):
                seen.append(line)
            seen.append(line)
            time.sleep(rng.uniform(0.0, tail * 1.1))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        out = "".join(seen) + out
        if proc.returncode not in (0, -signal.SIGKILL):
            print(f"build failed ({proc.returncode}):\n{err}", file=sys.stderr)
            return 1
        stages = build_stages(out, ready)
        if "done" in stages:
            finished += 1
            possible = [code]
            timing[mode] = (stages["done"], stages["done"] - stages.get("indexing", 0.0))
            if mode == "build":
                build_seconds.append(stages["done"])
        else:
            survived += 1
            modes[mode] += 1
            last = max(stages, key=stages.__getitem__) if stages else "starting"
            phases["writing and publishing" if last == "indexing" else last] += 1

        opened = time.monotonic()
        try:
            service = QAService.open(index_dir)
        except IndexMissingError:
            if loaded_once:
                print("FAIL: an index that loaded before is gone", file=sys.stderr)
                return 1
            live = None
        else:
            loaded_once = True
            service.verify()
            found = vault_code(service)
            if found not in possible:
                print(f"FAIL: the index answers {found!r}, expected one of {possible}", file=sys.stderr)
                return 1
            if service.manifest.articles != articles + 2:
                print(f"FAIL: {service.manifest.articles} articles", file=sys.stderr)
                return 1
            possible = possible[possible.index(found) :]
            live = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
            load_seconds.append(time.monotonic() - opened)
        if "done" not in stages:
            left.update(leftovers(index_dir, live))

    rebuild_started = time.monotonic()
    settings = Settings(_env_file=None, corpus=corpus, index_dir=index_dir)
    service = open_service(settings, stream=io.StringIO())
    final_seconds = time.monotonic() - rebuild_started
    if vault_code(service) != possible[-1]:
        print("FAIL: the next run does not serve the current corpus", file=sys.stderr)
        return 1
    remaining = sorted(p.name for p in index_dir.iterdir())
    live = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    clean = remaining == sorted([MARKER, CURRENT, LOCK, live])

    print(f"articles per build:        {articles:,}")
    print(f"kills survived:            {survived} (in {rounds} builds; {finished} finished before the kill)")
    if updates:
        print(f"  of them in updates:      {modes['update']}")
    for phase in ("starting", "reading", "writing and publishing"):
        print(f"  killed while {phase + ':':24s}{phases[phase]}")
    print("found right after a kill (each build removes what earlier kills left):")
    for kind, count in sorted(left.items()):
        print(f"  {kind + ':':38s}{count}")
    if build_seconds:
        print(f"full build:                {sum(build_seconds) / len(build_seconds):.2f} s on average")
    if load_seconds:
        print(f"load + full verify:        {max(load_seconds):.2f} s at most")
    print(f"next run (open_service):   {final_seconds:.2f} s, answers the current corpus")
    print(f"index folder at the end:   {remaining} ({'clean' if clean else 'NOT CLEAN'})")
    print(f"wrong loads:               0; total {time.monotonic() - started:.0f} s")
    return 0 if clean else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=3000, help="articles in the corpus (default 3000)")
    parser.add_argument("--kills", type=int, default=100, help="builds to kill (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the kill moments")
    parser.add_argument("--updates", action="store_true", help="run in-place updates in most rounds")
    parser.add_argument(
        "--workdir", type=Path, help="where to put the corpus and index (default: a temp dir)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="  (log) %(levelname)s: %(message)s")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return run(args.articles, args.kills, args.seed, args.workdir, args.updates)
    with tempfile.TemporaryDirectory(prefix="article-qa-crash-") as tmp:
        return run(args.articles, args.kills, args.seed, Path(tmp), args.updates)


if __name__ == "__main__":
    sys.exit(main())
