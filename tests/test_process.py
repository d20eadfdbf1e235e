"""The real ``run_bot.py`` process: polling and webhook modes, clean SIGTERM, no token in logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.bot_api_server import FakeBotApi
from tests.conftest import KNOWLEDGE_DIR, PROJECT, RELOAD_CHECK_ENTRY

CHAT = 3003


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on 127.0.0.1:{port}")


def start_process(api: FakeBotApi, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))},
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_KNOWLEDGE_DIR": str(KNOWLEDGE_DIR),
        "BOT_LOG_LEVEL": "DEBUG",
        **env,
    }
    return subprocess.Popen([sys.executable, "run_bot.py"], cwd=PROJECT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_process(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the bot did not stop on SIGTERM:\n{output}")
    assert process.returncode == 0, output
    return output


def test_polling_process_answers_stops_cleanly_and_never_logs_the_token(api, tmp_path):
    process = start_process(api, tmp_path)
    try:
        api.wait_for(lambda: api.calls_to("setMyCommands"), timeout=20)
        api.push_message(CHAT, "what do peptides even do")
        api.wait_for(lambda: api.sent_messages(CHAT), timeout=10)
    finally:
        output = stop_process(process)
    assert "amino acids" in api.sent_messages(CHAT)[0]["text"].lower()
    assert "database closed" in output
    assert api.token not in output
    assert api.token.split(":")[1] not in output


def test_webhook_mode_checks_the_secret_header(api, tmp_path):
    port = free_port()
    secret = "s3cret-token_123"
    process = start_process(api, tmp_path, BOT_WEBHOOK_URL="https://bot.example.test/hook",
                            BOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}", BOT_WEBHOOK_SECRET=secret)
    try:
        api.wait_for(lambda: api.calls_to("setWebhook"), timeout=20)
        wait_for_port(port)
        assert api.calls_to("setWebhook")[-1].params["secret_token"] == secret
        update = api.push_message(CHAT, "what do peptides even do")
        body = json.dumps(update).encode()

        def post(header: str | None) -> int:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=body,
                                             headers={"Content-Type": "application/json"})
            if header is not None:
                request.add_header("X-Telegram-Bot-Api-Secret-Token", header)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        assert post("wrong-secret") == 403
        assert post(None) == 403
        assert not api.sent_messages(CHAT)
        assert post(secret) == 200
        api.wait_for(lambda: api.sent_messages(CHAT), timeout=10)
    finally:
        output = stop_process(process)
    assert "amino acids" in api.sent_messages(CHAT)[0]["text"].lower()
    assert secret not in output and api.token not in output


def test_sighup_reloads_and_a_bad_edit_never_goes_live(api, tmp_path, knowledge_copy):
    knowledge = knowledge_copy
    massage = knowledge / "entries-massage.yaml"
    original = massage.read_text(encoding="utf-8")
    process = start_process(api, tmp_path, BOT_KNOWLEDGE_DIR=str(knowledge))
    try:
        api.wait_for(lambda: api.calls_to("setMyCommands"), timeout=20)
        massage.write_text(original.replace("answer:", "anwser:", 1), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        time.sleep(1)
        api.push_message(CHAT, "what do peptides even do")
        api.wait_for(lambda: api.sent_messages(CHAT), timeout=10)
        assert "amino acids" in api.sent_messages(CHAT)[-1]["text"].lower()

        massage.write_text(original + RELOAD_CHECK_ENTRY, encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            count = len(api.sent_messages(CHAT))
            api.push_message(CHAT, "zebra stripe test")
            api.wait_for(lambda c=count: len(api.sent_messages(CHAT)) > c, timeout=10)
            if "Zebra stripes are live." in api.sent_messages(CHAT)[-1]["text"]:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the reloaded entry never went live")
    finally:
        output = stop_process(process)
    assert "knowledge reload rejected" in output
    assert "knowledge reloaded" in output
