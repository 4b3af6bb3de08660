"""Reading nbgrader's marks on a cell: one place, on top of nbgrader's own helpers.

nbgrader's ``nbgrader.utils`` (``is_grade``, ``is_solution``, ``is_locked``, ``is_task``) reads a
cell's ``metadata.nbgrader`` and assumes it is a dictionary, as it is in the instructor's
notebooks. A submission's metadata is the student's to write: :func:`marks` and :func:`grade_id`
return nothing for marks that make no sense (a list, a number, a grade id that is not text)
instead of raising, and the predicates here answer ``False`` for them, then ask nbgrader.

:func:`hidden_region` is nbgrader's ``ClearHiddenTests`` rule for a hidden-test region (from a
line holding ``begin_test_delimeter`` to one holding ``end_test_delimeter``), as a pattern, for
code that needs the region's text rather than its removal (the keys of answers-as-data checks).
"""
from __future__ import annotations

import functools
import re

from nbgrader import utils as _nbgrader

__all__ = ["marks", "grade_id", "is_grade", "is_solution", "is_task", "is_locked", "hidden_delimiters",
           "hidden_region"]


def marks(cell) -> dict | None:
    """The cell's ``metadata.nbgrader`` dictionary, or None when it has none or it is not a dictionary."""
    meta = cell.get("metadata") if hasattr(cell, "get") else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else None


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, or None when it has none (or one that is not text)."""
    gid = (marks(cell) or {}).get("grade_id")
    return gid if isinstance(gid, str) else None


def _safe(test):
    @functools.wraps(test)
    def check(cell) -> bool:
        return marks(cell) is not None and bool(test(cell))
    return check


is_grade = _safe(_nbgrader.is_grade)
is_solution = _safe(_nbgrader.is_solution)
is_task = _safe(_nbgrader.is_task)
is_locked = _safe(_nbgrader.is_locked)


def hidden_delimiters(config=None) -> tuple:
    """``(begin, end)``: the hidden-test delimiters of nbgrader's ``ClearHiddenTests``, as ``config``
    (a course's nbgrader configuration) sets them, else nbgrader's defaults."""
    from nbgrader.preprocessors import ClearHiddenTests
    clear = ClearHiddenTests(config=config) if config is not None else ClearHiddenTests()
    return clear.begin_test_delimeter, clear.end_test_delimeter


@functools.lru_cache(maxsize=8)
def _region(begin, end):
    return re.compile(rf"^[^\n]*{re.escape(begin)}[^\n]*\n(.*?)^[^\n]*{re.escape(end)}[^\n]*(?:\n|\Z)",
                      re.M | re.S)


def hidden_region(config=None) -> re.Pattern:
    """A pattern for one hidden-test region, as ``ClearHiddenTests`` finds it: group 1 is its text.

    Examples
    --------
    >>> source = "check('q1')\\n### BEGIN HIDDEN TESTS\\nq1_key = {'kind': 'number'}\\n### END HIDDEN TESTS\\n"
    >>> hidden_region().search(source).group(1)
    "q1_key = {'kind': 'number'}\\n"
    >>> hidden_region().sub("", source)
    "check('q1')\\n"
    """
    return _region(*hidden_delimiters(config))
