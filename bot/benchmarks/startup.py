"""Start-up time of ``run_bot.py ask "question"``, and proof it never imports the Telegram stack."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.benchmarks.matching import PROJECT
from bot.benchmarks.table import median

SETTING_PREFIXES = ("TELEGRAM_", "BOT_")
TELEGRAM_PACKAGES = ("telegram", "httpx", "httpcore", "apscheduler")


@dataclass
class StartupResult:
    """Wall times of whole ``ask`` processes and what the ``ask`` path imported."""

    runs: list[float]
    telegram_modules: list[str] = field(default_factory=list)  # must stay empty
    heaviest_imports: list[tuple[str, float]] = field(default_factory=list)  # (name, seconds)

    @property
    def median(self) -> float:
        return median(self.runs)


def measure_ask_startup(knowledge_dir: Path, question: str, runs: int) -> StartupResult:
    """Median of ``runs`` timed ``ask`` processes after one untimed run (warm OS caches)."""
    command = [sys.executable, "run_bot.py", "ask", "--knowledge-dir", str(knowledge_dir),
               question]
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    _run(command, env)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        _run(command, env)
        times.append(time.perf_counter() - began)
    traced = _run([command[0], "-X", "importtime", *command[1:]], env)
    imported = _imports(traced.stderr)
    telegram = sorted(name for name in imported if name.split(".")[0] in TELEGRAM_PACKAGES)
    direct = _imports(traced.stderr, direct_only=True)
    heaviest = sorted(direct.items(), key=lambda item: item[1], reverse=True)
    return StartupResult(times, telegram, heaviest[:4])


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return done


def _imports(importtime_log: str, direct_only: bool = False) -> dict[str, float]:
    """Module name -> cumulative import seconds, from ``-X importtime`` output.

    ``direct_only`` keeps the top two levels (the script's imports and theirs).
    """
    found: dict[str, float] = {}
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|", 2)
        depth = len(name) - len(name.lstrip())
        if cumulative.strip().isdigit() and (not direct_only or depth <= 3):
            found[name.strip()] = int(cumulative) / 1e6
    return found
