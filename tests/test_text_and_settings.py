"""Text normalisation, time zones and settings (flags beat environment variables)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import (
    OPTIONS,
    PUBLIC_BOT_API,
    Settings,
    SettingsError,
    add_setting_flags,
    load_settings,
)
from bot.text import fold, normalise, question_sentences, stem, words
from bot.timezones import parse_timezone, zone_name

TOKEN = "123456789:AAE3kTestTokenValue_-x"

# -- text -----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "folded"), [
    ("Crème Brûlée", "creme brulee"),
    ("RÉTINOL", "retinol"),
    ("Don’t", "dont"),
    ("don't", "dont"),
    ("don`t", "dont"),
    ("it´s", "its"),
    ("sooooo gooood", "soo good"),
    ("Hmmmmm", "hmm"),
    ("ﬁrming", "firming"),
    ("ｐｅｐｔｉｄｅｓ", "peptides"),
])
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_keeps_apostrophes_that_are_not_inside_a_word() -> None:
    assert fold("'quoted'") == "'quoted'"
    assert fold("rock ' roll") == "rock ' roll"


def test_fold_keeps_double_letters_and_digits() -> None:
    assert fold("Massage 1000") == "massage 1000"
    assert fold("coffee") == "coffee"


@pytest.mark.parametrize(("raw", "expected"), [
    ("What do PEPTIDES do?!", ["what", "do", "peptides", "do"]),
    ("is gua-sha ok??? 💆‍♀️✨", ["is", "gua", "sha", "ok"]),
    ("I’m sooo tired of sagging 😭😭", ["im", "soo", "tired", "of", "sagging"]),
    ("vitamin C 15% serum", ["vitamin", "c", "15", "percent", "serum"]),  # a strength question
    ("best cream under $30", ["best", "cream", "under", "price", "30"]),  # a price question
    ("£20 or €25?", ["price", "20", "or", "price", "25"]),
    ("", []),
    ("😀 🙏 ❤️", []),
    ("привет, как дела", []),
    ("pep\u200dtides", ["pep", "tides"]),
    ("<b>retinol</b>", ["b", "retinol", "b"]),
])
def test_words(raw: str, expected: list[str]) -> None:
    assert words(raw) == expected


def test_normalise_gives_one_spelling_for_equivalent_questions() -> None:
    variants = ["Why does skin SAG?", "why does skin sag", "  why   does skin sag!!! 😩",
                "Whý dóes skin sag"]
    assert {normalise(v) for v in variants} == {"why does skin sag"}
    assert normalise("Don’t massage downward") == normalise("dont massage downward")
    assert normalise("😀") == ""


@pytest.mark.parametrize(("text", "asked"), [
    ("I'm 52. What should a firming cream contain? The shop had dozens.",
     "What should a firming cream contain?"),
    ("Two questions. Is it safe? Does it work?", "Is it safe? Does it work?"),
    ("what are peptides?", None),  # only a question: nothing to set aside
    ("Tell me about peptides.", None),  # neither a question mark nor a question's opening
    ("In Sephora rn, overwhelmed lol. what ingredients firm skin",
     "what ingredients firm skin"),  # opens like a question
])
def test_question_sentences(text: str, asked: str | None) -> None:
    assert question_sentences(text) == asked


@pytest.mark.parametrize(("word", "stemmed"), [
    ("peptides", "peptid"),
    ("peptide", "peptid"),
    ("massaging", "massag"),
    ("massage", "massag"),
    ("massaged", "massag"),
    ("retinoids", "retinoid"),
    ("wrinkles", "wrinkl"),
    ("wrinkle", "wrinkl"),
    ("remedies", "remedy"),
    ("glasses", "glass"),
    ("stress", "stress"),
    ("serums", "serum"),
    ("serum", "serum"),
    ("dos", "dos"),
    ("oil", "oil"),
    ("2024", "2024"),
    ("analysis", "analysis"),
    ("red", "red"),
    ("bed", "bed"),
    ("sing", "sing"),
])
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_stem_makes_plural_and_ing_forms_meet() -> None:
    assert stem("peptides") == stem("peptide")
    assert stem("massaging") == stem("massage") == stem("massages")
    assert stem("rollers") == stem("roller")


# -- time zones -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "key"), [
    ("Europe/Berlin", "Europe/Berlin"),
    ("europe/berlin", "Europe/Berlin"),
    ("EUROPE/BERLIN", "Europe/Berlin"),
    ("america/new_york", "America/New_York"),
    ("  Asia/Tokyo  ", "Asia/Tokyo"),
])
def test_iana_names_in_any_case(text: str, key: str) -> None:
    zone = parse_timezone(text)
    assert isinstance(zone, ZoneInfo)
    assert zone.key == key
    assert zone_name(zone) == key


@pytest.mark.parametrize(("text", "hours", "minutes"), [
    ("+02:00", 2, 0),
    ("+2", 2, 0),
    ("-05:00", -5, 0),
    ("UTC-5", -5, 0),
    ("utc+5:30", 5, 30),
    ("GMT+0530", 5, 30),
    ("+14:00", 14, 0),
    ("-12:00", -12, 0),
])
def test_utc_offsets(text: str, hours: int, minutes: int) -> None:
    zone = parse_timezone(text)
    sign = -1 if hours < 0 else 1
    expected = timedelta(hours=hours, minutes=sign * minutes)
    assert zone.utcoffset(datetime(2024, 1, 1)) == expected


@pytest.mark.parametrize("text", ["UTC", "utc", "GMT", "Z"])
def test_utc_names(text: str) -> None:
    assert parse_timezone(text) is UTC
    assert zone_name(parse_timezone(text)) == "UTC"


def test_zone_name_of_fixed_offsets() -> None:
    assert zone_name(parse_timezone("+02:00")) == "UTC+02:00"
    assert zone_name(parse_timezone("UTC-5")) == "UTC-05:00"
    assert zone_name(parse_timezone("-00:30")) == "UTC-00:30"
    assert zone_name(parse_timezone("+00:00")) == "UTC"
    assert zone_name(timezone(timedelta(hours=5, minutes=45))) == "UTC+05:45"


@pytest.mark.parametrize("text", [
    "Mars/Olympus", "", "   ", "Berlin", "Europe/../etc/passwd", "../../etc/passwd",
    "/etc/localtime", "+15:00", "-13:00", "+02:75", "UTC+99", "Europe/Berlin; rm -rf /",
    "Europe\\Berlin", "€/Berlin",
])
def test_bad_time_zones_say_what_a_good_one_looks_like(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_timezone(text)
    message = str(caught.value)
    assert repr(text) in message or f"'{text}'" in message
    assert "+02:00" in message


def test_unknown_zone_error_names_an_iana_example() -> None:
    with pytest.raises(ValueError, match="Europe/Berlin"):
        parse_timezone("Mars/Olympus")


# -- settings -------------------------------------------------------------------------


def parse_flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    return parser.parse_args(list(argv))


def test_defaults_with_no_flags_and_no_environment() -> None:
    settings = load_settings(None, {})
    assert settings == Settings()
    assert settings.token is None
    assert settings.base_url == PUBLIC_BOT_API
    assert settings.admin_ids == frozenset()
    assert settings.data_dir == Path("data")
    assert settings.knowledge_dir == Path("knowledge")
    assert settings.timezone == "UTC"
    assert settings.log_level == "INFO"
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert settings.webhook_listen == "0.0.0.0:8443"
    assert settings.user_rate_limit == 20
    assert settings.retention_days == 90
    assert settings.database_path == Path("data") / "bot.sqlite3"
    assert settings.zone is UTC


def test_load_settings_does_not_read_the_process_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TIMEZONE", "Asia/Tokyo")
    assert load_settings(parse_flags(), {}).timezone == "UTC"


def test_environment_variables_are_read() -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
        "BOT_ADMIN_IDS": " 12, 34 ,-56,",
        "BOT_DATA_DIR": "/var/lib/faqbot",
        "BOT_KNOWLEDGE_DIR": "kb",
        "BOT_TIMEZONE": "europe/berlin",
        "BOT_LOG_LEVEL": "debug",
        "BOT_WEBHOOK_URL": "https://bot.example.org/hook",
        "BOT_WEBHOOK_LISTEN": "127.0.0.1:9000",
        "BOT_WEBHOOK_SECRET": "s3cret_-value",
        "BOT_USER_RATE_LIMIT": "5",
        "BOT_RETENTION_DAYS": "30",
    }
    assert {option.env for option in OPTIONS} == set(env)
    settings = load_settings(parse_flags(), env)
    assert settings.token == TOKEN
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.admin_ids == frozenset({12, 34, -56})
    assert settings.data_dir == Path("/var/lib/faqbot")
    assert settings.knowledge_dir == Path("kb")
    assert settings.timezone == "europe/berlin"
    assert zone_name(settings.zone) == "Europe/Berlin"
    assert settings.log_level == "DEBUG"
    assert settings.webhook_url == "https://bot.example.org/hook"
    assert settings.webhook_listen == "127.0.0.1:9000"
    assert settings.webhook_secret == "s3cret_-value"
    assert settings.user_rate_limit == 5
    assert settings.retention_days == 30


def test_a_flag_beats_its_environment_variable() -> None:
    env = {"BOT_TIMEZONE": "Asia/Tokyo", "BOT_LOG_LEVEL": "ERROR", "BOT_ADMIN_IDS": "1"}
    flags = parse_flags("--timezone", "Europe/Paris", "--admin-ids", "7,8")
    settings = load_settings(flags, env)
    assert settings.timezone == "Europe/Paris"
    assert settings.admin_ids == frozenset({7, 8})
    assert settings.log_level == "ERROR"  # no flag given: the environment still counts


def test_a_valid_flag_hides_a_broken_environment_variable() -> None:
    settings = load_settings(parse_flags("--timezone", "UTC"), {"BOT_TIMEZONE": "Mars/Olympus"})
    assert settings.timezone == "UTC"


def test_blank_values_mean_the_default() -> None:
    settings = load_settings(parse_flags(), {"BOT_TIMEZONE": "  ", "BOT_ADMIN_IDS": ""})
    assert settings.timezone == "UTC" and settings.admin_ids == frozenset()


@pytest.mark.parametrize(("env", "variable"), [
    ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": "123456:short"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BASE_URL": "ftp://example.org"}, "TELEGRAM_BASE_URL"),
    ({"BOT_ADMIN_IDS": "abc"}, "BOT_ADMIN_IDS"),
    ({"BOT_ADMIN_IDS": "12;34"}, "BOT_ADMIN_IDS"),
    ({"BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE"),
    ({"BOT_LOG_LEVEL": "LOUD"}, "BOT_LOG_LEVEL"),
    ({"BOT_WEBHOOK_LISTEN": "8443"}, "BOT_WEBHOOK_LISTEN"),
    ({"BOT_WEBHOOK_LISTEN": "0.0.0.0:70000"}, "BOT_WEBHOOK_LISTEN"),
    ({"BOT_WEBHOOK_SECRET": "has spaces"}, "BOT_WEBHOOK_SECRET"),
    ({"BOT_USER_RATE_LIMIT": "0"}, "BOT_USER_RATE_LIMIT"),
    ({"BOT_RETENTION_DAYS": "-3"}, "BOT_RETENTION_DAYS"),
    ({"BOT_RETENTION_DAYS": "ten"}, "BOT_RETENTION_DAYS"),
])
def test_a_bad_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(parse_flags(), env)
    assert str(caught.value).startswith(f"{variable}: ")


def test_a_bad_flag_names_the_flag() -> None:
    with pytest.raises(SettingsError, match=r"^--timezone: 'Mars/Olympus'"):
        load_settings(parse_flags("--timezone", "Mars/Olympus"), {})


def test_a_malformed_token_is_never_echoed() -> None:
    secret = "AAE3kPrivatePart"
    for token in (f"12:{secret}", f"abc:{secret}", f"123456:{secret} extra", secret):
        with pytest.raises(SettingsError) as caught:
            load_settings(parse_flags(), {"TELEGRAM_BOT_TOKEN": token})
        assert "TELEGRAM_BOT_TOKEN" in str(caught.value)
        assert secret not in str(caught.value)


def test_webhook_url_without_secret_is_refused() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(parse_flags(), {"BOT_WEBHOOK_URL": "https://bot.example.org/hook"})
    assert "BOT_WEBHOOK_SECRET" in str(caught.value)
    assert "BOT_WEBHOOK_URL" in str(caught.value)


def test_webhook_url_with_secret_from_flags_is_accepted() -> None:
    flags = parse_flags("--webhook-url", "https://bot.example.org/hook",
                        "--webhook-secret", "abc_123")
    settings = load_settings(flags, {})
    assert (settings.webhook_url, settings.webhook_secret) == (
        "https://bot.example.org/hook", "abc_123")


def test_require_token_points_to_botfather_and_the_console() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings().require_token()
    message = str(caught.value)
    assert "TELEGRAM_BOT_TOKEN" in message and "@BotFather" in message
    assert "console" in message
    assert Settings(token=TOKEN).require_token() == TOKEN


def test_every_option_has_a_flag_and_help() -> None:
    flags = [option.flag for option in OPTIONS]
    envs = [option.env for option in OPTIONS]
    assert len(set(flags)) == len(flags) and len(set(envs)) == len(envs)
    assert all(option.flag.startswith("--") and option.help for option in OPTIONS)
    assert all(hasattr(Settings(), option.attr) for option in OPTIONS)
