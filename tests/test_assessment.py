"""Items check answers fairly, explain wrong ones briefly, and seal their keys for the student version."""
import base64
import json

import pytest

from course.agency import AgencyParams, Episode
from course.assessment import Item, ItemSpecError, evaluate, normalise_label, seal, unseal

SECTION = ["03_product_like_or_pure_service", "Labels fit episodes, not diseases"]

LABEL = {"kind": "label", "points": 2, "section": SECTION,
         "options": {"product-like": ["product like service"], "mixed": [],
                     "pure service": ["pure", "pure services"]},
         "answer": "pure service",
         "feedback": {"product-like": "A year of self-care is not a procedure done to someone.",
                      "mixed": "Look at who holds the agency for most of the year."},
         "why": "The patient holds most of the agency for a long time."}
CHOICE = {"kind": "choice", "points": 1, "section": SECTION,
          "options": {"A": "one", "B": "two", "C": "three"}, "answer": "B",
          "feedback": {"A": "A suggests you think X.", "C": "C suggests you think Y."}}
NUMBER = {"kind": "number", "points": 2, "section": ["04_value_stream_mapping", "What a value-stream map is"],
          "answer": 2.5, "tolerance": 0.1, "unit": "%",
          "mistakes": [[97.5, "That is the share of the lead time spent waiting."]]}
CARRIED = {"kind": "number", "points": 2, "section": ["04_value_stream_mapping", "What a value-stream map is"],
           "answer": 2.5, "tolerance": 0.1, "unit": "%",
           "carry": [{"rule": "percent_of", "from": ["q1a", "q1b"]}]}
STATE = {"kind": "state", "points": 2, "section": ["02_agency_over_time", "The middle stripe"],
         "form": "AgencyParams",
         "criteria": [{"rule": "share_at_least", "args": {"day": 0, "minimum": 0.7},
                       "message": "On an ordinary day the patient should hold most of the agency."},
                      {"rule": "episodes_at_least", "args": {"count": 2},
                       "message": "Add at least two acute episodes."}]}


@pytest.mark.parametrize("written", ["pure service", "Pure Service", "PURE-SERVICE", " pure_service. ",
                                     "pure", "Pure services", "pure  service"])
def test_labels_match_regardless_of_case_spaces_hyphens_and_synonyms(written):
    item = Item.from_spec("q1", LABEL)
    assert evaluate(item, {"q1": written}).status == "right"


@pytest.mark.parametrize("written", ["b", " B ", "(b)", "B."])
def test_letters_match_in_any_case_or_punctuation(written):
    assert evaluate(Item.from_spec("q2", CHOICE), {"q2": written}).points == 1


def test_each_wrong_option_explains_its_own_misconception():
    item = Item.from_spec("q2", CHOICE)
    a, c = evaluate(item, {"q2": "A"}), evaluate(item, {"q2": "C"})
    assert "think X" in a.text and "think Y" in c.text
    assert a.points == c.points == 0 and a.status == "wrong"
    assert "Lesson 3" in a.text  # where to look again


def test_a_choice_without_feedback_for_a_wrong_option_is_an_authoring_error():
    spec = dict(CHOICE, feedback={"A": "only A"})
    with pytest.raises(ItemSpecError, match="missing: \\['C'\\]"):
        Item.from_spec("q2", spec)


@pytest.mark.parametrize("value, right", [(2.5, True), (2.58, True), (2.42, True), ("2.5%", True), ("2.5", True),
                                          (2.7, False), (25, False), (0.025, False), (True, False)])
def test_numbers_pass_within_the_stated_tolerance(value, right):
    item = Item.from_spec("q3", NUMBER)
    assert (evaluate(item, {"q3": value}).status == "right") is right


def test_a_known_wrong_number_gets_its_explanation():
    out = evaluate(Item.from_spec("q3", NUMBER), {"q3": 97.5})
    assert "waiting" in out.text and out.points == 0


def test_error_carried_forward_from_the_learners_own_earlier_answers():
    """Is a part right when it follows correctly from the learner's own (wrong) earlier answers?"""
    item = Item.from_spec("q1c", CARRIED)
    assert evaluate(item, {"q1a": 30, "q1b": 600, "q1c": 5.0}).status == "right"
    assert evaluate(item, {"q1a": 30, "q1b": 600, "q1c": 7.0}).status == "wrong"
    assert evaluate(item, {"q1a": 30, "q1b": 1200, "q1c": 2.5}).status == "right"


def test_a_contestable_label_is_judged_against_the_learners_own_features():
    spec = {"kind": "label", "points": 1, "section": SECTION, "options": LABEL["options"],
            "carry": [{"rule": "label_for_features", "from": ["days", "share", "proc", "item"]}]}
    item = Item.from_spec("lab", spec)
    product = {"days": 0.05, "share": 0.9, "proc": "yes", "item": "yes"}
    pure = {"days": 3650, "share": 0.2, "proc": "no", "item": "no"}
    assert evaluate(item, dict(product, lab="product-like")).status == "right"
    assert evaluate(item, dict(pure, lab="pure service")).status == "right"
    assert evaluate(item, dict(pure, lab="product-like")).status == "wrong"


def test_explorer_state_earns_a_share_per_criterion():
    item = Item.from_spec("my_stripe", STATE)
    two = AgencyParams(baseline=0.8, episodes=(Episode(10, 2, 0.5, 4), Episode(100, 2, 0.5, 4)))
    one = AgencyParams(baseline=0.8, episodes=(Episode(10, 2, 0.5, 4),))
    assert evaluate(item, {"my_stripe": two}).points == 2
    partly = evaluate(item, {"my_stripe": one})
    assert partly.points == 1 and partly.status == "partly" and "two acute episodes" in partly.text
    assert evaluate(item, {"my_stripe": "a stripe"}).points == 0


def test_unanswered_and_unread_answers_say_so_in_words():
    item = Item.from_spec("q2", CHOICE)
    assert "not answered yet" in evaluate(item, {"q2": None}).text
    assert "not answered yet" in evaluate(item, {}).text
    out = evaluate(item, {}, {"q2": "holds code (import), not an answer, so it was not run"})
    assert out.status == "not read" and "holds code" in out.text


@pytest.mark.parametrize("spec, answers", [
    (LABEL, {"q": "mixed"}), (CHOICE, {"q": "Z"}), (NUMBER, {"q": "lots"}), (NUMBER, {"q": 97.5}),
    (STATE, {"q": AgencyParams(baseline=0.1)}), (CHOICE, {}), (LABEL, {"q": 3})])
def test_feedback_is_at_most_four_lines_without_a_traceback(spec, answers):
    out = evaluate(Item.from_spec("q", spec), answers)
    assert 1 <= len(out.lines) <= 4
    assert "Traceback" not in out.text and 'File "' not in out.text


@pytest.mark.parametrize("spec", [LABEL, CHOICE, NUMBER, CARRIED])
@pytest.mark.parametrize("value", ["pure service", "mixed", "product-like", "A", "B", "C", 2.5, 2.58, 97.5, 3.0,
                                   "nonsense", None])
def test_the_sealed_check_agrees_with_the_grader(spec, value):
    """Does the student's sealed check give the same verdict and points as the grader's key?"""
    item = Item.from_spec("q", spec)
    sealed_item, key = unseal(seal(item, "course|ex|nb", iterations=1000))
    answers = {"q": value, "q1a": 30, "q1b": 1200}
    plain, sealed = evaluate(item, answers), evaluate(sealed_item, answers, key=key)
    assert (plain.status, plain.points) == (sealed.status, sealed.points)
    assert plain.lines[0] == sealed.lines[0]


def test_sealed_keys_hold_no_readable_answer_or_explanation():
    """Can the answer or an explanation be read off the student version's sealed text? (No.)"""
    for spec, secrets in [(LABEL, ["A year of self-care", "most of the agency for a long time"]),
                          (CHOICE, ["think X", "think Y"]), (NUMBER, ["waiting", "2.5"])]:
        blob = seal(Item.from_spec("q", spec), "course|ex|nb")
        data = json.loads(base64.b64decode(blob))
        text = json.dumps(data)
        for s in secrets:
            assert s not in text
        assert "answer" not in data["item"]
        assert data["iterations"] >= 10_000  # each guess costs a slow key derivation


def test_the_same_answer_has_a_different_digest_in_each_item():
    """Are digests salted per item, so that one table of digests cannot decode every exercise?"""
    a = json.loads(base64.b64decode(seal(Item.from_spec("q1", LABEL), "c|ex01|nb", iterations=1000)))
    b = json.loads(base64.b64decode(seal(Item.from_spec("q2", LABEL), "c|ex01|nb", iterations=1000)))
    assert a["salt"] != b["salt"] and not set(a["right"]) & set(b["right"])


def test_sealing_is_deterministic():
    """Does regenerating the student version give the same text (so the regenerate-and-diff test holds)?"""
    item = Item.from_spec("q", NUMBER)
    assert seal(item, "c|e|n", iterations=1000) == seal(item, "c|e|n", iterations=1000)


@pytest.mark.parametrize("bad, message", [
    ({"kind": "essay"}, "'kind' must be one of"),
    (dict(CHOICE, answer="D"), "not one of the options"),
    (dict(NUMBER, tolerance=0), "'tolerance' must be a number > 0"),
    (dict(CHOICE, section=["lesson two", "x"]), "'section' must be"),
    (dict(CHOICE, colour="red"), "unknown keys"),
    (dict(STATE, criteria=[{"rule": "no_such_rule", "message": "m"}]), "each criterion needs"),
])
def test_malformed_specs_are_rejected_with_what_is_allowed(bad, message):
    with pytest.raises(ItemSpecError, match=message):
        Item.from_spec("q", dict({"points": 1, "section": SECTION}, **bad))


def test_normalise_label():
    assert normalise_label("Users as obligate Co-producers.") == "users as obligate co producers"
