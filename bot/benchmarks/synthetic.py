"""Synthetic knowledge bases of any size, recombined from the real entries.

Each synthetic entry copies a real entry's section and number of alternates; its
phrasings splice word runs of real phrasings together, and its answer reuses
real answer sentences. The vocabulary therefore stays the real one (every word
occurs in the shipped files), which is the hard case for the matcher: posting
lists grow with the number of entries instead of being spread over new words.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import yaml

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.text import normalise

ENTRIES_PER_FILE = 250  # keeps every file well under yaml_source.MAX_FILE_BYTES
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def write_knowledge(source_dir: Path, target_dir: Path, size: int | None,
                    seed: int = 1) -> int:
    """Write a knowledge folder of ``size`` entries (None: the shipped one, copied as is).

    The real entries are kept, so labelled questions still have their answers, and
    synthetic ones are added up to ``size``. Returns the number of entries written.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(source_dir.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            shutil.copyfile(path, target_dir / path.name)
    kb = load_knowledge(source_dir)
    if size is None or size <= len(kb.entries):
        return len(kb.entries)
    entries = synthetic_entries(kb, size - len(kb.entries), seed)
    for start in range(0, len(entries), ENTRIES_PER_FILE):
        chunk = entries[start:start + ENTRIES_PER_FILE]
        path = target_dir / f"entries-synthetic-{start // ENTRIES_PER_FILE:04d}.yaml"
        with path.open("w", encoding="utf-8") as handle:
            yaml.dump({"entries": chunk}, handle, Dumper=_dumper(), allow_unicode=True,
                      sort_keys=False, width=10_000)
    return len(kb.entries) + len(entries)


def synthetic_entries(kb: KnowledgeBase, count: int, seed: int = 1) -> list[dict[str, object]]:
    """``count`` new entries as YAML-ready dicts, with unique ids and unique phrasings."""
    rng = random.Random(seed)
    real = [e for e in kb.entries.values() if e.kind == "answer"]
    phrasings = [p.split() for e in real for p in e.phrasings if len(p.split()) >= 2]
    sentences = [s for e in real for s in _SENTENCE.split(e.answer) if s.strip()]
    keywords = [k for e in real for k in e.keywords]
    taken = {normalise(p) for e in kb.entries.values() for p in e.phrasings}
    ids: list[str] = []
    out: list[dict[str, object]] = []
    for number in range(count):
        base = real[number % len(real)]
        entry_id = f"syn-{number:05d}-{base.id}"[:48]
        texts = [_new_phrasing(rng, phrasings, taken) for _ in range(1 + len(base.alternates))]
        item: dict[str, object] = {
            "id": entry_id,
            "question": texts[0][0].upper() + texts[0][1:] + "?",
            "alternates": texts[1:],
            "answer": " ".join(rng.sample(sentences, k=min(3, len(sentences)))),
            "section": base.section,
        }
        if ids:
            item["related"] = sorted(set(rng.sample(ids[-200:], k=min(3, len(ids)))))
        if base.keywords and keywords:
            item["keywords"] = sorted(set(rng.sample(keywords, k=min(len(base.keywords), 4))))
        ids.append(entry_id)
        out.append(item)
    return out


def _new_phrasing(rng: random.Random, phrasings: list[list[str]], taken: set[str]) -> str:
    """Splice the head of one real phrasing onto the tail of another (and maybe a third)."""
    while True:
        head, tail = rng.choice(phrasings), rng.choice(phrasings)
        words = head[:rng.randint(1, len(head) - 1)] + tail[rng.randint(1, len(tail) - 1):]
        if rng.random() < 0.3:
            middle = rng.choice(phrasings)
            cut = rng.randint(0, len(middle) - 1)
            words[1:1] = middle[cut:cut + 2]
        text = " ".join(words[:14])
        key = normalise(text)
        if key and key not in taken:
            taken.add(key)
            return text


def _dumper() -> type[yaml.SafeDumper]:
    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def labelled_questions(eval_dir: Path) -> list[str]:
    """Every ``q`` of the labelled files in ``eval_dir`` (``questions: [{q, expect}]``)."""
    questions: list[str] = []
    for path in sorted(eval_dir.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
        for item in (data or {}).get("questions") or []:
            if isinstance(item, dict) and isinstance(item.get("q"), str):
                questions.append(item["q"])
    return questions


def _loader() -> type[yaml.SafeLoader]:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def all_phrasings(kb: KnowledgeBase) -> list[str]:
    """The strings the extractOne floor searches: every question and alternate."""
    return [p for entry in kb.entries.values() for p in entry.phrasings]
