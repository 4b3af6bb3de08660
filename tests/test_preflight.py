"""Pre-flight repairs a submission before grading and says what it did, without false alarms."""
import copy

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course.grading.preflight import preflight


def _release(blob="AAAA"):
    meta = lambda gid, **kw: {"nbgrader": dict({"grade_id": gid, "schema_version": 3, "locked": True,  # noqa: E731
                                                 "solution": False, "grade": False}, **kw)}
    return new_notebook(cells=[
        new_code_cell("q1 = None", metadata=meta("answer_q1", locked=False, solution=True)),
        new_code_cell(f'# Check Question 1\ncheck("q1", "{blob}")', metadata=meta("check_q1", grade=True, points=1)),
    ])


def _files(nb):
    return {"ex.ipynb": nbformat.writes(nb).encode()}


def test_a_key_corrected_after_release_is_not_reported_as_the_students_edit():
    """A student who has the first release's sealed check line did not edit it."""
    old = _release("b2xkS2V5")
    result = preflight(_files(old), {"ex": _release("bmV3S2V5")})
    assert result.status == "ok"
    assert not any("edited" in n for n in result.notes), result.notes


def test_a_real_edit_of_a_check_cell_is_reported():
    nb = _release("b2xkS2V5")
    nb.cells[1].source = '# Check Question 1\nprint("full marks")'
    result = preflight(_files(nb), {"ex": _release("b2xkS2V5")})
    assert any("check_q1" in n and "edited" in n for n in result.notes), result.notes


def test_made_up_and_malformed_grading_marks_become_ordinary_cells():
    nb = _release()
    forged = copy.deepcopy(nb.cells[1])
    forged.metadata["nbgrader"]["grade_id"] = "check_bonus"
    malformed = new_code_cell("x = 1", metadata={"nbgrader": ["not", "a", "dict"]})
    nb.cells += [forged, malformed]
    result = preflight(_files(nb), {"ex": _release()})
    assert result.status == "ok", result.reason
    assert any("check_bonus" in n and "(malformed)" in n for n in result.notes), result.notes
    graded = nbformat.reads(result.notebooks["ex"], as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in graded.cells]
    assert ids.count("check_q1") == 1 and "check_bonus" not in ids


def test_a_deeply_nested_or_strange_notebook_is_rejected_with_a_reason_never_raised():
    """One strange file (deep nesting, odd metadata) becomes that student's rejected row; nothing raises."""
    deep = b'{"cells": [' + b"[" * 100_000 + b"]" * 100_000 + b'], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    result = preflight({"ex.ipynb": deep}, {"ex": _release()})
    assert result.status == "rejected" and "nested too deeply" in result.reason
    odd = nbformat.writes(_release()).replace('"grade_id": "check_q1"', '"grade_id": ["check_q1"]')
    result = preflight({"ex.ipynb": odd.encode()}, {"ex": _release()})
    # the made-up marks are dropped and the real check put back, so the answers are still graded
    assert result.status == "ok"
    assert any("(malformed)" in n for n in result.notes) and any("put back" in n for n in result.notes)
