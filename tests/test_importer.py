"""Importing a guide into a draft knowledge base: the shipped guide must give a draft that
validates, with every Q&A pair, bullet and section paragraph as an entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.importer import GuideFormatError, draft_entries, parse_guide, render_draft
from bot.knowledge import ID_PATTERN, MIN_ALTERNATES, TELEGRAM_MESSAGE_LIMIT, load_knowledge
from bot.text import normalise

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"
GUIDE = Path("/work/shared/source/skin-firming-guide.txt")
GUIDE_TEXT = """\
Table of Contents
- Introduction
- Understanding Skin Sagging
- Power of Anti-aging Massage
- Key Cosmetics for Firming
- Expert Opinion: The Synergy of Science and Touch
- Q&A with a Dermatologist
- Conclusion
- Related Links (For Further Reading)
1. Introduction
Loss of elasticity is one of the most visible signs of aging. This guide will show you how.
2. Understanding Skin Sagging
Skin sagging occurs due to several factors, mainly the breakdown of collagen and elastin.
3. Power of Anti-aging Massage
Facial massage is a powerful, non-invasive tool. Always use a face oil or rich cream:
- Boost Circulation: Gentle rubbing increases blood flow to the skin, giving a healthy flush.
- Promote Lymphatic Drainage: Use light, sweeping motions to guide excess fluid toward the \
lymph nodes.
- Upward and Outward Strokes: Always massage using upward and outward motions.
4. Key Cosmetics for Firming
No anti-aging routine is complete without ingredients proven to signal the skin to rebuild:
- Retinoids (Vitamin A): Considered the gold standard in anti-aging, retinoids boost cell \
turnover.
- Peptides: These are small chains of amino acids that act as messengers.
- Antioxidants (Vitamin C): A powerful antioxidant, Vitamin C protects existing collagen.
5. Expert Opinion: The Synergy of Science and Touch
Dr. Kim, a board-certified dermatologist, stresses that the best results come from both.
6. Q&A with a Dermatologist
-
Q: Can massage damage my skin?
A: Yes, if done incorrectly. Never tug or pull the skin downward. -
Q: How often should I use a roller or Gua Sha tool?
A: Daily use is recommended for reducing puffiness and improving circulation. -
Q: Is surgery the only way to fix severe
sagging skin?
A: Surgery is the most dramatic solution, but non-invasive options exist.
7. Conclusion
The fight against gravity requires a powerful, comprehensive strategy.
.gif)
"""
QUESTIONS = ("Can massage damage my skin?", "How often should I use a roller or Gua Sha tool?",
             "Is surgery the only way to fix severe sagging skin?")
BULLETS = ("Boost Circulation", "Promote Lymphatic Drainage", "Upward and Outward Strokes",
           "Retinoids (Vitamin A)", "Peptides", "Antioxidants (Vitamin C)")


@pytest.fixture
def guide_file(tmp_path: Path) -> Path:
    """The shipped guide when this machine has it, else a faithful copy of its structure."""
    path = tmp_path / "guide.txt"
    if GUIDE.is_file():
        shutil.copyfile(GUIDE, path)
    else:
        path.write_text(GUIDE_TEXT, encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def draft_dir(capsys, tmp_path: Path, guide_file: Path, knowledge_copy: Path) -> Path:
    out_dir = tmp_path / "draft"
    code, out, err = run(capsys, "import", str(guide_file), "--output-dir", str(out_dir),
                         "--knowledge-dir", str(knowledge_copy))
    assert code == 0, err
    assert "validate" in out
    return out_dir


def test_the_imported_guide_passes_validate(capsys, draft_dir: Path) -> None:
    code, out, err = run(capsys, "validate", str(draft_dir))
    assert code == 0, err
    assert out.startswith("OK:")
    entries_file = (draft_dir / "entries.yaml").read_text(encoding="utf-8")
    assert "draft: curate the alternates and answers before use" in entries_file
    assert {p.name for p in draft_dir.iterdir()} >= {"entries.yaml", "sections.yaml",
                                                       "messages.yaml"}


def test_qa_pairs_become_entries_including_the_wrapped_question(draft_dir: Path) -> None:
    kb = load_knowledge(draft_dir)
    by_question = {e.question: e for e in kb.entries.values()}
    for question in QUESTIONS:
        assert question in by_question, f"missing Q&A entry {question!r}"
    surgery = by_question["Is surgery the only way to fix severe sagging skin?"]
    assert surgery.answer.startswith("Surgery is the most dramatic solution")
    damage = by_question["Can massage damage my skin?"]
    assert damage.answer.startswith("Yes, if done incorrectly.")
    assert damage.answer.endswith("downward."), "the ' -' separator must not stay in the answer"
    qa_sections = {by_question[q].section for q in QUESTIONS}
    assert len(qa_sections) == 1
    assert kb.section(qa_sections.pop()).title == "Q&A with a Dermatologist"


def test_each_bullet_becomes_an_entry_with_its_text(draft_dir: Path) -> None:
    kb = load_knowledge(draft_dir)
    by_question = {e.question: e for e in kb.entries.values()}
    for name in BULLETS:
        matches = [e for q, e in by_question.items() if q.lower() == f"what about {name.lower()}?"]
        assert matches, f"no entry for the bullet {name!r}"
    circulation = next(e for e in kb.entries.values() if e.question == "What about boost "
                       "circulation?")
    assert circulation.answer.startswith("Gentle rubbing increases blood flow")
    assert kb.section(circulation.section).title == "Power of Anti-aging Massage"
    retinoids = next(e for e in kb.entries.values() if e.question.startswith("What about retin"))
    assert kb.section(retinoids.section).title == "Key Cosmetics for Firming"


def test_sections_are_recorded_and_paragraph_sections_get_an_entry(draft_dir: Path) -> None:
    kb = load_knowledge(draft_dir)
    titles = [s.title for s in kb.sections]
    assert titles == ["Introduction", "Understanding Skin Sagging", "Power of Anti-aging Massage",
                      "Key Cosmetics for Firming",
                      "Expert Opinion: The Synergy of Science and Touch",
                      "Q&A with a Dermatologist", "Conclusion"]
    for section in kb.sections:
        assert kb.entries_in(section.id), f"section {section.title!r} has no entry"
    for title in ("Introduction", "Understanding Skin Sagging", "Expert Opinion", "Conclusion"):
        section = next(s for s in kb.sections if s.title.startswith(title))
        overview = [e for e in kb.entries_in(section.id) if "section say" in e.question]
        assert len(overview) == 1, title
    intro = next(e for e in kb.entries.values() if e.section == kb.sections[0].id)
    assert intro.answer.startswith("Loss of elasticity is one of the most visible signs")
    assert len(kb.entries) == len(QUESTIONS) + len(BULLETS) + 6  # six sections have text


def test_every_draft_entry_is_valid_and_unique(draft_dir: Path) -> None:
    kb = load_knowledge(draft_dir)
    phrasings: dict[str, str] = {}
    for entry in kb.entries.values():
        assert ID_PATTERN.match(entry.id)
        assert len(entry.alternates) >= MIN_ALTERNATES
        assert 0 < len(entry.answer) <= TELEGRAM_MESSAGE_LIMIT
        for phrasing in entry.phrasings:
            owner = phrasings.setdefault(normalise(phrasing), entry.id)
            assert owner == entry.id, f"{phrasing!r} belongs to {owner} and {entry.id}"
    assert ".gif" not in "".join(e.answer for e in kb.entries.values())


def test_the_draft_answers_questions(capsys, draft_dir: Path) -> None:
    code, out, _ = run(capsys, "ask", "--knowledge-dir", str(draft_dir),
                       "is surgery the only way to fix sagging skin")
    assert code == 0
    assert out.startswith("Surgery is the most dramatic solution")


def test_single_file_output_validates_with_the_current_messages(capsys, tmp_path: Path,
                                                                guide_file: Path,
                                                                knowledge_copy: Path) -> None:
    draft = tmp_path / "draft.yaml"
    code, out, err = run(capsys, "import", str(guide_file), "--output", str(draft),
                         "--knowledge-dir", str(knowledge_copy))
    assert code == 0, err
    data = yaml.safe_load(draft.read_text(encoding="utf-8"))
    assert set(data) == {"sections", "entries"}
    hint = next(line for line in out.splitlines() if "validate" in line)
    paths = hint.split("validate", 1)[1].split()
    assert str(knowledge_copy / "messages.yaml") in paths
    code, _, err = run(capsys, "validate", *paths)
    assert code == 0, err


def test_stdout_output_is_the_draft(capsys, guide_file: Path, knowledge_copy: Path) -> None:
    code, out, err = run(capsys, "import", str(guide_file), "--knowledge-dir",
                         str(knowledge_copy))
    assert code == 0
    assert out.startswith("# DRAFT knowledge base imported from guide.txt")
    assert "draft entries" in err
    assert len(yaml.safe_load(out)["entries"]) == len(QUESTIONS) + len(BULLETS) + 6


def test_import_never_overwrites_the_knowledge_folder(capsys, guide_file: Path,
                                                      knowledge_copy: Path) -> None:
    before = {p.name: p.read_bytes() for p in knowledge_copy.glob("*.yaml")}
    code, _, err = run(capsys, "import", str(guide_file), "--output-dir", str(knowledge_copy),
                       "--knowledge-dir", str(knowledge_copy))
    assert code == 1 and "--force" in err
    assert {p.name: p.read_bytes() for p in knowledge_copy.glob("*.yaml")} == before


def test_import_of_a_missing_or_unstructured_file_is_a_clear_error(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "import", str(tmp_path / "nope.txt"))
    assert code == 1 and "cannot read" in err
    plain = tmp_path / "plain.txt"
    plain.write_text("Just some prose without sections.\n", encoding="utf-8")
    code, _, err = run(capsys, "import", str(plain))
    assert code == 1 and "numbered sections" in err
    with pytest.raises(GuideFormatError):
        parse_guide("")


def test_parser_notes_what_it_leaves_out() -> None:
    guide = parse_guide(GUIDE_TEXT)
    assert guide.missing_sections == ["Related Links (For Further Reading)"]
    assert [text for _, text in guide.skipped] == [".gif)"]
    header = render_draft(guide, "guide.txt").split("sections:")[0]
    assert "Related Links" in header and ".gif)" in header


def test_wrapped_bullets_long_answers_and_colliding_titles() -> None:
    long_text = "This sentence is long enough to matter. " * 200
    text = ("1. Tips\n- Oil: First line of the bullet\ncontinues here.\n"
            f"- Oil Again: {long_text}\n2. Tips\nSame title twice.\n- Oil: Another oil bullet.\n")
    entries = draft_entries(parse_guide(text))
    assert entries[0].answer == "First line of the bullet continues here."
    assert len(entries[1].answer) <= TELEGRAM_MESSAGE_LIMIT and entries[1].answer.endswith("…")
    assert len({e.id for e in entries}) == len(entries)
    assert len({e.section for e in entries}) == 2
    all_phrasings = [normalise(p) for e in entries for p in (e.question, *e.alternates)]
    assert len(all_phrasings) == len(set(all_phrasings))
    assert all(len(e.alternates) >= MIN_ALTERNATES for e in entries)
