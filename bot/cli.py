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

from bot.evaluation import (
    EvalFileError,
    baseline_accuracy,
    evaluate,
    format_report,
    load_eval_file,
)
from bot.knowledge import KnowledgeBase, KnowledgeError, knowledge_warnings, load_knowledge
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
    evaluate_cmd.add_argument("--baseline", action="store_true",
                              help="also show a plain rapidfuzz WRatio extractOne for comparison")
    _knowledge_flag(evaluate_cmd)

    report = commands.add_parser(
        "report", help="unanswered questions and disliked answers, for maintainers")
    report.add_argument("--days", type=_positive, metavar="N",
                        help="only questions asked in the last N days (default: all kept)")
    report.add_argument("--limit", type=_positive, default=20, metavar="N",
                        help="show at most N question groups and N answers (default 20)")
    report.add_argument("--format", choices=("text", "yaml"), default="text",
                        help="text to read, or yaml to paste into the knowledge files")
    report.add_argument("--purge", action="store_true",
                        help="instead, delete unanswered questions older than the retention "
                             "period (BOT_RETENTION_DAYS) and print how many")
    report.add_argument("--data-dir", dest="setting_data_dir", metavar="DIR",
                        help="folder of the bot's database (default: $BOT_DATA_DIR or ./data)")
    report.add_argument("--retention-days", dest="setting_retention_days", metavar="N",
                        help="days to keep unanswered questions, for --purge "
                             "(default: $BOT_RETENTION_DAYS or 90)")
    _knowledge_flag(report)

    import_cmd = commands.add_parser("import", help="draft a knowledge base from a guide text")
    import_cmd.add_argument("guide", type=Path, help="the guide, a UTF-8 text file")
    where = import_cmd.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, metavar="FILE",
                       help="write the draft (sections and entries) to FILE (default: stdout)")
    where.add_argument("--output-dir", type=Path, metavar="DIR",
                       help="write a complete knowledge folder that validates on its own: "
                            "entries.yaml, sections.yaml and copies of messages, safety, ...")
    import_cmd.add_argument("--force", action="store_true", help="overwrite existing files")
    _knowledge_flag(import_cmd)

    add = commands.add_parser("add", help="add one entry to a knowledge file, safely")
    add.add_argument("--id", dest="entry_id", help="lowercase letters, digits, - or _")
    add.add_argument("--question", help="the question as shown on buttons")
    add.add_argument("--alternate", dest="alternates", action="append", default=[],
                     metavar="TEXT", help="another way people ask it (repeat, at least 6)")
    add.add_argument("--answer", help="the answer; '-' reads it from stdin")
    add.add_argument("--section", help="a section id from sections.yaml")
    add.add_argument("--related", action="extend", nargs="+", default=[], metavar="ID",
                     help="ids of related entries")
    add.add_argument("--keywords", action="extend", nargs="+", default=[], metavar="WORD",
                     help="words specific to this entry")
    add.add_argument("--not-covered", dest="not_covered", action="extend", nargs="+",
                     default=[], metavar="PHRASE",
                     help="details of the topic the answer does not give (they get the fallback)")
    add.add_argument("--file", type=Path,
                     help="entries file in the knowledge folder (default: the one holding "
                          "most of the section's entries)")
    add.add_argument("--template", action="store_true",
                     help="only print a copy-paste template for a new entry")
    _knowledge_flag(add)

    bench = commands.add_parser("bench", help="measure speed and memory (needs the test extra)")
    bench.add_argument("--quick", action="store_true",
                       help="a smoke run: smaller counts, no 10,000-entry knowledge base")
    bench.add_argument("--parts", default="matcher,startup,e2e,reminders",
                       help="comma-separated subset of: matcher, startup, e2e, reminders")
    _knowledge_flag(bench)
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
        "report": cmd_report,
        "import": cmd_import,
        "add": cmd_add,
        "bench": cmd_bench,
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
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe


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
    warnings = knowledge_warnings(kb)
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
        if args.baseline:
            baseline = baseline_accuracy(kb, eval_file)
            shown = "n/a (no in-scope questions)" if baseline is None else f"{baseline:.1%}"
            print(f"  baseline: plain WRatio extractOne, in-scope top-1 {shown}")
        failures += report.failed_floors()
    for failure in failures:
        print(f"FAIL {failure}")
    return EXIT_PROBLEMS if failures else EXIT_OK


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of at least 1")
    return int(value)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """The maintainer report; read-only, except ``--purge``."""
    import sqlite3

    from bot.report import (
        ReadOnlyStorage,
        ReportError,
        build_report,
        format_text,
        format_yaml,
        purge_cutoff,
    )
    from bot.storage import Storage, utc_now

    path = settings.database_path
    if args.purge:
        if not path.is_file():
            raise CliError(f"no database at {path}; nothing to purge")
        storage = Storage(path)
        try:
            deleted = storage.purge_unanswered(purge_cutoff(utc_now(), settings.retention_days))
        finally:
            storage.close()
        print(f"Deleted {deleted} unanswered question{'s' if deleted != 1 else ''} older than "
              f"{settings.retention_days} days from {path}.")
        return EXIT_OK
    kb = load_knowledge(settings.knowledge_dir)
    try:
        db = ReadOnlyStorage(path)
        try:
            report = build_report(db.unanswered_questions(), db.feedback_totals(), kb,
                                  days=args.days, limit=args.limit, now=utc_now())
        finally:
            db.close()
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    except sqlite3.Error as exc:
        raise CliError(f"cannot read the database {path}: {exc}") from exc
    text = format_yaml(report, kb) if args.format == "yaml" else format_text(report, kb) + "\n"
    sys.stdout.write(text)
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Draft a knowledge base from a guide; the draft validates but needs curating."""
    from bot.importer import (
        GuideFormatError,
        copyable_files,
        draft_entries,
        parse_guide,
        render_draft,
        write_draft_dir,
    )

    try:
        guide = parse_guide(args.guide.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.guide}: {exc}") from exc
    except GuideFormatError as exc:
        raise CliError(f"{args.guide}: {exc}") from exc
    summary = (f"{len(draft_entries(guide))} draft entries in {len(guide.sections)} sections "
               f"from {args.guide}")
    if args.output_dir:
        try:
            written = write_draft_dir(guide, args.guide.name, args.output_dir,
                                      settings.knowledge_dir, force=args.force)
        except FileExistsError as exc:
            raise CliError(str(exc)) from exc
        print(f"Wrote {summary} to {args.output_dir} ({', '.join(p.name for p in written)}).")
        print(f"Check it: python run_bot.py validate {args.output_dir}")
        return EXIT_OK
    draft = render_draft(guide, args.guide.name)
    if args.output is None:
        sys.stdout.write(draft)
        print(f"Drafted {summary}.", file=sys.stderr)
        return EXIT_OK
    if args.output.exists() and not args.force:
        raise CliError(f"{args.output} exists; pass --force to overwrite it")
    args.output.write_text(draft, encoding="utf-8")
    others = " ".join(str(p) for p in copyable_files(settings.knowledge_dir))
    print(f"Wrote {summary} to {args.output}.")
    print(f"Check it with the current messages: python run_bot.py validate {args.output} {others}")
    return EXIT_OK


def cmd_add(args: argparse.Namespace, settings: Settings, stdin: TextIO | None = None,
            stdout: TextIO | None = None) -> int:
    """Append one entry to a knowledge file, then validate everything; undo it if invalid."""
    from bot.entry_template import (
        TEMPLATE,
        TEMPLATE_HELP,
        TemplateError,
        insert_entry,
        render_entry,
    )

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if args.template:
        stdout.write(TEMPLATE_HELP + TEMPLATE)
        return EXIT_OK
    knowledge_dir = settings.knowledge_dir
    kb = load_knowledge(knowledge_dir)  # refuse to add to a knowledge base that is already broken
    if args.answer == "-":
        args.answer = stdin.read().strip()
    _complete_add_args(args, kb, stdin, stdout)
    path = args.file or _default_entries_file(kb, args.section, knowledge_dir)
    if path.suffix not in (".yaml", ".yml") or path.resolve().parent != knowledge_dir.resolve():
        raise CliError(f"{path} is not a .yaml file directly in the knowledge folder "
                       f"{knowledge_dir}; only those are loaded")
    original = path.read_bytes() if path.exists() else None
    try:
        text = original.decode("utf-8") if original is not None else ""
        new_text = insert_entry(text, lambda indent: render_entry(
            entry_id=args.entry_id, question=args.question, alternates=args.alternates,
            answer=args.answer, section=args.section, related=args.related,
            keywords=args.keywords, not_covered=args.not_covered, indent=indent))
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text") from exc
    except TemplateError as exc:
        raise CliError(f"{path}: {exc}") from exc
    try:
        path.write_bytes(new_text.encode("utf-8"))
        new_kb = load_knowledge(knowledge_dir)
    except KnowledgeError as exc:
        _restore(path, original)
        print(f"Not added: the entry would make the knowledge base invalid, so {path} is left "
              "unchanged. The problems (lines as they would have been):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    except BaseException:
        _restore(path, original)
        raise
    entry = new_kb.entries[args.entry_id]
    print(f"Added entry '{entry.id}' at {entry.source}.", file=stdout)
    for warning in knowledge_warnings(new_kb):
        if f"'{entry.id}'" in warning.message:
            print(f"warning: {warning}", file=stdout)
    print(f"Next: add a few test questions for it to {knowledge_dir / 'eval' / 'tune.yaml'} "
          f"(- q: \"...\" / expect: {entry.id}); the tests fail for an entry without any. "
          "Then run: python run_bot.py eval", file=stdout)
    return EXIT_OK


def _restore(path: Path, original: bytes | None) -> None:
    if original is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(original)


def _default_entries_file(kb: KnowledgeBase, section: str, knowledge_dir: Path) -> Path:
    """The file holding most entries of ``section`` (else most entries): where it belongs."""
    from collections import Counter

    files = Counter(e.source.rpartition(":")[0] for e in kb.entries.values()
                    if e.section == section)
    files = files or Counter(e.source.rpartition(":")[0] for e in kb.entries.values())
    if not files:
        return knowledge_dir / "entries.yaml"
    return Path(files.most_common(1)[0][0])


def _complete_add_args(args: argparse.Namespace, kb: KnowledgeBase, stdin: TextIO,
                       stdout: TextIO) -> None:
    """Ask for what the flags did not give, when someone is at the terminal to answer."""
    from bot.importer import slug
    from bot.knowledge import MIN_ALTERNATES

    missing = [flag for flag, value in (("--question", args.question), ("--id", args.entry_id),
                                        ("--alternate", args.alternates),
                                        ("--answer", args.answer), ("--section", args.section))
               if not value]
    if not missing:
        return
    if not stdin.isatty():
        raise CliError(f"missing {', '.join(missing)} (run it in a terminal to be asked, or "
                       "see: python run_bot.py add --template)")

    def ask(prompt: str, default: str = "") -> str:
        shown = f" [{default}]" if default else ""
        print(f"{prompt}{shown}: ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            raise CliError("input ended before the entry was complete; nothing was added")
        return line.strip() or default

    def ask_lines(prompt: str) -> list[str]:
        print(f"{prompt} (one per line; an empty line ends):", file=stdout)
        lines = []
        while line := ask("  "):
            lines.append(line)
        return lines

    if not args.question:
        args.question = ask("Question, as shown on buttons")
    if not args.entry_id:
        args.entry_id = ask("Id (lowercase letters, digits, - or _)", slug(args.question))
    while len(args.alternates) < MIN_ALTERNATES:
        need = MIN_ALTERNATES - len(args.alternates)
        args.alternates += ask_lines(f"Other ways people ask it ({need} more needed)")
    if not args.answer:
        args.answer = "\n".join(ask_lines("Answer"))
    if not args.section:
        print("Sections: " + ", ".join(s.id for s in kb.sections), file=stdout)
        args.section = ask("Section")
    if not args.related:
        related = ask("Related entry ids, comma-separated (optional)")
        args.related = related.replace(",", " ").split()
    if not args.keywords:
        args.keywords = [k.strip() for k in ask("Keywords, comma-separated (optional)").split(",")
                         if k.strip()]
    if not args.not_covered:
        asked = ask("Details the answer does not give, comma-separated (optional)")
        args.not_covered = [d.strip() for d in asked.split(",") if d.strip()]


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Print the performance table (progress goes to stderr); missed targets do not fail it."""
    from bot.benchmarks.runner import PARTS, BenchOptions, machine_line, render, run_bench

    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise CliError(f"unknown part(s) {', '.join(unknown) or '(none)'}; "
                       f"choose from: {', '.join(PARTS)}")
    make = BenchOptions.quick if args.quick else BenchOptions.full
    options = make(settings.knowledge_dir, parts)
    started = machine_line()
    try:
        rows = run_bench(options, progress=lambda message: print(message, file=sys.stderr,
                                                                   flush=True))
    except RuntimeError as exc:  # a missing test extra, or a worker that failed
        raise CliError(str(exc)) from exc
    print(f"Machine: {started} (at start); load average at end: "
          f"{machine_line().rpartition('load average ')[2]}")
    print(render(rows))
    return EXIT_OK
