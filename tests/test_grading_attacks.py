"""Can a submission decide its own grade? Each known in-kernel attack, graded beside an honest submission.

With nbgrader's usual autograde, the test cells run in the student's kernel after the student's
code, so code in a submission can change what they output: every attack below once earned full
marks with no right answer. Here answers are data and no cell of a submission runs, so each attack
must earn nothing, and none of its code may run (each would write a marker file first).

The assignment is a small answers-as-data quiz built with :mod:`course.authoring` and the course's
own ``nbgrader_config.py``; grading is a real ``coproduction-course grade`` run.
"""
import copy
import os
import shutil
import sys

import nbformat
import pytest


sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import answers_data as D  # noqa: E402
import builders as B  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
A = "quiz1"

# What each attack does first, so that the test can tell whether any of it ran.
MARK = "__import__('pathlib').Path({marker!r}).write_text('ran')\n"
ATTACKS = {
    "input_transformer": (
        "ip = get_ipython()\n"
        "ip.input_transformers_cleanup.append(lambda lines: ['pass\\n'] if any('check(' in l for l in lines) "
        "else lines)\n"),
    "ast_transformer": (
        "import ast\n"
        "class Wrap(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        return ast.fix_missing_locations(ast.Module(body=[ast.Try(body=node.body, handlers=["
        "ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])], orelse=[], finalbody=[])], type_ignores=[]))\n"
        "get_ipython().ast_transformers.append(Wrap())\n"),
    "monkeypatch_checks": (
        "import course.exercise, course.assessment\n"
        "course.exercise.check = lambda *a, **k: print('✓ right')\n"
        "course.assessment.evaluate = lambda *a, **k: None\n"),
    "patch_isclose_and_hash": (
        "import math, hashlib\n"
        "math.isclose = lambda *a, **k: True\n"
        "hashlib.sha256 = lambda *a, **k: type('H', (), {'hexdigest': lambda s: 'x'})()\n"
        "hashlib.pbkdf2_hmac = lambda *a, **k: b'0' * 48\n"),
    "post_run_cell_hook": (
        "def clear(result):\n"
        "    result.error_in_exec = None\n"
        "get_ipython().events.register('post_run_cell', clear)\n"),
    "fake_sys_modules": (
        "import sys, types\n"
        "fake = types.ModuleType('course.exercise')\n"
        "fake.check = lambda *a, **k: None\n"
        "fake.self_check = lambda *a, **k: None\n"
        "sys.modules['course.exercise'] = fake\n"),
    "read_expected_from_stack": (
        "import sys\n"
        "def tracer(frame, event, arg):\n"
        "    if 'item' in frame.f_locals: globals()['q1'] = getattr(frame.f_locals['item'], 'answer', None)\n"
        "    return tracer\n"
        "sys.settrace(tracer)\n"),
    "print_a_number_for_partial_credit": "print(3.0)\nfrom IPython.display import display\ndisplay(3.0)\n",
}


def _quiz():
    return D.quiz_notebook()


def _with_answers(nb, answers):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for name, value in answers.items():
            cell.source = cell.source.replace(f"{name} = None", f"{name} = {value}")
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    root = base / "course"
    (root / "solutions" / A).mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), root)
    nbformat.write(_quiz(), str(root / "solutions" / A / f"{A}.ipynb"))
    release = D.generate_release(root, base, A)  # the released version, as students get it
    right = {"q1": '"B"', "q2a": "30", "q2b": "1200", "q3": "2.5"}
    subs = {"honest": _with_answers(release, right), "blank": release}
    markers = {}
    for name, code in ATTACKS.items():
        markers[name] = base / f"ran-{name}"
        attack = MARK.format(marker=str(markers[name])) + code
        nb = copy.deepcopy(release)
        nb.cells.insert(1, nbformat.v4.new_code_cell(attack))  # an added cell
        first_answer = next(c for c in nb.cells if "q1 = None" in c.source)
        first_answer.source = attack + first_answer.source  # and inside an answer cell
        subs[name.replace("_", "-")] = nb
    # right answers plus a made-up check worth 100 points and a copy of Question 1's check
    # (with its own key that accepts "A") placed before the real one
    forger = _with_answers(release, right)
    made_up = nbformat.v4.new_code_cell('check("bonus")', metadata={"nbgrader": {
        "grade": True, "grade_id": "check_bonus", "locked": True, "points": 100, "schema_version": 3,
        "solution": False}})
    real = next(c for c in forger.cells if c.source.startswith("# Check Question 1 "))
    copied = copy.deepcopy(real)
    copied.source = copied.source.replace('"answer": "B"', '"answer": "A"')
    forger.cells.insert(forger.cells.index(real), copied)
    forger.cells.insert(2, made_up)
    subs["forger"] = forger
    # a written answer (markdown) holding a script that would run in the feedback page
    scripter = _with_answers(release, right)
    answer_md = next(c for c in scripter.cells if c.cell_type == "markdown" and "Write your answer here" in c.source)
    answer_md.source = "My answer.\n\n<script>document.title = 'script ran'</script>\n<img src=x onerror=\"document.title='script ran'\">"
    subs["scripter"] = scripter
    sub_dir = base / "submitted"
    D.write_submissions(sub_dir, A, subs)
    out = base / "out"
    proc = B.run_grade(str(root), str(sub_dir), str(out), "--jobs", "2", assignment=A)
    return {"rows": B.read_csv(str(out)), "markers": markers, "proc": proc, "out": out, "root": root}


def test_the_honest_submission_earns_every_automatic_point(graded):
    rows = graded["rows"]
    assert float(rows["honest"]["score"]) == 6.0, graded["proc"].stdout
    assert float(rows["blank"]["score"]) == 0.0


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_earns_nothing_and_none_of_it_runs(graded, attack):
    row = graded["rows"][attack.replace("_", "-")]
    assert row["status"] == "graded"
    assert float(row["score"]) == 0.0
    assert not graded["markers"][attack].exists(), f"the {attack} code ran during grading"


def test_the_report_says_no_code_ran(graded):
    report = (graded["out"] / "report.html").read_text(encoding="utf-8")
    assert "no cell of any submission was executed" in report


def test_feedback_tells_the_attacker_why_without_showing_keys(graded):
    page = (graded["out"] / "feedback" / "ast-transformer.html").read_text(encoding="utf-8")
    assert "holds code" in page and "was not run" in page
    assert "_key = {" not in page and "MARK SCHEME" not in page


def test_new_course_gradebook_has_nbgraders_schema_version(graded):
    """The gradebook the command created carries the version ``alembic heads`` reports."""
    import sqlite3

    from nbgrader.api import get_alembic_version
    con = sqlite3.connect(str(graded["root"] / "gradebook.db"))
    try:
        (version,) = con.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        con.close()
    assert version == get_alembic_version()


def test_made_up_or_copied_checks_add_nothing(graded):
    """A check cell that the exercise does not have (or a copy of one) is ignored, with a note, not a rejection."""
    row = graded["rows"]["forger"]
    assert row["status"] == "graded", row["reason"]
    assert float(row["score"]) == 6.0 and float(row["max_score"]) == 8.0
    assert "grading marks this exercise does not have" in row["reason"]


def test_feedback_after_tutor_marking_shows_marks_and_comments_but_no_mark_scheme(graded, tmp_path):
    """After a tutor marks one student's written answer, does `feedback` show that mark and comment,
    keep "awaiting your tutor" for a student not yet marked, and show no mark scheme?"""
    import subprocess

    from nbgrader.api import Gradebook
    before = (graded["out"] / "feedback" / "honest.html").read_text(encoding="utf-8")
    assert "awaiting your tutor" in before and "MARK SCHEME" not in before
    with Gradebook(f"sqlite:///{graded['root'] / 'gradebook.db'}") as gb:
        grade = gb.find_grade("task_4", A, A, "honest")
        grade.manual_score = 2
        grade.needs_manual_grade = False  # as the formgrader does when a tutor enters a score
        comment = gb.find_comment("task_4", A, A, "honest")
        comment.manual_comment = "Clear and well argued: both parts answered."
        gb.db.commit()
    out = tmp_path / "later"
    proc = subprocess.run([sys.executable, "-m", "course.cli", "feedback", A, "--out", str(out),
                           "--course-root", str(graded["root"])], cwd=str(graded["root"]), env=B.cli_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    honest = (out / "feedback" / "honest.html").read_text(encoding="utf-8")
    assert "Clear and well argued" in honest and "awaiting your tutor" not in honest
    assert "Score: 8.0 / 8.0" in honest and "MARK SCHEME" not in honest and "Levels:" not in honest
    blank = (out / "feedback" / "blank.html").read_text(encoding="utf-8")
    assert "awaiting your tutor" in blank and "_key = {" not in blank


def _mark_honest(graded):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{graded['root'] / 'gradebook.db'}") as gb:
        grade = gb.find_grade("task_4", A, A, "honest")
        grade.manual_score, grade.needs_manual_grade = 2, False
        gb.db.commit()


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_export_for_the_lms_gradebook(graded, tmp_path, lms):
    """Is the export in the columns the LMS import needs, with tutor marks, and empty (not 0) for
    students awaiting a tutor or without a graded submission?"""
    import csv
    import subprocess
    _mark_honest(graded)
    roster = tmp_path / "roster.csv"
    students = sorted(graded["rows"]) + ["absent"]
    with open(roster, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "name", "email", "sis_user_id", "sis_login_id", "section"])
        for i, sid in enumerate(students):
            w.writerow([sid, f"Student {sid}", f"{sid}@example.edu", f"S{i}", sid, "A"])
    out = tmp_path / f"{lms}.csv"
    cmd = [sys.executable, "-m", "course.cli", "export", A, "--lms", lms, "--roster", str(roster), "--out", str(out),
           "--course-root", str(graded["root"])]
    proc = subprocess.run(cmd, cwd=str(graded["root"]), env=B.cli_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if lms == "canvas":
        assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
        assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "8"
        grades = {r[1]: r[-1] for r in rows[2:]}
    else:
        assert rows[0] == ["Full name", "Email address", A]
        grades = {r[1].split("@")[0]: r[-1] for r in rows[1:]}
    assert grades["honest"] == "8"           # 6 automatic + 2 from the tutor
    assert grades["blank"] == ""             # its written answer awaits a tutor
    assert grades["absent"] == ""            # nothing submitted
    assert "left empty: blank: awaiting a tutor" in proc.stdout and "left empty: absent" in proc.stdout
    pending = subprocess.run(cmd + ["--allow-pending"], cwd=str(graded["root"]), env=B.cli_env(),
                             capture_output=True, text=True)
    assert pending.returncode == 0
    with open(out, newline="", encoding="utf-8") as fh:
        again = list(csv.reader(fh))
    blank_row = next(r for r in again if "blank" in (r[1], r[1].split("@")[0]))
    assert blank_row[-1] == "0"  # the marks so far: nothing automatic, the tutor's part still open


def test_export_refuses_a_roster_that_misses_a_graded_student(graded, tmp_path):
    import subprocess
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nhonest,H\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "course.cli", "export", A, "--lms", "canvas", "--roster", str(roster),
                           "--out", str(tmp_path / "x.csv"), "--course-root", str(graded["root"])],
                          cwd=str(graded["root"]), env=B.cli_env(), capture_output=True, text=True)
    assert proc.returncode == 2 and "not in the roster" in proc.stderr and "blank" in proc.stderr


def test_feedback_pages_forbid_every_script(graded):
    """A script in a student's written answer reaches the feedback page only behind a policy that stops it."""
    from course.grading.recording import NO_SCRIPTS
    page = (graded["out"] / "feedback" / "scripter.html").read_text(encoding="utf-8")
    assert "script ran" in page  # the answer is shown as the student wrote it
    head = page[:page.index("<script") if "<script" in page else len(page)]
    assert NO_SCRIPTS in head, "the policy must come before the first script"
    assert float(graded["rows"]["scripter"]["score"]) == 6.0
