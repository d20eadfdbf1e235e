"""The real ``run_bot.py`` process: 409 Conflict exit code, start-up failures, SIGTERM mid-burst.

Exit codes (documented in README "Reliability"): 0 after SIGINT/SIGTERM, 1 when the bot
cannot work (database not usable, token rejected, bad knowledge), 2 for a wrong setting,
3 when another instance polls with the same token (409 Conflict).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from bot.storage import Storage
from bot.telegram_app import EXIT_CONFLICT
from tests.bot_api_server import FakeBotApi
from tests.conftest import KNOWLEDGE_DIR, PROJECT

CHAT = 5005


def bot_env(api: FakeBotApi, data_dir: Path, **env: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))},
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "BOT_DATA_DIR": str(data_dir),
        "BOT_KNOWLEDGE_DIR": str(KNOWLEDGE_DIR),
        "BOT_LOG_LEVEL": "DEBUG",
        **env,
    }


def spawn(env: dict[str, str], **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "run_bot.py"], cwd=PROJECT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **popen)  # type: ignore[call-overload]


def finish(process: subprocess.Popen[str], timeout: float = 20) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the bot did not exit within {timeout} s:\n{output}")
    return output


def assert_no_secret(api: FakeBotApi, output: str) -> None:
    assert api.token not in output
    assert api.token.partition(":")[2] not in output


def another_instance_starts_polling(api: FakeBotApi) -> None:
    """A second copy of the bot polls with the same token: from now on every getUpdates
    fails with 409, and Telegram ends the long poll already waiting at once with 409
    "terminated by other getUpdates request" (the fake does that when its poll generation
    moves on, which is what a new getUpdates does; setting the fault first leaves no gap)."""
    api.conflict_on_get_updates()
    with api._cond:
        api._poll_generation += 1
        api._cond.notify_all()


def test_409_conflict_exits_with_code_3_within_seconds(api, tmp_path):
    process = spawn(bot_env(api, tmp_path / "data"))
    try:
        api.wait_for(lambda: api.calls_to("setMyCommands"), timeout=20)
        api.push_message(CHAT, "what do peptides even do")
        api.wait_for(lambda: api.sent_messages(CHAT), timeout=10)
        started = time.monotonic()
        another_instance_starts_polling(api)
        output = finish(process, timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - started < 8, "the bot took too long to stop on 409"
    assert process.returncode == EXIT_CONFLICT == 3, output
    assert "another bot instance is polling with this token" in output
    assert "database closed" in output
    assert_no_secret(api, output)


def test_sigterm_during_a_burst_then_restart_answers_every_question_once(api, tmp_path):
    """Updates already fetched are answered before exit; the rest wait on the server for
    the restarted bot. None is lost and none answered twice (offsets are confirmed)."""
    data = tmp_path / "data"
    first_wave, second_wave = list(range(5100, 5160)), list(range(5200, 5260))
    api.delay("sendMessage", 0.05, times=None)  # replies take a while: SIGTERM lands mid-burst
    process = spawn(bot_env(api, data, BOT_LOG_LEVEL="WARNING"))
    try:
        api.wait_for(lambda: api.calls_to("setMyCommands"), timeout=20)
        for chat in first_wave:
            api.push_message(chat, "what do peptides even do")
        api.wait_for(lambda: api.sent_messages(), timeout=10)
        process.send_signal(signal.SIGTERM)
        for chat in second_wave:
            api.push_message(chat, "how often should i use my gua sha")
        first_output = finish(process)
        assert process.returncode == 0, first_output
    finally:
        if process.poll() is None:
            process.kill()
    assert all(api.sent_messages(chat) for chat in first_wave), "in-flight updates were dropped"
    process = spawn(bot_env(api, data, BOT_LOG_LEVEL="WARNING"))
    try:
        api.wait_for(lambda: all(api.sent_messages(c) for c in second_wave), timeout=20)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    counts = {chat: len(api.sent_messages(chat)) for chat in first_wave + second_wave}
    assert all(n == 1 for n in counts.values()), counts
    with closing(sqlite3.connect(data / "bot.sqlite3")) as db:
        assert db.execute("SELECT COUNT(*) FROM queries").fetchone()[0] == len(counts)


def test_data_dir_that_cannot_be_created_is_a_clear_error(api, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    process = spawn(bot_env(api, blocker / "data"))
    output = finish(process)
    assert process.returncode == 1
    assert "error: cannot open the database" in output and "BOT_DATA_DIR" in output
    assert "Traceback" not in output
    assert not api.calls_to("getUpdates")


def test_database_locked_by_another_process_is_a_clear_error(api, tmp_path):
    data = tmp_path / "data"
    Storage(data / "bot.sqlite3").close()
    with closing(sqlite3.connect(data / "bot.sqlite3", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        process = spawn(bot_env(api, data))
        output = finish(process)
    assert process.returncode == 1
    assert "database is locked" in output and "BOT_DATA_DIR" in output
    assert "Traceback" not in output


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file read-only even for root (who ignores permission bits): chattr +i."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        try:
            yield
        finally:
            path.parent.chmod(0o755)
            path.chmod(0o644)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("running as root without chattr +i: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)


def test_read_only_database_is_a_clear_error(api, tmp_path):
    data = tmp_path / "data"
    Storage(data / "bot.sqlite3").close()
    with read_only(data / "bot.sqlite3"):
        process = spawn(bot_env(api, data))
        output = finish(process)
    assert process.returncode == 1, output
    assert "readonly database" in output and "BOT_DATA_DIR" in output
    assert "Traceback" not in output


def test_rejected_token_is_a_clear_error_that_does_not_print_the_token(api, tmp_path):
    with FakeBotApi(token="987654:ANOTHER-bots-token") as other_server:
        env = bot_env(other_server, tmp_path / "data")
        env["TELEGRAM_BOT_TOKEN"] = api.token  # not the token other_server knows: 401
        process = spawn(env)
        output = finish(process)
    assert process.returncode == 1
    assert "Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN" in output
    assert_no_secret(api, output)
