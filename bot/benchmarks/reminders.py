"""Reminder fan-out: many subscriptions due in the same minute, sent under Telegram's limits.

The subscriptions are written through ``ReminderStore`` for a time one minute ago, so at
start-up ``restore_reminders`` (timed inside the bot process) schedules every one of
them with a catch-up run, the path a restart right after the reminder minute takes:
all jobs are due at once. The fake server emulates Telegram's documented limits
(1 message per second per chat, 30 per second overall; 429 with ``retry_after``
beyond them) and the bot runs as shipped, with AIORateLimiter. The send rate is
measured over the first ``reminder_sends`` reminders, and only that is reported.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.benchmarks.e2e import BotProcess, fake_bot_api, process_cpu
from bot.benchmarks.table import INFO, Row, ms, verdict

if TYPE_CHECKING:
    from bot.benchmarks.runner import BenchOptions

FIRST_CHAT = 20_000_000
TELEGRAM_OVERALL_RATE = 30.0  # messages per second, Telegram's documented bot limit


@dataclass
class ReminderResult:
    subscriptions: int
    insert_seconds: float
    restore_seconds: float
    scheduled: int
    jobs: int
    measured_sends: int
    send_seconds: float  # from the first to the last measured send
    first_send_after: float  # seconds from the end of restore_reminders to the first send
    rate_limited: int  # 429 answers from the server while measuring
    failed_sends: int
    bot_cpu: float | None

    @property
    def send_rate(self) -> float:
        return (self.measured_sends - 1) / self.send_seconds if self.send_seconds else 0.0


def insert_subscriptions(data_dir: Path, count: int, at: datetime) -> float:
    """Subscribe ``count`` chats through ReminderStore for ``at``'s time of day (UTC)."""
    from bot.reminder_store import ReminderStore
    from bot.storage import Storage

    storage = Storage(data_dir / "bot.sqlite3")
    try:
        # Test data only: skip the fsync per subscription so setting up stays quick.
        storage.db.execute("PRAGMA synchronous=OFF")
        store = ReminderStore(storage)
        began = time.perf_counter()
        for number in range(count):
            store.subscribe(FIRST_CHAT + number, at.time().replace(second=0, microsecond=0))
        return time.perf_counter() - began
    finally:
        storage.close()


def run_fanout(knowledge_dir: Path, subscriptions: int, sends: int,
               progress: Callable[[str], None] = lambda _: None) -> ReminderResult:
    """Start the bot on a database of due subscriptions; measure scheduling and sending."""
    server_class = fake_bot_api()
    with server_class() as api, tempfile.TemporaryDirectory(prefix="bench-remind-") as tmp:
        api.emulate_rate_limits(per_chat_per_second=1, overall_per_second=30)
        data_dir = Path(tmp) / "data"
        due = datetime.now(UTC) - timedelta(minutes=1)
        progress(f"reminders: subscribing {subscriptions:,} chats for {due:%H:%M} UTC")
        insert_seconds = insert_subscriptions(data_dir, subscriptions, due)
        timing = Path(tmp) / "restore.json"
        bot = BotProcess(api, knowledge_dir, data_dir, rate_limiter=True,
                         extra_args=["--restore-timing", str(timing)])
        try:
            bot.wait_ready()
            restored = _wait_for_file(timing, bot)
            restored_at = time.time()
            cpu_before = process_cpu(bot.process.pid)
            limited_before = api.rate_limited_count
            progress(f"reminders: measuring the first {sends:,} sends")
            times, failed = _wait_for_sends(api, sends, budget=60 + sends / 10)
            cpu_after = process_cpu(bot.process.pid)
            limited = api.rate_limited_count - limited_before
        finally:
            bot.stop()
    return ReminderResult(
        subscriptions=subscriptions, insert_seconds=insert_seconds,
        restore_seconds=restored["seconds"], scheduled=restored["scheduled"],
        jobs=restored["jobs"], measured_sends=len(times),
        send_seconds=times[-1] - times[0] if len(times) > 1 else 0.0,
        first_send_after=times[0] - restored_at if times else 0.0,
        rate_limited=limited, failed_sends=failed,
        bot_cpu=(cpu_after - cpu_before
                 if cpu_before is not None and cpu_after is not None else None),
    )


def _wait_for_file(path: Path, bot: BotProcess, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text(encoding="utf-8"):
        if bot.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"restore_reminders did not finish:\n{bot.output()}")
        time.sleep(0.02)
    return json.loads(path.read_text(encoding="utf-8"))


def _wait_for_sends(api: Any, count: int, budget: float) -> tuple[list[float], int]:
    """Server receive times of the first ``count`` accepted reminder sends, and refusals."""
    times: list[float] = []
    failed = seen = 0
    deadline = time.monotonic() + budget
    while len(times) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        calls = api.calls[seen:]
        seen += len(calls)
        for call in calls:
            chat = call.params.get("chat_id") if call.method == "sendMessage" else None
            if not isinstance(chat, int) or chat < FIRST_CHAT:
                continue
            if call.ok:
                times.append(call.time)
            elif call.error_code != 429:
                failed += 1
    return sorted(times)[:count], failed


def reminder_rows(options: BenchOptions, work: Path,
                  progress: Callable[[str], None]) -> Sequence[Row]:
    """Rows for part 6 of the table."""
    r = run_fanout(options.knowledge_dir.resolve(), options.reminders, options.reminder_sends,
                   progress)
    n = f"{r.subscriptions:,} subscriptions due the same minute"
    cpu = (f"; bot CPU {ms(r.bot_cpu / r.measured_sends)}/send"
           if r.bot_cpu is not None and r.measured_sends else "")
    limited_by_telegram = r.send_rate >= 0.9 * TELEGRAM_OVERALL_RATE
    return [
        Row("reminders", f"{n}: restore_reminders at start-up ({r.scheduled:,} scheduled, "
                         f"{r.jobs:,} jobs)",
            ms(r.restore_seconds), "< 2 s", verdict(r.restore_seconds < 2)),
        Row("reminders", f"{n}: send rate over the first {r.measured_sends:,} sends, "
                         f"Telegram limits emulated (429s: {r.rate_limited}, refused: "
                         f"{r.failed_sends}; first send {ms(r.first_send_after)} after "
                         f"restore{cpu})",
            f"{r.send_rate:.1f}/s", "≈ 30/s (Telegram's limit)",
            verdict(limited_by_telegram and r.failed_sends == 0)),
        Row("reminders", f"{n}: inserting them through ReminderStore (setup, fsync off)",
            ms(r.insert_seconds), "", INFO),
    ]
