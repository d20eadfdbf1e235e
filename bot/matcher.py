"""Matching a user's question to a knowledge-base entry.

The pipeline, in order:
1. safety: red-flag rules see the user's own words first and win outright; a sum
   ("whats 12 times 17") gets the fallback before its words can match an entry;
2. small talk: short messages made of greeting/thanks words match whole-string, unless
   they ask for something and name several words small talk never uses ("can you help
   me write a cover letter"), ask about an entry's keywords alone ("at night?"), name
   an out-of-scope topic ("how do you say good morning in Spanish?") or ask about a
   passing one ("hi, can you tell me a joke?");
3. analysis: words are spell-corrected against the knowledge base's vocabulary,
   rewritten through the synonym table, stripped of filler words and stemmed;
4. scoring: each candidate entry is scored by how much of the question it
   explains (IDF-weighted coverage, a term credited in full only when enough of
   the entry's phrasings use it; unknown words and out-of-scope topics
   count against every entry and everyday words barely count), how closely its
   best phrasing overlaps the question (weighted Dice), whether the question
   names one of its keywords, and, for the top few, whole-phrasing similarity;
   candidates whose phrasings are less likely to use the question's words (naive
   Bayes over all phrasings) are then shrunk toward the likeliest one;
5. decision: a question about a detail the best entry's answer does not give (its
   ``not_covered`` list: "vitamin C morning or night?") gets the fallback; a
   confident, clear winner is answered, unless every word of the question fits
   most entries ("skin"); a plausible but uncertain one gets "did you mean"
   choices; a chatty message that is mostly small talk gets its reply; anything
   weaker gets the fallback;
6. story and question: when scene-setting sentences drown a clear question ("I walked
   into Sephora and got lost. What should a firming cream contain?"), the question
   sentences are decided on their own, unless the story names an uncovered topic that
   is not a passing one; a detail the closest entry does not cover, named only in the
   story ("I have a heavy stone roller"), does not block a question about that entry
   that needs nothing from the story, and a story's topic does not answer a question
   about an uncovered one ("I massage every night. What's the best foundation?"); a
   message that asks nothing and greets or thanks in one of its sentences or clauses is
   small talk.

Nothing here knows about Telegram.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge import KnowledgeBase, topics_covered
from bot.phrases import PhraseIndex
from bot.safety import SafetyRules
from bot.text import (
    any_sentence_asks,
    asks_at_all,
    inflection_bases,
    normalise,
    question_sentences,
    sentences,
    stem,
    typo_cost,
    words,
)

MAX_WORDS = 80
MAX_PHRASE = 4
RESCORE_TOP = 12
FUZZY_TOP = 3
CHAMPIONS = 60  # entries a term nominates; only binds in knowledge bases of hundreds of entries
MAX_TYPO_COST = 1.0  # see bot.text.typo_cost
MAX_TYPO_COST_LONG = 1.5  # words of 8+ letters
SMALLTALK_WORDS = 10  # longest message that can be small talk on its vocabulary alone
SMALLTALK_WORDS_LOOSE = 20  # ... and when no entry fits, if this share of its terms is small talk
SMALLTALK_SHARE_LOOSE = 0.6
GREETING_CLAUSE_SIMILARITY = 60  # (0-100) a clause this close to a phrasing greets or thanks
SMALLTALK_OTHER_WORDS = 3  # a question naming this many words small talk never uses is about them
HELP_OTHER_WORDS = 2  # "help me write a cover letter": a plea for help needs fewer
HELP = "help"  # a request in itself, like a question
GREETINGS = ("hi", "hello")  # the small-talk entry with one of these answers emoji-only messages
KINDS = ("answer", "clarify", "fallback", "safety", "smalltalk")
# A sum between two numbers: "12 times 17", "3x + 7 = 22". Not "-" or "/": "2-3 times a
# week" and "1/2 a dropper" are amounts.
ARITHMETIC = re.compile(
    r"\d\s*(?:[+*×÷^=]|\b(?:times|plus|minus|divided by|multiplied by)\b)\s*\d", re.IGNORECASE)
# A question opening with one of these leans on the sentences before it for its topic.
REFERS_BACK = frozenset(("it", "that", "this", "they", "these", "those", "them", "she", "he",
                         "her", "his", "one", "ones"))
# ... except the "it" of "is it possible to ...", which stands for the rest of the sentence.
DUMMY_IT = frozenset(("possible", "ok", "okay", "safe", "normal", "true", "worth", "bad",
                      "good", "better", "necessary", "wise", "smart", "realistic"))
DUMMY_IT_LINKS = frozenset(("to", "that", "if"))


@dataclass(frozen=True)
class Thresholds:
    """Where confidence turns into an answer, a "did you mean", or the fallback."""

    answer: float = 0.28
    margin: float = 0.02
    suggest: float = 0.3
    # In the "did you mean" band, a candidate this many times ahead of the runner-up
    # is answered anyway: long, chatty questions score low but can be unambiguous.
    lead: float = 2.0
    # A question whose every term is spread over more than this share of the entries
    # (and over more than two), like "skin" or "face", gets choices, not a guess.
    vague: float = 0.45
    # A message that asks nothing and greets or thanks in one of its sentences or clauses is
    # small talk unless it matches an entry at least this well.
    greeting_over: float = 0.5


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    """What the bot decided: ``kind`` is one of KINDS; ``candidates`` are runners-up."""

    kind: str
    entry_id: str | None
    score: float
    candidates: tuple[Candidate, ...] = ()
    rule: str | None = None  # the red-flag rule, for safety
    # For a fallback on a detail the closest entry (the first candidate) does not cover:
    # the entry's not_covered pattern the question names.
    not_covered: str | None = None

    @property
    def suggestions(self) -> list[str]:
        return [c.entry_id for c in self.candidates]


@dataclass
class Weights:
    """How the signals combine. Tuned on knowledge/eval/tune, dev, dev2 and dev3;
    never on holdout.yaml or holdout2.yaml."""

    coverage: float = 0.6
    dice: float = 0.2
    keyword: float = 0.1
    unknown_word: float = 3.0  # an unknown word weighs this share of the rarest known word
    fuzzy: float = 0.1  # whole-phrasing similarity, applied to the top few candidates
    unknown_decay: float = 0.5  # each further unknown word weighs this times the previous one
    common_word: float = 0.25  # share of the unknown weight for everyday words (common_words)
    out_of_scope: float = 4.0  # a listed out-of-scope topic weighs this share of it
    smalltalk_similarity: float = 80.0  # similarity (0-100) that makes a short message small talk
    # A term counts fully for an entry once it is in this share of the entry's phrasings
    # (or a keyword); a word one stray phrasing happens to use counts for less.
    support: float = 0.1
    # Share of a candidate's score that rides on how likely its phrasings are to use the
    # question's words (naive Bayes), relative to the likeliest candidate: it reorders
    # close candidates without making any of them look more confident.
    likelihood: float = 0.2
    smoothing: float = 0.5  # added to each word count: an unseen word is unlikely, not impossible


class Analyzer:
    """Turns text into the content terms the matcher compares."""

    def __init__(self, synonyms: dict[str, tuple[str, ...]], stopwords: Iterable[str],
                 vocabulary_texts: Iterable[str], keep_words: Iterable[str] = ()) -> None:
        self.stopwords = frozenset(stopwords)
        # Real everyday words are left alone: "message" is not a typo of "massage".
        self.keep_words = frozenset(keep_words)
        self.phrases: dict[tuple[str, ...], str] = {}
        for canonical, variants in synonyms.items():
            for variant in (canonical, *variants):
                self.phrases[tuple(variant.split())] = canonical
        vocab = set(self.stopwords)
        for phrase in self.phrases:
            vocab.update(phrase)
        for text in vocabulary_texts:
            vocab.update(words(text))
        self.vocabulary = frozenset(vocab)
        self._by_length = _by_length(vocab)
        self._corrections: dict[str, str] = {}

    def correct(self, word: str) -> str:
        """The vocabulary word ``word`` is most plausibly a typo for, else the word itself.

        Short words and words with no plausible typo neighbour (see ``typo_cost``)
        are left alone, and a word that inflects a known word becomes that word
        ("saying" -> "say", not the typo-near "saging"). An unknown word counts as
        unexplained, which is what lets off-topic questions fall back, so a wrong
        "correction" is worse than none.
        """
        if word in self.vocabulary or word in self.keep_words or len(word) < 5 or word.isdigit():
            return word
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        best = next((base for base in inflection_bases(word) if base in self.vocabulary), None)
        if best is None:
            best = _closest(word, self._by_length) or word
        if len(self._corrections) < 50_000:
            self._corrections[word] = best
        return best

    def terms(self, text: str, raw_words: Sequence[str] | None = None) -> list[str]:
        """Content terms of a text: corrected, synonym-folded, without filler, stemmed."""
        tokens = [self.correct(w) for w in (raw_words if raw_words is not None else words(text))]
        tokens = tokens[:MAX_WORDS]
        terms: list[str] = []
        i = 0
        while i < len(tokens):
            for size in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
                canonical = self.phrases.get(tuple(tokens[i:i + size]))
                if canonical is not None:
                    terms.append(canonical)
                    i += size
                    break
            else:
                word = tokens[i]
                i += 1
                if word in self.stopwords or len(word) < 2 or word.isdigit():
                    continue
                terms.append(stem(word))
        return terms


def _uncovered_topics(kb: KnowledgeBase, known: frozenset[str]) -> PhraseIndex:
    """The out-of-scope and passing topics, minus those the knowledge base covers."""
    topics = (*kb.out_of_scope, *kb.passing_topics)
    covered = topics_covered(kb, PhraseIndex(((p, p) for p in topics), known))
    return PhraseIndex(((p, p) for p in topics if p not in covered), known)


def _refers_back(raw: Sequence[str]) -> bool:
    """Whether a question opens by pointing at the story before it ("Is that ageing my
    skin?"); "Is it possible to damage your skin with gua sha?" names its own topic."""
    for i, word in enumerate(raw[:3]):
        if word not in REFERS_BACK:
            continue
        adjective, link = (*raw[i + 1:i + 3], "", "")[:2]
        dummy = (word == "it" and adjective in DUMMY_IT and link in DUMMY_IT_LINKS
                 and not REFERS_BACK.intersection(raw[i + 3:]))
        if not dummy:
            return True
    return False


def _is_pictographic(text: str) -> bool:
    """Emoji or other pictographs and nothing readable: a wave or a thumbs-up, not a question."""
    visible = [ch for ch in text if not ch.isspace()]
    return (any(unicodedata.category(ch) == "So" for ch in visible)
            and not any(ch.isalnum() for ch in visible))


def _by_length(vocabulary: Iterable[str]) -> dict[int, list[str]]:
    """Words grouped by length, so typo search only looks at plausible lengths."""
    grouped: dict[int, list[str]] = {}
    for word in sorted(vocabulary):
        grouped.setdefault(len(word), []).append(word)
    return grouped


def _closest(word: str, by_length: dict[int, list[str]]) -> str | None:
    """The word ``word`` is most plausibly a typo for (see ``typo_cost``), if any."""
    max_cost = MAX_TYPO_COST_LONG if len(word) >= 8 else MAX_TYPO_COST
    best, best_cost = None, max_cost + 0.01
    budget = math.floor(max_cost)  # typo_cost >= edit distance, so this loses nothing
    for length in range(len(word) - budget, len(word) + budget + 1):
        pool = by_length.get(length)
        if not pool:
            continue
        for found, _, _ in process.extract(word, pool, scorer=OSA.distance,
                                           score_cutoff=budget, limit=None):
            if found[0] != word[0]:
                continue  # typo_cost never accepts a different first letter
            cost = typo_cost(word, found)
            if cost < best_cost:
                best, best_cost = found, cost
    return best


@dataclass
class _Doc:
    entry_id: str
    phrasings: list[frozenset[str]]
    terms: frozenset[str]
    keywords: list[frozenset[str]]
    phrasing_weights: list[float] = field(default_factory=list)
    phrasing_texts: list[str] = field(default_factory=list)
    phrasings_with: dict[str, list[int]] = field(default_factory=dict)
    credit: dict[str, float] = field(default_factory=dict)
    log_likelihood: dict[str, float] = field(default_factory=dict)
    log_unseen: float = 0.0


class Matcher:
    """Answers "which entry is this question about, and how sure are we?"."""

    def __init__(self, kb: KnowledgeBase, thresholds: Thresholds | None = None,
                 weights: Weights | None = None) -> None:
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.weights = weights or Weights()
        texts = [p for e in kb.entries.values() for p in (*e.phrasings, *e.keywords)]
        self.analyzer = Analyzer(kb.synonyms, kb.stopwords, texts, kb.common_words)
        known = self.analyzer.vocabulary | kb.common_words | kb.not_typos
        self.safety = SafetyRules(kb.red_flags, known)
        self.out_of_scope = _uncovered_topics(kb, known)
        self._passing_topics = frozenset(kb.passing_topics)
        # One index per entry: only the closest entry's details are ever looked up.
        self._details_not_covered = {
            entry.id: PhraseIndex(((pattern, pattern) for pattern in entry.not_covered), known)
            for entry in kb.entries.values() if entry.not_covered}
        self._smalltalk = [(normalise(p), e.id) for e in kb.entries.values()
                           if e.kind == "smalltalk" for p in e.phrasings]
        self._smalltalk_texts = [text for text, _ in self._smalltalk]
        self._greeting = next((i for text, i in self._smalltalk if text in GREETINGS), None)
        self._smalltalk_terms = frozenset(
            t for text in self._smalltalk_texts for t in self.analyzer.terms(text))
        self._docs: list[_Doc] = []
        postings: dict[str, list[int]] = {}
        for entry in kb.entries.values():
            if entry.kind == "smalltalk":
                continue  # small talk is mostly filler words; _smalltalk_match handles it
            phrasings = [frozenset(self.analyzer.terms(p)) for p in entry.phrasings]
            keywords = [frozenset(self.analyzer.terms(k)) for k in entry.keywords]
            keywords = [k for k in keywords if k]
            terms = frozenset().union(*phrasings, *keywords)
            for term in terms:
                postings.setdefault(term, []).append(len(self._docs))
            self._docs.append(_Doc(entry.id, phrasings, terms, keywords))
        self._doc_index = {doc.entry_id: i for i, doc in enumerate(self._docs)}
        count = max(len(self._docs), 1)
        self._idf = {t: math.log(1 + count / len(ids)) for t, ids in postings.items()}
        self._postings = postings
        self._unknown_weight = self.weights.unknown_word * math.log(1 + count)
        self._common_weight = self.weights.common_word * self._unknown_weight
        self._common_terms = frozenset(stem(w) for w in kb.common_words) - set(self._idf)
        self._smalltalk_allowed = self._smalltalk_terms | self._common_terms
        self._keyword_terms = frozenset(t for doc in self._docs for k in doc.keywords for t in k)
        for doc in self._docs:
            self._derive_statistics(doc)
        # How many entries each term belongs to (partly, by credit); a term in most of them
        # says little about which one the question wants.
        spread: dict[str, float] = {}
        for doc in self._docs:
            for term, credit in doc.credit.items():
                spread[term] = spread.get(term, 0.0) + credit
        self._vague_terms = frozenset(
            t for t, n in spread.items() if n > max(2.0, self.thresholds.vague * count))
        # Champion lists: per term, the entries where it is most central (in most of
        # their phrasings) come first, and only the first CHAMPIONS nominate candidates.
        self._champions = {
            term: sorted(ids, key=lambda i, t=term: -len(self._docs[i].phrasings_with.get(t, ())))
            [:CHAMPIONS]
            for term, ids in postings.items()
        }

    def _derive_statistics(self, doc: _Doc) -> None:
        """Per-entry figures the scoring reads: phrasing weights, which phrasings use each
        term, how fully each term counts (credit), and naive-Bayes word likelihoods."""
        doc.phrasing_weights = [sum(self._idf[t] for t in p) for p in doc.phrasings]
        doc.phrasing_texts = [" ".join(sorted(p)) for p in doc.phrasings]
        for number, phrasing in enumerate(doc.phrasings):
            for term in phrasing:
                doc.phrasings_with.setdefault(term, []).append(number)
        full = max(1.0, self.weights.support * len(doc.phrasings))
        doc.credit = {t: min(1.0, len(doc.phrasings_with.get(t, ())) / full) for t in doc.terms}
        doc.credit.update(dict.fromkeys(frozenset().union(*doc.keywords), 1.0))
        counts = Counter({t: len(numbers) for t, numbers in doc.phrasings_with.items()})
        counts.update(t for keyword in doc.keywords for t in keyword)
        smoothing = self.weights.smoothing
        log_total = math.log(sum(counts.values()) + smoothing * len(self._idf))
        doc.log_likelihood = {t: math.log(n + smoothing) - log_total for t, n in counts.items()}
        doc.log_unseen = math.log(smoothing) - log_total

    def match(self, text: str) -> MatchResult:
        """Classify one question; never raises on any string."""
        raw = words(text)
        if not raw and self._greeting and _is_pictographic(text):
            return MatchResult("smalltalk", self._greeting, 1.0)  # "👋", "🙏💖"
        rule = self.safety.check(raw)
        if rule is not None:
            return MatchResult("safety", None, 1.0, rule=rule)
        if ARITHMETIC.search(text):
            return MatchResult("fallback", None, 0.0)
        terms = set(self.analyzer.terms(text, raw))
        chatty = not (self._asks_about_something_else(text, raw, terms)
                      or self._asks_about_a_keyword(text, terms))
        smalltalk = self._smalltalk_match(raw, terms) if chatty else None
        if smalltalk is not None and not self._names_uncovered_topic(text, raw):
            return smalltalk
        result, off_topic = self._decide(raw, terms, chatty)
        if result.kind in ("answer", "clarify") and self._asks_elsewhere(text):
            return MatchResult("fallback", None, result.score, result.candidates)
        if not off_topic <= self._passing_topics:
            return result
        if result.not_covered:
            return self._detail_only_in_story(text, result)
        if result.kind in ("fallback", "clarify"):
            focused = self._focus_on_question(text, raw)
            if focused is not None:
                return focused
        if (chatty and not off_topic and result.score < self.thresholds.greeting_over
                and "?" not in text):
            greeting = self._greeting_or_thanks(text)
            if greeting is not None:
                return greeting
        return result

    def _asks_about_a_keyword(self, text: str, terms: set[str]) -> bool:
        """"at night?" asks about the time of day, a topic; "good night" says goodbye."""
        return "?" in text and bool(terms) and terms <= self._keyword_terms

    def _names_uncovered_topic(self, text: str, raw: Sequence[str]) -> bool:
        """Small talk's words can ask about something else: "how do you say good morning
        in Spanish?" wants a translation, "hi, what's the weather in Paris?" a forecast;
        "hi from Paris!" asks nothing and is a greeting."""
        topics = [str(topic) for topic in self.out_of_scope.find(raw)]
        if any(topic not in self._passing_topics for topic in topics):
            return True
        return bool(topics) and any_sentence_asks(text)

    def _asks_about_something_else(self, text: str, raw: Sequence[str], terms: set[str]) -> bool:
        """A request that names several words small talk never uses is about those words,
        not about the bot: "can you help me write a birthday message", "hello, do you sell
        gift cards?"."""
        others = len(terms - self._smalltalk_terms)
        if HELP in raw and others >= HELP_OTHER_WORDS:
            return True
        return others >= SMALLTALK_OTHER_WORDS and any_sentence_asks(text)

    def _greeting_or_thanks(self, text: str) -> MatchResult | None:
        """The greeting or thanks in a message of several sentences or clauses ("Good evening!
        First time I've used one of these bots."; "I've been confused for years, thank you
        so much"), for a message that asks nothing."""
        parts = [p for s in sentences(text) for p in s.split(",")]
        if len(parts) < 2 or any(asks_at_all(part) for part in parts):
            return None  # "hey bot, what's behind saggy skin" asks something
        for part in parts:
            part_raw = words(part)
            found = self._smalltalk_match(part_raw, set(self.analyzer.terms(part, part_raw)))
            if found is not None and self._says_small_talk(part_raw, found.entry_id):
                return found
        return None

    def _says_small_talk(self, raw: Sequence[str], entry_id: str) -> bool:
        """Whether a clause as a whole reads like one of the small-talk entry's phrasings:
        "thank you so much" does, "3 days later they're still there" (sharing "later") not."""
        clause = " ".join(raw)
        return any(fuzz.ratio(clause, text) >= GREETING_CLAUSE_SIMILARITY
                   for text, found_id in self._smalltalk if found_id == entry_id)

    def _focus_on_question(self, text: str, raw: Sequence[str]) -> MatchResult | None:
        """The answer to the question sentences alone, when the rest is scene-setting.

        "I'm a flight attendant and my sleep is all over the place. What's a realistic
        firming routine?": the story's words dilute the score of a plain question. The
        question is answered on its own only when it is clear by itself and the story
        names no uncovered topic or detail other than passing ones (a shop, a price).
        """
        question = self._question_alone(text)
        if question is None:
            return None
        asked_raw, asked_terms = question
        smalltalk = self._smalltalk_match(asked_raw, asked_terms)
        if smalltalk is not None:
            return smalltalk  # "My coworker showed me this chat. What can I ask you?"
        result, off_topic = self._decide(asked_raw, asked_terms)
        if result.kind != "answer" or off_topic or self.detail_not_covered(raw, result.entry_id):
            return None
        return result

    def _detail_only_in_story(self, text: str, result: MatchResult) -> MatchResult:
        """A detail the closest entry does not cover, named only in the story around a
        question about that same entry, does not block its answer: "How much pressure when
        rolling my face? I have a heavy stone roller from a market in Bali." Stricter than
        ``_focus_on_question``: no word of the question may point back at the story ("How
        many weeks until it shows?" after "I started a retinol cream")."""
        question = self._question_alone(text, strict=True)
        closest = result.candidates[0].entry_id if result.candidates else None
        if question is None or closest is None:
            return result
        focused, off_topic = self._decide(*question, chatty=False)
        if focused.kind == "answer" and focused.entry_id == closest and not off_topic:
            return focused
        return result

    def _asks_elsewhere(self, text: str) -> bool:
        """Whether the story names a guide topic but the question asks about something the
        guide does not cover: "I do the upward strokes every night. What is the best
        foundation for a 70 year old?" Read alone, the question fits no entry and names an
        uncovered topic that is not a passing one."""
        question = self._question_alone(text)
        if question is None:
            return False
        topics = {str(topic) for topic in self.out_of_scope.find(question[0])}
        if not topics - self._passing_topics:
            return False  # the common case, decided without ranking the question again
        alone, _ = self._decide(*question, chatty=False)
        return alone.kind == "fallback"

    def _question_alone(self, text: str,
                        strict: bool = False) -> tuple[list[str], set[str]] | None:
        """The words and terms of a message's question sentences, when a story surrounds
        them and they can be read on their own; ``strict`` refuses any word pointing back."""
        asked = question_sentences(text)
        if asked is None:
            return None
        asked_raw = words(asked)
        if len(asked_raw) < 2:
            return None  # "... asked me what a 'snapback protein' is. Help?" asks about the story
        leans = REFERS_BACK.intersection(asked_raw) if strict else _refers_back(asked_raw)
        if leans:
            return None  # "I swim in chlorinated pools. Is that ageing my skin?"
        asked_terms = set(self.analyzer.terms(asked, asked_raw))
        if not asked_terms:
            return None  # "My jaw isn't sharp anymore. What can I do?" asks about the story
        return asked_raw, asked_terms

    def _decide(self, raw: Sequence[str], terms: set[str],
                chatty: bool = True) -> tuple[MatchResult, frozenset[str]]:
        """Rank the entries and turn the ranking into a decision; also the out-of-scope
        topics the text names. Only a ``chatty`` message can turn out to be small talk."""
        ranked, off_topic = self._rank(raw, terms)
        best = ranked[0] if ranked else Candidate("", 0.0)
        runners = tuple(ranked[1:4])
        second = ranked[1].score if len(ranked) > 1 else 0.0
        th = self.thresholds
        detail = self.detail_not_covered(raw, best.entry_id) if ranked else None
        if detail is not None:
            return MatchResult("fallback", None, best.score, (best, *runners[:2]),
                               not_covered=detail), off_topic
        thin = bool(ranked) and self._thin_evidence(best.entry_id, terms)
        confident = best.score >= th.answer and best.score - second >= th.margin
        clear_lead = best.score >= th.suggest and best.score >= th.lead * second
        vague = bool(terms) and terms <= self._vague_terms
        if ranked and (confident or clear_lead) and not vague and not thin:
            kind = self.kb.entries[best.entry_id].kind
            return MatchResult(kind, best.entry_id, best.score, runners), off_topic
        if (best.score < th.suggest or thin) and not off_topic and chatty:
            # Nothing the guide covers, and no uncovered topic named: a chatty greeting
            # or thank-you ("thank you so much dear, very helpful!") is small talk.
            smalltalk = self._smalltalk_match(raw, terms, strict=False)
            if smalltalk is not None:
                return smalltalk, off_topic
        if best.score >= th.suggest and not off_topic and not thin:
            # "did you mean peptides?" is no help to someone asking about fillers: a
            # question naming an uncovered topic is answered outright or not at all.
            close = tuple(c for c in ranked[:3] if c.score >= th.suggest)
            return MatchResult("clarify", None, best.score, close), off_topic
        return MatchResult("fallback", None, best.score, runners), off_topic

    def _thin_evidence(self, entry_id: str, terms: set[str]) -> bool:
        """One shared word is thin evidence when the question also names things the guide
        never mentions: "how long do I boil an egg" shares only "how long" with an entry."""
        credit = self._docs[self._doc_index[entry_id]].credit
        if sum(1 for t in terms if t in credit) != 1:
            return False
        return any(t not in self._idf and t not in self._common_terms for t in terms)

    def detail_not_covered(self, raw: Sequence[str], entry_id: str) -> str | None:
        """The first detail of ``entry_id`` that its answer does not give and the question names."""
        index = self._details_not_covered.get(entry_id)
        found = index.find(raw) if index is not None else []
        return str(found[0]) if found else None

    def _coverage(self, terms: set[str], weight: dict[str, float]) -> dict[int, float]:
        """Summed weight of the question's terms per candidate entry.

        Each term nominates the entries it is most central to (its champion list);
        every nominee is then scored on all terms. In a knowledge base where no term
        is in more than CHAMPIONS entries this is exact: every sharing entry competes.
        """
        candidates: set[int] = set()
        for term in terms:
            candidates.update(self._champions.get(term, ()))
        docs = self._docs
        return {index: sum(weight[t] * docs[index].credit.get(t, 0.0) for t in terms)
                for index in candidates}

    def _weigh_by_likelihood(self, scored: list[Candidate], docs: list[_Doc],
                             terms: set[str]) -> list[Candidate]:
        """Shrink each candidate by how much less likely its phrasings make the question's
        known words than the likeliest candidate's do; the likeliest keeps its score."""
        share = self.weights.likelihood
        known = [t for t in terms if t in self._idf]
        if not share or not known or not scored:
            return scored
        logs = [sum(doc.log_likelihood.get(t, doc.log_unseen) for t in known) for doc in docs]
        best = max(logs)
        return [Candidate(c.entry_id, c.score * (1 - share + share * math.exp(log - best)))
                for c, log in zip(scored, logs, strict=True)]

    def _with_fuzzy(self, candidate: Candidate, query_text: str) -> Candidate:
        """Add whole-phrasing string similarity: it separates close candidates by word order
        and partial words that the term overlap alone scores the same."""
        doc = self._docs[self._doc_index[candidate.entry_id]]
        found = process.extractOne(query_text, doc.phrasing_texts, scorer=fuzz.token_set_ratio)
        similarity = found[1] / 100 if found else 0.0
        return Candidate(candidate.entry_id, candidate.score + self.weights.fuzzy * similarity)

    def _term_weights(self, terms: set[str]) -> dict[str, float]:
        """IDF for known terms; unknown ones count less the more of them a question has.

        A long, chatty message ("I spent my youth baking on Mediterranean beaches")
        brings many unknown words without being about an unknown topic, so each
        further unknown word weighs ``unknown_decay`` times the one before.
        """
        weight = {t: self._idf[t] for t in terms if t in self._idf}
        unknown = sorted((self._unknown_term_weight(t), t) for t in terms if t not in weight)
        factor = 1.0
        for value, term in reversed(unknown):
            weight[term] = value * factor
            factor *= self.weights.unknown_decay
        return weight

    def _unknown_term_weight(self, term: str) -> float:
        """Everyday words the entries never use are probably filler; other unknowns are topics."""
        return self._common_weight if term in self._common_terms else self._unknown_weight

    def _smalltalk_match(self, raw: Sequence[str], terms: set[str],
                         strict: bool = True) -> MatchResult | None:
        """Greetings and thanks are mostly filler words, so they are matched as whole strings.

        Strictly (before any ranking), only short messages whose content words all
        occur in small talk or are everyday words qualify, so "thanks, and what are
        peptides?" is still a question about peptides. Loosely (when nothing in the
        guide fits), longer messages qualify if most of their content words do.
        """
        if not raw or not self._smalltalk_texts:
            return None
        if strict:
            if len(raw) > SMALLTALK_WORDS or not terms <= self._smalltalk_allowed:
                return None
        elif (len(raw) > SMALLTALK_WORDS_LOOSE
              or len(terms & self._smalltalk_allowed) < SMALLTALK_SHARE_LOOSE * len(terms)):
            return None
        query = " ".join(raw)
        found = process.extract(query, self._smalltalk_texts, scorer=fuzz.token_set_ratio,
                                score_cutoff=self.weights.smalltalk_similarity, limit=None)
        if not found:
            return None
        # Many phrasings score 100 on shared words alone ("nice" in "bye bye, have a nice
        # day"); the one closest as a whole string decides between them.
        _, score, index = max(found, key=lambda f: (f[1], fuzz.ratio(query, f[0])))
        return MatchResult("smalltalk", self._smalltalk[index][1], round(score / 100, 4))

    def rank(self, text: str, raw_words: Sequence[str] | None = None) -> list[Candidate]:
        """Entries scored against the question, best first (only those sharing a term)."""
        raw = raw_words if raw_words is not None else words(text)
        return self._rank(raw, set(self.analyzer.terms(text, raw)))[0]

    def _rank(self, raw: Sequence[str],
              terms: set[str]) -> tuple[list[Candidate], frozenset[str]]:
        """``rank``, plus the out-of-scope topics the question names."""
        found = self.out_of_scope.find(raw)
        off_topic = frozenset(str(topic) for topic in found)
        if not terms:
            return [], off_topic
        weight = self._term_weights(terms)
        total = sum(weight.values()) + len(found) * self.weights.out_of_scope * self._unknown_weight
        coverage = self._coverage(terms, weight)
        if not coverage:
            return [], off_topic
        top = sorted(coverage, key=coverage.__getitem__, reverse=True)[:RESCORE_TOP]
        query_text = " ".join(sorted(terms))
        w = self.weights
        scored = []
        for index in top:
            doc = self._docs[index]
            shared: dict[int, float] = {}
            for term in terms:
                for phrasing in doc.phrasings_with.get(term, ()):
                    shared[phrasing] = shared.get(phrasing, 0.0) + weight[term]
            dice = max((2 * value / (total + doc.phrasing_weights[phrasing])
                        for phrasing, value in shared.items()), default=0.0)
            keyword = 1.0 if any(k <= terms for k in doc.keywords) else 0.0
            score = w.coverage * coverage[index] / total + w.dice * dice + w.keyword * keyword
            scored.append(Candidate(doc.entry_id, score))
        scored = self._weigh_by_likelihood(scored, [self._docs[i] for i in top], terms)
        scored.sort(key=lambda c: (-c.score, c.entry_id))  # ties in a stable order
        if w.fuzzy:
            scored[:FUZZY_TOP] = [self._with_fuzzy(c, query_text) for c in scored[:FUZZY_TOP]]
        scored = [Candidate(c.entry_id, round(min(c.score, 1.0), 4)) for c in scored]
        scored.sort(key=lambda c: (-c.score, c.entry_id))  # ties in a stable order
        return scored, off_topic
