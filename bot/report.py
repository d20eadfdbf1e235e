"""The maintainer report: what people ask that the bot cannot answer, and answers they dislike.

Unanswered questions are grouped so that "how much is botox", "botox price??" and
"price of botox" count as one need, and each group is paired with the entry
closest to it: either that entry is missing a phrasing (add an alternate) or the
guide has a gap (write a new entry). The YAML output is ready to paste, with new
entries commented out so an unwritten answer can never slip into the bot.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.entry_template import plain_or_quote, quote
from bot.importer import slug
from bot.knowledge import MIN_ALTERNATES, KnowledgeBase
from bot.matcher import Matcher
from bot.storage import Storage
from bot.text import normalise, words

GROUP_SIMILARITY = 80.0  # token_set_ratio on content words to join a group
# token_set_ratio scores 100 whenever one wording's words are a subset of the other's;
# this floor on token_sort_ratio stops "skin" absorbing every question that mentions skin.
GROUP_MIN_OVERLAP = 50.0
EXAMPLES = 3
REPORT_TABLES = frozenset({"unanswered", "feedback"})  # created by Storage's first migration
# Words that say "this is a question" but not what about: ignored when grouping.
QUESTION_WORDS = frozenset({"how", "why", "what", "whats", "when", "where", "which", "who",
                            "much", "many", "is", "are", "do", "does", "can", "should"})


class ReportError(Exception):
    """The report cannot be made (no database yet, or not the bot's database)."""


@dataclass(frozen=True)
class QuestionGroup:
    """Wordings of one unanswered question; the most frequent one represents the group."""

    representative: str
    count: int
    wordings: tuple[tuple[str, int], ...]  # (wording, times asked), most frequent first
    closest_id: str | None = None
    closest_score: float = 0.0
    off_topic: tuple[str, ...] = ()  # out_of_scope.yaml patterns it names
    not_covered: str = ""  # the closest entry's not_covered pattern it names: a deliberate gap

    @property
    def off_topic_note(self) -> str:
        if not self.off_topic:
            return ""
        return (f"it names {', '.join(dict.fromkeys(self.off_topic))} from out_of_scope.yaml, "
                "so the fallback may be right")

    @property
    def examples(self) -> tuple[str, ...]:
        """Up to EXAMPLES other wordings, to show how else it is asked."""
        return tuple(w for w, _ in self.wordings[1:EXAMPLES + 1])


@dataclass(frozen=True)
class DislikedAnswer:
    entry_id: str
    question: str
    up: int
    down: int


@dataclass(frozen=True)
class Report:
    groups: tuple[QuestionGroup, ...]
    disliked: tuple[DislikedAnswer, ...]
    unanswered_total: int
    days: int | None
    alternate_threshold: float


class ReadOnlyStorage:
    """Storage's read queries on a read-only connection: the report never writes or migrates
    the live database the bot may be using at the same moment."""

    unanswered_questions = Storage.unanswered_questions
    feedback_totals = Storage.feedback_totals

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ReportError(f"no database at {path} yet: the bot creates it when it first "
                              "runs. Point BOT_DATA_DIR (or --data-dir) at the bot's data folder.")
        try:
            self.db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            tables = {name for (name,) in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as exc:
            raise ReportError(f"cannot read the database {path}: {exc}") from exc
        if not tables >= REPORT_TABLES:
            self.db.close()
            raise ReportError(f"{path} is not the bot's database (it has no "
                              f"{' or '.join(sorted(REPORT_TABLES - tables))} table)")

    def close(self) -> None:
        self.db.close()


def _content(text: str, ignore: Collection[str]) -> str:
    kept = [w for w in text.split() if w not in ignore and w not in QUESTION_WORDS]
    return " ".join(kept) or text


def similarity(a: str, b: str) -> float:
    """0-100: how surely two content-word strings ask the same thing."""
    if fuzz.token_sort_ratio(a, b) < GROUP_MIN_OVERLAP:
        return 0.0
    return fuzz.token_set_ratio(a, b)


def group_questions(questions: Iterable[str], stopwords: Collection[str] = (),
                    threshold: float = GROUP_SIMILARITY) -> list[QuestionGroup]:
    """Greedy clustering by frequency: each wording joins the most similar earlier group.

    Wordings are compared on their content words (normalised, without ``stopwords``
    and question words), so "how much is botox" and "botox price" meet on "botox".
    Each group is compared through its representative only, so groups cannot drift
    by chaining one near-match to the next.
    """
    counts = Counter(n for n in (normalise(q) for q in questions) if n)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    seeds: list[str] = []
    members: list[list[tuple[str, int]]] = []
    for wording, count in ordered:
        key = _content(wording, stopwords)
        best, best_score = -1, threshold
        # token_set_ratio over all seeds runs in C; the overlap floor is checked on hits only.
        for _, score, index in process.extract(key, seeds, scorer=fuzz.token_set_ratio,
                                               score_cutoff=threshold, limit=None):
            if similarity(key, seeds[index]) and (best < 0 or score > best_score
                                                   or (score == best_score and index < best)):
                best, best_score = index, score
        if best < 0:
            seeds.append(key)
            members.append([(wording, count)])
        else:
            members[best].append((wording, count))
    groups = [QuestionGroup(m[0][0], sum(c for _, c in m), tuple(m)) for m in members]
    groups.sort(key=lambda g: (-g.count, g.representative))
    return groups


def closest_entries(groups: Sequence[QuestionGroup], matcher: Matcher) -> list[QuestionGroup]:
    """Each group with the entry the matcher ranks highest for its representative wording,
    and the out-of-scope topics or not-covered detail it names (gaps the bot is meant to have)."""
    result = []
    for group in groups:
        raw = words(group.representative)
        off_topic = tuple(str(p) for p in matcher.out_of_scope.find(raw))
        group = replace(group, off_topic=off_topic)
        ranked = matcher.rank(group.representative, raw)
        if ranked:
            closest = ranked[0].entry_id
            detail = matcher.detail_not_covered(raw, closest)
            group = replace(group, closest_id=closest, closest_score=ranked[0].score,
                            not_covered=detail or "")
        result.append(group)
    return result


def disliked_answers(totals: Mapping[str, tuple[int, int]], kb: KnowledgeBase,
                     limit: int) -> list[DislikedAnswer]:
    """Answers with at least one 👎, the most 👎 first (ties: fewer 👍 first)."""
    rows = [DislikedAnswer(entry_id, kb.entries[entry_id].question if entry_id in kb.entries
                           else "(no longer in the knowledge base)", up, down)
            for entry_id, (up, down) in totals.items() if down > 0]
    rows.sort(key=lambda r: (-r.down, r.up, r.entry_id))
    return rows[:limit]


def build_report(unanswered: Iterable[tuple[str, str, str]],
                 feedback: Mapping[str, tuple[int, int]], kb: KnowledgeBase,
                 matcher: Matcher | None = None, *, days: int | None = None, limit: int = 20,
                 now: datetime | None = None) -> Report:
    """Everything the report shows, from Storage's rows: (question, kind, created_at) and
    entry id -> (👍, 👎). ``days`` keeps only questions asked in the last N days before ``now``."""
    matcher = matcher or Matcher(kb)
    rows = list(unanswered)
    if days is not None:
        if now is None:
            raise ValueError("build_report needs 'now' to apply 'days'")
        since = now - timedelta(days=days)
        rows = [r for r in rows if _as_utc(datetime.fromisoformat(r[2])) >= since]
    groups = group_questions((r[0] for r in rows), kb.stopwords)[:limit]
    return Report(
        groups=tuple(closest_entries(groups, matcher)),
        disliked=tuple(disliked_answers(feedback, kb, limit)),
        unanswered_total=len(rows),
        days=days,
        alternate_threshold=matcher.thresholds.suggest,
    )


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _groups(count: int) -> str:
    return f"{count} group" if count == 1 else f"{count} groups"


def format_text(report: Report, kb: KnowledgeBase) -> str:
    """The report for reading in a terminal."""
    period = f"in the last {report.days} days" if report.days is not None else "in the database"
    lines = [f"Unanswered questions {period}: {report.unanswered_total}"
             + (f", most frequent first ({_groups(len(report.groups))} shown)"
                if report.groups else "")]
    for number, group in enumerate(report.groups, start=1):
        lines.append(f"{number:>3}. ×{group.count:<3} {group.representative!r}")
        if group.examples:
            lines.append("         also asked as: " + ", ".join(repr(e) for e in group.examples))
        lines.append("         " + _advice(group, report, kb))
        if group.off_topic:
            lines.append(f"         note: {group.off_topic_note}")
    if not report.groups:
        lines.append("  (none)")
    lines += ["", "Answers with the most 👎:"]
    if report.disliked:
        width = max(len(r.entry_id) for r in report.disliked)
        lines += [f"  {r.entry_id:<{width}}  👎 {r.down:<3} 👍 {r.up:<3} {r.question}"
                  for r in report.disliked]
    else:
        lines.append("  (none)")
    return "\n".join(lines)


def _advice(group: QuestionGroup, report: Report, kb: KnowledgeBase) -> str:
    entry = kb.entries.get(group.closest_id or "")
    if entry is None:
        return "closest entry: none shares a word with it; a new entry if the guide covers it"
    where = f"{entry.id} {entry.question!r} (score {group.closest_score:.2f})"
    if group.not_covered:
        return (f"closest entry: {where}, whose not_covered lists {group.not_covered!r}: the "
                "fallback is deliberate; to answer it, extend that answer from the guide and "
                "remove the pattern")
    if group.closest_score >= report.alternate_threshold:
        return f"closest entry: {where}: add these wordings to its alternates"
    return f"closest entry: {where}, a weak match: a new entry if the guide covers it"


def _entry_file(entry_source: str) -> str:
    return entry_source.rpartition(":")[0] or entry_source


def format_yaml(report: Report, kb: KnowledgeBase) -> str:
    """Ready-to-paste YAML: alternates for close entries, commented-out stubs for new ones.

    A stub's YAML lines start with "#  " (hash and two spaces); explanations start with
    "# " and a word. Uncomment a stub by removing the first two characters of its lines.
    """
    phrasings = {normalise(p) for e in kb.entries.values() for p in e.phrasings}
    taken_ids = set(kb.entries)
    sections = [s.id for s in kb.sections]
    out = ["# Unanswered-question report as YAML (run_bot.py report --format yaml).",
           "# After pasting, run: python run_bot.py validate && python run_bot.py eval", ""]
    for group in report.groups:
        wordings = [w for w, _ in group.wordings if w not in phrasings]
        entry = kb.entries.get(group.closest_id or "")
        asked = f"asked {group.count} time{'s' if group.count != 1 else ''}"
        if not wordings:
            out += [f"# {group.representative!r} ({asked}): every wording is already a phrasing "
                    "of an entry; nothing to add.", ""]
            continue
        if entry is not None and group.not_covered:
            out += [f"# {group.representative!r} ({asked}): entry '{entry.id}' lists "
                    f"{group.not_covered!r} under not_covered, so the fallback is deliberate; "
                    "nothing to paste.", ""]
            continue
        if entry is not None and group.closest_score >= report.alternate_threshold:
            out.append(f"# {group.representative!r} ({asked}): add to the alternates of entry "
                       f"'{entry.id}' in {_entry_file(entry.source)} "
                       f"(score {group.closest_score:.2f}); keep only those that mean the same")
            out += [f"      - {quote(w)}" for w in wordings]
            out.append("")
            continue
        entry_id = _new_id(group.representative, taken_ids)
        section = entry.section if entry is not None else (sections[0] if sections else "")
        closest = (f"closest entry '{entry.id}' scores only {group.closest_score:.2f}"
                   if entry is not None else "no entry shares a word with it")
        out += [
            f"# {group.representative!r} ({asked}): a new entry, {closest}.",
            *([f"# Note: {group.off_topic_note}."] if group.off_topic else []),
            "# If the guide covers it: write the answer from the guide, give at least "
            f"{MIN_ALTERNATES} alternates,",
            "# remove the leading '# ' from the lines below, and paste them under `entries:`.",
            f"#   - id: {plain_or_quote(entry_id)}",
            f"#     question: {quote(_as_question(group.representative))}",
            "#     alternates:",
            *(f"#       - {quote(w)}" for w in wordings[1:] or wordings),
        ]
        if len(wordings[1:] or wordings) < MIN_ALTERNATES:
            out.append(f"#       # more ways people ask it: at least {MIN_ALTERNATES} in all")
        out += [
            "#     answer:   # write it from the guide; validate refuses an empty answer",
            f"#     section: {plain_or_quote(section)}   # one of: {', '.join(sections)}",
            "",
        ]
    if not report.groups:
        out.append("# No unanswered questions.")
    return "\n".join(out).rstrip("\n") + "\n"


def _as_question(wording: str) -> str:
    return wording[:1].upper() + wording[1:] + "?"


def _new_id(wording: str, taken: set[str]) -> str:
    base = slug(wording, limit=44)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def uncomment_stub(text: str) -> str:
    """The YAML lines of the commented-out stubs in ``format_yaml`` output, uncommented."""
    return "\n".join(line[2:] for line in text.splitlines() if line.startswith("#  ")) + "\n"


def purge_cutoff(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)
