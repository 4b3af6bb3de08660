"""An instructor's term with Canvas downloads: namesakes, an older download graded after a newer one,
and a corrected answer key regraded with an audit of every changed score."""
import csv
import os
import sys
import zipfile

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import answers_data as D  # noqa: E402
import builders as B  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

A = "quiz1"
RIGHT = {"q1": "B", "q2a": 30, "q2b": 1200, "q3": 2.5}


def _zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, nb in files.items():
            zf.writestr(name, nbformat.writes(nb))


def _gradebook_score(root, sid):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_submission(A, sid).score


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    root = base / "course"
    (root / "solutions" / A).mkdir(parents=True)
    with open(os.path.join(D.REPO, "nbgrader_config.py"), encoding="utf-8") as fh:
        (root / "nbgrader_config.py").write_text(fh.read(), encoding="utf-8")
    nbformat.write(D.quiz_notebook(), str(root / "solutions" / A / f"{A}.ipynb"))
    release = D.generate_release(root, base, A)
    right, blank = D.fill(release, RIGHT), release
    _zip(base / "new.zip", {f"annguyen_10031_900_{A}.ipynb": right, f"annguyen_10032_901_{A}.ipynb": blank,
                            f"doejane_LATE_10040_902_{A}.ipynb": right})
    _zip(base / "old.zip", {f"annguyen_10031_800_{A}.ipynb": blank})
    out = base / "out"

    def grade(download):
        steps["stdout"] = B.run_grade(str(root), str(base / download), str(out), assignment=A).stdout
        return B.read_csv(str(out))

    steps = {}

    steps.update(new=grade("new.zip"), old=grade("old.zip"))
    steps["old_gradebook"] = _gradebook_score(root, "10031")
    steps["new_again"] = grade("new.zip")
    # the instructor corrects Question 2a's key (30 -> 40 minutes) and grades the same download again
    nbformat.write(D.quiz_notebook(q2a_answer=40), str(root / "solutions" / A / f"{A}.ipynb"))
    steps["corrected"] = grade("new.zip")
    with open(out / "audit.csv", newline="", encoding="utf-8") as fh:
        steps["audit"] = list(csv.DictReader(fh))
    steps["root"], steps["out"] = root, out
    return steps


def test_namesakes_on_canvas_stay_two_students(term):
    rows = term["new"]
    assert float(rows["10031"]["score"]) == 6 and float(rows["10032"]["score"]) == 0
    assert "submitted late" in rows["10040"]["reason"]


def test_an_older_download_graded_later_does_not_replace_the_newer_grade(term):
    row = term["old"]["10031"]
    assert float(row["score"]) == 6 and "older submission was received and not graded" in row["reason"]
    # grades.csv and the report name the file whose grade this is: the newer one
    assert row["graded_files"] == f"annguyen_10031_900_{A}.ipynb (LMS submission 900)"
    assert f"annguyen_10031_900_{A}.ipynb (LMS submission 900)" in (term["out"] / "report.html").read_text()
    assert term["old_gradebook"] == 6
    assert float(term["new_again"]["10031"]["score"]) == 6 and _gradebook_score(term["root"], "10032") == 0


def test_a_corrected_key_regrades_everyone_and_audits_each_changed_score(term):
    rows = term["corrected"]
    assert float(rows["10031"]["score"]) == 5 and float(rows["10040"]["score"]) == 5
    assert float(rows["10032"]["score"]) == 0
    changed = {(r["student_id"], r["cell"]): (r["before"], r["after"], r["why"]) for r in term["audit"]}
    assert set(changed) == {("10031", "check_q2a"), ("10040", "check_q2a")}
    before, after, why = changed[("10031", "check_q2a")]
    assert (before, after) == ("1", "0") and "solutions changed" in why
    assert "solutions changed in  check_q2a: only these cells' scores were changed" in term["stdout"]


def test_a_regrade_after_a_changed_key_keeps_the_other_questions_scores():
    """Only the cells whose tests changed take the new scores; a change elsewhere (another code
    cell, a data file) regrades everything."""
    from course.grading.contracts import JournalEntry, Result
    from course.grading.recording import changed_cells as _changed_cells, keep_unchanged_scores as _keep_unchanged_scores
    before = {"nb:check_q1": "a", "nb:check_q2a": "b", "nb:": "x"}
    assert _changed_cells(before, dict(before, **{"nb:check_q2a": "c"})) == {("nb", "check_q2a")}
    assert _changed_cells(before, dict(before, **{"nb:": "y"})) is None
    assert _changed_cells(before, dict(before, **{":data.csv": "z"})) is None
    assert _changed_cells(None, before) is None
    previous = JournalEntry(student_id="s", key="k1", status="graded", grades={"nb": {"grades": {
        "check_q1": {"auto_score": 2.0}, "check_q2a": {"auto_score": 1.0},
        "task_4": {"auto_score": None, "needs_manual_grade": True}}}})
    result = Result(student_id="s", key="k2", status="graded", grades={"nb": {"grades": {
        "check_q1": {"auto_score": 0.0}, "check_q2a": {"auto_score": 0.0},
        "task_4": {"auto_score": None, "needs_manual_grade": True}}}})
    assert _keep_unchanged_scores(result, previous, {("nb", "check_q2a")}) == 1
    got = {g: v["auto_score"] for g, v in result.grades["nb"]["grades"].items()}
    assert got == {"check_q1": 2.0, "check_q2a": 0.0, "task_4": None}
