"""The eval gate: accuracy on every labelled file must stay above that file's floors.

This is how a knowledge-base edit that makes the bot worse fails CI. The floors
live in each file under knowledge/eval/ (``floors:``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation import evaluate, format_report, load_eval_file
from bot.knowledge import load_knowledge
from bot.matcher import Matcher
from tests.conftest import KNOWLEDGE_DIR

EVAL_FILES = sorted((KNOWLEDGE_DIR / "eval").glob("*.yaml"))


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_knowledge(KNOWLEDGE_DIR))


@pytest.mark.parametrize("path", EVAL_FILES, ids=lambda p: p.name)
def test_accuracy_stays_above_the_floors(matcher: Matcher, path: Path) -> None:
    eval_file = load_eval_file(path, set(matcher.kb.entries))
    assert eval_file.floors, f"{path.name} sets no floors"
    report = evaluate(matcher, eval_file)
    assert not report.failed_floors(), format_report(report, show_misses=False)


def test_every_entry_has_test_questions(matcher: Matcher) -> None:
    expected = set()
    for path in EVAL_FILES:
        expected |= {q.expect for q in load_eval_file(path, set(matcher.kb.entries)).questions}
    missing = set(matcher.kb.entries) - expected
    assert not missing, f"entries without labelled questions in knowledge/eval/: {missing}"


def test_a_shipped_file_of_at_least_200_questions_covers_every_entry(matcher: Matcher) -> None:
    """The issue's floor for the labelled set: one file, 200+ questions, every entry."""
    entries = set(matcher.kb.entries)
    complete = [path.name for path in EVAL_FILES
                if len(questions := load_eval_file(path, entries).questions) >= 200
                and entries <= {q.expect for q in questions}]
    assert complete, "no labelled file has 200+ questions covering every entry"
