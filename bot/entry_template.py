"""Rendering one knowledge entry as a YAML block, in the style of ``knowledge/entries-*.yaml``.

``add`` and ``import`` write entries as text rather than re-serialising whole
files, so a maintainer's comments and layout survive. Every scalar is quoted (or
written as a literal block) by rules PyYAML reads back exactly, and each rendered
block is parsed again before it is returned: a block that would not read back as
the same entry is a bug here, never a half-written knowledge file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import yaml

# Characters PyYAML refuses to read raw (or would fold into line breaks): escape them.
_PLAIN_ID = re.compile(r"[a-z][a-z0-9_-]*")
_YAML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")

TEMPLATE = """\
  - id: eye-area-massage            # lowercase letters, digits, - or _; never change it later
    question: "Can I massage around my eyes?"    # shown on buttons; ends with "?"
    alternates:                     # at least 6 other ways people really ask it
      - "is it ok to massage under my eyes"
      - "eye area massage"
      - "can i use gua sha near my eyes"
      - "massaging around the eyes safe?"
      - "how to massage eye area"
      - "under eye massge"          # typos are welcome: people make them
    answer: |-
      Your answer in plain text, faithful to the guide, a few sentences.
    section: massage                # one of the ids in sections.yaml
    related: [massage-pressure, massage-oil]   # optional: ids of other entries
    keywords: ["eye area"]          # optional: words specific to this entry only
    not_covered: ["how many minutes", "eye cream*"]   # optional: details the answer does not give
"""

TEMPLATE_HELP = """\
# Paste this under `entries:` in a knowledge/entries-*.yaml file and fill it in, or let
# `run_bot.py add` write it for you (it validates, and undoes the change if anything is wrong).
# Then add a few test questions for it to knowledge/eval/tune.yaml and run:
#   python run_bot.py validate && python run_bot.py eval
"""


class TemplateError(ValueError):
    """A value that cannot be written as the YAML the loader expects."""


def quote(text: str) -> str:
    """A double-quoted YAML scalar that reads back as exactly ``text``.

    JSON string syntax is a subset of YAML's double-quoted style; the few characters
    JSON leaves raw but YAML rejects are escaped too.
    """
    quoted = _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text,
                                                                                ensure_ascii=False))
    if yaml.safe_load(quoted) != text:  # pragma: no cover - a safety net, not a code path
        quoted = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=10**9)
        quoted = quoted.rstrip("\n")
    return quoted


def _literal_block(text: str, indent: str) -> str | None:
    """``|-`` followed by the text indented, when the literal style can carry it unchanged."""
    lines = text.split("\n")
    if (not text or text != text.strip() or "\r" in text or _YAML_UNSAFE.search(text)
            or any(line != line.rstrip() for line in lines)):
        return None
    body = "\n".join(indent + line if line else "" for line in lines)
    return "|-\n" + body


def plain_or_quote(text: str) -> str:
    """Ids and section names unquoted, as in the shipped files, when YAML reads them as text."""
    if _PLAIN_ID.fullmatch(text) and yaml.safe_load(text) == text:
        return text
    return quote(text)


def _flow_list(values: Sequence[str], render: Callable[[str], str] = quote) -> str:
    return "[" + ", ".join(render(v) for v in values) + "]"


def render_entry(*, entry_id: str, question: str, alternates: Sequence[str], answer: str,
                 section: str, related: Sequence[str] = (), keywords: Sequence[str] = (),
                 not_covered: Sequence[str] = (), kind: str | None = None,
                 indent: int = 2) -> str:
    """One ``- id: ...`` list item, indented ``indent`` spaces, ending with a newline.

    Values are written as given (stripped); whether they make a *valid* entry is
    for ``load_knowledge`` to judge, so its file:line messages reach the maintainer.
    """
    item = " " * indent
    field = " " * (indent + 2)
    lines = [f"{item}- id: {plain_or_quote(entry_id.strip())}"]
    if kind and kind != "answer":
        lines.append(f"{field}kind: {quote(kind)}")
    lines.append(f"{field}question: {quote(question.strip())}")
    if alternates:
        lines.append(f"{field}alternates:")
        lines.extend(f"{field}  - {quote(a.strip())}" for a in alternates)
    else:
        lines.append(f"{field}alternates: []")
    answer = answer.strip()
    lines.append(f"{field}answer: {_literal_block(answer, field + '  ') or quote(answer)}")
    lines.append(f"{field}section: {plain_or_quote(section.strip())}")
    # Optional lists, written only when given; ids need no quotes, free text does.
    renderers = {"related": plain_or_quote, "keywords": quote, "not_covered": quote}
    optional = {name: [v.strip() for v in values] for name, values in
                (("related", related), ("keywords", keywords), ("not_covered", not_covered))
                if values}
    lines.extend(f"{field}{name}: {_flow_list(values, renderers[name])}"
                 for name, values in optional.items())
    block = "\n".join(lines) + "\n"
    expected: dict[str, Any] = {
        "id": entry_id.strip(), "question": question.strip(),
        "alternates": [a.strip() for a in alternates], "answer": answer,
        "section": section.strip(),
    }
    if kind and kind != "answer":
        expected["kind"] = kind
    expected.update(optional)
    parsed = yaml.safe_load(block)
    if parsed != [expected]:
        raise TemplateError(f"entry '{entry_id}' cannot be written as YAML that reads back "
                            "unchanged; check it for unusual characters")
    return block


_ENTRIES_KEY = re.compile(r"^entries:\s*(#.*)?$")
_ITEM = re.compile(r"^( *)- ")


def insert_entry(text: str, render: Callable[[int], str]) -> str:
    """``text`` with one entry added at the end of its ``entries:`` block, all else untouched.

    ``render(indent)`` gives the block at the indentation the file already uses for its
    entries. A file without an ``entries:`` block gets one at its end.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if _ENTRIES_KEY.match(line)), None)
    if start is None:
        if any(line.startswith("entries:") for line in lines):
            raise TemplateError("this file's `entries:` is not a block list ('- id:' items on "
                                "their own lines); add the entry by hand or to another file")
        head = text.rstrip("\r\n")
        return (head + newline * 2 if head else "") + "entries:" + newline + \
            render(2).replace("\n", newline)
    end = next((i for i in range(start + 1, len(lines))
                if lines[i][:1] not in ("", " ", "\t", "#", "-")), len(lines))
    insert_at = end
    while insert_at > start + 1 and (not lines[insert_at - 1].strip()
                                     or lines[insert_at - 1].startswith("#")):
        insert_at -= 1  # blank lines and comments at column 0 introduce what follows
    items = [m for line in lines[start + 1:end] if (m := _ITEM.match(line))]
    indent = len(items[0].group(1)) if items else 2
    block = render(indent).rstrip("\n").split("\n")
    before = [""] if items else []
    after = [""] if insert_at < len(lines) and lines[insert_at].strip() else []
    if insert_at == len(lines):
        after = [""]  # the file ends with a newline
    new_lines = lines[:insert_at] + before + block + after + lines[insert_at:]
    return newline.join(new_lines)
