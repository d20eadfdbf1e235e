"""Soak test: the real bot process under steady load from many users, memory watched.

Run it (about ``--minutes`` plus ~15 s; loopback only, nothing leaves the machine)::

    .venv/bin/python -m tests.soak --minutes 10

What it does:

* starts the fake Bot API (``tests.bot_api_server``) on 127.0.0.1 and the real
  ``run_bot.py`` process against it (long polling, default settings, a fresh data dir);
* pushes questions at a steady rate (default 25/s) from ``--users`` users (default 200),
  round robin, so every normal user stays under the per-user flood limit
  (BOT_USER_RATE_LIMIT, 20/min); the questions are the labelled ones in
  ``knowledge/eval/*.yaml`` (answers, "did you mean", fallbacks, red flags, small talk);
* one extra user floods the bot (default 5 messages/s) the whole time;
* samples the bot process's RSS (``VmRSS`` in ``/proc/<pid>/status``) every few seconds;
  the baseline is taken after a warm-up (a quarter of the run, at most 60 s), the final
  figure after the load stops and every reply has arrived;
* stops by itself, sends SIGTERM, and prints the figures.

It fails (exit 1) when:

* any normal user's question went unanswered, or got more than one reply;
* RSS grew by more than ``--max-growth-mb`` (default 30 MB) from the baseline to the end;
* the flooder got more answers than the flood limit allows, or never a "slow down" note;
* the 99th percentile reply latency of normal users exceeded ``--max-p99`` seconds
  (default 2.0);
* the bot logged an ERROR, or did not exit with code 0 on SIGTERM within 20 s.

Why 25 questions/s and not more: Telegram allows a bot about 30 messages per second in
all, and the bot's rate limiter (AIORateLimiter) enforces exactly that. A steady rate
above 30/s cannot be answered by any single bot; replies would queue without bound.
``--rate 50`` shows that queueing (the latency bound then fails).

The pytest suite runs a 20-second version (tests/test_reliability_soak.py) with the same
bounds. The fake server's own bookkeeping is trimmed here (see SoakBotApi) so the load
generator does not grow without bound during a long run; the memory measured is the bot's.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.bot_api_server import Call, FakeBotApi

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"

NORMAL_USER_BASE = 500_000
FLOODER_ID = 599_999
SLOW_DOWN_MARK = "faster than i can read"
USER_RATE_LIMIT = 20  # the bot's default BOT_USER_RATE_LIMIT, per minute
SAMPLE_EVERY = 2.0
FALLBACK_QUESTIONS = (
    "what do peptides even do",
    "how often should i use my gua sha",
    "why does my skin sag",
    "what is hyaluronic acid",
    "I got a rash after retinol",
    "hi",
    "massage",
    "thanks!",
)


def load_questions() -> list[str]:
    """The labelled questions of the eval sets: a realistic mix of every kind of reply."""
    questions: list[str] = []
    for path in sorted((KNOWLEDGE_DIR / "eval").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for item in data.get("questions") or []:
            if isinstance(item, dict) and isinstance(item.get("q"), str) and item["q"].strip():
                questions.append(item["q"])
    return questions or list(FALLBACK_QUESTIONS)


class SoakBotApi(FakeBotApi):
    """The fake Bot API, keeping tallies instead of every call and message.

    Overrides two internals of FakeBotApi (``_record`` and ``_bot_message``) so that a
    long run does not keep hundreds of thousands of calls and messages in memory: sends
    and polls are counted per chat, latency is measured, and the rest is recorded as usual.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pushed: dict[int, deque[float]] = {}
        self.replies: dict[int, int] = {}
        self.failed_sends: list[str] = []
        self.latencies: list[float] = []
        self.flood_answers = 0
        self.flood_slow_downs = 0
        self.polls = 0

    def ask(self, chat_id: int, text: str) -> None:
        with self._lock:
            self.pushed.setdefault(chat_id, deque()).append(time.monotonic())
        self.push_message(chat_id, text)

    def _record(self, call: Call, *, error: Any = None) -> None:
        if call.method == "getUpdates" and error is None:
            self.polls += 1
            self._cond.notify_all()
            return
        if call.method != "sendMessage":
            super()._record(call, error=error)
            return
        chat_id = int(call.params.get("chat_id") or 0)
        if error is not None:
            self.failed_sends.append(f"chat {chat_id}: {error.error_code} {error.description}")
        elif chat_id == FLOODER_ID:
            if SLOW_DOWN_MARK in str(call.params.get("text", "")).lower():
                self.flood_slow_downs += 1
            else:
                self.flood_answers += 1
        else:
            self.replies[chat_id] = self.replies.get(chat_id, 0) + 1
            pending = self.pushed.get(chat_id)
            if pending:
                self.latencies.append(time.monotonic() - pending.popleft())
        self._cond.notify_all()

    def _bot_message(self, chat: dict[str, Any], params: dict[str, Any],
                     content: dict[str, Any], *, markup: dict[str, Any] | None = None,
                     ) -> dict[str, Any]:
        message = super()._bot_message(chat, params, content, markup=markup)
        self._messages.pop((int(chat["id"]), int(message["message_id"])), None)
        return message

    def _remember_message(self, message: dict[str, Any]) -> None:
        self._remember_chat(message.get("chat"))  # users' messages are not needed again


@dataclass
class SoakResult:
    seconds: float
    rate: float
    users: int
    questions: int = 0
    answered: int = 0
    unanswered: int = 0
    duplicated: int = 0
    failed_sends: list[str] = field(default_factory=list)
    latency_p50: float = 0.0
    latency_p95: float = 0.0
    latency_p99: float = 0.0
    latency_max: float = 0.0
    flood_sent: int = 0
    flood_answers: int = 0
    flood_slow_downs: int = 0
    flood_answer_limit: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_max_mb: float = 0.0
    rss_samples: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    db_mb: float = 0.0
    exit_code: int | None = None
    error_lines: list[str] = field(default_factory=list)
    max_growth_mb: float = 30.0
    max_p99: float = 2.0
    problems: list[str] = field(default_factory=list)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_start_mb

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        lines = [
            f"soak: {self.seconds:.0f} s at {self.rate:g} questions/s from {self.users} users "
            f"+ 1 flooder",
            f"  questions {self.questions}, answered {self.answered}, unanswered "
            f"{self.unanswered}, answered twice {self.duplicated}, failed sends "
            f"{len(self.failed_sends)}",
            f"  reply latency p50 {self.latency_p50 * 1000:.0f} ms, p95 "
            f"{self.latency_p95 * 1000:.0f} ms, p99 {self.latency_p99 * 1000:.0f} ms, max "
            f"{self.latency_max * 1000:.0f} ms (bound p99 <= {self.max_p99:g} s)",
            f"  flooder: sent {self.flood_sent}, answered {self.flood_answers} (limit "
            f"{self.flood_answer_limit}), 'slow down' notes {self.flood_slow_downs}",
            f"  RSS after warm-up {self.rss_start_mb:.1f} MB, at end {self.rss_end_mb:.1f} MB, "
            f"growth {self.rss_growth_mb:+.1f} MB (bound {self.max_growth_mb:g} MB), max "
            f"{self.rss_max_mb:.1f} MB",
            f"  bot CPU time {self.cpu_seconds:.1f} s, database {self.db_mb:.1f} MB, exit code "
            f"{self.exit_code}, ERROR log lines {len(self.error_lines)}",
        ]
        lines.append("  RESULT: " + ("PASS" if self.ok else "FAIL"))
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def start_bot(api: FakeBotApi, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))},
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "BOT_DATA_DIR": str(data_dir),
        "BOT_KNOWLEDGE_DIR": str(KNOWLEDGE_DIR),
        "BOT_LOG_LEVEL": "WARNING",
        "BOT_USER_RATE_LIMIT": str(USER_RATE_LIMIT),
    }
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "run_bot.py"], cwd=PROJECT, env=environment,
                                stdout=log, stderr=subprocess.STDOUT)


def run_soak(seconds: float, *, rate: float = 25.0, users: int = 200, flood_rate: float = 5.0,
             max_growth_mb: float = 30.0, max_p99: float = 2.0, drain_timeout: float = 30.0,
             warmup: float | None = None, verbose: bool = False) -> SoakResult:
    """Run the soak for ``seconds`` of load and return the figures (``result.ok``)."""
    if seconds <= 0 or rate <= 0 or users < 1:
        raise ValueError("seconds and rate must be positive, users at least 1")
    warmup = min(60.0, seconds / 4) if warmup is None else warmup
    result = SoakResult(seconds=seconds, rate=rate, users=users, max_growth_mb=max_growth_mb,
                        max_p99=max_p99)
    questions = load_questions()
    rng = random.Random(20240601)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, SoakBotApi() as api:
        log_path = Path(tmp) / "bot.log"
        process = start_bot(api, Path(tmp) / "data", log_path)
        try:
            api.wait_for(lambda: api.calls_to("setMyCommands") or process.poll() is not None,
                         timeout=30)
            if process.poll() is not None:
                raise RuntimeError("the bot exited at start-up:\n"
                                   + log_path.read_text(errors="replace"))
            _drive(api, process.pid, result, questions, rng, seconds, rate, users, flood_rate,
                   warmup, verbose)
            deadline = time.monotonic() + drain_timeout
            while time.monotonic() < deadline:
                with api._lock:
                    waiting = sum(len(p) for p in api.pushed.values())
                if not waiting:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # a late duplicate would show up here
            result.rss_end_mb = rss_mb(process.pid)
            result.rss_samples.append(result.rss_end_mb)
            result.cpu_seconds = cpu_seconds(process.pid)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                result.exit_code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                result.problems.append("the bot did not exit within 20 s of SIGTERM")
        database = Path(tmp) / "data" / "bot.sqlite3"
        result.db_mb = sum(p.stat().st_size for p in database.parent.glob("bot.sqlite3*")
                           ) / 2**20 if database.exists() else 0.0
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        result.error_lines = [line for line in log_text.splitlines()
                              if " ERROR " in line or " CRITICAL " in line]
        _tally(api, result)
    _judge(result)
    return result


def _drive(api: SoakBotApi, pid: int, result: SoakResult, questions: list[str],
           rng: random.Random, seconds: float, rate: float, users: int, flood_rate: float,
           warmup: float, verbose: bool) -> None:
    start = time.monotonic()
    end = start + seconds
    next_question = next_flood = next_sample = start
    user = 0
    baseline_taken = False
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_sample:
            sample = rss_mb(pid)
            result.rss_samples.append(sample)
            if not baseline_taken and now - start >= warmup:
                result.rss_start_mb, baseline_taken = sample, True
            if verbose:
                print(f"  t={now - start:6.1f}s RSS {sample:6.1f} MB, questions "
                      f"{result.questions}, replies {sum(api.replies.values())}", flush=True)
            next_sample += SAMPLE_EVERY
        while next_question <= now:
            api.ask(NORMAL_USER_BASE + user, rng.choice(questions))
            result.questions += 1
            user = (user + 1) % users
            next_question += 1 / rate
        while flood_rate and next_flood <= now:
            api.push_message(FLOODER_ID, "what do peptides do")
            result.flood_sent += 1
            next_flood += 1 / flood_rate
        time.sleep(max(0.0, min(next_question, next_sample, end) - time.monotonic()))
    if not baseline_taken:
        result.rss_start_mb = result.rss_samples[0] if result.rss_samples else rss_mb(pid)
    result.flood_answer_limit = USER_RATE_LIMIT * (math.ceil(seconds / 60) + 1)


def _tally(api: SoakBotApi, result: SoakResult) -> None:
    with api._lock:
        unanswered = sum(len(p) for p in api.pushed.values())
        result.answered = sum(api.replies.values())
        result.unanswered = unanswered
        result.duplicated = max(0, result.answered + unanswered - result.questions)
        result.failed_sends = list(api.failed_sends)
        result.flood_answers = api.flood_answers
        result.flood_slow_downs = api.flood_slow_downs
        latencies = list(api.latencies)
    result.latency_p50 = percentile(latencies, 0.50)
    result.latency_p95 = percentile(latencies, 0.95)
    result.latency_p99 = percentile(latencies, 0.99)
    result.latency_max = max(latencies, default=0.0)
    result.rss_max_mb = max(result.rss_samples, default=0.0)


def _judge(result: SoakResult) -> None:
    problems = result.problems
    if result.unanswered:
        problems.append(f"{result.unanswered} questions were never answered")
    if result.duplicated:
        problems.append(f"{result.duplicated} replies more than questions (answered twice)")
    if result.failed_sends:
        problems.append(f"{len(result.failed_sends)} sendMessage calls failed, first: "
                        f"{result.failed_sends[0]}")
    if result.rss_growth_mb > result.max_growth_mb:
        problems.append(f"RSS grew {result.rss_growth_mb:.1f} MB (> {result.max_growth_mb} MB)")
    if result.latency_p99 > result.max_p99:
        problems.append(f"p99 latency {result.latency_p99:.2f} s (> {result.max_p99} s)")
    if result.flood_sent and result.flood_answers > result.flood_answer_limit:
        problems.append(f"the flooder got {result.flood_answers} answers "
                        f"(> {result.flood_answer_limit})")
    if result.flood_sent > USER_RATE_LIMIT and not result.flood_slow_downs:
        problems.append("the flooder was never asked to slow down")
    if result.exit_code != 0:
        problems.append(f"the bot exited with code {result.exit_code} on SIGTERM")
    if result.error_lines:
        problems.append(f"{len(result.error_lines)} ERROR log lines, first: "
                        f"{result.error_lines[0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="load duration (10)")
    parser.add_argument("--rate", type=float, default=25.0, help="questions per second (25)")
    parser.add_argument("--users", type=int, default=200, help="normal users (200)")
    parser.add_argument("--flood-rate", type=float, default=5.0,
                        help="messages per second from the one flooding user (5; 0: none)")
    parser.add_argument("--max-growth-mb", type=float, default=30.0,
                        help="allowed RSS growth after warm-up (30)")
    parser.add_argument("--max-p99", type=float, default=2.0,
                        help="allowed 99th percentile reply latency in seconds (2.0)")
    parser.add_argument("--quiet", action="store_true", help="only the final figures")
    args = parser.parse_args(argv)
    result = run_soak(args.minutes * 60, rate=args.rate, users=args.users,
                      flood_rate=args.flood_rate, max_growth_mb=args.max_growth_mb,
                      max_p99=args.max_p99, verbose=not args.quiet)
    print(result.report(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
