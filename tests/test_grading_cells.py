"""nbgrader's marks on a cell, read in one place (course.grading.cells): nbgrader's own answer for
well-formed marks, nothing (never an exception) for marks a student has mangled."""
from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell
from traitlets.config import Config

from course.grading import cells


def _cell(nbgrader):
    cell = new_code_cell("x = 1")
    cell.metadata["nbgrader"] = nbgrader
    return cell


@pytest.mark.parametrize("mangled", [[1, 2], "grade", 3, None, {"grade_id": ["a"], "grade": True}])
def test_mangled_marks_read_as_none_and_false(mangled):
    cell = _cell(mangled)
    assert cells.grade_id(cell) is None
    if not isinstance(mangled, dict):
        assert cells.marks(cell) is None
        assert not any(test(cell) for test in (cells.is_grade, cells.is_solution, cells.is_task, cells.is_locked))


def test_well_formed_marks_get_nbgraders_own_answer():
    from nbgrader import utils
    for marks in ({"grade": True, "grade_id": "t1", "points": 1, "locked": True},
                  {"solution": True, "grade_id": "a1"}, {"task": True, "grade_id": "k"}, {"locked": True}):
        cell = _cell(dict(marks))
        assert [cells.is_grade(cell), cells.is_solution(cell), cells.is_task(cell), cells.is_locked(cell)] == [
            bool(utils.is_grade(cell)), bool(utils.is_solution(cell)), bool(utils.is_task(cell)),
            bool(utils.is_locked(cell))]
        assert cells.grade_id(cell) == marks.get("grade_id")
    assert cells.marks(new_code_cell("x")) is None and not cells.is_grade(new_code_cell("x"))


def test_the_hidden_region_follows_the_courses_delimiters():
    c = Config()
    c.ClearHiddenTests.begin_test_delimeter = "BEGIN SECRET"
    c.ClearHiddenTests.end_test_delimeter = "END SECRET"
    source = "check('q1')\n# BEGIN SECRET\nq1_key = {}\n# END SECRET"
    assert cells.hidden_region(c).search(source).group(1) == "q1_key = {}\n"
    assert cells.hidden_region().search(source) is None, "nbgrader's default delimiters are other words"
    assert cells.hidden_delimiters() == ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
