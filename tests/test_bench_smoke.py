"""Smoke test of ``run_bot.py bench``: every part runs at tiny sizes and fills its rows.

Timing is never asserted: tests must not fail because the machine is busy.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.benchmarks.runner import BenchOptions, render, run_bench
from bot.benchmarks.synthetic import write_knowledge
from bot.benchmarks.table import MET, MISSED
from bot.knowledge import load_knowledge

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"


def test_synthetic_knowledge_base_is_valid_and_keeps_alternate_counts(tmp_path: Path) -> None:
    shipped = load_knowledge(KNOWLEDGE_DIR)
    assert write_knowledge(KNOWLEDGE_DIR, tmp_path / "kb", 80) == 80
    kb = load_knowledge(tmp_path / "kb")  # raises on any invalid entry
    assert len(kb.entries) == 80
    real_counts = {len(e.alternates) for e in shipped.entries.values()}
    synthetic = [e for e in kb.entries.values() if e.id.startswith("syn-")]
    assert synthetic and all(len(e.alternates) in real_counts for e in synthetic)


def test_every_part_runs_at_tiny_sizes_and_the_table_has_all_rows() -> None:
    rows = run_bench(BenchOptions.tiny(KNOWLEDGE_DIR))
    areas = Counter(row.area for row in rows)
    # 2 knowledge-base sizes × (matcher, floor, ratio, load, memory)
    assert areas["matcher"] == 2 and areas["floor"] == 4
    assert areas["load"] == 2 and areas["memory"] == 2
    assert areas["startup"] == 2
    assert areas["e2e"] == 8  # 4 runs × (speed, exactly one reply)
    assert areas["reminders"] == 3
    assert all(row.value for row in rows)
    assert all(row.status in (MET, MISSED) for row in rows if row.target)
    # Correctness, unlike speed, is asserted: no question lost, ask never imports Telegram.
    replies = [row for row in rows if row.area == "e2e" and "exactly one reply" in row.measurement]
    assert all(row.status == MET for row in replies), replies
    telegram = next(row for row in rows if "Telegram stack" in row.measurement)
    assert telegram.value == "none"
    table = render(rows).splitlines()
    assert table[0].startswith("| Area") and len(table) == len(rows) + 2
