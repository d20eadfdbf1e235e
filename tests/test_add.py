"""``run_bot.py add``: one entry appended as text, the whole folder validated, and any bad
add undone byte for byte. Always on a copy of knowledge/, never the working tree."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.entry_template import TEMPLATE, insert_entry, render_entry
from bot.knowledge import load_knowledge

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"
ALTERNATES = ("can i put my jade roller in the fridge", "chilled face roller",
              "cold roller for puffiness", "fridge roller good or bad", "should my roller be cold",
              "storing facial roller in refrigerator")
ANSWER = "A chilled roller feels refreshing and can help with morning puffiness."


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_args(knowledge: Path, *, entry_id: str = "chilled-roller",
             question: str = "Should I keep my face roller in the fridge?",
             alternates: tuple[str, ...] = ALTERNATES, section: str = "massage",
             answer: str = ANSWER, file: str = "entries-massage.yaml",
             extra: tuple[str, ...] = ()) -> list[str]:
    args = ["add", "--knowledge-dir", str(knowledge), "--id", entry_id, "--question", question,
            "--answer", answer, "--section", section, "--file", str(knowledge / file)]
    for alternate in alternates:
        args += ["--alternate", alternate]
    return args + list(extra)


def test_add_appends_the_entry_and_keeps_the_rest_of_the_file(capsys,
                                                              knowledge_copy: Path) -> None:
    target = knowledge_copy / "entries-massage.yaml"
    before = target.read_text(encoding="utf-8")
    code, out, err = run(capsys, *add_args(knowledge_copy,
                                           extra=("--related", "gua-sha", "tool-frequency",
                                                  "--keywords", "fridge", "chilled",
                                                  "--not-covered", "freezer", "how many minutes")))
    assert code == 0, err
    assert "Added entry 'chilled-roller'" in out and "tune.yaml" in out
    after = target.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n")), "the existing text (comments too) is kept"
    assert after.count("\n  - id: ") == before.count("\n  - id: ") + 1
    entry = load_knowledge(knowledge_copy).entries["chilled-roller"]
    assert entry.alternates == ALTERNATES
    assert entry.answer == ANSWER
    assert entry.related == ("gua-sha", "tool-frequency")
    assert entry.keywords == ("fridge", "chilled")
    assert entry.not_covered == ("freezer", "how many minutes")
    assert entry.source.startswith(str(target))


def test_the_added_entry_is_answered_by_ask(capsys, knowledge_copy: Path) -> None:
    assert run(capsys, *add_args(knowledge_copy))[0] == 0
    for question in ("can i keep my roller in the fridge", "is a chilled face roller better"):
        code, out, _ = run(capsys, "ask", "--knowledge-dir", str(knowledge_copy), question)
        assert code == 0
        assert out.strip() == ANSWER, question


@pytest.mark.parametrize(("change", "expected"), [
    ({"entry_id": "gua-sha"}, "duplicate id 'gua-sha'"),
    ({"alternates": ALTERNATES[:3]}, "has 3 alternates; give at least 6"),
    ({"section": "no-such-section"}, "section 'no-such-section' is not one of"),
    ({"entry_id": "Bad Id!"}, "id must be 1-48 lowercase letters"),
    ({"alternates": (*ALTERNATES[:5], "how often should i use a roller or gua sha")},
     "each phrasing must belong to one entry"),
    ({"extra": ("--not-covered", "fridge")}, "not_covered 'fridge' occurs in its own phrasing"),
])
def test_a_bad_add_leaves_the_file_byte_identical(capsys, knowledge_copy: Path, change: dict,
                                                  expected: str) -> None:
    target = knowledge_copy / "entries-massage.yaml"
    before = target.read_bytes()
    code, _, err = run(capsys, *add_args(knowledge_copy, **change))
    assert code == 1
    assert expected in err
    assert "Not added" in err and "Traceback" not in err
    assert target.read_bytes() == before
    load_knowledge(knowledge_copy)  # still valid


def test_a_bad_add_to_a_new_file_removes_it_again(capsys, knowledge_copy: Path) -> None:
    new_file = knowledge_copy / "entries-new.yaml"
    code, _, err = run(capsys, *add_args(knowledge_copy, section="nowhere",
                                         file="entries-new.yaml"))
    assert code == 1 and "section 'nowhere'" in err
    assert not new_file.exists()
    code, _, err = run(capsys, *add_args(knowledge_copy, file="entries-new.yaml"))
    assert code == 0, err
    assert new_file.read_text(encoding="utf-8").startswith("entries:\n  - id: chilled-roller\n")


def test_add_refuses_a_file_outside_the_knowledge_folder(capsys, knowledge_copy: Path,
                                                         tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    args = add_args(knowledge_copy)
    args[args.index("--file") + 1] = str(outside)
    code, _, err = run(capsys, *args)
    assert code == 1 and "not a .yaml file directly in the knowledge folder" in err
    assert not outside.exists()


def test_add_without_a_file_uses_the_sections_file(capsys, knowledge_copy: Path) -> None:
    args = add_args(knowledge_copy)
    index = args.index("--file")
    del args[index:index + 2]
    assert run(capsys, *args)[0] == 0
    entry = load_knowledge(knowledge_copy).entries["chilled-roller"]
    assert Path(entry.source.rpartition(":")[0]).name == "entries-massage.yaml"


def test_awkward_characters_survive_exactly(capsys, knowledge_copy: Path) -> None:
    question = 'Is "cold" OK? #1: yes/no'
    answer = "Line one: it's fine 👍\n  - not a list\n# not a comment\n\nlast line"
    code, _, err = run(capsys, *add_args(knowledge_copy, question=question, answer=answer,
                                         alternates=(*ALTERNATES[:5], "yes")))
    assert code == 0, err
    entry = load_knowledge(knowledge_copy).entries["chilled-roller"]
    assert entry.question == question
    assert entry.answer == answer
    assert entry.alternates[-1] == "yes"  # not the boolean true


def test_missing_flags_without_a_terminal_is_an_error(capsys, knowledge_copy: Path,
                                                      monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "add", "--knowledge-dir", str(knowledge_copy), "--id", "x")
    assert code == 1
    assert "missing --question, --alternate, --answer, --section" in err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_add_asks_for_what_is_missing(capsys, knowledge_copy: Path,
                                                  monkeypatch) -> None:
    typed = "\n".join([
        "Should I keep my face roller in the fridge?",  # question
        "",  # id: accept the suggestion
        *ALTERNATES, "",  # alternates, then an empty line
        "A chilled roller feels refreshing.", "It helps with puffiness.", "",  # answer
        "massage",  # section
        "gua-sha, tool-frequency",  # related
        "fridge",  # keywords
        "freezer, how many minutes",  # details not covered
    ]) + "\n"
    monkeypatch.setattr(sys, "stdin", FakeTerminal(typed))
    code, out, err = run(capsys, "add", "--knowledge-dir", str(knowledge_copy),
                         "--file", str(knowledge_copy / "entries-massage.yaml"))
    assert code == 0, err
    assert "Sections:" in out
    kb = load_knowledge(knowledge_copy)
    entry = kb.entries["should-i-keep-my-face-roller-in-the-fridge"]
    assert entry.answer == "A chilled roller feels refreshing.\nIt helps with puffiness."
    assert entry.related == ("gua-sha", "tool-frequency") and entry.keywords == ("fridge",)
    assert entry.not_covered == ("freezer", "how many minutes")


def test_answer_from_stdin(capsys, knowledge_copy: Path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("First line.\nSecond line.\n"))
    code, _, err = run(capsys, *add_args(knowledge_copy, answer="-"))
    assert code == 0, err
    entry = load_knowledge(knowledge_copy).entries["chilled-roller"]
    assert entry.answer == "First line.\nSecond line."


def test_template_is_valid_yaml_for_one_entry(capsys, knowledge_copy: Path) -> None:
    code, out, _ = run(capsys, "add", "--template", "--knowledge-dir", str(knowledge_copy))
    assert code == 0
    entries = yaml.safe_load(out)
    assert isinstance(entries, list) and len(entries) == 1
    assert {"id", "question", "alternates", "answer", "section"} <= set(entries[0])
    assert len(entries[0]["alternates"]) >= 6
    assert out.endswith(TEMPLATE)


def test_insert_entry_goes_at_the_end_of_the_entries_block() -> None:
    def render(indent: int) -> str:
        return render_entry(entry_id="new", question="New?", alternates=["a"], answer="x",
                            section="qa", indent=indent)

    text = "# top comment\nentries:\n  - id: old\n    question: q\n\n# sections follow\nsections:\n"
    result = insert_entry(text, render)
    assert result.index("- id: new") < result.index("# sections follow")
    assert result.replace(render(2), "").replace("\n\n\n", "\n\n") == text
    data = yaml.safe_load(result)
    assert [e["id"] for e in data["entries"]] == ["old", "new"]
    crlf = insert_entry("entries:\r\n  - id: old\r\n", render)
    assert "\r\n  - id: new\r\n" in crlf and "\n" not in crlf.replace("\r\n", "")
    assert yaml.safe_load(insert_entry("messages:\n  a: b\n", render))["entries"][0]["id"] == "new"
