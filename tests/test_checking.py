"""Tests for course.checking: right answers pass, wrong and trick answers fail with a reason."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course.checking import (answer_digest, check_bool, check_fields, check_function, check_instance,
                             check_label, check_number, check_secret, check_value, self_check)
from course.services import LABELS
from course.value_stream import Step


class AlwaysEqual:
    """The classic trick: an object that claims to equal everything."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __float__(self):
        return 15.0


class SneakyFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class SneakyStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class PretendsToBeFloat:
    """isinstance() can be fooled by a __class__ property; type() cannot."""

    @property
    def __class__(self):
        return float

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class FakeStep(Step):
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


TRICK_NUMBERS = [AlwaysEqual(), SneakyFloat(1.0), PretendsToBeFloat(), True, np.array([15.0]), np.array(15.0),
                 "15", "15.0", None, [15.0], complex(15, 0)]


@pytest.mark.parametrize("value", [15, 15.0, np.float64(15.0), np.int64(15), 15 + 1e-9])
def test_right_numbers_pass(value):
    """Does a right answer of any ordinary number type pass?"""
    check_number(value, 15, "takt")


@pytest.mark.parametrize("trick", TRICK_NUMBERS, ids=lambda t: type(t).__name__)
def test_trick_numbers_fail_with_a_reason(trick):
    """Does an answer that is not a real number fail, even if it claims to equal everything?"""
    with pytest.raises(AssertionError, match=r"'takt' must be a number \(int or float\)\. Got"):
        check_number(trick, 15, "takt")


def test_true_is_not_one():
    """Is True refused where the number 1 is expected, with an explanation?"""
    with pytest.raises(AssertionError, match="True and False are not numbers here"):
        check_number(True, 1, "count")


def test_wrong_number_message_names_expected_and_received():
    """Does a wrong number's message say what was expected and what was received?"""
    with pytest.raises(AssertionError, match=r"'pce' should be 0\.25 \(within 1e-06 relative\)\. Got 0\.5 instead\."):
        check_number(0.5, 0.25, "pce")


def test_wrong_number_not_revealed_when_asked():
    """Can a check hide the expected value and still explain with a hint?"""
    with pytest.raises(AssertionError) as info:
        check_number(0.5, 0.25, "pce", reveal=False, hint="Divide by the lead time.")
    assert "0.25" not in str(info.value) and "Divide by the lead time." in str(info.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_numbers_fail(bad):
    """Are NaN and infinity refused even though NaN compares oddly?"""
    with pytest.raises(AssertionError, match="finite"):
        check_number(bad, 1.0, "x")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_any_finite_float_equals_itself(x):
    """Does every finite float pass a check against itself?"""
    check_number(x, x, "x")


def test_labels():
    """Are labels compared exactly, and are look-alike strings refused?"""
    check_label("mixed", LABELS, "mixed", "label")
    for trick in (SneakyStr("mixed"), AlwaysEqual(), 1, b"mixed"):
        with pytest.raises(AssertionError, match="must be a str"):
            check_label(trick, LABELS, "mixed", "label")
    with pytest.raises(AssertionError, match="must be one of 'product-like', 'mixed', 'pure service'"):
        check_label("Mixed ", LABELS, "mixed", "label")
    with pytest.raises(AssertionError, match="should be 'mixed'. Got 'pure service' instead"):
        check_label("pure service", LABELS, "mixed", "label")


def test_bools():
    """Is 1 refused where True is expected?"""
    check_bool(False, False, "flag")
    for trick in (1, 0, np.bool_(True), AlwaysEqual(), "True"):
        with pytest.raises(AssertionError, match="must be True or False"):
            check_bool(trick, True, "flag")


def test_instance_and_fields_refuse_subclasses_and_lookalikes():
    """Does check_fields refuse a subclass that overrides __eq__, and name the wrong field?"""
    want = {"process_minutes": 5, "wait_minutes": 30, "value_added": True}
    check_fields(Step("Triage", 5, 30), Step, want, "triage")
    with pytest.raises(AssertionError, match="'triage' must be a Step. Got .* of type FakeStep"):
        check_fields(FakeStep("Triage", 1, 1), Step, want, "triage")
    with pytest.raises(AssertionError, match="must be a Step"):
        check_instance(AlwaysEqual(), Step, "triage")
    with pytest.raises(AssertionError, match=r"'triage\.value_added' should be True\. Got False instead\."):
        check_fields(Step("Triage", 5, 30, value_added=False), Step, want, "triage")


def test_check_value_dispatches_on_expected_type():
    """Does check_value compare lists element by element and require the same container type?"""
    check_value(["a", 1.0, True], ["a", 1, True], "r")
    with pytest.raises(AssertionError, match=r"'r' must be a list"):
        check_value(np.array([1.0]), [1.0], "r")
    with pytest.raises(AssertionError, match=r"should have 2 items"):
        check_value([1.0], [1.0, 2.0], "r")
    with pytest.raises(AssertionError, match=r"'r\[1\]' should be 2\.0"):
        check_value([1.0, 3.0], [1.0, 2.0], "r")
    with pytest.raises(TypeError, match="'expected' must be"):
        check_value(1, {1: 2}, "r")


def takt(available, demand):
    return available / demand


def test_check_function_catches_hard_coded_answers():
    """Does a function that returns the example's answer fail on a case it could not anticipate?"""
    cases = [((480, 32), 15.0), ((450, 10), 45.0)]
    check_function(takt, cases, "takt")
    with pytest.raises(AssertionError, match=r"takt\(450, 10\) should give 45\.0"):
        check_function(lambda a, d: 15.0, cases, "takt")


def test_check_function_refuses_non_functions_and_tricky_results():
    """Is a value or a callable object refused, and is a result that claims to equal anything refused?"""
    for not_a_function in (15.0, AlwaysEqual(), type("Callable", (), {"__call__": lambda s, *a: 15.0})()):
        with pytest.raises(AssertionError, match="must be a function you define with def"):
            check_function(not_a_function, [((480, 32), 15.0)], "takt")
    with pytest.raises(AssertionError, match=r"The result of takt\(480, 32\) must be a number"):
        check_function(lambda a, d: AlwaysEqual(), [((480, 32), 15.0)], "takt")


def test_check_function_explains_errors_in_the_learners_code():
    """Does an exception inside the learner's function become an explanation, not a crash?"""
    def stub(a, d):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"takt\(480, 32\) raised NotImplementedError: replace the line"):
        check_function(stub, [((480, 32), 15.0)], "takt")
    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError"):
        check_function(takt, [((480, 0), 15.0)], "takt")


def test_secret_answers():
    """Does check_secret accept the right answer, refuse others, and never show the answer?"""
    digest = answer_digest(0.18247, "pce_percent", digits=2)
    check_secret(0.1825, digest, "pce_percent", digits=2)
    check_secret(np.float64(0.18247), digest, "pce_percent", digits=2)
    for trick in (True, "0.18", AlwaysEqual(), SneakyFloat(0.18247), np.array([0.18247])):
        with pytest.raises(AssertionError, match="must be a number"):
            check_secret(trick, digest, "pce_percent", digits=2)
    with pytest.raises(AssertionError) as info:
        check_secret(0.19, digest, "pce_percent", digits=2)
    assert "0.18" not in str(info.value)
    label = answer_digest("mixed", "label")
    check_secret("mixed", label, "label", allowed=LABELS)
    for trick in (SneakyStr("mixed"), AlwaysEqual()):
        with pytest.raises(AssertionError, match="must be a str"):
            check_secret(trick, label, "label", allowed=LABELS)
    assert answer_digest("mixed", "label") != answer_digest("mixed", "other_label")


def _notebook(tmp_path, cells):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "id": f"c{i}", "metadata": {"nbgrader": meta}, "source": src,
         **({"outputs": [], "execution_count": None} if kind == "code" else {})}
        for i, (kind, meta, src) in enumerate(cells)]}
    path = tmp_path / "ex.ipynb"
    path.write_text(json.dumps(nb))
    return str(path)


def test_self_check_reports_visible_tests_only(tmp_path, capsys):
    """Does self_check say which questions are right, explain the wrong ones, and skip hidden tests?"""
    path = _notebook(tmp_path, [
        ("code", {"grade": True, "solution": False, "grade_id": "test_1a", "points": 1},
         "check_number(x, 2, 'x')\nprint('noise')"),
        ("code", {"grade": True, "solution": False, "grade_id": "test_1b", "points": 2},
         "check_number(y, 3, 'y')\n### BEGIN HIDDEN TESTS\nraise RuntimeError('secret-case')\n### END HIDDEN TESTS"),
        ("code", {"grade": True, "solution": False, "grade_id": "test_2", "points": 2}, "check_number(z, 1, 'z')"),
        ("markdown", {"task": True, "grade_id": "task_3", "points": 5}, "Write."),
    ])
    ns = {"check_number": check_number, "x": 2, "y": 3}
    results = self_check(ns, "ex", path=path)
    out = capsys.readouterr().out
    assert results == {"1a": True, "1b": True, "2": False}
    assert "✓ Question 1a (1 point): right" in out
    assert "✗ Question 2 (2 points): name 'z' is not defined. Run the cell with your answer first" in out
    assert "Visible tests passed: 3 of 5" in out and "Written answers (5 points)" in out
    assert "noise" not in out and "secret-case" not in out
    assert ns == {"check_number": check_number, "x": 2, "y": 3}  # the learner's variables are untouched


def test_self_check_without_the_notebook(tmp_path, capsys, monkeypatch):
    """Does self_check explain, rather than crash, when the notebook is not in the current folder?"""
    monkeypatch.chdir(tmp_path)
    assert self_check({}, "ex99_missing") == {}
    assert "Cannot find 'ex99_missing.ipynb'" in capsys.readouterr().out
