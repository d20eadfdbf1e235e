"""The command line: ask, console, validate, eval and the start-up checks of run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml

from bot.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, build_parser, cmd_console, main
from bot.knowledge import load_knowledge
from bot.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"
BROKEN_DIR = Path(__file__).resolve().parent / "broken_knowledge"
JSON_KEYS = {"kind", "id", "score", "text", "suggestions"}
SETTING_PREFIXES = ("TELEGRAM_", "BOT_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the developer's shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(KNOWLEDGE_DIR)


def child_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(settings)
    return env


def run_cli(*args: str, stdin: str | None = None, timeout: float = 60,
            **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_bot.py", *args], cwd=PROJECT, input=stdin, capture_output=True,
        text=True, encoding="utf-8", timeout=timeout, env=child_env(**settings), check=False)


def add_broken_file(folder: Path, broken: str) -> Path:
    shutil.copyfile(BROKEN_DIR / broken, folder / f"zz-{broken}")
    return folder


# -- ask ------------------------------------------------------------------------------


def test_ask_prints_the_answer(kb, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ask", "--knowledge-dir", str(KNOWLEDGE_DIR), "what do peptides even do"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.startswith(kb.entries["peptides"].answer)
    assert kb.messages["related"] in out


def test_ask_joins_the_words_of_an_unquoted_question(kb,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--knowledge-dir", str(KNOWLEDGE_DIR), "what", "do", "peptides",
                 "even", "do"]) == EXIT_OK
    assert kb.entries["peptides"].answer in capsys.readouterr().out


def test_ask_in_a_subprocess_uses_the_default_knowledge_folder(kb) -> None:
    done = run_cli("ask", "what do peptides even do")
    assert done.returncode == 0, done.stderr
    assert kb.entries["peptides"].answer in done.stdout


def test_python_dash_m_bot_is_the_same_entry_point() -> None:
    question = "what do peptides even do"
    by_module = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", question], cwd=PROJECT,
        capture_output=True, text=True, encoding="utf-8", timeout=60, env=child_env(),
        check=False)
    by_script = run_cli("ask", "--json", question)
    assert by_module.returncode == by_script.returncode == 0, by_module.stderr
    assert json.loads(by_module.stdout) == json.loads(by_script.stdout)
    assert json.loads(by_module.stdout)["id"] == "peptides"


@pytest.mark.parametrize(("question", "kind", "entry_id"), [
    ("what do peptides even do", "answer", "peptides"),
    ("hi", "smalltalk", "smalltalk-hello"),
    ("who won the football", "fallback", None),
    ("rash after retinol", "safety", None),
])
def test_ask_json_prints_one_object_with_exactly_the_documented_keys(
        kb, capsys: pytest.CaptureFixture[str], question: str, kind: str,
        entry_id: str | None) -> None:
    assert main(["ask", "--json", "--knowledge-dir", str(KNOWLEDGE_DIR), question]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) == JSON_KEYS
    assert obj["kind"] == kind
    assert obj["id"] == entry_id
    assert isinstance(obj["score"], float | int) and 0 <= obj["score"] <= 1
    assert isinstance(obj["text"], str) and obj["text"]
    assert isinstance(obj["suggestions"], list)
    assert all(s in kb.entries for s in obj["suggestions"])
    if kind == "safety":
        assert obj["text"] == kb.messages["safety"] and obj["suggestions"] == []
    if kind == "fallback":
        assert obj["text"] == kb.messages["fallback"]


def test_ask_json_keeps_non_ascii_readable(capsys: pytest.CaptureFixture[str]) -> None:
    main(["ask", "--json", "--knowledge-dir", str(KNOWLEDGE_DIR), "привет 😀"])
    line = capsys.readouterr().out.strip()
    assert json.loads(line)["kind"] == "fallback"


def test_ask_reads_one_question_per_stdin_line_in_order(kb) -> None:
    done = run_cli("ask", "--json", stdin="what do peptides even do\nhi\nrash after retinol\n")
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["kind"], o["id"]) for o in objects] == [
        ("answer", "peptides"), ("smalltalk", "smalltalk-hello"), ("safety", None)]
    assert all(set(o) == JSON_KEYS for o in objects)


def test_a_reader_that_stops_early_ends_ask_quietly(tmp_path: Path) -> None:
    """`ask ... | head -1`: a closed pipe is the reader's choice, not a crash."""
    questions = tmp_path / "questions.txt"
    questions.write_text("what do peptides do\n" * 20_000, encoding="utf-8")
    with questions.open("rb") as stdin:
        process = subprocess.Popen(
            [sys.executable, "run_bot.py", "ask", "--json"], cwd=PROJECT, env=child_env(),
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert json.loads(process.stdout.readline())["id"] == "peptides"
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141
    assert b"Traceback" not in err


def test_ask_plain_stdin_mode_prints_one_reply_per_line(kb) -> None:
    done = run_cli("ask", stdin="hi\nbye\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [kb.entries["smalltalk-hello"].answer,
                                        kb.entries["smalltalk-bye"].answer]


def test_ask_answers_twenty_thousand_lines_one_result_each() -> None:
    """Bulk mode keeps one result per input line, in order (speed is in `run_bot.py bench`)."""
    questions = ["what do peptides even do", "hi", "is gua sha bad for my skin {i}",
                 "rash after retinol", "who won the football", "sagging",
                 "how oftn shud i use a rollr {i}", "zqx{i} blorf {i}", "", "😀"]
    lines = [questions[i % len(questions)].format(i=i) for i in range(20_000)]
    done = run_cli("ask", "--json", stdin="\n".join(lines) + "\n", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.splitlines()
    assert len(out) == 20_000
    assert json.loads(out[0])["id"] == "peptides"
    assert json.loads(out[1])["kind"] == "smalltalk"
    assert json.loads(out[3])["kind"] == "safety"
    assert json.loads(out[-2])["kind"] == "fallback"
    assert json.loads(out[-1])["kind"] == "smalltalk"


def test_ask_does_not_import_telegram() -> None:
    code = ("import sys, bot.cli; bot.cli.main(['ask', 'hi']); "
            "print('telegram' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True,
                          text=True, timeout=60, env=child_env(), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"


def test_ask_with_a_broken_knowledge_folder_explains_and_exits_1(
        knowledge_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = add_broken_file(knowledge_copy, "answer-typo-anwser.yaml")
    assert main(["ask", "--knowledge-dir", str(folder), "hi"]) == EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert "zz-answer-typo-anwser.yaml:13: unknown field" in err


# -- validate -------------------------------------------------------------------------


def test_validate_accepts_the_shipped_knowledge(kb) -> None:
    done = run_cli("validate")
    assert done.returncode == 0, done.stderr
    assert f"OK: {len(kb.entries)} entries" in done.stdout


def test_validate_reports_every_problem_as_file_line_message(knowledge_copy: Path) -> None:
    folder = add_broken_file(knowledge_copy, "too-few-alternates.yaml")
    shutil.copyfile(BROKEN_DIR / "unknown-section.yaml", folder / "zz-unknown-section.yaml")

    done = run_cli("validate", str(folder))

    assert done.returncode == 1
    assert "OK:" not in done.stdout
    located = [line.strip() for line in done.stderr.splitlines()
               if re.fullmatch(r"\s*\S+\.yaml:\d+: .+", line)]
    assert f"{folder / 'zz-too-few-alternates.yaml'}:6: entry 'zebra-few': has 3 alternates; " \
           "give at least 6 other ways people ask it" in located
    assert any(line.startswith(f"{folder / 'zz-unknown-section.yaml'}:4: ") for line in located)


def test_validate_uses_the_knowledge_dir_flag(knowledge_copy: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = add_broken_file(knowledge_copy, "empty-answer.yaml")
    assert main(["validate", "--knowledge-dir", str(folder)]) == EXIT_PROBLEMS
    assert "zz-empty-answer.yaml:13:" in capsys.readouterr().err


def test_validate_prints_near_duplicate_warnings_but_passes(
        knowledge_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = knowledge_copy
    entries = []
    for entry_id, question in (("zebra-dust-a", "How often should zebras roll in the dust?"),
                               ("zebra-dust-b", "How often should zebras roll in dust?")):
        entries.append({"id": entry_id, "question": question,
                        "alternates": [f"{entry_id} way {n}" for n in range(6)],
                        "answer": "Daily.", "section": "qa"})
    (folder / "zz-near.yaml").write_text(yaml.safe_dump({"entries": entries}), encoding="utf-8")

    assert main(["validate", str(folder)]) == EXIT_OK

    out = capsys.readouterr().out
    assert re.search(r"^warning: .*zz-near\.yaml:\d+: entry 'zebra-dust-a'.*zebra-dust-b", out,
                     re.MULTILINE)
    assert "warnings)" in out


def test_validate_a_missing_path_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    done = run_cli("validate", str(missing))
    assert done.returncode == 1
    assert "no such file or folder" in done.stderr
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr


# -- eval -----------------------------------------------------------------------------


def write_eval(tmp_path: Path, floors: dict[str, float], wrong_label: bool = False) -> Path:
    questions = [
        {"q": "what do peptides even do", "expect": "peptides"},
        {"q": "should i massage upwards or downwards",
         "expect": "retinoids" if wrong_label else "massage-direction"},
        {"q": "hi", "expect": "smalltalk-hello"},
        {"q": "who won the football", "expect": "fallback"},
        {"q": "rash after retinol", "expect": "safety"},
    ]
    path = tmp_path / "labelled.yaml"
    path.write_text(yaml.safe_dump({"questions": questions, "floors": floors}),
                    encoding="utf-8")
    return path


def test_eval_prints_accuracy_per_group_and_passes_its_floors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_eval(tmp_path, {"in_scope": 1.0, "safety": 1.0})
    code = main(["eval", "--knowledge-dir", str(KNOWLEDGE_DIR), str(path)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "== labelled.yaml" in out
    assert re.search(r"in_scope\s+2/2\s+100\.0%\s+floor 100%", out)
    assert re.search(r"smalltalk\s+1/1\s+100\.0%", out)
    assert re.search(r"fallback\s+1/1\s+100\.0%", out)
    assert re.search(r"safety\s+1/1\s+100\.0%", out)
    assert re.search(r"overall\s+5/5\s+100\.0%", out)
    assert "FAIL" not in out


def test_eval_baseline_has_nothing_to_compare_without_in_scope_questions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file of only out-of-scope questions has no in-scope top-1 figure: not 100%."""
    path = tmp_path / "fallbacks.yaml"
    path.write_text(yaml.safe_dump({"questions": [{"q": "who won the football",
                                                   "expect": "fallback"}]}), encoding="utf-8")
    code = main(["eval", "--baseline", "--knowledge-dir", str(KNOWLEDGE_DIR), str(path)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "in-scope top-1 n/a (no in-scope questions)" in out


def test_eval_fails_when_a_floor_is_not_met(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write_eval(tmp_path, {"in_scope": 0.9}, wrong_label=True)
    code = main(["eval", "--knowledge-dir", str(KNOWLEDGE_DIR), str(path)])
    out = capsys.readouterr().out
    assert code != EXIT_OK
    assert re.search(r"in_scope\s+1/2\s+50\.0%\s+floor 90%", out)
    assert "FAIL labelled.yaml: in_scope accuracy 50.0% is below the floor 90%" in out
    assert "retinoids -> massage-direction" in out


def test_eval_floor_that_is_met_by_a_lower_accuracy_passes(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           ) -> None:
    path = write_eval(tmp_path, {"in_scope": 0.5}, wrong_label=True)
    assert main(["eval", "--knowledge-dir", str(KNOWLEDGE_DIR), "--quiet", str(path)]) == 0
    out = capsys.readouterr().out
    assert "misses" not in out and "FAIL" not in out


def test_eval_rejects_a_label_that_is_not_an_entry(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("questions:\n  - q: hello\n    expect: no-such-entry\n", encoding="utf-8")
    assert main(["eval", "--knowledge-dir", str(KNOWLEDGE_DIR), str(path)]) == EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert f"{path}:3: expect 'no-such-entry' is not an entry id" in err


def test_eval_in_a_subprocess_exit_code_follows_the_floors(tmp_path: Path) -> None:
    failing = run_cli("eval", "--quiet",
                      str(write_eval(tmp_path, {"in_scope": 0.9}, wrong_label=True)))
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "FAIL" in failing.stdout


# -- console --------------------------------------------------------------------------


def test_console_greets_disclaims_answers_and_follows_a_numbered_choice(kb) -> None:
    stdin = StringIO("hi\nwhat do peptides do\n1\nquit\n")
    stdout = StringIO()
    args = build_parser().parse_args(["console"])

    code = cmd_console(args, Settings(knowledge_dir=KNOWLEDGE_DIR), stdin=stdin, stdout=stdout)

    out = stdout.getvalue()
    assert code == EXIT_OK
    assert kb.messages["welcome"] in out
    assert "not medical advice" in out
    assert out.index(kb.messages["welcome"]) < out.index("bot> ")
    assert kb.entries["smalltalk-hello"].answer in out
    peptides = kb.entries["peptides"]
    assert peptides.answer in out
    first_related = next(r for r in peptides.related if r in kb.entries)
    assert f"1. {kb.entries[first_related].question}" in out
    assert kb.entries[first_related].answer in out
    assert out.index(peptides.answer) < out.index(kb.entries[first_related].answer)
    assert out.rstrip().endswith("bye!")


def test_console_ends_at_end_of_input() -> None:
    stdout = StringIO()
    code = cmd_console(build_parser().parse_args(["console"]),
                       Settings(knowledge_dir=KNOWLEDGE_DIR), stdin=StringIO("hi\n"),
                       stdout=stdout)
    assert code == EXIT_OK
    assert stdout.getvalue().rstrip().endswith("bye!")


def test_console_in_a_subprocess(kb) -> None:
    done = run_cli("console", stdin="hi\nwhat do peptides do\n1\nquit\n")
    assert done.returncode == 0, done.stderr
    assert "not medical advice" in done.stdout
    assert kb.entries["smalltalk-hello"].answer in done.stdout
    assert kb.entries["peptides"].answer in done.stdout


# -- run: start-up checks ---------------------------------------------------------------


@pytest.mark.parametrize("argv", [["run"], []])
def test_run_without_a_token_explains_how_to_get_one(argv: list[str]) -> None:
    done = run_cli(*argv, timeout=30)
    assert done.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in done.stderr
    assert "@BotFather" in done.stderr
    assert "console" in done.stderr
    assert "Traceback" not in done.stderr


VALID_TOKEN = "123456789:AAE3kSecretPartThatMustNeverLeak"


@pytest.mark.parametrize(("settings", "variable", "secret"), [
    ({"TELEGRAM_BOT_TOKEN": "12345:leaky secret token!"}, "TELEGRAM_BOT_TOKEN",
     "leaky secret token"),
    ({"TELEGRAM_BOT_TOKEN": "AAE3kSecretWithoutColon"}, "TELEGRAM_BOT_TOKEN",
     "AAE3kSecretWithoutColon"),
    ({"TELEGRAM_BOT_TOKEN": VALID_TOKEN, "BOT_ADMIN_IDS": "abc"}, "BOT_ADMIN_IDS",
     VALID_TOKEN.split(":")[1]),
    ({"TELEGRAM_BOT_TOKEN": VALID_TOKEN, "BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE",
     VALID_TOKEN.split(":")[1]),
])
def test_run_with_a_bad_setting_exits_2_naming_it_without_echoing_the_token(
        settings: dict[str, str], variable: str, secret: str) -> None:
    done = run_cli("run", timeout=30, **settings)
    assert done.returncode == 2
    assert variable in done.stderr
    assert secret not in done.stderr and secret not in done.stdout
    assert "Traceback" not in done.stderr


def test_a_bad_flag_is_named_by_its_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--admin-ids", "12,x"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--admin-ids" in err and "'x'" in err


def test_webhook_url_without_secret_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", VALID_TOKEN)
    assert main(["run", "--webhook-url", "https://bot.example.org/hook"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "BOT_WEBHOOK_SECRET" in err
    assert VALID_TOKEN not in err
