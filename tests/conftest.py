"""Shared fixtures: the fake Bot API server and the real bot application running against it."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.services import open_services
from bot.settings import Settings
from bot.telegram_app import build_application, serve
from tests.bot_api_server import FakeBotApi

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"
ADMIN_ID = 4242
# An entry the reload tests append to entries-massage.yaml: it answers "zebra stripe test".
RELOAD_CHECK_ENTRY = """
  - id: reload-check
    question: "Is the zebra stripe test working?"
    alternates: ["zebra stripe test", "zebra stripes?", "test the zebra stripe",
                 "zebra stripe check", "is zebra stripe ok", "zebra stripe status"]
    answer: "Zebra stripes are live."
    section: about
"""


class BotRunner:
    """Runs the real application (run_polling and all) in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services = open_services(settings)
        self.application = build_application(self.services)
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bot", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            serve(self.application, stop_signals=None, poll_timeout=1)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            self.loop.close()

    def start(self, api: FakeBotApi) -> BotRunner:
        self._thread.start()
        api.wait_for(lambda: api.calls_to("setMyCommands"), timeout=10)
        # stop_running() before the application runs is a no-op, and stop() would hang
        api.wait_for(lambda: self.application.running, timeout=10)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.application.stop_running)
            self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the bot did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped knowledge base (without the eval sets) a test may edit."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("eval"))
    return target


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
def bot_settings(api: FakeBotApi, tmp_path: Path) -> Settings:
    return Settings(token=api.token, base_url=api.base_url, data_dir=tmp_path / "data",
                    knowledge_dir=KNOWLEDGE_DIR, admin_ids=frozenset({ADMIN_ID}))


@pytest.fixture
def run_bot(api: FakeBotApi, bot_settings: Settings) -> Iterator:
    """Call ``run_bot(**overrides)`` to start the bot; every runner is stopped afterwards."""
    runners: list[BotRunner] = []

    def start(**overrides: object) -> BotRunner:
        runner = BotRunner(replace(bot_settings, **overrides)).start(api)
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop()
