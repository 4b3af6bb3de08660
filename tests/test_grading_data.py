"""Does the grade command's in-memory grading give exactly what ``nbgrader autograde`` gives?

For every course exercise, the same submissions (the solution, the untouched student version,
the right answers written differently, an early slip, answer cells holding code, and a tampered
notebook: a check cell's key edited, a check cell and an answer cell deleted, an answer cell turned
into markdown) are graded twice: by nbgrader's own ``autograde`` with the course's
``nbgrader_config.py`` (``GradeAnswersAsData`` in place of ``Execute``), and by
:func:`course.grading.data_grade.grade_notebook`. Scores, comments and the check cells' outputs
must be the same, cell by cell.
"""
import copy
import os
import shutil
import sys

import nbformat
import pytest

from course.grading.data_grade import AssignmentCells, grade_notebook, read

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import answers_data as D  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]

ASSIGNMENTS = ["ex01_products_and_services", "ex02_agency_over_time", "ex03_product_like_or_pure",
               "ex04_value_stream_mapping", "ex05_capstone"]


def _tampered(a):
    nb = D.fill(D.released(a), D.solution_answers(a))
    checks = [c for c in nb.cells if c.cell_type == "code" and D.nbg(c).get("grade")]
    checks[0].source = checks[0].source.replace("check(", "check(  ")  # an edited check cell
    nb.cells.remove(checks[1])                                          # a deleted check cell
    answers = D.answer_cells(nb)
    nb.cells.remove(answers[-1])                                        # a deleted answer cell
    answers[0].cell_type = "markdown"                                   # an answer cell made markdown
    answers[0].pop("outputs", None)
    answers[0].pop("execution_count", None)
    return nb


def _submissions(a, marker):
    right = D.solution_answers(a)
    student = D.released(a)
    return {"sol": D.solution(a), "blank": student,
            "restyled": D.fill(student, D.restyled_answers(a)), "slip": D.fill(student, D.slip(a)[0]),
            "coder": D.with_code(D.fill(student, right), marker), "tampered": _tampered(a)}


def _outputs(nb):
    return {D.nbg(c)["grade_id"]: [(o.output_type, o.get("text"), o.get("traceback")) for o in c.outputs]
            for c in nb.cells if c.cell_type == "code" and D.nbg(c).get("grade")}


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_in_memory_grading_equals_nbgrader_autograde(a, tmp_path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from course.grading.worker import _read_grades

    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(os.path.join(D.REPO, "nbgrader_config.py"), root)
    shutil.copytree(os.path.join(D.REPO, "solutions", a), root / "solutions" / a)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    c.CourseDirectory.root = str(root)
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    c.CourseDirectory.db_url = db_url
    c.Exchange.root = str(tmp_path / "exchange")
    c.GradeAnswersAsData.release_root = str(root / "exercises")
    api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
    assert api.generate_assignment(a, force=True)["success"]
    subs = _submissions(a, tmp_path / "code-ran")
    D.write_submissions(root / "submitted", a, subs)
    cells = AssignmentCells.from_gradebook(db_url, a)
    for sid, nb in subs.items():
        res = api.autograde(a, sid, force=True, create=True)
        assert res["success"], res["log"][-2000:]
        theirs = _read_grades(db_url, a, sid)[a]
        mine_nb = read(nbformat.writes(nb))
        resources = {"nbgrader": {"student": sid, "assignment": a, "notebook": a}}
        mine = grade_notebook(mine_nb, cells, a, resources, str(root / "exercises"))
        assert mine["grades"] == theirs["grades"], sid
        assert mine["comments"] == theirs["comments"], sid
        auto = nbformat.read(str(root / "autograded" / sid / a / f"{a}.ipynb"), as_version=4)
        assert _outputs(mine_nb) == _outputs(auto), sid
    assert not (tmp_path / "code-ran").exists()
    # the comparison can fail: the tampered and slipped notebooks lose points that the solution keeps
    sol = grade_notebook(read(nbformat.writes(subs["sol"])), cells, a, {"nbgrader": {"assignment": a,
                                                                                       "notebook": a}})
    tampered = grade_notebook(read(nbformat.writes(copy.deepcopy(subs["tampered"]))), cells, a,
                              {"nbgrader": {"assignment": a, "notebook": a}})
    total = lambda r: sum(g["auto_score"] or 0 for g in r["grades"].values())  # noqa: E731
    assert total(tampered) < total(sol)
