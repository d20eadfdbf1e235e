"""The matcher on the shipped knowledge base: right answers, honest fallbacks, no crashes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge import MESSAGE_KEYS, KnowledgeBase, load_knowledge
from bot.matcher import KINDS, Matcher, MatchResult, Weights
from bot.replies import as_plain_text, reply_for

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"


@cache
def shipped_matcher() -> Matcher:
    """One matcher for the whole module (hypothesis tests cannot take pytest fixtures)."""
    return Matcher(load_knowledge(KNOWLEDGE_DIR))


@pytest.fixture
def matcher() -> Matcher:
    return shipped_matcher()


@pytest.fixture
def kb(matcher: Matcher) -> KnowledgeBase:
    return matcher.kb


def assert_well_formed(result: MatchResult, kb: KnowledgeBase) -> None:
    assert isinstance(result, MatchResult)
    assert result.kind in KINDS
    assert isinstance(result.score, float | int)
    assert 0.0 <= result.score <= 1.0
    if result.kind in ("answer", "smalltalk"):
        assert result.entry_id in kb.entries
        assert kb.entries[result.entry_id].kind == result.kind
    else:
        assert result.entry_id is None
    for candidate in result.candidates:
        assert candidate.entry_id in kb.entries
        assert 0.0 <= candidate.score <= 1.0
    assert result.suggestions == [c.entry_id for c in result.candidates]
    if result.kind == "clarify":
        assert 1 <= len(result.candidates) <= 3
    if result.kind == "safety":
        assert result.rule and result.candidates == ()


# -- questions people really type -------------------------------------------------------

QUESTIONS = [
    ("is my gua sha making things worse??", "massage-damage"),
    ("can a jade roller ruin ur skin", "massage-damage"),
    ("what do peptides even do", "peptides"),
    ("peptides worth the hype?", "peptides"),
    ("why is my face sagging so much lately", "what-causes-sagging"),
    ("what makes skin go saggy", "what-causes-sagging"),
    ("whats the difference between collagen and elastin", "collagen-elastin"),
    ("does facial massage do anything for firmness", "massage-benefits"),
    ("is there any point doing face massage", "massage-benefits"),
    ("what oil should i use before massaging my face", "massage-oil"),
    ("should i put oil on before i use my gua sha", "massage-oil"),
    ("does face massage increase circulation", "boost-circulation"),
    ("how to depuff my face in the morning", "lymphatic-drainage"),
    ("how do i do lymphatic drainage on my face", "lymphatic-drainage"),
    ("should i massage upwards or downwards", "massage-direction"),
    ("which way do u rub ur face when massaging", "massage-direction"),
    ("is retinol good for loose skin", "retinoids"),
    ("what is retinol supposed to do for saggy skin", "retinoids"),
    ("does vitamin c help firm skin", "vitamin-c"),
    ("vit c serum for firmer skin??", "vitamin-c"),
    ("what ingredients should i look for to firm my skin", "firming-ingredients"),
    ("wats the best firming ingredients", "firming-ingredients"),
    ("is massage better than creams", "massage-plus-cosmetics"),
    ("should i use my serum with gua sha or seperately", "massage-plus-cosmetics"),
    ("what does gua sha actually do", "gua-sha"),
    ("how often should i use my jade roller", "tool-frequency"),
    ("how many times a week should i gua sha", "tool-frequency"),
    ("is a facelift my only option", "surgery-alternatives"),
    ("do i need surgery for really saggy skin or are there other options",
     "surgery-alternatives"),
    ("can u give me a routine for firmer skin", "firming-routine"),
    ("where can i read more about this stuff", "learn-more"),
]


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_real_questions_find_the_right_entry(matcher: Matcher, kb: KnowledgeBase,
                                             question: str, expected: str) -> None:
    result = matcher.match(question)
    assert (result.kind, result.entry_id) == ("answer", expected), result
    assert_well_formed(result, kb)


def test_the_questions_above_cover_at_least_twelve_entries() -> None:
    assert len({expected for _, expected in QUESTIONS}) >= 12


def test_paraphrase_face_massage_worth_doing(matcher: Matcher) -> None:
    result = matcher.match("is face massage actually worth doing")
    assert (result.kind, result.entry_id) == ("answer", "massage-benefits")


def test_every_entry_question_matches_its_own_entry(matcher: Matcher, kb: KnowledgeBase) -> None:
    wrong = {}
    for entry in kb.entries.values():
        result = matcher.match(entry.question)
        if result.entry_id != entry.id:
            wrong[entry.id] = (result.kind, result.entry_id)
    assert not wrong


def test_shouting_punctuation_and_accents_do_not_change_the_answer(matcher: Matcher) -> None:
    plain = matcher.match("what do peptides do")
    for variant in ("WHAT DO PEPTIDES DO???", "  what   do peptides do  ", "whät dø péptides do",
                    "what do peptides do 🤔🤔"):
        assert matcher.match(variant).entry_id == plain.entry_id == "peptides"


# -- out of scope -----------------------------------------------------------------------

OUT_OF_SCOPE = [
    "what is hyaluronic acid",
    "best sunscreen for oily skin",
    "who won the football",
    "how much does botox cost",
    "what is the capital of france",
    "can you write me a poem",
    "whats the weather like tomorrow",
    "bitcoin price today",
    "is niacinamide good for pores",
    "best firming cream under $30?",  # a price, spelled only with a currency sign
    "how long do i boil an egg for a runny yolk",  # shares only "how long" with an entry
    "best protein powder for women",  # shares only "protein" with collagen-elastin
    "what oil is best for giving my partner a back massage",
    "how much vitamin c should i take when i have a cold",
    "how to get a tan without sun",  # "tan" alone is the guide's sun damage
    "can you book me a facial",
    "what's the best age to get married",
]


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_questions_get_the_fallback(matcher: Matcher, kb: KnowledgeBase,
                                                 question: str) -> None:
    result = matcher.match(question)
    assert result.kind == "fallback", result
    assert_well_formed(result, kb)
    assert reply_for(kb, result).text == kb.messages["fallback"]


def test_one_shared_word_is_enough_only_when_the_rest_is_known(matcher: Matcher) -> None:
    """A single topic word answers ("peptides??"); a single shared word beside words the
    guide never uses does not, and the entry it shares is not even offered."""
    assert matcher.match("peptides??").entry_id == "peptides"
    assert matcher.match("collagen explained pls").entry_id == "collagen-elastin"
    result = matcher.match("how often should i get a professional facial at a salon")
    assert result.kind == "fallback", result


# Scene-setting dilutes a clear question, so the question sentence alone decides, unless the
# question leans on the story ("is that...") or the story names an uncovered topic that is not
# a passing one (shops, brands, money): those still get the fallback.
STORIES = [
    ("My husband laughs at me because I stand in the pharmacy aisle reading labels for twenty "
     "minutes. I'm 44 and my cheeks are starting to drop. Which actives actually have proof "
     "behind them for loose skin, and which are just marketing?", "firming-ingredients"),
    ("My coworker showed me this chat on her phone, but I'm not sure how it works. What kind "
     "of things can I ask you?", "smalltalk-help"),
    ("My esthetician offered me a 'lymphatic facial' for ninety dollars. I said I'd think "
     "about it. What even is lymphatic drainage?", "lymphatic-drainage"),
    ("I swim in chlorinated pools every day. Is that ageing my skin?", None),
    ("I just had fillers in my cheeks last week. Can I massage my face?", None),
    ("I love my retinol. Which firming cream at Sephora is the cheapest?", None),
    ("I paid 500 dollars for fillers last week. Can I massage my face?", None),
    # the "it" of "is it possible to ..." points ahead, not back at the story
    ("Is it possible to damage your skin with gua sha? I bought a cheap one at a festival.",
     "massage-damage"),
    ("I bought a cheap jade roller at a festival. Is it worth it?", None),
    # a detail the entry does not cover, named only in the story, does not block the answer,
    # unless the question points back at it
    ("How much pressure when rolling my face? I have a heavy stone roller from a market in "
     "Bali.", "massage-pressure"),
    ("I'm 58 and started a retinol cream last month. Exactly how many weeks until it shows "
     "visible results?", None),
    ("My 14 year old daughter wants to copy my gua sha ritual. What would be a simple, "
     "sensible skincare routine for a girl her age?", None),
    # a story's topic does not answer a question about an uncovered one
    ("I do the upward strokes on my neck every night. What is the best foundation for older "
     "skin?", None),
    ("I use a peptide serum and massage most evenings. How many hours of sleep do I need for "
     "good skin?", None),
    # a place or a feed is scene-setting
    ("Could rolling my face do more harm than good? Saw a dramatic Instagram post about it.",
     "massage-damage"),
]


@pytest.mark.parametrize(("text", "entry_id"), STORIES)
def test_a_clear_question_after_a_story_is_answered_on_its_own(
        matcher: Matcher, text: str, entry_id: str | None) -> None:
    result = matcher.match(text)
    if entry_id is None:
        assert result.kind == "fallback", result
    else:
        assert result.entry_id == entry_id, result


def test_a_lone_help_after_a_story_does_not_ask_for_the_help_text(matcher: Matcher) -> None:
    result = matcher.match("My 14 year old asked me what a 'snapback protein' is after seeing "
                           "an advert. Help?")
    assert result.kind != "smalltalk", result


def test_hyaluronic_acid_is_not_mistaken_for_collagen(matcher: Matcher) -> None:
    result = matcher.match("what is hyaluronic acid")
    assert result.entry_id != "collagen-elastin"
    assert result.kind not in ("answer", "clarify")


# -- details an entry's answer does not give ----------------------------------------------

@pytest.mark.parametrize(("question", "entry_id", "detail"), [
    ("my vitamin c serum went orange, is it still ok to use?", "vitamin-c", "went orange"),
    ("is a jade or rose quartz gua sha better?", "gua-sha", "jade or"),
    ("what percentage of retinol should I buy", "retinoids", "percent*"),
    ("how many minutes should each gua sha session last", "gua-sha", "how many minutes"),
    ("does massaging my legs help circulation", "boost-circulation", "legs"),
    # the guide names lasers only as an alternative to surgery: not their safety or wrinkles
    ("are lasers safe for your face", "surgery-alternatives", "safe"),
    ("does laser work on wrinkles", "surgery-alternatives", "wrinkle*"),
])
def test_a_detail_the_closest_answer_does_not_give_gets_the_fallback(
        matcher: Matcher, kb: KnowledgeBase, question: str, entry_id: str, detail: str) -> None:
    result = matcher.match(question)
    assert (result.kind, result.not_covered) == ("fallback", detail), result
    assert result.suggestions[0] == entry_id  # the closest entry still leads the candidates
    assert detail in kb.entries[entry_id].not_covered
    assert reply_for(kb, result).text == kb.messages["fallback"]


def test_the_same_topic_without_the_detail_is_answered(matcher: Matcher) -> None:
    """Details are narrow: "derma roller" must not catch "dermatologist", nor "how to
    manage stress" the question whether less stress helps."""
    for question, entry_id in [("is vitamin c serum good for sagging", "vitamin-c"),
                               ("what does a rose quartz gua sha do", "gua-sha"),
                               ("retinol for loose skin, does it work?", "retinoids"),
                               ("how often does a dermatologist say to use a gua sha?",
                                "tool-frequency"),
                               ("will managing my stress help my skin stay firm",
                                "sun-lifestyle"),
                               ("can laser help with sagging", "surgery-alternatives")]:
        result = matcher.match(question)
        assert (result.kind, result.entry_id, result.not_covered) == ("answer", entry_id, None)


def test_a_maintainer_added_detail_only_blocks_its_own_entry(knowledge_copy: Path) -> None:
    """'in my thirties' listed on sun-lifestyle turns a question about smoking into the
    fallback; the same words never block another entry."""
    path = knowledge_copy / "entries-science.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: sun-lifestyle\n")
    cut = text.index("    not_covered: [\n", start) + len("    not_covered: [\n")
    assert cut < text.index("  - id:", start + 1)  # the list is sun-lifestyle's own
    path.write_text(text[:cut] + '      "in my thirties",\n' + text[cut:], encoding="utf-8")
    question = "does smoking speed up sagging in my thirties"
    assert Matcher(load_knowledge(KNOWLEDGE_DIR)).match(question).kind == "answer"
    edited = Matcher(load_knowledge(knowledge_copy))

    result = edited.match(question)

    assert (result.kind, result.not_covered) == ("fallback", "in my thirties")
    other = edited.match("what happens to collagen and elastin in my thirties")
    assert (other.kind, other.entry_id) == ("answer", "collagen-elastin")


# -- small talk -------------------------------------------------------------------------

SMALLTALK = ["hi", "hello!", "hey there", "thanks", "thank you so much", "thanks!!",
             "who are you", "are you a bot?", "bye", "goodbye", "good night"]


@pytest.mark.parametrize("text", SMALLTALK)
def test_small_talk_is_small_talk(matcher: Matcher, kb: KnowledgeBase, text: str) -> None:
    result = matcher.match(text)
    assert result.kind == "smalltalk", result
    assert result.entry_id.startswith("smalltalk-")
    assert_well_formed(result, kb)


@pytest.mark.parametrize(("text", "expected"), [
    ("hi", "smalltalk-hello"), ("thanks", "smalltalk-thanks"),
    ("who are you", "smalltalk-about"), ("bye", "smalltalk-bye"),
    # the thanks phrasing "nice" shares every word with it too; the closest whole phrasing wins
    ("Bye bye, have a nice day", "smalltalk-bye"),
    ("how do i unsubscribe", "smalltalk-reminders"),
    ("stop the reminders pls", "smalltalk-reminders"),
    ("do you store my messages", "smalltalk-privacy"),
    ("how do i delete my data", "smalltalk-privacy"),
    ("what's your name", "smalltalk-about"),
])
def test_small_talk_goes_to_the_right_reply(matcher: Matcher, text: str, expected: str) -> None:
    assert matcher.match(text).entry_id == expected


@pytest.mark.parametrize(("text", "entry_id"), [
    ("daily?", "tool-frequency"), ("every evening?", "tool-frequency"),
    ("how often do i use it", "tool-frequency"), ("massage", "massage-benefits"),
    ("does massage help", "massage-benefits"),
    # "night" is a greeting word too ("good night"), but asked about, it is the time of day
    ("at night?", "tool-frequency"), ("evening or morning?", "tool-frequency"),
])
def test_a_topic_word_is_never_small_talk(matcher: Matcher, text: str, entry_id: str) -> None:
    """Every word of a small-talk phrasing counts as small talk, so one topic word there
    ("remind me every day": "daily" is the frequency topic) would turn these into chat."""
    assert (matcher.match(text).kind, matcher.match(text).entry_id) == ("answer", entry_id)
    assert matcher.match("good night").entry_id == "smalltalk-bye"


def test_a_chatty_thank_you_is_small_talk_but_an_uncovered_question_is_not(
        matcher: Matcher) -> None:
    chatty = "Thank you SO much dear, this was very helpful, I'm sharing it with my walking group!"
    assert matcher.match(chatty).entry_id == "smalltalk-thanks"
    assert matcher.match("thanks, how do i get rid of dark circles").kind == "fallback"
    assert matcher.match("thanks, and how often should i use my jade roller?").kind == "answer"


def test_a_greeting_followed_by_chat_is_a_greeting(matcher: Matcher) -> None:
    """A message that opens with a greeting and asks nothing is small talk; one that goes
    on to ask something is still a question."""
    for text in ["Good evening! First time I've ever used one of these bots, so bear with me.",
                 "Hi there! My friend from yoga class sent me the link to this chat."]:
        result = matcher.match(text)
        assert (result.kind, result.entry_id) == ("smalltalk", "smalltalk-hello"), result
    result = matcher.match("Hi! I want to know which ingredients firm sagging skin.")
    assert (result.kind, result.entry_id) == ("answer", "firming-ingredients"), result
    result = matcher.match("thanks, that was really helpful for an old lady like me")
    assert (result.kind, result.entry_id) == ("smalltalk", "smalltalk-thanks"), result
    result = matcher.match("hey bot, what's actually behind saggy skin, is it just gravity")
    assert result.kind != "smalltalk", result
    result = matcher.match("I'm 47 and I've been confused about all this for years, thank you "
                           "so much, that really helped")
    assert (result.kind, result.entry_id) == ("smalltalk", "smalltalk-thanks"), result
    result = matcher.match("Please write me a plan what to do every day for more firm skin. "
                           "I am 48. Bitte simple, danke.")
    assert result.kind != "smalltalk", result
    result = matcher.match("Good evening. I have a jade roller and a peptide cream. I wonder "
                           "whether it is worthwhile to use them together.")
    assert result.kind != "smalltalk", result
    result = matcher.match("Thank you, that explanation of peptides was really helpful.")
    assert (result.kind, result.entry_id) == ("smalltalk", "smalltalk-thanks"), result
    result = matcher.match("Good afternoon. I am 74 and would like to know which ingredients in a "
                           "face cream help skin that has become loose. Thank you kindly.")
    assert (result.kind, result.entry_id) == ("answer", "firming-ingredients"), result


@pytest.mark.parametrize(("text", "expected"), [
    # "later" is a goodbye on its own, not in "3 days later they're still there"
    ("went at the gua sha a bit hard and now there are marks across my cheek. 3 days later "
     "they're still there.", None),
    ("your last answer was spot on, thanks a ton", "smalltalk-thanks"),
    # "What can I do?" alone asks the bot what it does; after a story, about the story
    ("My lower face looks droopy and my jaw isn't sharp anymore. What can I do? 43, mostly "
     "using Clinique", None),
    ("My coworker showed me this chat. What can I ask you?", "smalltalk-help"),
])
def test_small_talk_words_are_read_in_their_context(matcher: Matcher, text: str,
                                                   expected: str | None) -> None:
    result = matcher.match(text)
    if expected is None:
        assert result.kind != "smalltalk", result
    else:
        assert (result.kind, result.entry_id) == ("smalltalk", expected), result


def test_a_question_after_a_greeting_is_still_a_question(matcher: Matcher) -> None:
    result = matcher.match("hi! what do peptides even do?")
    assert (result.kind, result.entry_id) == ("answer", "peptides")
    result = matcher.match("thanks, and how often should i use my jade roller?")
    assert (result.kind, result.entry_id) == ("answer", "tool-frequency")


@pytest.mark.parametrize("text", [
    "can you help me write a cover letter for my new job",
    "help me write a cover letter",  # "cover" is small talk ("what do you cover"): two words left
    "help!! my laptop won't start after the update",
    "hi, do you sell gift cards?",
    "how do you say good morning in spanish?",  # every word is small talk or everyday
    "hi, what is the weather like in paris?",  # a passing topic, asked about
    "Good morning! Will it rain tomorrow in Berlin?",
    "Can you tell me a knock knock joke please",
])
def test_a_request_about_something_else_is_not_small_talk(matcher: Matcher, text: str) -> None:
    """"help" or a greeting opens many requests the guide cannot answer; the help text
    would pretend to, so they get the fallback."""
    assert matcher.match(text).kind == "fallback"


@pytest.mark.parametrize(("text", "kind"), [
    ("whats 12 times 17", "fallback"),  # "times" alone had answered how often to use a tool
    ("what is 5 plus 7?", "fallback"),
    ("solve 3x + 7 = 22", "fallback"),
    ("jade roller: every day or 2-3 times per week?", "answer"),  # a range, not a sum
])
def test_a_sum_gets_the_fallback(matcher: Matcher, text: str, kind: str) -> None:
    assert matcher.match(text).kind == kind


def test_a_greeting_that_names_a_place_is_still_a_greeting(matcher: Matcher) -> None:
    """Shops, places and the weather are only scene-setting until the message asks about them."""
    for text in ["hi from paris!", "good morning from london"]:
        assert matcher.match(text).entry_id == "smalltalk-hello", text


@pytest.mark.parametrize("text", [
    "can you help me", "help, I don't know what to type here",
    "Am I talking to an actual person or a computer program?",
])
def test_a_request_about_the_bot_is_still_small_talk(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).kind == "smalltalk"

# -- did you mean ---------------------------------------------------------------------


def test_a_vague_question_gets_did_you_mean_choices(matcher: Matcher, kb: KnowledgeBase) -> None:
    vague = ["sagging", "skin", "cream", "firming", "face", "gua sha roller tips"]
    clarified = [(q, r) for q in vague if (r := matcher.match(q)).kind == "clarify"]
    assert clarified, "none of the vague questions produced a 'did you mean'"
    for _question, result in clarified:
        assert_well_formed(result, kb)
        assert all(kb.entries[c].kind == "answer" for c in result.suggestions)
        assert len(set(result.suggestions)) == len(result.suggestions)
        scores = [c.score for c in result.candidates]
        assert scores == sorted(scores, reverse=True)
        reply = reply_for(kb, result)
        assert [e.id for e in reply.choices] == result.suggestions
        text = as_plain_text(reply)
        assert text.startswith(kb.messages["did_you_mean"])
        for number, entry_id in enumerate(result.suggestions, 1):
            assert f"{number}. {kb.entries[entry_id].question}" in text


@pytest.mark.parametrize("word", ["skin", "face", "sagging", "firming"])
def test_a_word_that_fits_most_entries_gets_choices_not_a_guess(matcher: Matcher,
                                                                 word: str) -> None:
    result = matcher.match(word)
    assert result.kind == "clarify", result
    assert len(result.suggestions) >= 2


def test_a_word_one_stray_phrasing_uses_counts_for_less(tmp_path: Path) -> None:
    """'storage' is in all of one entry's phrasings and in one of the other's: it points
    at the first, even though the second entry also contains the word."""
    folder = write_tiny_knowledge(tmp_path / "tiny")
    data = yaml.safe_load((folder / "tiny.yaml").read_text(encoding="utf-8"))
    data["entries"][0]["alternates"] += [f"zebra roller hygiene question {n}" for n in range(12)]
    data["entries"][0]["alternates"].append("cleaning before storage of a zebra roller")
    (folder / "tiny.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    matcher = Matcher(load_knowledge(folder))

    ranked = matcher.rank("zebra roller storage")

    assert [c.entry_id for c in ranked] == ["roller-store", "roller-clean"]
    assert ranked[0].score - ranked[1].score > 0.1


@pytest.mark.parametrize("question", ["what makes skin go saggy", "is gua sha bad for me",
                                      "peptide cream worth buying", "how hard do i press"])
def test_likelihood_only_shrinks_the_less_likely_candidates(kb: KnowledgeBase,
                                                            question: str) -> None:
    """Naive Bayes reorders close candidates but never makes any of them more confident."""
    unweighed = Matcher(kb, weights=Weights(likelihood=0, fuzzy=0)).rank(question)
    weighed = Matcher(kb, weights=Weights(likelihood=0.2, fuzzy=0)).rank(question)
    plain = {c.entry_id: c.score for c in unweighed}
    assert all(c.score <= plain[c.entry_id] for c in weighed)
    assert any(c.score == plain[c.entry_id] for c in weighed)  # the likeliest keeps its score


def write_tiny_knowledge(folder: Path) -> Path:
    """Two entries about the same object, told apart only by the verb."""
    folder.mkdir()

    def entry(entry_id: str, verb: str, noun: str) -> dict:
        return {
            "id": entry_id,
            "question": f"How do I {verb} my zebra roller?",
            "alternates": [f"{verb} a zebra roller", f"{noun} of a zebra roller",
                           f"zebra roller {noun} tips", f"best way to {verb} zebra roller",
                           f"{verb} zebra roller at home", f"should i {verb} my zebra roller"],
            "answer": f"Here is how to {verb} it.",
            "section": "tools",
        }

    data = {
        "sections": [{"id": "tools", "title": "Tools"}],
        "messages": {key: f"The {key} message." for key in MESSAGE_KEYS},
        "entries": [entry("roller-clean", "clean", "cleaning"),
                    entry("roller-store", "store", "storage")],
    }
    (folder / "tiny.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def test_two_near_identical_entries_force_a_did_you_mean(tmp_path: Path) -> None:
    kb = load_knowledge(write_tiny_knowledge(tmp_path / "tiny"))
    matcher = Matcher(kb)

    result = matcher.match("zebra roller")

    assert result.kind == "clarify"
    assert result.entry_id is None
    assert set(result.suggestions) == {"roller-clean", "roller-store"}
    assert_well_formed(result, kb)
    assert matcher.match("how do i clean my zebra roller").entry_id == "roller-clean"
    assert matcher.match("how should i store my zebra roller").entry_id == "roller-store"


# -- robustness -----------------------------------------------------------------------

ODD_TEXTS = [
    "",
    " ",
    "\n\t  \r\n",
    "a" * 4096,
    "peptides " * 455,
    " ".join(["retinol"] * 2000),
    "x" * 4000,
    "😀😀😀💆‍♀️🧴",
    "Как подтянуть кожу лица?",
    "كيف أشد بشرة الوجه",
    "如何紧致皮肤",
    "\x00\x01\x02 peptides \x1b[31m\x7f",
    "pep\u200dtides\u200b with zero\u2060width",
    "\u200fretinol\u200e \u202eoil\u202c",
    "<script>alert('peptides')</script>",
    "'; DROP TABLE questions; --",
    "SELECT * FROM entries WHERE id = 'peptides'",
    "%s %d {0} {entry} $(rm -rf /)",
    "?????!!!!....",
    "1234567890 42 7",
    "\ud800 lone surrogate",
    "ｐｅｐｔｉｄｅｓ",
    "I" * 3 + " " + "ı̇" * 50,
]


@pytest.mark.parametrize("text", ODD_TEXTS, ids=range(len(ODD_TEXTS)))
def test_any_text_gets_a_well_formed_result(matcher: Matcher, kb: KnowledgeBase,
                                            text: str) -> None:
    result = matcher.match(text)
    assert_well_formed(result, kb)
    reply = reply_for(kb, result)
    assert reply.text and len(as_plain_text(reply)) <= 4096


def test_empty_punctuation_and_unreadable_scripts_fall_back(matcher: Matcher) -> None:
    for text in ("", "   ", "?!", "如何紧致皮肤", "Как подтянуть кожу? 🙏"):
        assert matcher.match(text).kind == "fallback", text


def test_emoji_only_messages_get_the_greeting(matcher: Matcher) -> None:
    for text in ("😀😀😀", "👋", "🙏🙏💖", " 👍 "):
        assert matcher.match(text).entry_id == "smalltalk-hello", text


def test_full_width_letters_are_folded(matcher: Matcher) -> None:
    assert matcher.match("ｗｈａｔ ｄｏ ｐｅｐｔｉｄｅｓ ｄｏ").entry_id == "peptides"


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=4096))
def test_match_never_raises(text: str) -> None:
    result = shipped_matcher().match(text)
    assert isinstance(result, MatchResult)
    assert result.kind in KINDS
    assert 0.0 <= result.score <= 1.0
    if result.kind not in ("answer", "smalltalk"):
        assert result.entry_id is None
    assert all(c.entry_id in shipped_matcher().kb.entries for c in result.candidates)


@settings(max_examples=100, deadline=None, database=None)
@given(words=st.lists(st.sampled_from(
    ["peptides", "retinol", "gua", "sha", "massage", "face", "oil", "how", "often", "why",
     "sagging", "skin", "rash", "pregnant", "hi", "thanks", "pregant", "acne", "scars",
     "botox", "vitamin", "c", "the", "is", "what", "😀", "??", "jade", "roller"]),
    max_size=30))
def test_keyword_soup_never_raises(words: list[str]) -> None:
    assert_well_formed(shipped_matcher().match(" ".join(words)), shipped_matcher().kb)


def test_rank_is_sorted_and_bounded(matcher: Matcher, kb: KnowledgeBase) -> None:
    ranked = matcher.rank("how often should i use gua sha on my face with oil")
    assert ranked
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(c.entry_id in kb.entries for c in ranked)
    assert matcher.rank("") == [] and matcher.rank("the and of") == []
