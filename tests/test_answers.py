"""Answer cells are read as data: the allowed forms, and everything else refused without running it."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.agency import PRESETS, AgencyParams, Episode
from course.answers import format_answer, read_cell, read_cells
from course.services import ServiceProfile
from course.value_stream import Step, ValueStreamMap


@pytest.mark.parametrize("source, expected", [
    ('q1 = "pure service"', {"q1": "pure service"}),
    ("q2 = 'B'  # my choice", {"q2": "B"}),
    ("q3 = 27.5", {"q3": 27.5}),
    ("q3 = -2", {"q3": -2}),
    ("q3 = 55 / 2", {"q3": 27.5}),
    ("q3 = 4 * 3.4 - 12 + 0", {"q3": pytest.approx(1.6)}),
    ('q4 = ["C", "A", "B"]', {"q4": ["C", "A", "B"]}),
    ("q5 = True", {"q5": True}),
    ("q6 = None", {"q6": None}),
    ("a = 30\nb = 1200\nc = a / b * 100", {"a": 30, "b": 1200, "c": 2.5}),
    ("# only a comment\n\n", {}),
    ("", {}),
])
def test_allowed_forms_are_read(source, expected):
    """Is each one-line form a learner may use read as the value it spells?"""
    cell = read_cell(source)
    assert cell.problem == ""
    assert cell.values == expected


def test_a_bare_word_is_read_as_its_text_with_a_note():
    """Does `q2 = B` (quotes forgotten) count as "B", and say how it was read?"""
    cell = read_cell("q2 = B")
    assert cell.values == {"q2": "B"}
    assert "quotes" in cell.notes[0]


@pytest.mark.parametrize("source, word", [
    ("import os", "import"),
    ("def f():\n    return 1\nq = f()", "def"),
    ("q = open('x').read()", "a call"),
    ("q = __import__('os').system('true')", "a call"),
    ("for i in range(3):\n    q = i", "loop"),
    ("q = [x for x in 'ab']", "comprehension"),
    ("q = (lambda: 1)()", "a call"),
    ("q = 'a' if True else 'b'", "if/else"),
    ("q = 2 ** 2 ** 40", "**"),
    ("q = 'ab' * 10**9", "numbers only"),
    ("q = 'ab' * 1000", "numbers only"),
    ("q = AgencyParams(0.5)", "not named"),
    ("q = AgencyParams(**{'baseline': 1})", "**"),
    ("q = ().__class__", "attribute"),
    ("get_ipython().events.register('post_run_cell', print)", "a call"),
    ("q = 1\nimport sys", "import"),
])
def test_code_is_refused_and_names_what_it_found(source, word):
    """Is a cell holding code refused as a whole, saying what kind of code it holds?"""
    cell = read_cell(source)
    assert cell.values == {}
    assert "not an answer" in cell.problem and "was not run" in cell.problem
    assert word in cell.problem


def test_refused_code_never_runs(tmp_path):
    """Does reading a cell that would write a file leave the file system alone?"""
    marker = tmp_path / "ran"
    cell = read_cell(f"q = open({str(marker)!r}, 'w').write('x')\nimport pathlib\n")
    assert cell.problem and not marker.exists()


@pytest.mark.parametrize("source", ["q = 'unclosed", "q = 27%", "q1 = pure service", "q = (" * 500 + ")" * 500,
                                    "q = " + "[" * 100 + "]" * 100 + "\n" * 3, "x" * 30_000])
def test_unreadable_text_gives_a_reason_and_never_raises(source):
    """Do syntax errors, deep nesting and huge cells give a reason instead of an exception?"""
    cell = read_cell(source)
    assert cell.problem or cell.values  # nested lists within the limits are still data


def test_syntax_error_explains_quotes_and_units():
    cell = read_cell("q1 = pure service")
    assert "quotes" in cell.problem and "%" in cell.problem


def test_explorer_forms_round_trip():
    """Does every explorer state written by format_answer read back as an equal value?"""
    states = [PRESETS["Cataract surgery"], PRESETS["Adult type 2 diabetes"],
              AgencyParams(baseline=0.7, trend_per_year=0.1, episodes=(Episode(10, 2, 0.5, 4, "fall"),)),
              ServiceProfile("Ear tubes", episode_days=1, professional_share=0.9, concrete_procedure=True,
                             physical_item=True),
              ValueStreamMap(steps=(Step("Referral", 10, 20), Step("Ward", 240, 0, servers=12)), name="m")]
    for state in states:
        cell = read_cell(format_answer("s", state))
        assert cell.problem == ""
        assert cell.values["s"] == state


def test_an_invalid_explorer_state_is_refused_with_the_models_message():
    cell = read_cell("s = AgencyParams(baseline=1.5)")
    assert "baseline" in cell.problem and "1.5" in cell.problem and "code" not in cell.problem


def test_read_cells_carries_names_and_forgets_refused_answers():
    """Does a later cell see earlier answers, and does a refused cell drop the answers it tried to give?"""
    values, problems = read_cells(["a = 30", "b = a * 2", "a = int('5')"])
    assert values == {"b": 60}
    assert "a" in problems


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_read_without_an_exception(text):
    """Is every possible text either read as data or refused with a reason (never an exception)?"""
    cell = read_cell(text)
    assert isinstance(cell.values, dict)
    assert cell.problem == "" or cell.values == {}


def test_a_syntax_error_is_reported_against_the_answer_it_meant_to_give():
    """Does `q3 = 92%` tell the q3 check why it could not be read, rather than "not answered"?"""
    values, problems = read_cells(["q3 = 92%"])
    assert values == {} and "% signs" in problems["q3"]
