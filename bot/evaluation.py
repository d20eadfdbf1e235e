"""Measuring the matcher on labelled questions (``knowledge/eval/*.yaml``).

``tune.yaml`` is what the matcher is tuned on; ``holdout.yaml`` and ``holdout2.yaml`` are kept
aside and never tuned on, so their figures are the honest estimate for questions nobody here
wrote. Each file may set ``floors``: accuracies below them fail ``eval``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge import KnowledgeBase
from bot.matcher import Matcher, MatchResult
from bot.yaml_source import LineDict, Problem, YamlReadError, read_yaml

GROUPS = ("in_scope", "smalltalk", "fallback", "safety")


@dataclass(frozen=True)
class LabelledQuestion:
    text: str
    expect: str
    line: int


@dataclass
class EvalFile:
    path: str
    questions: list[LabelledQuestion]
    floors: dict[str, float]


@dataclass
class Miss:
    question: LabelledQuestion
    got: str


@dataclass
class EvalReport:
    """Accuracy per group of expected outcome, with the misses to look at."""

    name: str
    totals: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    clarified: Counter[str] = field(default_factory=Counter)
    misses: list[Miss] = field(default_factory=list)
    floors: dict[str, float] = field(default_factory=dict)

    def accuracy(self, group: str) -> float:
        return self.correct[group] / self.totals[group] if self.totals[group] else 1.0

    def failed_floors(self) -> list[str]:
        return [
            f"{self.name}: {group} accuracy {self.accuracy(group):.1%} is below the floor "
            f"{floor:.0%}"
            for group, floor in self.floors.items()
            if self.totals[group] and self.accuracy(group) < floor
        ]


class EvalFileError(Exception):
    """A labelled file that cannot be used; lists every problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_eval_file(path: Path, known_ids: set[str]) -> EvalFile:
    """Read a labelled file; every ``expect`` must be an entry id, fallback or safety."""
    try:
        data, problems = read_yaml(path)
    except YamlReadError as exc:
        raise EvalFileError([exc.problem]) from exc
    name = str(path)
    if not isinstance(data, LineDict) or not isinstance(data.get("questions"), list):
        raise EvalFileError([Problem(name, 1, "expected a mapping with a 'questions' list")])
    for key in data:
        if key not in ("questions", "floors"):
            problems.append(Problem(name, data.line_of(key),
                                    f"unknown key '{key}' (allowed: questions, floors)"))
    questions = []
    for item in data["questions"]:
        if not isinstance(item, LineDict) or set(item) != {"q", "expect"}:
            line = item.line if isinstance(item, LineDict) else data.line_of("questions")
            problems.append(Problem(name, line, "each question needs exactly 'q' and 'expect'"))
            continue
        expect = str(item["expect"])
        if expect not in known_ids and expect not in ("fallback", "safety"):
            problems.append(Problem(name, item.line_of("expect"),
                                    f"expect '{expect}' is not an entry id, fallback or safety"))
            continue
        questions.append(LabelledQuestion(str(item["q"]), expect, item.line))
    floors = data.get("floors") or {}
    if not isinstance(floors, dict) or any(
        g not in GROUPS or not isinstance(v, int | float) for g, v in floors.items()
    ):
        problems.append(Problem(name, data.line_of("floors"),
                                f"floors must map some of {', '.join(GROUPS)} to numbers 0..1"))
        floors = {}
    if problems:
        raise EvalFileError(problems)
    return EvalFile(name, questions, {g: float(v) for g, v in floors.items()})


def expected_group(expect: str, matcher: Matcher) -> str:
    if expect in ("fallback", "safety"):
        return expect
    return "smalltalk" if matcher.kb.entries[expect].kind == "smalltalk" else "in_scope"


def outcome(result: MatchResult) -> str:
    """The label a result earns: the entry id answered, or its kind."""
    return result.entry_id if result.kind in ("answer", "smalltalk") else result.kind


def evaluate(matcher: Matcher, eval_file: EvalFile) -> EvalReport:
    report = EvalReport(Path(eval_file.path).name, floors=eval_file.floors)
    for question in eval_file.questions:
        group = expected_group(question.expect, matcher)
        result = matcher.match(question.text)
        got = outcome(result)
        report.totals[group] += 1
        if got == question.expect:
            report.correct[group] += 1
            continue
        if result.kind == "clarify" and question.expect in result.suggestions:
            report.clarified[group] += 1
            got = f"clarify[{', '.join(result.suggestions)}]"
        elif result.kind == "clarify":
            got = f"clarify[{', '.join(result.suggestions)}]"
        report.misses.append(Miss(question, got))
    return report


def baseline_accuracy(kb: KnowledgeBase, eval_file: EvalFile) -> float | None:
    """Top-1 in-scope accuracy of the naive approach: one rapidfuzz ``extractOne`` with
    WRatio over every phrasing, no threshold. The figure the matcher must beat; None for a
    file with no in-scope question, where there is nothing to compare."""
    from rapidfuzz import fuzz, process

    owners = [e.id for e in kb.entries.values() if e.kind == "answer" for _ in e.phrasings]
    texts = [p for e in kb.entries.values() if e.kind == "answer" for p in e.phrasings]
    in_scope = [q for q in eval_file.questions
                if q.expect in kb.entries and kb.entries[q.expect].kind == "answer"]
    right = 0
    for question in in_scope:
        found = process.extractOne(question.text, texts, scorer=fuzz.WRatio)
        right += bool(found) and owners[found[2]] == question.expect
    return right / len(in_scope) if in_scope else None


def format_report(report: EvalReport, show_misses: bool = True) -> str:
    lines = [f"== {report.name}"]
    total = sum(report.totals.values())
    right = sum(report.correct.values())
    for group in GROUPS:
        if not report.totals[group]:
            continue
        floor = report.floors.get(group)
        extra = f"  (+{report.clarified[group]} offered as 'did you mean')" \
            if report.clarified[group] else ""
        floor_text = f"  floor {floor:.0%}" if floor is not None else ""
        lines.append(f"  {group:<10} {report.correct[group]:>4}/{report.totals[group]:<4} "
                     f"{report.accuracy(group):7.1%}{floor_text}{extra}")
    lines.append(f"  {'overall':<10} {right:>4}/{total:<4} {right / max(total, 1):7.1%}")
    if show_misses and report.misses:
        lines.append("  misses (expected -> got):")
        for miss in report.misses:
            lines.append(f"    line {miss.question.line}: {miss.question.expect} -> {miss.got}"
                         f"   {miss.question.text!r}")
    return "\n".join(lines)
