"""Medical red flags: they win over every knowledge-base answer, and only they do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.knowledge import RedFlagRule, load_knowledge
from bot.matcher import Matcher
from bot.phrases import PhraseIndex, compile_pattern
from bot.safety import SafetyRules
from bot.text import words

PROJECT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT / "knowledge"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_knowledge(KNOWLEDGE_DIR))


RED_FLAGS = [
    "rash after retinol",
    "can I use retinol while pregnant",
    "breastfeeding and peptides ok?",
    "my mole is changing",
    "painful lump on my jaw",
    "I have rosacea, can I do gua sha",
    "allergic reaction to vitamin c serum",
    "burning after my new cream",
    "bleeding after gua sha",
    "im on accutane",
    "im pregant, is gua sha ok",
    "allergc reaction",
    "im allergc to retinol",
    "Is vitamin C safe while BREASTFEEDING??",
    "my face is swollen after using the roller",
    "my throat feels tight since I put on a new serum",
    "cant breathe properly after that new mask",
    "still have raw open patches after my peel, can I massage?",
    "my skin is flaky after the new serum",
    "flaky patches on my eyebrows that wont go away",
    "got hives from a peptide serum",
    "can i massage over my eczema",
    "is it safe to use retinol while taking antibiotics",
    "one side of my face suddenly drooped",
    "the left side of my face is drooping and I can't close my eye",
    "I take 20 mg of something for my blood pressure, can I use retinol?",
    "what dose of my prescription cream should I use before massage",
    "I had a facelift two weeks ago and the incisions are still healing, can I massage?",
    "my face is really painful after the peel",
    "the spot on my cheek is painful to touch",
    "the gua sha was painful on my cheekbones and now there are marks",
    "cut my cheek shaving this morning, can i still use the roller over it tonight",
    "After using the gua sha my skin was raw and now it is weeping. What should I do?",
    "my lips puffed right up an hour after a new firming mask, normal?",
    "there's a yellow crusty patch by my nose that keeps spreading, can I massage around it?",
    "after a salon peel my face feels raw and hot, can I use my retinol tonight?",
    "a spot on my cheek is red, hot and spreading and now i have a fever",
    "I fell and have a scrape on my cheek, it is not healed. Can I put my serum on it?",
    "I had radiation therapy on my neck last year. Can I massage there?",
]


@pytest.mark.parametrize("question", RED_FLAGS)
def test_red_flags_always_win(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert result.kind == "safety", (question, result)
    assert result.entry_id is None
    assert result.rule in {rule.id for rule in matcher.kb.red_flags}
    assert result.candidates == ()


@pytest.mark.parametrize(("question", "rule"), [
    ("rash after retinol", "rash-or-hives"),
    ("can I use retinol while pregnant", "pregnancy-or-breastfeeding"),
    ("breastfeeding and peptides ok?", "pregnancy-or-breastfeeding"),
    ("im pregant", "pregnancy-or-breastfeeding"),
    ("my mole is changing", "changing-mole"),
    ("I have rosacea, can I do gua sha", "skin-condition"),
    ("bleeding after gua sha", "bleeding"),
    ("im on accutane", "medication"),
    ("im allergc to retinol", "allergic-reaction"),
])
def test_the_rule_that_fired_is_reported(matcher: Matcher, question: str, rule: str) -> None:
    assert matcher.match(question).rule == rule


def test_red_flags_win_even_over_a_perfect_match(matcher: Matcher) -> None:
    question = matcher.kb.entries["retinoids"].question
    assert matcher.match(question).kind == "answer"
    assert matcher.match(f"{question} I am pregnant").kind == "safety"
    assert matcher.match(f"{question} got a rash").kind == "safety"


NOT_RED_FLAGS = [
    "does massage boost blood flow",
    "how to reduce morning puffiness",
    "up or down strokes for face massage?",
    "what does a chemical peel do",
    "acne scars",
    "how do i fade my acne scars",
    "what do peptides even do",
    "my face is swollen in the morning, what massage helps",
    "does gua sha help fluid retention and that swollen look",
    "my jaw is blurring into my neck, what helps",
    "how do I get tight skin on my throat",
    "How much does HIFU cost and does it hurt?",
    "what strength retinol should i start with",
    "kybella injections for double chin worth it?",  # not a typo of "infections"
    "my skin gets tight and flaky every winter, which night cream?",
    "how hard should i press with a gua sha",
    "does vitamin c protect collagen",
    "how many mg of vitamin C should I take a day for good skin",  # a supplement, not a medicine
    "collagen powder in my shake, what dose, 10g or 20g?",
    "does sleeping on my side give me wrinkles on one side of my face",
    "how does radiofrequency tightening work and is it painful?",  # asking, not hurting
    "tretinoin vs retinol, which is stronger and do I need a prescription?",
    "is coconut oil ok for frying or does it burn",
    "how do i deal with stress at work, feeling totally burned out",
    "which massage gun is best for back pain",
    "my lower back hurts from sitting all day, can massage help with that",
    "does vitamin c serum fade dark spots and hyperpigmentation",
    "Is radiofrequency skin tightening painful? my salon offers it",
    "dark spots from old acne, what fades them fastest",
    "I cut my sugar intake, will my skin firm up?",
    "Any downsides to facial massage? I had a bad experience with a peeling mask years ago.",
    "is retin a actually worth it for saggy cheeks or is it just an acne thing",  # its use
    "my granddaughter is in nursing school and says elastin makes skin snap back, is that so?",
    "I used to get burnt every summer, did that make my skin sag?",  # long ago
    "Must it hurt a little to work, or should it be gentle?",  # asks about pressure
    "my friend barely grazes her skin when she massages, is that enough?",
]


@pytest.mark.parametrize("question", NOT_RED_FLAGS)
def test_ordinary_questions_are_not_red_flags(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert result.kind != "safety", (question, result.rule)
    assert result.rule is None


def test_acne_is_a_skin_condition_but_its_scars_and_skin_type_are_not(matcher: Matcher) -> None:
    assert matcher.match("acne scars").kind != "safety"
    assert matcher.match("best face oil for acne prone skin").kind != "safety"
    assert matcher.match("i have acne").rule == "acne"
    # acne long past is history, not a condition: its scars are an uncovered topic
    assert matcher.match("I had bad acne as a teenager, can the scars fade?").kind == "fallback"
    result = matcher.match("I had acne as a teen and I have acne again now, ok to massage?")
    assert result.rule == "acne"
    assert matcher.match("I've had acne for 3 months now, can I use retinol?").rule == "acne"
    # acne's exceptions are its own: they never silence another condition
    assert matcher.match("i have rosacea and acne prone skin").rule == "skin-condition"


def test_asking_whether_massage_should_hurt_is_no_red_flag_but_a_lump_still_is(
        matcher: Matcher) -> None:
    result = matcher.match("Should it hurt a little when I massage? My friend says no pain no gain")
    assert result.kind != "safety"
    lump = matcher.match("I found a painful lump on my jaw, should it hurt when I massage over it?")
    assert lump.rule == "lump"
    assert matcher.match("my cheek hurts after the massage").rule == "pain"


def test_taking_a_prescription_is_a_red_flag_but_asking_whether_one_is_needed_is_not(
        matcher: Matcher) -> None:
    assert matcher.match("how to get a tretinoin prescription").kind == "fallback"
    assert matcher.match("can i mix my prescription cream with retinol").rule == "medication"
    # the excuse covers only its own words: a second, personal mention still counts
    assert matcher.match("do I need a prescription, or can I keep using my prescription cream "
                         "with retinol?").rule == "medication"


def test_a_supplement_dose_is_not_a_medicine_dose(matcher: Matcher) -> None:
    assert matcher.match("what dose of collagen powder works best").kind != "safety"
    assert matcher.match("can I take a higher dose than my doctor said").rule == "dose"


def test_lines_from_side_sleeping_are_not_a_droop_but_sudden_weakness_still_is(
        matcher: Matcher) -> None:
    assert matcher.match("I sleep on my right side and the right side of my face looks "
                         "lower, can sleeping position cause this?").kind != "safety"
    assert matcher.match("side sleeper here, my face suddenly droops and my speech is "
                         "slurred").rule == "sudden-facial-droop"


def test_swelling_in_the_morning_is_puffiness_not_a_red_flag(matcher: Matcher) -> None:
    assert matcher.match("my face is swollen after massage").rule == "swelling"
    assert matcher.match("my face is swollen in the morning").kind != "safety"


def test_swelling_after_a_new_product_is_a_red_flag_even_in_the_morning(matcher: Matcher) -> None:
    result = matcher.match("my eyelids puffed right up the morning after i tried a new serum")
    assert result.rule == "swelling-after-product"
    result = matcher.match("woke up with my eyelids all swollen after trying a peptide mask")
    assert result.rule == "swelling-after-product"


@pytest.mark.parametrize(("figure_of_speech", "symptom"), [
    ("Shaving every day is such a pain, would a beard hide my jowls?",
     "such a pain in my jaw after gua sha, is that normal?"),
    ("I burn super easily, which SPF should I buy?",
     "my cheeks burn after the retinol, is that normal?"),
    ("I'm itching to buy my first gua sha, jade or quartz?",
     "my face is itchy since the new peptide cream"),
    ("my pregnancy was ten years ago, will cream fade the stretch marks?",
     "my pregnancy was easy but now I'm breastfeeding, can I use retinol?"),
    ("By a stroke of luck I found an old jade roller, how do I clean it?",
     "I think I had a stroke, one side of my face droops"),
])
def test_a_figure_of_speech_is_no_red_flag_but_the_symptom_still_is(
        matcher: Matcher, figure_of_speech: str, symptom: str) -> None:
    """The exceptions cover only their own words: the same trigger used for a symptom in
    the same message still counts."""
    assert matcher.match(figure_of_speech).kind != "safety", figure_of_speech
    assert matcher.match(symptom).kind == "safety", symptom


@pytest.mark.parametrize(("ordinary", "red_flag"), [
    ("can coconut oil give me breakouts?", "hormonal breakouts on my chin lately, can I massage?"),
    ("how long do I boil an egg", "got a boil on my jaw, will lymph drainage help?"),
    ("pale af and i burn in 5 min, which spf?",
     "sunburnt from the weekend and my nose is peeling, ok to use retinol?"),
    ("my brain hurts from reading ingredient lists, which ones firm?",
     "I have a pain when I touch my cheek after gua sha"),
    ("gift idea: gua sha or LED mask? budget is the sore spot lol",
     "there's a sore spot on my jaw since I used the roller"),
    ("can I massage without oil? it stains my pillow", "I'm on statins, is gua sha ok?"),
    ("my pregnancy was 11 years ago, can a cream fade old stretch marks?",
     "my pregnancy was 12 weeks yesterday, is retinol ok?"),
    ("my dad had a stroke last year so we all eat well now, does water plump skin?",
     "my dad had a stroke, can he use a face roller?"),
    ("best lipstick that doesn't bleed into lines", "my lips bleed after using the lip plumper"),
    ("can massage fix a crooked nose?", "my smile went crooked this morning"),
])
def test_everyday_wording_is_ordinary_but_the_condition_refers(
        matcher: Matcher, ordinary: str, red_flag: str) -> None:
    assert matcher.match(ordinary).kind != "safety", ordinary
    assert matcher.match(red_flag).kind == "safety", red_flag


@pytest.mark.parametrize("question", [
    "we're expecting our second in May, can I keep my retinol?",
    "still feeding the baby at night, is gua sha fine?",
    "I pump milk twice a day, can I use a peptide serum?",
    "a freckle on my cheek got bigger and darker, can I roll over it?",
    "there's a little ball like a pea under my jaw when I massage",
    "my eyelid started drooping out of nowhere this morning",
    "got a nosebleed while doing lymphatic drainage",
    "I'm on heparin injections, is face massage ok?",
    "my face swelled up like a balloon after the facial",
    "my midwife said to ask you: I'm 30 weeks, is retinol ok?",
    "a freckle on my neck went from flat to raised",
    "my throat feels tight and it's hard to swallow since the new mask",
    # a figure of speech elsewhere in the message excuses nothing
    "it doesn't hurt, but my cheek is tender since the gua sha",
    "I cut back on products and now a cut on my chin is oozing",
    "I have hay fever and my face is itchy since the new cream",
    "started a new vitamin c serum last week, it kinda stings when I put it on",
    "the skin under my jaw has been swollen and warm for days, I thought it was puffiness",
    "I take statins, can I use retinol?",
    # the past-tense exceptions do not cover a pregnancy or a stroke that is news
    "I just found out I was pregnant, can I keep using retinol?",
    "my pregnancy was confirmed today, is gua sha ok?",
    "my mum had a stroke, can she use gua sha?",
    "I had a stroke 2 weeks ago, can I massage my face?",
])
def test_red_flags_in_everyday_words_refer(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).kind == "safety", question


def test_a_due_date_and_a_hormone_patch_are_red_flags(matcher: Matcher) -> None:
    assert matcher.match("baby is due in 3 weeks, can I start gua sha?").rule == (
        "pregnancy-or-breastfeeding")
    assert matcher.match("I use a hormone patch, can I add retinol?").rule == "medication"
    assert matcher.match("does estrogen loss in menopause make skin sag?").kind != "safety"


# -- the rules engine on its own ------------------------------------------------------


def test_no_red_flag_catches_an_everyday_word(matcher: Matcher) -> None:
    """A prefix pattern like "numb*" once caught "number": every everyday word stays clear."""
    everyday = sorted(matcher.kb.common_words)
    caught = {word: rule for word in everyday if (rule := matcher.safety.check([word]))}
    assert caught == {}
    assert matcher.match("What SPF number should I be wearing every day?").kind != "safety"


def check(rules: list[RedFlagRule], text: str) -> str | None:
    return SafetyRules(rules).check(words(text))


def test_any_one_pattern_is_enough_and_prefix_patterns_match_word_starts() -> None:
    rules = [RedFlagRule("bleeding", ("bleed*", "blood blister"))]
    assert check(rules, "it bleeds a bit") == "bleeding"
    assert check(rules, "Bleeding after the roller") == "bleeding"
    assert check(rules, "I got a blood blister") == "bleeding"
    assert check(rules, "a blister of blood") is None  # phrases must be in order
    assert check(rules, "bled") is None  # 'bleed*' only matches words starting with bleed


def test_requires_means_one_of_them_must_also_appear() -> None:
    rules = [RedFlagRule("tool-pain", ("tingl*",), requires=("roller", "gua sha"))]
    assert check(rules, "my face is tingling after the roller") == "tool-pain"
    assert check(rules, "tingling after gua sha") == "tool-pain"
    assert check(rules, "tingling after my serum") is None
    assert check(rules, "the roller is cold") is None  # requires alone is not a match


def test_an_unless_that_overlaps_the_match_excuses_only_those_words() -> None:
    rules = [RedFlagRule("acne", ("acne",), unless=("acne scar*",)),
             RedFlagRule("pain", ("it hurt", "hurts"), unless=("does it hurt",))]
    assert check(rules, "how do I fade acne scars") is None
    assert check(rules, "acne scars, and now new acne on my chin") == "acne"
    assert check(rules, "does microneedling hurt, and does it hurt for long") is None
    assert check(rules, "my jaw hurts after gua sha, does it hurt for everyone") == "pain"


def test_an_unless_elsewhere_in_the_question_cancels_the_whole_rule() -> None:
    rules = [RedFlagRule("swelling", ("swell*", "swollen"), unless=("morning", "woke up"))]
    assert check(rules, "my cheek is swollen") == "swelling"
    assert check(rules, "swollen face in the morning") is None
    assert check(rules, "i woke up with swelling") is None


def test_unless_on_one_rule_does_not_silence_another() -> None:
    rules = [
        RedFlagRule("swelling", ("swollen",), unless=("morning",)),
        RedFlagRule("pain", ("painful",)),
    ]
    assert check(rules, "swollen in the morning") is None
    assert check(rules, "swollen and painful in the morning") == "pain"


def test_the_first_matching_rule_in_file_order_is_reported() -> None:
    rules = [RedFlagRule("first", ("rash",)), RedFlagRule("second", ("itchy",))]
    assert check(rules, "itchy rash") == "first"
    assert check(list(reversed(rules)), "itchy rash") == "second"


def test_one_typo_is_tolerated_in_long_words_only() -> None:
    rules = [RedFlagRule("pregnancy", ("pregnant", "pregnan*")), RedFlagRule("cut", ("cut",))]
    assert check(rules, "im pregant") == "pregnancy"
    assert check(rules, "im pregnnant") == "pregnancy"
    assert check(rules, "pregnancies") == "pregnancy"
    assert check(rules, "cat") is None  # short words must match exactly
    assert check(rules, "peasant") is None  # two edits away


def test_words_the_bot_knows_are_not_corrected_into_red_flags() -> None:
    rules = [RedFlagRule("swell", ("swelling",))]
    assert SafetyRules(rules).check(words("my skin is sweling")) == "swell"
    # 'smelling' is one edit from 'swelling'; once it is a known word it stays itself.
    question = words("my skin is smelling odd")
    assert SafetyRules(rules).check(question) == "swell"
    assert SafetyRules(rules, known_words={"smelling"}).check(question) is None


def test_no_rules_never_flags() -> None:
    assert SafetyRules([]).check(words("rash bleeding pregnant")) is None
    assert check([RedFlagRule("x", ("rash",))], "") is None


def test_phrase_index_reports_every_occurrence_in_order() -> None:
    index = PhraseIndex([("a", "red spot*"), ("b", "spot"), ("c", "bleed*")])
    assert index.find(["red", "spots", "and", "a", "spot", "bleeding"]) == ["a", "b", "c"]
    assert index.find(["red"]) == []
    assert compile_pattern("  Bleed*  ") == compile_pattern("bleed*")
    assert compile_pattern("***") == ()


def test_phrase_index_forgives_one_typo_in_long_words_unless_they_are_real_words() -> None:
    patterns = [("ha", "hyaluronic*"), ("swell", "swelling")]
    tolerant = PhraseIndex(patterns, known_words={"selling"})
    assert tolerant.find(["hyaluronc", "acid"]) == ["ha"]
    assert tolerant.find(["sweling"]) == ["swell"]
    assert tolerant.find(["selling"]) == []  # a real word, not a typo
    assert tolerant.find(["hyal"]) == []  # too short to guess
    assert tolerant.find(["dwelling"]) == []  # one edit away, but not the same first letter
    assert PhraseIndex(patterns).find(["hyaluronc"]) == []  # exact unless told the real words


def test_a_word_some_pattern_spells_out_is_not_a_typo_for_another() -> None:
    index = PhraseIndex([("typo", "pregant"), ("word", "pregnan*"), ("past", "never pregnant")],
                        known_words=set())
    assert index.find(["never", "pregnant"]) == ["past", "word"]
    assert index.find(["pregnat"]) == ["typo"]  # still a typo for the one word it is near


def test_a_word_a_prefix_pattern_already_matches_is_not_a_typo_for_another() -> None:
    index = PhraseIndex([("burn", "scald*"), ("flaky", "scaling")], known_words=set())
    assert index.find(["scalding"]) == ["burn"]  # not the misspelling "scaling"
    assert index.find(["scalinq"]) == ["flaky"]


def test_real_words_listed_as_not_typos_keep_their_meaning(matcher: Matcher) -> None:
    """Without knowledge/not_typos.yaml each of these read as a red flag one letter away."""
    for question in ("the prices are so inflated, which firming ingredients actually work?",
                     "I took my skin for granted in my 20s, what causes sagging?",
                     "Is it ok to warm the oil by heating the bottle before a face massage?",
                     "midlife crisis has hit my jawline, why does the neck sag first?"):
        assert matcher.match(question).kind != "safety", question
    assert "inflated" in matcher.kb.not_typos
    assert matcher.match("my face is inflamed after the new serum").kind == "safety"
    # Nor as an out-of-scope topic: "breathing" had read as "breast*", "vibrant" as "vibrat*".
    assert matcher.match("is breathing deeply during face massage good for lymphatic "
                         "drainage?").entry_id == "lymphatic-drainage"
    assert matcher.match("how do I get vibrant firm skin, which ingredients?").entry_id == (
        "firming-ingredients")


def test_a_pattern_with_accents_matches_like_the_question_words() -> None:
    index = PhraseIndex([("chest", "décolleté"), ("man", "a man's routine")])
    assert index.find(words("Can I use it on my décolleté?")) == ["chest"]
    assert index.find(words("is a man's routine different")) == ["man"]


def test_phrases_sharing_their_first_words_are_found_in_the_given_order() -> None:
    index = PhraseIndex([("b", "how many minutes"), ("a", "how"), ("c", "how many*")])
    assert index.find(["how", "many", "minutes"]) == ["b", "a", "c"]
    assert index.find(["how", "much"]) == ["a"]


def test_an_inflection_of_a_real_word_is_not_a_typo() -> None:
    tolerant = PhraseIndex([("travel", "flight*")], known_words={"fight"})
    assert tolerant.find(["fighting", "gravity"]) == []  # "fight" + "ing", not "flight"
    assert tolerant.find(["flighst"]) == ["travel"]


# -- maintainers extend the rules in knowledge/safety.yaml -----------------------------


def knowledge_with_extra_rules(folder: Path, *rules: dict) -> Matcher:
    safety = folder / "safety.yaml"
    data = yaml.safe_load(safety.read_text(encoding="utf-8"))
    data["red_flags"].extend(rules)
    safety.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    return Matcher(load_knowledge(folder))


def test_a_rule_added_by_a_maintainer_takes_effect(matcher: Matcher,
                                                  knowledge_copy: Path) -> None:
    question = "why do i have a droopy eyelid"
    assert matcher.match(question).kind != "safety"

    extended = knowledge_with_extra_rules(
        knowledge_copy, {"id": "eyelid-droop", "patterns": ["droopy eyelid*", "ptosis"]})

    result = extended.match(question)
    assert (result.kind, result.rule) == ("safety", "eyelid-droop")
    assert extended.match("is ptosis normal").rule == "eyelid-droop"
    assert extended.match("what do peptides even do").kind == "answer"


def test_requires_and_unless_from_the_yaml_file(knowledge_copy: Path) -> None:
    extended = knowledge_with_extra_rules(
        knowledge_copy,
        {"id": "roller-sticky", "patterns": ["sticky"], "requires": ["roller"]},
        {"id": "green-marks", "patterns": ["green marks"], "unless": ["photo filter"]},
    )
    assert extended.match("my face feels sticky after the roller").rule == "roller-sticky"
    assert extended.match("my face feels sticky").kind != "safety"
    assert extended.match("green marks after gua sha").rule == "green-marks"
    assert extended.match("green marks from a photo filter").kind != "safety"
