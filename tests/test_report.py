"""The maintainer report: grouping unanswered questions, closest entries, 👎 ranking, YAML output.

Every test works on a temporary database filled through Storage with a fixed clock,
and on a copy of the knowledge folder, never the working tree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.knowledge import ID_PATTERN, KnowledgeError, load_knowledge
from bot.matcher import Matcher
from bot.report import (
    build_report,
    closest_entries,
    format_text,
    format_yaml,
    group_questions,
    uncomment_stub,
)
from bot.storage import Storage, utc_now
from bot.text import normalise

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"
FIXED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

BOTOX = ["how much is botox", "how much is botox", "how much is botox", "botox price??",
         "botox price??", "price of botox", "Botox cost?"]
MASSAGE = ["massage stuff?", "massage stuff?", "which massage things"]
OTHER = ["does drinking water help sagging skin", "what about collagen drinks"]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(KNOWLEDGE_DIR)


@pytest.fixture(scope="module")
def matcher(kb) -> Matcher:
    return Matcher(kb)


def fill(path: Path, questions: list[str], when: datetime = FIXED,
         votes: list[tuple[str, int]] = ()) -> None:
    storage = Storage(path, clock=lambda: when)
    try:
        for question in questions:
            storage.record_query("fallback", None, normalise(question))
        for message_id, (entry_id, vote) in enumerate(votes):
            storage.record_feedback(chat_id=1, message_id=message_id + 1000 * len(questions),
                                    entry_id=entry_id, vote=vote)
    finally:
        storage.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    fill(folder / "bot.sqlite3", BOTOX + MASSAGE + OTHER,
         votes=[("peptides", -1), ("peptides", -1), ("peptides", -1), ("retinoids", -1),
                ("retinoids", -1), ("retinoids", 1), ("gua-sha", -1), ("massage-oil", 1)])
    return folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- grouping --------------------------------------------------------------------------


def test_paraphrases_of_one_question_form_one_group_with_the_right_count(kb) -> None:
    groups = group_questions(BOTOX + MASSAGE + OTHER, kb.stopwords)
    botox = groups[0]
    assert botox.count == len(BOTOX)
    assert botox.representative == "how much is botox"  # the most frequent wording
    assert {w for w, _ in botox.wordings} == {"how much is botox", "botox price",
                                              "price of botox", "botox cost"}
    assert dict(botox.wordings)["botox price"] == 2
    assert len(botox.examples) == 3 and botox.representative not in botox.examples
    assert sum(g.count for g in groups) == len(BOTOX + MASSAGE + OTHER)
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)


def test_the_three_botox_wordings_of_the_issue_group_together_in_any_order() -> None:
    for order in (["how much is botox", "botox price??", "price of botox"],
                  ["price of botox", "botox price??", "how much is botox"]):
        groups = group_questions(order)
        assert len(groups) == 1 and groups[0].count == 3


def test_different_questions_sharing_a_word_stay_apart(kb) -> None:
    groups = group_questions(["skin", "botox price", "botox side effects",
                              "skin tightening cream price"], kb.stopwords)
    assert len(groups) == 4


def test_closest_entry_is_sensible(kb, matcher) -> None:
    groups = closest_entries(group_questions(
        ["how often should i gua sha my face", "massage stuff?",
         "can i use retinol and vitamin c together"], kb.stopwords), matcher)
    closest = {g.representative: g.closest_id for g in groups}
    assert closest["how often should i gua sha my face"] == "tool-frequency"
    assert closest["massage stuff"] == "massage-benefits"
    assert closest["can i use retinol and vitamin c together"] in {
        "firming-ingredients", "retinoids", "vitamin-c", "massage-plus-cosmetics"}
    assert all(g.closest_score > 0 for g in groups)


def test_days_keeps_only_recent_questions(kb, matcher) -> None:
    rows = [("old question about botox", "fallback", (FIXED - timedelta(days=40)).isoformat()),
            ("new question about botox", "fallback", (FIXED - timedelta(days=2)).isoformat())]
    report = build_report(rows, {}, kb, matcher, days=30, now=FIXED)
    assert report.unanswered_total == 1
    assert [g.representative for g in report.groups] == ["new question about botox"]
    assert build_report(rows, {}, kb, matcher).unanswered_total == 2


def test_thumbs_down_ranking(kb, matcher) -> None:
    totals = {"peptides": (0, 3), "retinoids": (1, 2), "gua-sha": (0, 2), "massage-oil": (4, 0),
              "gone-entry": (0, 1)}
    report = build_report([], totals, kb, matcher)
    assert [(r.entry_id, r.up, r.down) for r in report.disliked] == [
        ("peptides", 0, 3), ("gua-sha", 0, 2), ("retinoids", 1, 2), ("gone-entry", 0, 1)]
    assert report.disliked[0].question == kb.entries["peptides"].question
    assert "no longer" in report.disliked[-1].question
    assert len(build_report([], totals, kb, matcher, limit=2).disliked) == 2


# -- the command -------------------------------------------------------------------------


def test_report_text_on_a_real_database(capsys, data_dir: Path, knowledge_copy: Path) -> None:
    code, out, err = run(capsys, "report", "--data-dir", str(data_dir),
                         "--knowledge-dir", str(knowledge_copy))
    assert code == 0, err
    first = out.splitlines()[1]
    assert "×7" in first and "how much is botox" in first
    assert "botox price" in out and "price of botox" in out
    assert "massage-benefits" in out and "add these wordings to its alternates" in out
    disliked = out.split("Answers with the most 👎:")[1].split()
    assert disliked.index("peptides") < disliked.index("retinoids") < disliked.index("gua-sha")
    assert "massage-oil" not in disliked


def test_report_limit(capsys, data_dir: Path, knowledge_copy: Path) -> None:
    code, out, _ = run(capsys, "report", "--limit", "1", "--data-dir", str(data_dir),
                       "--knowledge-dir", str(knowledge_copy))
    assert code == 0
    assert "how much is botox" in out and "massage stuff" not in out


def test_report_reads_without_changing_the_database(capsys, data_dir: Path,
                                                    knowledge_copy: Path) -> None:
    database = data_dir / "bot.sqlite3"
    before = database.read_bytes()
    code, _, _ = run(capsys, "report", "--data-dir", str(data_dir),
                     "--knowledge-dir", str(knowledge_copy))
    assert code == 0
    assert database.read_bytes() == before  # SQLite may leave its -shm index file; no more
    assert not (data_dir / "bot.sqlite3-wal").exists() or \
        not (data_dir / "bot.sqlite3-wal").read_bytes()


def test_report_on_a_missing_database_is_a_clear_error(capsys, tmp_path: Path,
                                                       knowledge_copy: Path) -> None:
    missing = tmp_path / "nowhere"
    code, out, err = run(capsys, "report", "--data-dir", str(missing),
                         "--knowledge-dir", str(knowledge_copy))
    assert code == 1
    assert "no database at" in err and str(missing / "bot.sqlite3") in err
    assert "Traceback" not in err and not out
    assert not missing.exists(), "the report must not create the database"


def test_report_on_a_file_that_is_not_the_bots_database(capsys, tmp_path: Path,
                                                        knowledge_copy: Path) -> None:
    (tmp_path / "bot.sqlite3").write_bytes(b"not a database at all" * 100)
    code, _, err = run(capsys, "report", "--data-dir", str(tmp_path),
                       "--knowledge-dir", str(knowledge_copy))
    assert code == 1 and err.startswith("error:")


def test_purge_deletes_only_questions_older_than_the_retention(capsys, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    fill(db, ["an old question", "another old one"], when=utc_now() - timedelta(days=100))
    fill(db, ["a recent question"], when=utc_now() - timedelta(days=5))
    code, out, _ = run(capsys, "report", "--purge", "--retention-days", "30",
                       "--data-dir", str(tmp_path))
    assert code == 0
    assert "Deleted 2 unanswered questions older than 30 days" in out
    storage = Storage(db)
    assert [q for q, _, _ in storage.unanswered_questions()] == ["a recent question"]
    storage.close()


# -- YAML output ------------------------------------------------------------------------------


def test_yaml_output_alternates_snippet_and_stub_both_parse(capsys, data_dir: Path,
                                                             knowledge_copy: Path, kb) -> None:
    code, out, err = run(capsys, "report", "--format", "yaml", "--data-dir", str(data_dir),
                         "--knowledge-dir", str(knowledge_copy))
    assert code == 0, err
    as_printed = yaml.safe_load(out)  # pasted whole, it can only ever add plain alternates
    assert isinstance(as_printed, list) and all(isinstance(a, str) for a in as_printed)

    snippet = [line for line in out.splitlines() if line.startswith("      - ")]
    alternates = yaml.safe_load("\n".join(snippet))
    assert "massage stuff" in alternates and "which massage things" in alternates
    assert "add to the alternates of entry 'massage-benefits'" in out
    assert "entries-massage.yaml" in out

    stubs = yaml.safe_load(uncomment_stub(out))
    assert isinstance(stubs, list) and stubs
    botox = next(s for s in stubs if s["question"] == "How much is botox?")
    assert set(botox) == {"id", "question", "alternates", "answer", "section"}
    assert ID_PATTERN.match(botox["id"]) and botox["id"] not in kb.entries
    assert {"botox price", "price of botox", "botox cost"} <= set(botox["alternates"])
    assert botox["answer"] is None
    assert botox["section"] in {s.id for s in kb.sections}
    assert len({s["id"] for s in stubs}) == len(stubs)


def test_an_uncommented_stub_pasted_without_an_answer_is_refused(capsys, data_dir: Path,
                                                                 knowledge_copy: Path) -> None:
    code, out, _ = run(capsys, "report", "--format", "yaml", "--data-dir", str(data_dir),
                       "--knowledge-dir", str(knowledge_copy))
    assert code == 0
    (knowledge_copy / "zz-pasted.yaml").write_text("entries:\n" + uncomment_stub(out),
                                                   encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(knowledge_copy)
    assert any("'answer' must be text, got nothing" in p.message for p in caught.value.problems)


def test_wordings_already_in_the_knowledge_base_are_not_offered_again(kb, matcher) -> None:
    existing = kb.entries["tool-frequency"].alternates[0]
    report = build_report([(normalise(existing), "clarify", FIXED.isoformat())], {}, kb, matcher)
    assert "already a phrasing" in format_yaml(report, kb)


def test_empty_database_reports_none(kb, matcher) -> None:
    report = build_report([], {}, kb, matcher)
    assert "(none)" in format_text(report, kb)
    assert "No unanswered questions" in format_yaml(report, kb)


def test_groups_naming_an_out_of_scope_topic_say_so(kb, matcher) -> None:
    groups = closest_entries(group_questions(["how much is botox", "massage stuff"]), matcher)
    notes = {g.representative: g.off_topic for g in groups}
    assert "botox" in notes["how much is botox"]
    assert notes["massage stuff"] == ()
    report = build_report([("how much is botox", "fallback", FIXED.isoformat())], {}, kb, matcher)
    assert "out_of_scope.yaml" in format_text(report, kb)
    assert "out_of_scope.yaml" in format_yaml(report, kb)


def test_a_detail_an_entry_lists_as_not_covered_is_reported_as_a_deliberate_gap(
        kb, matcher) -> None:
    question = "my vitamin c serum went orange, is it still ok to use"
    report = build_report([(question, "fallback", FIXED.isoformat())], {}, kb, matcher)
    (group,) = report.groups
    assert (group.closest_id, group.not_covered) == ("vitamin-c", "went orange")
    assert "not_covered lists 'went orange'" in format_text(report, kb)
    pasted = format_yaml(report, kb)
    assert "nothing to paste" in pasted
    assert f"- {question!r}" not in pasted and f'- "{question}"' not in pasted
