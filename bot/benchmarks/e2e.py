"""End to end: simulated users talking to the real bot through the local fake Bot API server.

The bot runs as ``build_application`` + ``serve`` (exactly what ``run_bot.py run``
does) in its own process, so it has a CPU to itself and does not share a GIL
with the fake server and the load generator, which live in this process. Needs
a source checkout with the test extra installed: the server is
``tests/bot_api_server.py``.

Latency of one question = the time the fake server received the bot's
``sendMessage`` for that chat minus the time the question was pushed; the k-th
question of a chat is paired with the k-th reply to it (a user's questions are
spread far apart, so replies to one chat cannot overtake each other).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.benchmarks.matching import PROJECT, child_env
from bot.benchmarks.table import percentile

FIRST_CHAT = 10_000_000
WARMUP_CHAT = 9_999_999
READY_TIMEOUT = 60.0


def fake_bot_api() -> Any:
    """The fake Bot API server class; it lives in the test suite, not in the package.

    Its request handler writes the headers and the body of each answer in two
    ``send`` calls; with Nagle's algorithm on, the body then waits for the client's
    delayed ACK, which adds about 40 ms to every answer (measured: 73 ms → 5 ms median
    update→reply at 25 updates/s). Telegram's servers do not do that, so for the
    bench the handler sets TCP_NODELAY (``disable_nagle_algorithm``, a standard
    ``socketserver.StreamRequestHandler`` switch), in this process only.
    """
    try:
        from tests import bot_api_server
    except ImportError as exc:  # installed without the source tree
        raise RuntimeError("the end-to-end benchmark needs a source checkout with tests/ "
                           "(tests/bot_api_server.py) and the test extra: "
                           "pip install -e '.[test]'") from exc
    handler = getattr(bot_api_server, "_Handler", None)
    if handler is not None:
        handler.disable_nagle_algorithm = True
    return bot_api_server.FakeBotApi


@dataclass
class E2eResult:
    """One load run: what was offered, what came back, and how fast."""

    label: str
    rate_limiter: bool
    users: int
    per_user: int
    offered_rate: float | None  # questions per second pushed; None: all at once
    pushed: int
    replied: int  # questions that got a reply
    lost: int  # questions that got no reply
    extra: int  # replies beyond one per question
    failed_sends: int  # sendMessage calls the server refused
    push_seconds: float
    seconds: float  # first push to last reply
    bot_cpu: float | None  # CPU seconds the bot process used over that time (Linux)
    p50: float
    p99: float
    max: float

    @property
    def throughput(self) -> float:
        return self.replied / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_update(self) -> float | None:
        return self.bot_cpu / self.replied if self.bot_cpu is not None and self.replied else None

    @property
    def achieved_offer(self) -> float:
        return self.pushed / self.push_seconds if self.push_seconds else float("inf")

    @property
    def all_answered_once(self) -> bool:
        return self.lost == 0 and self.extra == 0 and self.failed_sends == 0


class BotProcess:
    """``python -m bot.benchmarks bot-worker``: the real application polling ``api``."""

    def __init__(self, api: Any, knowledge_dir: Path, data_dir: Path, *,
                 rate_limiter: bool, concurrent_updates: int | None = None,
                 extra_args: Sequence[str] = ()) -> None:
        command = [sys.executable, "-m", "bot.benchmarks", "bot-worker", api.base_url, api.token,
                   str(data_dir), str(knowledge_dir), *extra_args]
        if not rate_limiter:
            command.append("--no-rate-limiter")
        if concurrent_updates is not None:
            command += ["--concurrent-updates", str(concurrent_updates)]
        self.api = api
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=PROJECT, env=child_env(),
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.api.calls_to("setMyCommands"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM, the way a service manager stops the bot; in-flight replies finish."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def run_e2e(label: str, knowledge_dir: Path, questions: Sequence[str], *, users: int,
            per_user: int, rate: float | None, rate_limiter: bool,
            concurrent_updates: int | None = None,
            progress: Callable[[str], None] = lambda _: None) -> E2eResult:
    """Start the bot, push ``users`` × ``per_user`` questions, wait for every reply, measure."""
    server_class = fake_bot_api()
    with server_class() as api, tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        bot = BotProcess(api, knowledge_dir, Path(tmp) / "data", rate_limiter=rate_limiter,
                         concurrent_updates=concurrent_updates)
        try:
            bot.wait_ready()
            _warm_up(api, questions[0])
            progress(f"{label}: pushing {users * per_user} questions")
            cpu_before = process_cpu(bot.process.pid)
            pushes, push_seconds = _push_load(api, questions, users, per_user, rate)
            expected = users * per_user
            budget = 60.0 + (expected / 25 if rate_limiter else expected / 100)
            _wait_for_replies(api, expected, budget, progress, label)
            cpu_after = process_cpu(bot.process.pid)
            time.sleep(0.5)  # a duplicate reply would arrive now
        finally:
            bot.stop()
        result = _analyse(label, api, pushes, push_seconds, users, per_user, rate, rate_limiter)
        if cpu_before is not None and cpu_after is not None:
            result.bot_cpu = cpu_after - cpu_before
        return result


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process so far, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _warm_up(api: Any, question: str) -> None:
    """One question before the clock starts: connections and caches are warm in production."""
    api.push_message(WARMUP_CHAT, question)
    deadline = time.monotonic() + 30
    while not any(c.method == "sendMessage" and c.params.get("chat_id") == WARMUP_CHAT
                  for c in api.calls_to("sendMessage")):
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not answer the warm-up question")
        time.sleep(0.02)


def _push_load(api: Any, questions: Sequence[str], users: int, per_user: int,
               rate: float | None) -> tuple[dict[int, list[float]], float]:
    """Round-robin over users (each user's questions are ``users`` pushes apart), paced."""
    pushes: dict[int, list[float]] = defaultdict(list)
    start = time.perf_counter()
    wall_start = time.time()
    number = 0
    for round_number in range(per_user):
        for user in range(users):
            if rate is not None:
                delay = start + number / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            chat = FIRST_CHAT + user
            text = questions[(user * per_user + round_number) % len(questions)]
            pushed_at = time.time()
            api.push_message(chat, text)
            pushes[chat].append(pushed_at)
            number += 1
    return pushes, time.time() - wall_start


def _wait_for_replies(api: Any, expected: int, budget: float,
                      progress: Callable[[str], None], label: str) -> None:
    """Until every question has a reply, or nothing new arrived for a while."""
    seen = counted = 0
    deadline = time.monotonic() + budget
    last_change, last_report = time.monotonic(), time.monotonic()
    while counted < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        calls = api.calls[seen:]
        seen += len(calls)
        new = sum(1 for c in calls if c.method == "sendMessage"
                  and isinstance(c.params.get("chat_id"), int)
                  and c.params["chat_id"] >= FIRST_CHAT)
        counted += new
        now = time.monotonic()
        if new:
            last_change = now
        elif now - last_change > 20:
            break  # stalled: whatever is missing is reported as lost
        if now - last_report > 10:
            progress(f"{label}: {counted}/{expected} replies")
            last_report = now


def _analyse(label: str, api: Any, pushes: dict[int, list[float]], push_seconds: float,
             users: int, per_user: int, rate: float | None, rate_limiter: bool) -> E2eResult:
    replies: dict[int, list[float]] = defaultdict(list)
    failed = 0
    for call in api.calls_to("sendMessage"):
        chat = call.params.get("chat_id")
        if not isinstance(chat, int) or chat < FIRST_CHAT:
            continue
        if call.ok:
            replies[chat].append(call.time)
        else:
            failed += 1
    latencies: list[float] = []
    lost = extra = answered = 0
    last_reply = 0.0
    for chat, pushed in pushes.items():
        got = sorted(replies.get(chat, []))
        lost += max(0, len(pushed) - len(got))
        extra += max(0, len(got) - len(pushed))
        for sent, received in zip(pushed, got, strict=False):
            latencies.append(received - sent)
            answered += 1
        if got:
            last_reply = max(last_reply, got[-1])
    first_push = min((p[0] for p in pushes.values()), default=0.0)
    return E2eResult(
        label=label, rate_limiter=rate_limiter, users=users, per_user=per_user,
        offered_rate=rate, pushed=sum(len(p) for p in pushes.values()),
        replied=answered, lost=lost, extra=extra, failed_sends=failed,
        push_seconds=push_seconds, seconds=max(0.0, last_reply - first_push), bot_cpu=None,
        p50=percentile(latencies, 0.5), p99=percentile(latencies, 0.99),
        max=max(latencies, default=0.0),
    )


# -- the bot side ---------------------------------------------------------------

def bot_worker_main(args: Sequence[str]) -> int:
    """Run the real bot (``build_application`` + ``serve``) until SIGTERM.

    With ``--no-rate-limiter`` the application is built by the same
    ``build_application`` but with a pass-through limiter in place of AIORateLimiter: a
    bench-only variant that shows the bot's own capacity (Telegram would refuse that
    send rate). ``--restore-timing FILE`` records how long ``restore_reminders`` took.
    """
    parser = argparse.ArgumentParser(prog="python -m bot.benchmarks bot-worker")
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("knowledge_dir", type=Path)
    parser.add_argument("--no-rate-limiter", action="store_true")
    parser.add_argument("--concurrent-updates", type=int)
    parser.add_argument("--restore-timing", type=Path)
    options = parser.parse_args(args)

    from bot import telegram_app
    from bot.services import open_services
    from bot.settings import Settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if options.no_rate_limiter:
        telegram_app.AIORateLimiter = _pass_through_limiter  # type: ignore[assignment,misc]
    if options.concurrent_updates:
        telegram_app.CONCURRENT_UPDATES = options.concurrent_updates
    if options.restore_timing:
        _time_restore(options.restore_timing)
    settings = Settings(token=options.token, base_url=options.base_url,
                        data_dir=options.data_dir, knowledge_dir=options.knowledge_dir)
    application = telegram_app.build_application(open_services(settings))
    with contextlib.suppress(KeyboardInterrupt):
        telegram_app.serve(application, poll_timeout=1)
    return 0


def _time_restore(report: Path) -> None:
    """Wrap ``restore_reminders`` (called from post_init) to write its duration as JSON."""
    from bot import reminder_handlers

    original = reminder_handlers.restore_reminders

    async def timed(application: Any) -> int:
        began = time.perf_counter()
        scheduled = await original(application)
        seconds = time.perf_counter() - began
        jobs = len(application.job_queue.jobs()) if application.job_queue else 0
        _write_json(report, {"seconds": seconds, "scheduled": scheduled, "jobs": jobs})
        return scheduled

    reminder_handlers.restore_reminders = timed  # type: ignore[assignment]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _pass_through_limiter(max_retries: int = 0) -> Any:
    from telegram.ext import BaseRateLimiter

    class PassThrough(BaseRateLimiter[int]):
        """Sends every request at once: no rate limit, no retries."""

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any],
                                  endpoint: str, data: dict[str, Any],
                                  rate_limit_args: int | None) -> Any:
            return await callback(*args, **kwargs)

    return PassThrough()
