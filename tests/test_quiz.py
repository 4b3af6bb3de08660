"""Tests for course.quiz: self-check questions and the sorting activity."""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course.quiz import (
    Feedback,
    MultipleChoice,
    Question,
    SortingRow,
    check_answer,
    compare_sorting,
    format_sorting,
)
from course.services import LABELS, classify, load_catalogue

Q = Question("Which is product-like?", options=("Diabetes care", "Cataract surgery", "Asthma"), answer=1,
             explanation="A short, professional-led procedure.")


def test_right_answer_by_index_and_text():
    """Is the right answer accepted both as an index and as its text?"""
    assert check_answer(Q, 1) == Feedback(True, "Correct. A short, professional-led procedure.")
    assert check_answer(Q, "Cataract surgery").correct


def test_wrong_answer_names_the_right_one():
    """Does a wrong answer say in words which answer was right?"""
    fb = check_answer(Q, 0)
    assert not fb.correct
    assert fb.message.startswith("Not quite.")
    assert '"Cataract surgery"' in fb.message


def test_no_choice_yet_is_not_an_error():
    """Is pressing Check with nothing chosen met with a prompt, not an exception?"""
    assert check_answer(Q, None) == Feedback(False, "Choose an answer first.")


@pytest.mark.parametrize("bad", [3, -1, True, "Dialysis", 1.0])
def test_bad_choice_is_worded_like_scikit_learn(bad):
    """Does an impossible choice raise a ValueError naming what was allowed and what was got?"""
    with pytest.raises(ValueError, match=r"^'choice' must be one of .* Got .* instead\.$"):
        check_answer(Q, bad)


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(prompt="", options=("a", "b"), answer=0), ValueError, r"'prompt' of Question must be a non-empty str"),
    (dict(prompt="p", options=("a",), answer=0), ValueError, r"'options' of Question must hold at least 2"),
    (dict(prompt="p", options="ab", answer=0), TypeError, r"'options' of Question must be a sequence of str"),
    (dict(prompt="p", options=("a", "a"), answer=0), ValueError, r"'options' of Question must be distinct"),
    (dict(prompt="p", options=("a", " "), answer=0), ValueError, r"'options\[1\]' of Question"),
    (dict(prompt="p", options=("a", "b"), answer=2), ValueError, r"'answer' of Question must be an int in \[0, 1\]"),
    (dict(prompt="p", options=("a", "b"), answer=True), ValueError, r"'answer' of Question"),
    (dict(prompt="p", options=("a", "b"), answer=0, explanation=3), TypeError, r"'explanation' of Question"),
])
def test_question_validates_at_construction(kwargs, error, pattern):
    """Does a malformed question fail when it is built, with a message that names the field?"""
    with pytest.raises(error, match=pattern):
        Question(**kwargs)


def test_question_is_frozen_and_options_become_a_tuple():
    """Is a question an immutable value whose options cannot be changed behind its back?"""
    q = Question("p", options=["a", "b"], answer=0)
    assert q.options == ("a", "b")
    with pytest.raises(AttributeError):
        q.answer = 1


@given(n=st.integers(2, 8), answer=st.integers(0, 7), choice=st.integers(0, 7))
def test_exactly_the_answer_is_correct(n, answer, choice):
    """For any question, is exactly one option marked correct, and is it the answer?"""
    answer, choice = answer % n, choice % n
    q = Question("p", options=tuple(f"option {i}" for i in range(n)), answer=answer)
    assert check_answer(q, choice).correct == (choice == answer)


def test_sorting_uses_the_catalogue_labels_and_scores():
    """Does the sorting activity compare with the catalogue's label and the classifier's score?"""
    catalogue = {e.name: e for e in load_catalogue()}
    rows = compare_sorting({"cataract surgery": "Product-like", "Adult type 2 diabetes care": "pure service"})
    assert [r.service for r in rows] == ["Cataract surgery", "Adult type 2 diabetes care"]
    assert all(r.agrees for r in rows)
    for r in rows:
        assert r.course_label == catalogue[r.service].expected_label
        assert r.score == pytest.approx(classify(catalogue[r.service].profile).score)


def test_sorting_every_label_is_accepted_in_any_case():
    """Are all three labels accepted, whatever the letter case or hyphenation?"""
    name = load_catalogue()[0].name
    for label in LABELS:
        (row,) = compare_sorting({name: label.upper().replace("-", " ")})
        assert row.your_label == label


def test_sorting_rejects_unknown_services_and_labels():
    """Are a misspelt service and an unknown label reported with what is allowed?"""
    with pytest.raises(ValueError, match=r"^'guesses' must name services in the catalogue: .* Got 'Knitting' instead\.$"):
        compare_sorting({"Knitting": "mixed"})
    with pytest.raises(ValueError, match=r"must be one of 'product-like', 'mixed', 'pure service'\. Got 'goods' instead\."):
        compare_sorting({"Cataract surgery": "goods"})
    with pytest.raises(TypeError, match=r"'guesses' must be a dict"):
        compare_sorting([("Cataract surgery", "mixed")])


def test_format_sorting_flags_disputes_and_counts_agreement():
    """Does the table say agreement in words and mark disputed services?"""
    rows = compare_sorting({"Vaccination": "mixed", "Cataract surgery": "product-like"})
    text = format_sorting(rows)
    assert "Vaccination *" in text and "differs" in text and "same" in text
    assert "You agree with the course on 1 of 2 services; 1 of the 2 are disputed by experts." in text
    assert "* disputed:" in text
    with pytest.raises(TypeError):
        format_sorting(["not a row"])


def test_format_sorting_handles_no_guesses():
    """Does an empty activity give a table with a zero tally rather than an error?"""
    assert "0 of 0 services" in format_sorting(())


def test_widget_check_shows_feedback_in_words():
    """Does moving the radio button and clicking Check show the feedback under the question?"""
    mc = MultipleChoice(Q)
    assert mc.check().message == "Choose an answer first."
    mc.choices.value = "Diabetes care"
    mc.button.click()
    assert "Not quite." in mc.feedback.value
    mc.choices.value = "Cataract surgery"
    mc.button.click()
    assert "Correct." in mc.feedback.value
    with pytest.raises(TypeError, match="'question' must be a Question"):
        MultipleChoice("What?")


def test_logic_does_not_import_widgets():
    """Can the quiz logic be imported without ipywidgets, matplotlib or IPython?"""
    code = ("import sys, course.quiz; "
            "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sorting_row_is_a_value():
    """Are sorting rows plain immutable values a test can compare?"""
    row = SortingRow("s", "mixed", "mixed", 0.5, True, False, "")
    assert row == SortingRow("s", "mixed", "mixed", 0.5, True, False, "")


def test_sorting_errors_name_the_learners_own_variable():
    """Does a misspelt service in my_guesses give an error about 'my_guesses', not the internal 'guesses'?"""
    my_guesses = {"Cataract surgey": "product-like"}
    with pytest.raises(ValueError) as err:
        compare_sorting(my_guesses)
    assert str(err.value).startswith("'my_guesses' must name services in the catalogue: ")
    assert "'guesses'" not in str(err.value)
    my_guesses = {"Cataract surgery": "product"}
    with pytest.raises(ValueError, match=r"^The label for 'Cataract surgery' in my_guesses must be one of "):
        compare_sorting(my_guesses)
    with pytest.raises(ValueError, match=r"^'the table' must name services"):
        compare_sorting({"Knitting": "mixed"}, name="the table")


def test_every_lesson_question_in_the_bank_is_well_formed():
    """Is every bank question a valid Question whose right option is the bank's answer text?"""
    import json
    from importlib import resources

    from course.quiz import question_from_bank

    bank = json.loads(resources.files("course").joinpath("data/self_checks.json").read_text(encoding="utf-8"))
    questions = bank["questions"]
    assert len(questions) == 8  # one per lesson, 00 to 07
    for key, entry in questions.items():
        q = question_from_bank(key)
        assert q.right_option == entry["answer"]
        assert check_answer(q, entry["answer"]).correct
        assert sum(check_answer(q, o).correct for o in q.options) == 1
    # the right answers do not all sit in the same place (the pattern would give them away)
    positions = {question_from_bank(k).answer for k in questions}
    assert positions == {0, 1, 2}
    assert question_from_bank("lesson4_lab_pce").right_option == "It stayed the same"


def test_a_panel_from_the_bank_checks_like_one_built_by_hand():
    """Does MultipleChoice.from_bank give a panel that marks the bank's answer right and the others wrong?"""
    mc = MultipleChoice.from_bank("start_here_run_a_cell")
    mc.choices.value = "Enter"
    assert not mc.check().correct
    mc.choices.value = "Shift + Enter"
    assert mc.check().correct and "Correct." in mc.feedback.value
    with pytest.raises(ValueError, match=r"^'key' must be one of 'start_here_run_a_cell', .* Got 'q1' instead\.$"):
        MultipleChoice.from_bank("q1")
