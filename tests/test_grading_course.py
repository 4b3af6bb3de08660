"""Does ``coproduction-course grade`` grade the course's real exercise correctly?

Three submissions of ``ex02_agency_over_time``, built from the repository's own files, are
graded against a temporary copy of the course (``nbgrader_config.py``, ``solutions/``,
``exercises/``; nothing is written into the repository):

* alice submits the instructor's solution notebook (autograde restores the test cells
  from the gradebook, so she earns every automatically graded point);
* bob submits the released student version untouched (every answer still raises);
* carol submits the solution with one answer broken, which fails exactly one test cell;
* dave submits the solution plus code that records the source of every later cell (the
  hidden tests included) and prints it into the outputs of the cells after them.
"""
import html
import json
import os
import re
import shutil
import sqlite3
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

ASSIGNMENT = "ex02_agency_over_time"
SOLUTION = os.path.join(B.REPO, "solutions", ASSIGNMENT, ASSIGNMENT + ".ipynb")
RELEASED = os.path.join(B.REPO, "exercises", ASSIGNMENT, ASSIGNMENT + ".ipynb")
#: carol's broken answer and the one test cell it makes fail
BROKEN_ANSWER, BROKEN_TEST = "answer_3a", "test_3a"


def _load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _meta(cell):
    return cell["metadata"].get("nbgrader", {})


def _auto_points():
    """{grade_id: points} of the automatically graded (code) test cells."""
    return {_meta(c)["grade_id"]: float(_meta(c)["points"]) for c in _load(SOLUTION)["cells"]
            if _meta(c).get("grade") and c["cell_type"] == "code"}


def _hidden_lines():
    """Every non-blank line between BEGIN and END HIDDEN TESTS in the solutions."""
    lines = []
    for cell in _load(SOLUTION)["cells"]:
        hiding = False
        for line in _source(cell).splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                hiding = True
            elif "END HIDDEN TESTS" in line:
                hiding = False
            elif hiding and line.strip():
                lines.append(line.strip())
    return lines


def _carol():
    nb = _load(SOLUTION)
    for cell in nb["cells"]:
        if _meta(cell).get("grade_id") == BROKEN_ANSWER:
            cell["source"] = "def share_during(baseline, depth):\n    return baseline"
    return json.dumps(nb, indent=1)


#: dave's extra code: an IPython hook that echoes every cell's source after it runs
EXFILTRATE = (
    "\n_seen = []\n"
    "get_ipython().events.register('pre_run_cell', lambda info: _seen.append(info.raw_cell))\n"
    "get_ipython().events.register('post_run_cell', lambda result: print('\\n'.join(_seen)))\n"
)


def _dave():
    nb = _load(SOLUTION)
    first = next(c for c in nb["cells"] if _meta(c).get("solution") and c["cell_type"] == "code")
    first["source"] = _source(first) + EXFILTRATE
    return json.dumps(nb, indent=1)


def _visible_text(page):
    """The text a reader sees in an HTML page (tags removed, entities decoded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("course-ex02")
    course = str(base / "course")
    os.makedirs(course)
    shutil.copy(os.path.join(B.REPO, "nbgrader_config.py"), course)
    for folder in ("solutions", "exercises"):
        shutil.copytree(os.path.join(B.REPO, folder), os.path.join(course, folder))
    subs = str(base / "submitted")
    with open(SOLUTION, encoding="utf-8") as fh:
        alice = fh.read()
    with open(RELEASED, encoding="utf-8") as fh:
        bob = fh.read()
    students = {"alice": alice, "bob": bob, "carol": _carol(), "dave": _dave()}
    for sid, text in students.items():
        os.makedirs(os.path.join(subs, sid, ASSIGNMENT))
        with open(os.path.join(subs, sid, ASSIGNMENT, ASSIGNMENT + ".ipynb"), "w",
                  encoding="utf-8") as fh:
            fh.write(text)
    out = str(base / "out")
    proc = B.run_grade(course, subs, out, "--timeout", "30", "--jobs", "2",
                       assignment=ASSIGNMENT)
    return {"course": course, "out": out, "proc": proc, "rows": B.read_csv(out)}


def test_real_exercise_scores_full_zero_and_partial(graded):
    """Solution: every automatic point; untouched: 0; one broken answer: all but its test."""
    points = _auto_points()
    assert BROKEN_TEST in points and sum(points.values()) > points[BROKEN_TEST] > 0
    rows = graded["rows"]
    assert {sid: rows[sid]["status"] for sid in rows} == {
        "alice": "graded", "bob": "graded", "carol": "graded", "dave": "graded"}, graded["proc"].stdout
    assert float(rows["alice"]["score"]) == sum(points.values())
    assert float(rows["bob"]["score"]) == 0
    assert float(rows["carol"]["score"]) == sum(points.values()) - points[BROKEN_TEST]
    # the manually graded task counts towards the maximum but waits for the tutor
    assert float(rows["alice"]["max_score"]) > sum(points.values())


def test_feedback_on_the_real_exercise_hides_hidden_tests(graded):
    """No feedback page shows a line of the solutions' hidden tests."""
    hidden = _hidden_lines()
    assert len(hidden) >= 5
    for sid in ("alice", "bob", "carol"):
        with open(os.path.join(graded["out"], "feedback", sid + ".html"), encoding="utf-8") as fh:
            text = _visible_text(fh.read())
        assert "HIDDEN TESTS" not in text.replace("(hidden tests are not shown)", "")
        shown = [line for line in hidden if line in text]
        assert not shown, f"{sid}'s feedback shows hidden tests: {shown[:3]}"
        # the check can see code: the visible part of the same test cells is there
        assert 'check_secret(mean_professional, "5569a1136976f129"' in text


def test_code_that_echoes_hidden_tests_cannot_show_them_in_feedback(graded):
    """Does a student who captures later cells' source and prints it see hidden tests? (Never.)"""
    rows = graded["rows"]
    assert rows["dave"]["status"] == "graded"
    assert float(rows["dave"]["score"]) == float(rows["alice"]["score"])
    path = os.path.join(graded["out"], "feedback", "dave.html")
    with open(path, encoding="utf-8") as fh:
        text = _visible_text(fh.read())
    shown = [line for line in _hidden_lines() if len(line) >= 8 and line in text]
    assert not shown, f"dave's feedback shows hidden tests: {shown[:3]}"
    assert "[hidden test text removed]" in text, "the echo did not run, so the test proves nothing"


def test_new_course_gradebook_has_nbgraders_schema_version(graded):
    """The gradebook the command created carries the version ``alembic heads`` reports."""
    from nbgrader.api import get_alembic_version
    con = sqlite3.connect(os.path.join(graded["course"], "gradebook.db"))
    try:
        (version,) = con.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        con.close()
    assert version == get_alembic_version()
