"""The command line: ``run`` (the Telegram bot), ``console``, ``ask``, ``validate``, ``eval``.

This is the only place where exceptions become exit codes and where logging is
configured. The Telegram stack is imported only by ``run``, so ``ask`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from bot.evaluation import EvalFileError, evaluate, format_report, load_eval_file
from bot.knowledge import KnowledgeBase, KnowledgeError, load_knowledge, near_duplicate_warnings
from bot.matcher import Matcher
from bot.replies import as_plain_text, reply_for
from bot.settings import Settings, SettingsError, add_setting_flags, load_settings
from bot.storage import StorageError

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Skin-firming FAQ bot. With no command, runs the Telegram bot.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run the Telegram bot (the default)")
    add_setting_flags(run)

    console = commands.add_parser("console", help="chat with the bot in this terminal")
    _knowledge_flag(console)

    ask = commands.add_parser("ask", help="answer one question (or one per line of stdin)")
    ask.add_argument("question", nargs="*", help="the question; omit to read stdin")
    ask.add_argument("--json", action="store_true", help="print JSON objects")
    _knowledge_flag(ask)

    validate = commands.add_parser("validate", help="check the knowledge files")
    validate.add_argument("paths", nargs="*", type=Path,
                          help="files or folders (default: the knowledge folder)")
    _knowledge_flag(validate)

    evaluate_cmd = commands.add_parser("eval", help="measure accuracy on labelled questions")
    evaluate_cmd.add_argument("files", nargs="*", type=Path,
                              help="labelled files (default: knowledge/eval/*.yaml)")
    evaluate_cmd.add_argument("--quiet", action="store_true", help="hide the list of misses")
    _knowledge_flag(evaluate_cmd)
    return parser


def _knowledge_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--knowledge-dir", dest="setting_knowledge_dir", metavar="DIR",
                        help="knowledge folder (default: $BOT_KNOWLEDGE_DIR or ./knowledge)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "run"
    if args.command is None:
        args = parser.parse_args(["run", *(argv if argv is not None else sys.argv[1:])])
    handlers: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "run": cmd_run,
        "console": cmd_console,
        "ask": cmd_ask,
        "validate": cmd_validate,
        "eval": cmd_eval,
    }
    try:
        settings = load_settings(args, os.environ)
        return handlers[command](args, settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KnowledgeError as exc:
        print("The knowledge base is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    except (CliError, EvalFileError, StorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130


class RedactingFormatter(logging.Formatter):
    """Removes secrets from every formatted record, tracebacks included."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a token is redacted whole before its secret part is.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


def configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def log_secrets(settings: Settings) -> list[str]:
    """What must never appear in a log line: the token, its secret part on its own (it
    survives URL-encoding of the colon) and the webhook secret."""
    token = settings.token or ""
    return [token, token.partition(":")[2], settings.webhook_secret or ""]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    settings.require_token()
    configure_logging(settings.log_level, secrets=log_secrets(settings))
    from telegram.error import InvalidToken  # the Telegram stack is only needed here

    from bot.telegram_app import run_bot

    try:
        return run_bot(settings)
    except (SettingsError, KnowledgeError, StorageError):
        raise  # main() prints these; their messages never contain the token
    except InvalidToken:
        # PTB puts the token itself in this exception's message: never print it.
        print("error: Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN "
              "(@BotFather's /token shows the current one)", file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception:
        # Through the redacting log formatter, not Python's bare traceback printer.
        logger.critical("the bot stopped on an unexpected error", exc_info=True)
        return EXIT_PROBLEMS


def cmd_console(args: argparse.Namespace, settings: Settings, stdin: TextIO = sys.stdin,
                stdout: TextIO = sys.stdout) -> int:
    kb = load_knowledge(settings.knowledge_dir)
    matcher = Matcher(kb)
    print(kb.messages["welcome"], kb.messages["disclaimer"], sep="\n\n", file=stdout)
    print("\nType a question, a number to pick a suggestion, or 'quit'.", file=stdout)
    choices: tuple = ()
    while True:
        print("\nyou> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line or line.strip().lower() in ("quit", "exit", "q"):
            print("bye!", file=stdout)
            return EXIT_OK
        text = line.strip()
        if text.isdigit() and 0 < int(text) <= len(choices):
            entry = choices[int(text) - 1]
            reply = reply_for(kb, matcher.match(entry.question))
        else:
            reply = reply_for(kb, matcher.match(text))
        choices = reply.choices
        print("bot> " + as_plain_text(reply), file=stdout)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    kb = load_knowledge(settings.knowledge_dir)
    matcher = Matcher(kb)
    if args.question:
        print(_answer_line(kb, matcher, " ".join(args.question), args.json))
        return EXIT_OK
    out = sys.stdout
    for line in sys.stdin:
        out.write(_answer_line(kb, matcher, line.rstrip("\n"), args.json) + "\n")
    out.flush()
    return EXIT_OK


def _answer_line(kb: KnowledgeBase, matcher: Matcher, question: str, as_json: bool) -> str:
    result = matcher.match(question)
    reply = reply_for(kb, result)
    if not as_json:
        return as_plain_text(reply)
    return json.dumps({
        "kind": result.kind,
        "id": result.entry_id,
        "score": round(result.score, 4),
        "text": as_plain_text(reply),
        "suggestions": result.suggestions,
    }, ensure_ascii=False)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    paths = args.paths or [settings.knowledge_dir]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise CliError(f"no such file or folder: {', '.join(str(p) for p in missing)}")
    kb = load_knowledge(paths)
    warnings = near_duplicate_warnings(kb)
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"OK: {len(kb.entries)} entries, {len(kb.red_flags)} red-flag rules, "
          f"{len(kb.tips)} tips in {len(kb.files)} files"
          + (f" ({len(warnings)} warnings)" if warnings else ""))
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    kb = load_knowledge(settings.knowledge_dir)
    matcher = Matcher(kb)
    files = args.files or sorted((settings.knowledge_dir / "eval").glob("*.yaml"))
    if not files:
        raise CliError(f"no labelled files found in {settings.knowledge_dir / 'eval'}")
    failures: list[str] = []
    for path in files:
        eval_file = load_eval_file(path, set(kb.entries))
        report = evaluate(matcher, eval_file)
        print(format_report(report, show_misses=not args.quiet))
        failures += report.failed_floors()
    for failure in failures:
        print(f"FAIL {failure}")
    return EXIT_PROBLEMS if failures else EXIT_OK
