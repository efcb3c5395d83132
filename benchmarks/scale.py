"""Retrieval at scale, side by side: article-qa's inverted index, rank-bm25 and bm25s on one corpus.

    python -m benchmarks.scale --passages 100000
    python -m benchmarks.scale --passages 1000000 --ref-queries 20      # ~12 minutes on 2 cores
    python -m benchmarks.scale --jsonl articles.jsonl --passages 200000  # real text instead

Generates a deterministic news-like corpus (Zipfian vocabulary, varied passage lengths, bursty
per-article topic words; see scale_corpus.py) or cuts passages from a JSONL file of articles, and
questions of 3-8 content words drawn from random passages. Then, each step in a fresh process so
that peaks and timings do not mix:
  build   index the passages (one Python list of token lists, the same for every engine) and save it;
          peak RSS includes that list, "build dRSS" is the growth over it;
  serve   load the saved index, answer every question (rank-bm25: the first --ref-queries only; it
          takes seconds each at scale), report load time, p50/p95 latency and RSS after serving;
  extend  (article-qa) load the index, add --extra passages, save; compare with a full build of all.
Parity is checked, not assumed: article-qa's top-k against rank-bm25 (LuceneBM25.top_k, the reference)
on the questions rank-bm25 answered, against an exhaustive scoring of article-qa's own impacts on every
question, and against bm25s's scores. The exit status is 1 if any parity check fails; timings are
only reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from benchmarks import scale_e2e
from benchmarks.scale_corpus import TokenCorpus, from_jsonl, questions, synthetic
from index.bm25 import BM25Params, LuceneBM25
from index.inverted import InvertedIndex

ROOT = Path(__file__).resolve().parents[1]

ENGINES = ("article-qa", "rank-bm25", "bm25s")
PARAMS = BM25Params()  # the product's defaults when the run starts; --k1/--b pin them for every child
REL = 1e-5  # float32 impacts and bm25s's float32 sums agree with rank-bm25's float64 to this


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mb(n_bytes: float) -> float:
    return n_bytes / 2**20


def peak_rss() -> int:
    """This process's peak RSS. (getrusage's ru_maxrss survives exec, so a child would inherit ours.)"""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def bm25s_available() -> bool:
    try:
        import bm25s  # noqa: F401
    except ImportError:
        return False
    return True


# ---- child processes -----------------------------------------------------------------------------


def child_build(engine: str, work: Path, n: int) -> dict[str, Any]:
    corpus = TokenCorpus.load(work / "corpus")
    out = work / engine
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    if engine == "bm25s":
        import bm25s

        docs_ids = [corpus.passage_ids(i).tolist() for i in range(n)]
        vocab = {word: i for i, word in enumerate(corpus.words)}
        base = rss()
        started = time.perf_counter()
        retriever = bm25s.BM25(method="lucene", k1=PARAMS.k1, b=PARAMS.b, backend="numpy")
        retriever.index((docs_ids, vocab), show_progress=False)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        retriever.save(str(out), show_progress=False)
    else:
        docs = list(corpus.iter_passages(0, n))
        base = rss()
        started = time.perf_counter()
        if engine == "rank-bm25":
            reference = LuceneBM25(docs, PARAMS)
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            with (out / "bm25.pkl").open("wb") as f:
                pickle.dump(reference, f, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            step = max(n // 10, 1)

            def progress(done: int) -> None:
                if done // step != (done - 8192) // step or done == n:
                    log(f"  article-qa build: {done:,}/{n:,} passages")

            index = InvertedIndex.build(docs, PARAMS, progress)
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            index.save(out)
    save_s = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"build_s": build_s, "save_s": save_s, "peak_rss": peak_rss(), "base_rss": base, "disk": size}


def child_serve(engine: str, work: Path, n: int, k: int, limit: int) -> dict[str, Any]:
    asked: list[list[str]] = json.loads((work / "questions.json").read_text(encoding="utf-8"))[:limit]
    folder = work / engine
    base = rss()
    started = time.perf_counter()
    if engine == "rank-bm25":
        with (folder / "bm25.pkl").open("rb") as f:
            reference: LuceneBM25 = pickle.load(f)
        load_s = time.perf_counter() - started

        scored: dict[int, Any] = {}

        def run(terms: list[str]) -> list[tuple[int, float]]:
            known = [t for t in dict.fromkeys(terms) if t in reference.idf]
            if known:
                scored[id(terms)] = reference.get_scores(known)  # timed: rank-bm25 scores every passage
            return []

        def result(terms: list[str]) -> list[tuple[int, float]]:
            # The reference's own top_k, fed the scores computed (and timed) above.
            reference.get_scores = lambda known: scored[id(terms)]
            return reference.top_k(terms, k)

    elif engine == "bm25s":
        import bm25s

        retriever = bm25s.BM25.load(str(folder), mmap=False)
        load_s = time.perf_counter() - started
        cache: dict[int, list[tuple[int, float]]] = {}

        def run(terms: list[str]) -> list[tuple[int, float]]:
            docs, scores = retriever.retrieve(
                [terms], k=min(k, n), show_progress=False, n_threads=0, backend_selection="numpy"
            )
            return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

        def result(terms: list[str]) -> list[tuple[int, float]]:
            return cache[id(terms)]

    else:
        index = InvertedIndex.load(folder)
        load_s = time.perf_counter() - started

        def run(terms: list[str]) -> list[tuple[int, float]]:
            return index.top_k(terms, k)

        def result(terms: list[str]) -> list[tuple[int, float]]:
            return index.top_k(terms, k)

    loaded_rss = rss()

    def timed_pass() -> list[float]:
        latencies = []
        for terms in asked:
            started = time.perf_counter()
            out = run(terms)
            latencies.append(time.perf_counter() - started)
            if engine == "bm25s":
                cache[id(terms)] = out
        return latencies

    # The fast engines answer every question twice: a cold pass right after loading (first touches
    # of memory, page faults of memory-mapped files), then, after article-qa's prefetch() has read its
    # postings in, the steady-state pass that the p50/p95 columns report. rank-bm25 answers once.
    cold = timed_pass()
    warm_s = None
    if engine == "article-qa":
        started = time.perf_counter()
        index.prefetch()
        warm_s = time.perf_counter() - started
    latencies = timed_pass() if engine != "rank-bm25" else cold
    served_rss = rss()
    results = [result(terms) for terms in asked]
    report: dict[str, Any] = {
        "load_s": load_s,
        "base_rss": base,
        "loaded_rss": loaded_rss,
        "served_rss": served_rss,
        "latencies": latencies,
        "cold_latencies": cold,
        "prefetch_s": warm_s,
        "results": results,
    }
    if engine == "article-qa":
        report["exhaustive_mismatches"] = exhaustive_mismatches(index, folder, asked, k)
    return report


class Exhaustive(InvertedIndex):
    """Scores every posting of the query terms: no pruning at all."""

    exhaustive_postings = 1 << 62


def exhaustive_mismatches(index: InvertedIndex, folder: Path, asked: list[list[str]], k: int) -> int:
    """Questions whose top k differs from the exhaustive scoring of the same index."""
    plain = Exhaustive.load(folder)
    return sum(index.top_k(terms, k) != plain.top_k(terms, k) for terms in asked)


def child_extend(work: Path, n: int, extra: int, verify: bool) -> dict[str, Any]:
    corpus = TokenCorpus.load(work / "corpus")
    added = list(corpus.iter_passages(n, n + extra))
    started = time.perf_counter()
    index = InvertedIndex.load(work / "article-qa")
    grown = index.extend(added)
    extend_s = time.perf_counter() - started
    out = work / "article-qa-extended"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    grown.save(out)
    total_s = time.perf_counter() - started
    report: dict[str, Any] = {"extend_s": extend_s, "extend_save_s": total_s, "passages": extra}
    if verify:
        del index, grown
        docs = list(corpus.iter_passages(0, n + extra))
        started = time.perf_counter()
        full = InvertedIndex.build(docs, PARAMS)
        report["full_build_s"] = time.perf_counter() - started
        del docs
        reference = work / "article-qa-full"
        shutil.rmtree(reference, ignore_errors=True)
        reference.mkdir()
        full.save(reference)
        # Segments rank exactly as one full build: the same top 10, ties included, on 200 questions.
        saved = InvertedIndex.load(out)
        asked = questions(corpus, 200, seed=1)
        report["identical_to_full_build"] = all(saved.top_k(q, 10) == full.top_k(q, 10) for q in asked)
        shutil.rmtree(reference)
    shutil.rmtree(out)
    return report


def run_child(args: list[str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        target = Path(f.name)
    try:
        command = [sys.executable, "-m", "benchmarks.scale", "--child", *args, "--out", str(target)]
        subprocess.run(command, cwd=ROOT, check=True)
        data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
        return data
    finally:
        target.unlink(missing_ok=True)


# ---- parity ----------------------------------------------------------------------------------


def same_ranking(got: Sequence[Sequence[float]], want: Sequence[Sequence[float]], scale: float = 1.0) -> bool:
    """Same length, and the same score at every rank (ids may differ only between tied scores)."""
    if len(got) != len(want):
        return False
    for (_, gs), (_, ws) in zip(got, want, strict=True):
        if abs(gs - ws * scale) > REL * max(abs(gs), 1e-12):
            return False
    return True


# ---- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q)) if values else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    global PARAMS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500, help="questions for the fast engines")
    parser.add_argument("--ref-queries", type=int, default=50, help="questions for rank-bm25 (slow)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--extra", type=int, default=30, help="passages added by the extend step (~5 articles)"
    )
    parser.add_argument("--jsonl", type=Path, help="cut passages from this JSONL of articles instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k1", type=float, default=PARAMS.k1, help="BM25 k1 for every engine")
    parser.add_argument("--b", type=float, default=PARAMS.b, help="BM25 b for every engine")
    parser.add_argument("--workdir", type=Path, help="keep corpus and indexes here (default: a temp dir)")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES)
    )
    parser.add_argument(
        "--no-verify-extend", action="store_true", help="skip the full rebuild that checks extend"
    )
    parser.add_argument(
        "--e2e", action="store_true", help="also build with build_index and time QAService.answer"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    PARAMS = BM25Params(args.k1, args.b)
    if args.child:
        role, engine, work = args.child[0], args.child[1], Path(args.child[2])
        if role == "build":
            report = child_build(engine, work, args.passages)
        elif role == "serve":
            limit = args.ref_queries if engine == "rank-bm25" else args.queries
            report = child_serve(engine, work, args.passages, args.k, limit)
        elif role == "extend":
            report = child_extend(work, args.passages, args.extra, not args.no_verify_extend)
        elif role == "e2e-build":
            report = scale_e2e.child_e2e_build(work, args.passages)
        else:
            asked = json.loads((work / "questions.json").read_text(encoding="utf-8"))
            report = scale_e2e.child_e2e_serve(work, asked[: args.queries])
        args.out.write_text(json.dumps(report), encoding="utf-8")
        return 0

    engines = [e for e in args.engines.split(",") if e]
    if "bm25s" in engines and not bm25s_available():
        log("bm25s is not installed: skipping it (pip install bm25s)")
        engines.remove("bm25s")
    temp = None if args.workdir else tempfile.TemporaryDirectory(prefix="article-qa-scale-")
    work = args.workdir or Path(temp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, engines, work)
    finally:
        if temp is not None:
            temp.cleanup()


def run(args: argparse.Namespace, engines: list[str], work: Path) -> int:
    n, extra = args.passages, args.extra
    started = time.perf_counter()
    corpus = from_jsonl(args.jsonl, n + extra) if args.jsonl else synthetic(n + extra, seed=args.seed)
    if corpus.n_passages < n + extra:
        raise SystemExit(f"{args.jsonl} has only {corpus.n_passages} passages; lower --passages")
    (work / "corpus").mkdir(exist_ok=True)
    corpus.save(work / "corpus")
    first = TokenCorpus(corpus.tokens[: corpus.offsets[n]], corpus.offsets[: n + 1], corpus.words)
    asked = questions(first, args.queries, seed=args.seed + 1)
    (work / "questions.json").write_text(json.dumps(asked), encoding="utf-8")
    tokens = int(corpus.offsets[n])
    del corpus, first
    log(
        f"corpus: {n:,} passages, {tokens:,} tokens ({tokens / n:.0f}/passage), {args.queries} questions, "
        f"generated in {time.perf_counter() - started:.1f} s"
    )

    child_args = ["--passages", str(n), "--k", str(args.k), "--extra", str(extra)]
    child_args += ["--k1", repr(PARAMS.k1), "--b", repr(PARAMS.b)]
    child_args += ["--queries", str(args.queries), "--ref-queries", str(args.ref_queries)]
    built: dict[str, dict[str, Any]] = {}
    served: dict[str, dict[str, Any]] = {}
    for engine in engines:
        log(f"{engine}: building")
        built[engine] = run_child(["build", engine, str(work), *child_args])
        log(f"{engine}: built in {built[engine]['build_s']:.1f} s; serving")
        served[engine] = run_child(["serve", engine, str(work), *child_args])
    extended = None
    if "article-qa" in engines and extra:
        log("article-qa: extending")
        verify = [] if not args.no_verify_extend else ["--no-verify-extend"]
        extended = run_child(["extend", "article-qa", str(work), *child_args, *verify])

    e2e = None
    if args.e2e:
        log("end to end: building with index.builder.build_index")
        e2e = run_child(["e2e-build", "-", str(work), *child_args])
        log(f"end to end: built {e2e['passages']:,} passages in {e2e['build_s']:.1f} s; answering")
        e2e.update(run_child(["e2e-serve", "-", str(work), *child_args]))

    ok = report(args, engines, built, served, extended) if engines else True
    if e2e:
        print(
            f"end to end  QAService.answer, {e2e['passages']:,} passages from "
            f"{e2e['articles']:,} articles: p50 {e2e['p50']:.2f} ms, p95 {e2e['p95']:.2f} ms over "
            f"{e2e['questions']} questions ({e2e['found']} answered; first questions after opening: p50 "
            f"{e2e['cold_p50']:.2f} ms, p95 {e2e['cold_p95']:.2f} ms); open {e2e['open_s']:.2f} s; "
            f"build_index {e2e['build_s']:.1f} s"
        )
        if engines:
            line_e2e = "target  end-to-end QAService.answer p50"
            print(f"{line_e2e:52s} {e2e['p50']:8.3f} ms  (< 10 ms at 1M)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "built": built,
                    "served": {e: {**s, "results": None} for e, s in served.items()},
                    "extended": extended,
                    "e2e": e2e,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0 if ok else 1


def report(
    args: argparse.Namespace,
    engines: list[str],
    built: dict[str, dict[str, Any]],
    served: dict[str, dict[str, Any]],
    extended: dict[str, Any] | None,
) -> bool:
    n, k = args.passages, args.k
    p50 = {e: percentile(served[e]["latencies"], 50) for e in engines}
    p95 = {e: percentile(served[e]["latencies"], 95) for e in engines}
    sys.stderr.flush()
    print(
        f"\n{n:,} passages, top-{k}, BM25 k1={PARAMS.k1} b={PARAMS.b}, {os.cpu_count()} CPUs, "
        "single-threaded queries\n"
    )
    print(
        "| engine | build s | build peak RSS MB (growth) | index MB | load s | prefetch s "
        "| serving RSS MB (growth) | questions | p50 ms | p95 ms | cold p50 ms | cold p95 ms |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for e in engines:
        b, s = built[e], served[e]
        prefetch = f"{s['prefetch_s']:.2f}" if s["prefetch_s"] is not None else "-"
        cold = s["cold_latencies"] if e != "rank-bm25" else []
        cells = [
            e,
            f"{b['build_s']:.1f}",
            f"{mb(b['peak_rss']):.0f} ({mb(b['peak_rss'] - b['base_rss']):.0f})",
            f"{mb(b['disk']):.0f}",
            f"{s['load_s']:.3f}",
            prefetch,
            f"{mb(s['served_rss']):.0f} ({mb(s['served_rss'] - s['base_rss']):.0f})",
            str(len(s["latencies"])),
            f"{p50[e]:.3f}",
            f"{p95[e]:.3f}",
            f"{percentile(cold, 50):.3f}" if cold else "-",
            f"{percentile(cold, 95):.3f}" if cold else "-",
        ]
        print("| " + " | ".join(cells) + " |")
    ok = True
    print()
    if "article-qa" in engines:
        ours = served["article-qa"]
        mism = ours["exhaustive_mismatches"]
        print(
            f"parity  article-qa pruned vs exhaustive (all {len(ours['results'])} questions): "
            f"{'OK' if mism == 0 else f'{mism} MISMATCHES'}"
        )
        ok &= mism == 0
        if "rank-bm25" in engines:
            ref = served["rank-bm25"]["results"]
            bad = sum(not same_ranking(g, w) for g, w in zip(ours["results"], ref, strict=False))
            print(
                f"parity  article-qa vs rank-bm25 reference ({len(ref)} questions): "
                f"{'OK' if bad == 0 else f'{bad} MISMATCHES'}"
            )
            ok &= bad == 0
        if "bm25s" in engines:
            # bm25s's Lucene variant leaves out the (k1 + 1) factor, which does not change the ranking.
            theirs = served["bm25s"]["results"]
            bad = sum(
                not same_ranking(g, w, PARAMS.k1 + 1) for g, w in zip(ours["results"], theirs, strict=True)
            )
            print(
                f"parity  article-qa vs bm25s scores ({len(theirs)} questions): "
                f"{'OK' if bad == 0 else f'{bad} MISMATCHES'}"
            )
            ok &= bad == 0
        if extended:
            line = (
                f"extend  +{extended['passages']} passages: load + extend {extended['extend_s']:.2f} s, "
                f"+ save {extended['extend_save_s']:.2f} s"
            )
            if "full_build_s" in extended:
                same = extended["identical_to_full_build"]
                line += (
                    f"; full build {extended['full_build_s']:.1f} s; "
                    f"identical to full build: {'OK' if same else 'NO'}"
                )
                ok &= bool(same)
            print(line)
        print()
        print("targets (stated for 100k and 1M passages; at smaller sizes fixed costs dominate):")
        targets(engines, built, served, p50, p95, extended)
    return ok


def targets(
    engines: list[str],
    built: dict[str, dict[str, Any]],
    served: dict[str, dict[str, Any]],
    p50: dict[str, float],
    p95: dict[str, float],
    extended: dict[str, Any] | None,
) -> None:
    def line(name: str, value: float, limit: float, unit: str = "x") -> None:
        verdict = "met" if value <= limit else "NOT MET"
        print(f"target  {name:44s} {value:8.3f}{unit}  (<= {limit}{unit})  {verdict}")

    ours_b, ours_s = built["article-qa"], served["article-qa"]
    if "rank-bm25" in engines:
        ref_b, ref_s = built["rank-bm25"], served["rank-bm25"]
        line("p50 / rank-bm25 get_scores p50", p50["article-qa"] / p50["rank-bm25"], round(1 / 300, 5))
        line("build time / rank-bm25", ours_b["build_s"] / ref_b["build_s"], 1.0)
        line("build peak RSS / rank-bm25", ours_b["peak_rss"] / ref_b["peak_rss"], 1.0)
        line(
            "serving dRSS / loaded rank-bm25 dRSS",
            (ours_s["served_rss"] - ours_s["base_rss"]) / (ref_s["served_rss"] - ref_s["base_rss"]),
            0.35,
        )
    if "bm25s" in engines:
        line("p50 / bm25s p50", p50["article-qa"] / p50["bm25s"], 0.8)
        line("p95 / bm25s p95", p95["article-qa"] / p95["bm25s"], 0.5)
    line("load in a fresh process", ours_s["load_s"], 0.2, " s")
    if extended and "full_build_s" in extended:
        line("extend + save / full build", extended["extend_save_s"] / extended["full_build_s"], 0.25)


if __name__ == "__main__":
    sys.exit(main())
