"""Settings: read once from environment variables and command-line flags (flags win).

Every setting is declared once in OPTIONS, which drives the command-line flags,
the environment lookup and the README table alike.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from bot.timezones import parse_timezone

PUBLIC_BOT_API = "https://api.telegram.org/bot"
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{8,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """A setting has a wrong value; the message names the variable and the expected form."""


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    base_url: str = PUBLIC_BOT_API
    admin_ids: frozenset[int] = frozenset()
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    timezone: str = "UTC"
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8443"
    webhook_secret: str | None = None
    user_rate_limit: int = 20
    retention_days: int = 90

    @property
    def zone(self) -> tzinfo:
        return parse_timezone(self.timezone)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "bot.sqlite3"

    def require_token(self) -> str:
        if not self.token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram "
                "(send /newbot), then run: TELEGRAM_BOT_TOKEN=123456:ABC... python run_bot.py\n"
                "To try the bot without Telegram, run: python run_bot.py console"
            )
        return self.token


def _token(value: str) -> str:
    if not TOKEN_PATTERN.match(value):
        raise ValueError("the token looks malformed; a bot token looks like 123456789:AAE3k... "
                         "(digits, a colon, then letters, digits, - or _)")
    return value


def _admin_ids(value: str) -> frozenset[int]:
    ids = set()
    for part in filter(None, (p.strip() for p in value.split(","))):
        if not re.fullmatch(r"-?\d+", part):
            raise ValueError(f"'{part}' is not a numeric Telegram user id; "
                             "use comma-separated numbers like 12345,67890")
        ids.add(int(part))
    return frozenset(ids)


def _zone_name(value: str) -> str:
    parse_timezone(value)
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"'{value}' is not one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _listen(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{value}' is not HOST:PORT, for example 0.0.0.0:8443")
    return value


def _positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"'{value}' is not a whole number of at least 1")
    return int(value)


def _secret(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
        raise ValueError("must be 1-256 characters of letters, digits, _ or -")
    return value


@dataclass(frozen=True)
class Option:
    attr: str
    env: str
    flag: str
    parse: Callable[[str], Any]
    help: str


OPTIONS = (
    Option("token", "TELEGRAM_BOT_TOKEN", "--token", _token, "Bot token from @BotFather."),
    Option("base_url", "TELEGRAM_BASE_URL", "--base-url", _url,
           "Bot API base URL; the token is appended (default: the public Bot API)."),
    Option("admin_ids", "BOT_ADMIN_IDS", "--admin-ids", _admin_ids,
           "Comma-separated Telegram user ids allowed to use admin commands."),
    Option("data_dir", "BOT_DATA_DIR", "--data-dir", Path,
           "Folder for the SQLite database (created if missing; default ./data)."),
    Option("knowledge_dir", "BOT_KNOWLEDGE_DIR", "--knowledge-dir", Path,
           "Folder of knowledge YAML files (default ./knowledge)."),
    Option("timezone", "BOT_TIMEZONE", "--timezone", _zone_name,
           "Default time zone for reminders, IANA name (default UTC)."),
    Option("log_level", "BOT_LOG_LEVEL", "--log-level", _log_level,
           "DEBUG, INFO, WARNING or ERROR (default INFO)."),
    Option("webhook_url", "BOT_WEBHOOK_URL", "--webhook-url", _url,
           "Public HTTPS URL Telegram posts updates to; enables webhook mode."),
    Option("webhook_listen", "BOT_WEBHOOK_LISTEN", "--webhook-listen", _listen,
           "HOST:PORT the webhook server listens on (default 0.0.0.0:8443)."),
    Option("webhook_secret", "BOT_WEBHOOK_SECRET", "--webhook-secret", _secret,
           "Secret Telegram sends in each webhook request's header; required in webhook mode."),
    Option("user_rate_limit", "BOT_USER_RATE_LIMIT", "--user-rate-limit", _positive_int,
           "Questions one user may send per minute before being asked to slow down (default 20)."),
    Option("retention_days", "BOT_RETENTION_DAYS", "--retention-days", _positive_int,
           "Days unanswered questions are kept for the maintainer report (default 90)."),
)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each also read from its environment variable)")
    for option in OPTIONS:
        group.add_argument(option.flag, dest=f"setting_{option.attr}", metavar=option.env,
                           help=option.help, default=None)


def load_settings(args: argparse.Namespace | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from flags and environment; raises SettingsError naming the culprit."""
    environ = environ if environ is not None else {}
    values: dict[str, Any] = {}
    for option in OPTIONS:
        flag_value = getattr(args, f"setting_{option.attr}", None) if args else None
        raw, source = (flag_value, option.flag) if flag_value is not None else (
            environ.get(option.env), option.env)
        if raw is None or raw.strip() == "":
            continue
        try:
            values[option.attr] = option.parse(raw.strip())
        except ValueError as exc:
            raise SettingsError(f"{source}: {exc}") from None
    settings = Settings(**values)
    if settings.webhook_url and not settings.webhook_secret:
        raise SettingsError("BOT_WEBHOOK_SECRET must be set when BOT_WEBHOOK_URL is set, so the "
                            "bot can check that updates really come from Telegram")
    return settings
