"""Loading and validating the knowledge files: the shipped ones, merged ones and broken ones.

Each file in ``tests/broken_knowledge/`` is a small knowledge file with one thing wrong.
Its header says what, and which problem the loader must report:

    # expect: line 7: unknown field in entry

The test installs it next to a copy of the real ``knowledge/`` folder, as ``zz-<name>``
so it is read after the shipped files (duplicates are reported on the later file).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.knowledge import (
    MESSAGE_KEYS,
    TELEGRAM_MESSAGE_LIMIT,
    KnowledgeError,
    load_knowledge,
    near_duplicate_warnings,
    repeated_phrase_warnings,
    topic_clash_warnings,
)
from bot.matcher import Matcher
from bot.yaml_source import MAX_FILE_BYTES, Problem

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"
BROKEN_DIR = Path(__file__).resolve().parent / "broken_knowledge"
EXPECT = re.compile(rb"^# expect: line (\d+): (.+)$", re.MULTILINE)

REQUIRED_IDS = (
    "what-causes-sagging", "collagen-elastin", "massage-benefits", "massage-oil",
    "boost-circulation", "lymphatic-drainage", "massage-direction", "retinoids", "peptides",
    "vitamin-c", "firming-ingredients", "massage-plus-cosmetics", "gua-sha", "massage-damage",
    "tool-frequency", "surgery-alternatives", "firming-routine", "learn-more",
)

ZEBRA_ENTRY = """\
  - id: {id}
    question: "{question}"
    alternates:
{alternates}
    answer: "{answer}"
    section: qa
"""


def zebra_entry(entry_id: str, question: str, answer: str = "Zebras are striped.") -> str:
    """A valid entry whose phrasings cannot collide with the shipped ones."""
    words = ("one", "two", "three", "four", "five", "six")
    alternates = "\n".join(f'      - "{entry_id} alternate {w}"' for w in words)
    return ZEBRA_ENTRY.format(id=entry_id, question=question, alternates=alternates,
                              answer=answer)


def load_expecting_error(folder: Path) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    return caught.value


def problems_in(error: KnowledgeError, file_name: str) -> list[Problem]:
    return [p for p in error.problems if Path(p.file).name == file_name]


def show(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems) or "(no problems)"


# -- the shipped knowledge base ----------------------------------------------------------


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(KNOWLEDGE_DIR)


def test_shipped_knowledge_has_every_required_entry(kb) -> None:
    missing = [entry_id for entry_id in REQUIRED_IDS if entry_id not in kb.entries]
    assert not missing, f"required entries missing: {missing}"
    for entry_id in REQUIRED_IDS:
        assert kb.entries[entry_id].kind == "answer"


def test_every_shipped_entry_is_complete(kb) -> None:
    section_ids = {s.id for s in kb.sections}
    for entry in kb.entries.values():
        assert len(entry.alternates) >= 6, entry.id
        assert entry.section in section_ids, entry.id
        assert entry.question.strip(), entry.id
        assert 0 < len(entry.answer) <= TELEGRAM_MESSAGE_LIMIT, entry.id
        assert entry.source.startswith(str(KNOWLEDGE_DIR)), entry.source
        for related in entry.related:
            assert related in kb.entries and related != entry.id, (entry.id, related)


def test_shipped_knowledge_has_small_talk_messages_and_safety_rules(kb) -> None:
    smalltalk = [e for e in kb.entries.values() if e.kind == "smalltalk"]
    assert len(smalltalk) >= 3
    assert set(MESSAGE_KEYS) <= set(kb.messages)
    assert all(0 < len(text) <= TELEGRAM_MESSAGE_LIMIT for text in kb.messages.values())
    assert kb.red_flags and all(rule.patterns for rule in kb.red_flags)
    browsable = [s for s in kb.sections if s.browse]
    assert browsable and all(kb.entries_in(s.id) for s in browsable)


def test_shipped_knowledge_is_read_from_several_files(kb) -> None:
    sources = {entry.source.rsplit(":", 1)[0] for entry in kb.entries.values()}
    assert len(sources) >= 2
    assert len(kb.files) == len(list(KNOWLEDGE_DIR.glob("*.yaml")))


def test_an_out_of_scope_topic_listed_twice_counts_once(kb, knowledge_copy: Path) -> None:
    """A topic repeated in another file (or the same one) must not weigh double."""
    (knowledge_copy / "more-topics.yaml").write_text(
        "out_of_scope: [botox, hyaluronic*]\npassing_topics: [sephora]\n", encoding="utf-8")
    merged = load_knowledge(knowledge_copy)
    assert sorted(merged.out_of_scope) == sorted(kb.out_of_scope)
    assert sorted(merged.passing_topics) == sorted(kb.passing_topics)
    question = "bought a retinol at sephora, what does it do for sagging"
    assert Matcher(merged).match(question) == Matcher(kb).match(question)


def test_an_entries_file_split_in_two_loads_the_same_entries(kb, knowledge_copy: Path) -> None:
    biggest = max(knowledge_copy.glob("entries-*.yaml"),
                  key=lambda p: p.read_text(encoding="utf-8").count("\n  - id:"))
    lines = biggest.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("  - id:")]
    assert len(starts) >= 2, f"{biggest.name} has too few entries to split"
    cut = starts[len(starts) // 2]
    first, second = "".join(lines[:cut]), "entries:\n" + "".join(lines[cut:])
    biggest.unlink()
    (knowledge_copy / "part-one.yaml").write_text(first, encoding="utf-8")
    (knowledge_copy / "part-two.yaml").write_text(second, encoding="utf-8")

    merged = load_knowledge(knowledge_copy)

    assert set(merged.entries) == set(kb.entries)
    moved = [e for e in merged.entries.values() if e.source.startswith(str(knowledge_copy))]
    files = {Path(e.source.rsplit(":", 1)[0]).name for e in moved}
    assert {"part-one.yaml", "part-two.yaml"} <= files


def test_files_and_folders_can_be_given_together(kb, knowledge_copy: Path,
                                                 tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("entries:\n" + zebra_entry("zebra-extra", "Do zebras get jowls?"),
                     encoding="utf-8")
    merged = load_knowledge([knowledge_copy, extra])
    assert set(merged.entries) == set(kb.entries) | {"zebra-extra"}
    assert merged.entries["zebra-extra"].source == f"{extra}:2"


def test_a_folder_without_yaml_files_is_an_error(tmp_path: Path) -> None:
    error = load_expecting_error(tmp_path)
    assert "no .yaml knowledge files" in str(error)


# -- the broken-file corpus -----------------------------------------------------------


def corpus() -> list[Path]:
    return sorted(BROKEN_DIR.glob("*.yaml"))


def expectation(path: Path) -> tuple[int, str]:
    found = EXPECT.search(path.read_bytes())
    assert found, f"{path.name} has no '# expect: line N: message' header"
    return int(found.group(1)), found.group(2).decode("utf-8").strip()


def test_the_corpus_is_big_enough() -> None:
    assert len(corpus()) >= 20


@pytest.mark.parametrize("broken", corpus(), ids=lambda p: p.stem)
def test_a_broken_file_is_reported_with_file_line_and_reason(broken: Path,
                                                             knowledge_copy: Path) -> None:
    line, fragment = expectation(broken)
    installed = f"zz-{broken.name}"
    shutil.copyfile(broken, knowledge_copy / installed)

    error = load_expecting_error(knowledge_copy)

    mine = problems_in(error, installed)
    assert any(p.line == line and fragment in p.message for p in mine), (
        f"expected {installed}:{line}: ...{fragment}... among:\n{show(error.problems)}")
    for problem in error.problems:
        assert str(problem) == f"{problem.file}:{problem.line}: {problem.message}"
        assert problem.line >= 1
    assert str(error).splitlines() == [str(p) for p in error.problems]


def test_a_broken_file_does_not_hide_problems_in_other_files(knowledge_copy: Path) -> None:
    for name in ("too-few-alternates.yaml", "unknown-related-id.yaml"):
        shutil.copyfile(BROKEN_DIR / name, knowledge_copy / f"zz-{name}")
    error = load_expecting_error(knowledge_copy)
    assert problems_in(error, "zz-too-few-alternates.yaml")
    assert problems_in(error, "zz-unknown-related-id.yaml")


def test_a_file_over_one_megabyte_is_refused_without_parsing(knowledge_copy: Path) -> None:
    big = knowledge_copy / "zz-huge.yaml"
    filler = "# padding line to make the file too big for a knowledge file\n"
    big.write_text("entries:\n" + filler * (MAX_FILE_BYTES // len(filler) + 10), encoding="utf-8")
    assert big.stat().st_size > 1_000_000

    error = load_expecting_error(knowledge_copy)

    [problem] = problems_in(error, "zz-huge.yaml")
    assert problem.line == 1
    assert "MB" in problem.message and "split it" in problem.message


def test_invalid_utf8_written_from_the_test_names_the_line(knowledge_copy: Path) -> None:
    bad = knowledge_copy / "zz-bytes.yaml"
    bad.write_bytes(b"# fine\n# still fine\nmessages:\n  welcome: \"caf\xe9\"\n")
    error = load_expecting_error(knowledge_copy)
    [problem] = problems_in(error, "zz-bytes.yaml")
    assert problem.line == 4
    assert "UTF-8" in problem.message


def test_a_utf8_byte_order_mark_is_accepted(knowledge_copy: Path) -> None:
    (knowledge_copy / "zz-bom.yaml").write_bytes(
        "\ufeffentries:\n".encode() + zebra_entry("zebra-bom", "Do zebras wear BOMs?").encode())
    assert "zebra-bom" in load_knowledge(knowledge_copy).entries


def test_deeply_nested_yaml_is_a_problem_not_a_crash(knowledge_copy: Path) -> None:
    (knowledge_copy / "zz-deep.yaml").write_text("tips: " + "[" * 5000 + "]" * 5000 + "\n",
                                                 encoding="utf-8")
    error = load_expecting_error(knowledge_copy)
    [problem] = problems_in(error, "zz-deep.yaml")
    assert "nested too deeply" in problem.message


def test_python_tags_are_refused_and_never_executed(knowledge_copy: Path,
                                                    tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (knowledge_copy / "zz-evil.yaml").write_text(
        "# a payload that would create a folder if the loader built python objects\n"
        f'tips: !!python/object/apply:os.mkdir ["{marker}"]\n', encoding="utf-8")

    error = load_expecting_error(knowledge_copy)

    [problem] = problems_in(error, "zz-evil.yaml")
    assert problem.line == 2
    assert "python/object/apply:os.mkdir" in problem.message
    assert not marker.exists()


def test_near_duplicate_questions_warn_but_load(knowledge_copy: Path) -> None:
    (knowledge_copy / "zz-near.yaml").write_text(
        "entries:\n"
        + zebra_entry("zebra-dust-a", "How often should zebras roll in the dust?")
        + zebra_entry("zebra-dust-b", "How often should zebras roll in dust?"),
        encoding="utf-8")

    kb = load_knowledge(knowledge_copy)  # no KnowledgeError: only a warning

    assert {"zebra-dust-a", "zebra-dust-b"} <= set(kb.entries)
    warnings = near_duplicate_warnings(kb)
    ours = [w for w in warnings if "zebra-dust-a" in w.message and "zebra-dust-b" in w.message]
    assert len(ours) == 1, show(warnings)
    assert Path(ours[0].file).name == "zz-near.yaml"
    assert ours[0].line == 2
    assert "may confuse" in ours[0].message


def test_shipped_entries_are_not_reported_as_near_duplicates_of_a_distinct_question(
        knowledge_copy: Path) -> None:
    (knowledge_copy / "zz-far.yaml").write_text(
        "entries:\n" + zebra_entry("zebra-far", "Can zebras recite poetry backwards?"),
        encoding="utf-8")
    kb = load_knowledge(knowledge_copy)
    assert not [w for w in near_duplicate_warnings(kb) if "zebra-far" in w.message]


def test_an_entry_phrasing_that_names_an_out_of_scope_topic_warns(knowledge_copy: Path) -> None:
    assert topic_clash_warnings(load_knowledge(knowledge_copy)) == []  # the shipped files
    # The alternates ("zebra-botox alternate one", ...) name botox; the question does not.
    (knowledge_copy / "zz-clash.yaml").write_text(
        "entries:\n" + zebra_entry("zebra-botox", "Can zebras dance?"), encoding="utf-8")

    warnings = topic_clash_warnings(load_knowledge(knowledge_copy))

    assert len(warnings) == 1, show(warnings)
    assert Path(warnings[0].file).name == "zz-clash.yaml" and warnings[0].line == 2
    assert "'botox'" in warnings[0].message and "zebra-botox" in warnings[0].message


def test_a_topic_an_entry_question_names_is_covered_not_a_clash(knowledge_copy: Path) -> None:
    (knowledge_copy / "zz-covered.yaml").write_text(
        "entries:\n" + zebra_entry("zebra-botox", "Can zebras have botox?"), encoding="utf-8")
    assert topic_clash_warnings(load_knowledge(knowledge_copy)) == []


def test_a_phrase_listed_twice_in_a_red_flag_warns(knowledge_copy: Path) -> None:
    assert repeated_phrase_warnings(load_knowledge(knowledge_copy)) == []  # the shipped files
    (knowledge_copy / "zz-flags.yaml").write_text(
        "red_flags:\n  - id: zebra-rash\n    patterns: [zebra rash, striped rash, zebra rash]\n",
        encoding="utf-8")

    warnings = repeated_phrase_warnings(load_knowledge(knowledge_copy))

    assert len(warnings) == 1, show(warnings)
    assert Path(warnings[0].file).name == "zz-flags.yaml" and warnings[0].line == 2
    assert "'zebra rash'" in warnings[0].message and "patterns" in warnings[0].message


def test_problems_read_as_file_line_message() -> None:
    problem = Problem("knowledge/a.yaml", 7, "unknown field")
    assert str(problem) == "knowledge/a.yaml:7: unknown field"


def test_all_problems_are_collected_not_just_the_first(knowledge_copy: Path) -> None:
    (knowledge_copy / "zz-many.yaml").write_text(
        "entries:\n"
        "  - id: zebra-many\n"          # line 2
        "    question: \"Zebra?\"\n"
        "    alternates: [a zebra]\n"   # line 4: too few
        "    anwser: \"x\"\n"           # line 5: typo
        "    section: savannah\n"
        "bogus: 1\n",                   # line 7: unknown top-level key
        encoding="utf-8")
    error = load_expecting_error(knowledge_copy)
    lines = {p.line for p in problems_in(error, "zz-many.yaml")}
    assert {4, 5, 7} <= lines


def test_corpus_files_are_small_and_labelled() -> None:
    """Guard the corpus itself: every file says what it expects, and most are small."""
    for path in corpus():
        line, fragment = expectation(path)
        assert line >= 1 and fragment
        assert path.stat().st_size < 10_000, f"{path.name} should stay small"
    # The loader's safe mode also means plain yaml refuses the python tag file.
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load((BROKEN_DIR / "python-object-tag.yaml").read_text(encoding="utf-8"))
