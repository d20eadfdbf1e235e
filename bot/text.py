"""Text normalisation shared by the matcher, the safety rules and the maintainer tools.

Users type with accents, emoji, shouting, stretched letters ("sooo") and curly
apostrophes; everything downstream works on plain lowercase ASCII words.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"(?<=[a-z])['’`´](?=[a-z])")
_WORD = re.compile(r"[a-z0-9]+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")


def fold(text: str) -> str:
    """Lowercase, strip accents and join contractions so "Don’t" and "dont" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return _STRETCHED.sub(r"\1\1", _APOSTROPHES.sub("", plain))


def words(text: str) -> list[str]:
    """Split text into plain words; punctuation, emoji and other scripts are dropped."""
    return _WORD.findall(fold(text))


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
