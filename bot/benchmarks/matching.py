"""Matcher latency, the rapidfuzz floor, load/index time and peak memory for one KB size.

``measure_kb`` runs in a fresh interpreter per size (``run_kb_worker``) so one
size's memory peak or warm caches cannot leak into another's figures.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.benchmarks.synthetic import all_phrasings
from bot.benchmarks.table import median, percentile

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class Latency:
    """Seconds: p50/p99 over questions (each its median call), max over all calls."""

    p50: float
    p99: float
    max: float
    calls: int

    @classmethod
    def of(cls, timings: Sequence[Sequence[float]]) -> Latency:
        """From each question's timings: percentiles of their medians, the raw maximum."""
        typical = [median(t) for t in timings]
        return cls(percentile(typical, 0.5), percentile(typical, 0.99),
                   max((max(t) for t in timings), default=0.0), sum(len(t) for t in timings))


@dataclass
class KbResult:
    """Everything measured for one knowledge-base size."""

    entries: int
    phrasings: int
    load_s: float
    index_s: float
    baseline_rss_kb: int
    peak_rss_kb: int
    matcher: Latency
    floor: Latency


def _max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure_kb(knowledge_dir: Path, questions: Sequence[str], repeats: int,
               load_repeats: int = 3) -> KbResult:
    """Load and index ``knowledge_dir``, then time ``repeats`` passes over ``questions``.

    Latency percentiles are over the questions, each question's latency being the
    median of its ``repeats`` timings: the bench often shares the machine, and a
    call that was preempted says nothing about the matcher. ``max`` is the raw
    maximum over every call, the first of which ran on a fresh matcher (words never
    seen pay for the typo search, as in production). Load and index are timed
    ``load_repeats`` times (the median is kept); the peak RSS is read after the first.
    """
    from bot.knowledge import load_knowledge
    from bot.matcher import Matcher

    gc.collect()
    baseline = _max_rss_kb()
    loads: list[float] = []
    indexes: list[float] = []
    peak = 0
    for _ in range(max(1, load_repeats)):
        start = time.perf_counter()
        kb = load_knowledge(knowledge_dir)
        loaded = time.perf_counter()
        matcher = Matcher(kb)
        indexed = time.perf_counter()
        loads.append(loaded - start)
        indexes.append(indexed - loaded)
        peak = peak or _max_rss_kb()

    per_question = [_timings(matcher.match, q, repeats) for q in questions]
    phrasings = all_phrasings(kb)

    def floor_call(question: str) -> object:
        return process.extractOne(question, phrasings, scorer=fuzz.ratio)

    floor = [_timings(floor_call, q, repeats) for q in questions]
    return KbResult(
        entries=len(kb.entries), phrasings=len(phrasings), load_s=median(loads),
        index_s=median(indexes), baseline_rss_kb=baseline, peak_rss_kb=peak,
        matcher=Latency.of(per_question), floor=Latency.of(floor),
    )


def _timings(call: Callable[[str], object], question: str, repeats: int) -> list[float]:
    clock = time.perf_counter
    out = []
    for _ in range(max(1, repeats)):
        began = clock()
        call(question)
        out.append(clock() - began)
    return out


def run_kb_worker(knowledge_dir: Path, questions_file: Path, repeats: int,
                  load_repeats: int = 3, timeout: float = 900) -> KbResult:
    """``measure_kb`` in a fresh ``python -m bot.benchmarks kb-worker`` process."""
    # ru_maxrss survives exec: a child exec'ed straight from this (large) process would
    # report this process's peak. A shell in between forks the worker from a small image.
    command = ["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-m", "bot.benchmarks",
               "kb-worker", str(knowledge_dir), str(questions_file), str(repeats),
               str(load_repeats)]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False,
                          timeout=timeout, env=child_env())
    if done.returncode != 0:
        raise RuntimeError(f"kb worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("matcher", "floor"):
        data[key] = Latency(**data[key])
    return KbResult(**data)


def kb_worker_main(args: Sequence[str]) -> int:
    """Entry of the worker process: prints one JSON line with the KbResult."""
    knowledge_dir, questions_file, repeats = Path(args[0]), Path(args[1]), int(args[2])
    load_repeats = int(args[3]) if len(args) > 3 else 3
    questions = json.loads(questions_file.read_text(encoding="utf-8"))
    result = measure_kb(knowledge_dir, questions, repeats, load_repeats)
    print(json.dumps(asdict(result)))
    return 0


def child_env() -> dict[str, str]:
    """This environment, with the project importable (``tests`` included)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    return env
