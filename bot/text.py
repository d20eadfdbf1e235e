"""Text normalisation shared by the matcher, the safety rules and the maintainer tools.

Users type with accents, emoji, shouting, stretched letters ("sooo") and curly
apostrophes; everything downstream works on plain lowercase ASCII words.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

_APOSTROPHES = re.compile(r"(?<=[a-z])['’`´](?=[a-z])")
_WORD = re.compile(r"[a-z0-9]+")
_PLAIN = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")  # already words: nothing to fold or strip
_STRETCHED = re.compile(r"([a-z])\1{2,}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_QUESTION_OPENERS = frozenset((
    "what", "whats", "which", "how", "hows", "why", "when", "where", "who", "is", "are", "do",
    "does", "can", "could", "should", "will", "would", "any", "anything"))
_INDIRECT_QUESTIONS = ("want to know", "like to know", "need to know", "wonder", "wondering",
                       "whether", "tell me", "explain", "curious", "please", "give me", "write me",
                       "help me", "show me", "recommend", "suggest")
CACHED_TEXT_LENGTH = 200  # every knowledge-base phrasing and pattern is shorter
_SYMBOL_WORDS = str.maketrans({"%": " percent ", **dict.fromkeys("$€£¥₹₽", " price ")})


def fold(text: str) -> str:
    """Lowercase, strip accents and join contractions so "Don’t" and "dont" compare equal."""
    if text.isascii():  # most text: nothing to decompose, and decomposing is the slow part
        plain = text.lower()
    else:
        # NFKD would turn an acute accent used as an apostrophe ("it´s") into a space.
        decomposed = unicodedata.normalize("NFKD", text.replace("´", "'"))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return _STRETCHED.sub(r"\1\1", _APOSTROPHES.sub("", plain))


def words(text: str) -> list[str]:
    """Split text into plain words; punctuation, emoji and other scripts are dropped.

    A percent sign or a currency symbol says something ("10%", "under $30"), so it
    becomes a word instead of vanishing with the rest of the punctuation.
    """
    if len(text) <= CACHED_TEXT_LENGTH:
        return list(_cached_words(text))
    return list(_split_words(text))


@lru_cache(maxsize=16_384)
def _cached_words(text: str) -> tuple[str, ...]:
    """Loading splits each phrasing several times (validation, duplicate checks, the
    matcher's index); only short texts are kept, so a long-running bot's cache stays small."""
    return _split_words(text)


def _split_words(text: str) -> tuple[str, ...]:
    if _PLAIN.fullmatch(text) and not _STRETCHED.search(text):
        return tuple(text.split())  # most knowledge-base words and patterns
    return tuple(_WORD.findall(fold(text).translate(_SYMBOL_WORDS)))


def normalise(text: str) -> str:
    """One canonical spelling of a question, used for storage, grouping and duplicate checks."""
    return " ".join(words(text))


def stem(word: str) -> str:
    """A deliberately light stemmer: plurals and -ing/-ed forms meet their base word.

    Heavier stemmers merge words the guide keeps apart; this one only needs
    "peptides"/"peptide" and "massaging"/"massage" to meet.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return word


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = frozenset("aeiouy")


def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    """Keys that touch each key on a QWERTY keyboard (rows are staggered by half a key)."""
    position = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    near: dict[str, set[str]] = {ch: set() for ch in position}
    for a, (ra, ca) in position.items():
        for b, (rb, cb) in position.items():
            if a != b and abs(ra - rb) <= 1 and (
                    (ra == rb and abs(ca - cb) == 1) or (rb == ra + 1 and cb in (ca - 1, ca))
                    or (rb == ra - 1 and cb in (ca, ca + 1))):
                near[a].add(b)
    return {ch: frozenset(n) for ch, n in near.items()}


_NEAR = _keyboard_neighbours()
UNLIKELY_SUBSTITUTION = 1.5


def typo_cost(typed: str, word: str) -> float:
    """How plausibly ``typed`` is a slip for ``word``: an edit distance that knows typing.

    Dropped, doubled and swapped letters cost 1, and so does hitting a neighbouring
    key or the wrong vowel ("derection"); any other substitution costs 1.5, and a
    different first letter is never a typo. Plain edit distance turned real words
    the guide never uses into guide words ("sleep" -> "sweep", "water" -> "later",
    "drinking" -> "draining") and so answered questions the guide does not cover.
    """
    if not typed or not word or typed[0] != word[0]:
        return math.inf
    rows, cols = len(typed) + 1, len(word) + 1
    d = [[0.0] * cols for _ in range(rows)]
    for i in range(rows):
        d[i][0] = float(i)
    for j in range(cols):
        d[0][j] = float(j)
    for i in range(1, rows):
        a = typed[i - 1]
        for j in range(1, cols):
            b = word[j - 1]
            if a == b:
                sub = 0.0
            elif b in _NEAR.get(a, ()) or (a in _VOWELS and b in _VOWELS):
                sub = 1.0
            else:
                sub = UNLIKELY_SUBSTITUTION
            best = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + sub)
            if i > 1 and j > 1 and a == word[j - 2] and typed[i - 2] == b:
                best = min(best, d[i - 2][j - 2] + 1)
            d[i][j] = best
    return d[-1][-1]


def inflection_bases(word: str) -> tuple[str, ...]:
    """Words ``word`` may be an inflection of ("saying" -> "say"), to spare it from correction."""
    bases = []
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            bases.extend((base, base + "e"))
            if len(base) >= 4 and base[-1] == base[-2]:
                bases.append(base[:-1])  # "stopping" -> "stop"
    return tuple(bases)


def sentences(text: str) -> list[str]:
    """``text`` split after each ., ! or ? that ends a sentence."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def question_sentences(text: str) -> str | None:
    """The sentences of ``text`` that ask something (a question mark, or a question's
    opening word typed without one), when there are other sentences too."""
    split = sentences(text)
    asked = [s for s in split if asks(s)]
    if not asked or len(asked) == len(split):
        return None
    return " ".join(asked)


def asks(sentence: str) -> bool:
    """A sentence that ends in "?" or starts like a question typed without one."""
    if sentence.rstrip().endswith("?"):
        return True
    first = words(sentence)[:1]
    return bool(first) and first[0] in _QUESTION_OPENERS


def asks_indirectly(sentence: str) -> bool:
    """A sentence that asks without a question's form: "I would like to know which..."."""
    plain = f" {normalise(sentence)} "
    return any(f" {marker} " in plain for marker in _INDIRECT_QUESTIONS)


def asks_at_all(sentence: str) -> bool:
    """A sentence that asks, as a question or as a request ("please write me a plan")."""
    return asks(sentence) or asks_indirectly(sentence)


def any_sentence_asks(text: str) -> bool:
    """Whether some sentence of ``text`` asks, as a question or as a request."""
    return any(asks_at_all(s) for s in sentences(text))
