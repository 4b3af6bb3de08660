"""The instructor's guide, run: every command in a ``bash`` block of ``docs/grading.md``, in order,
on a fresh copy of the repository, with the test playing the students, the LMS and the tutor.

This is the instructor's term in one test module:

* release two exercises; a bundle for an LMS-only course;
* intake of a Canvas download (two students with the same name, a late one, a renamed file)
  and of Moodle's "download in folders", both zips built with the LMSs' naming rules;
* grading; a tutor's marks and comment entered through nbgrader's API (as the formgrader does);
* feedback pages with the comment and without the mark scheme; the same grade command again
  bringing the tutor's marks into ``grades.csv`` without dropping rows or notes;
* a corrected answer key: the same command regrades, ``audit.csv`` lists each changed score,
  and the tutor's mark survives;
* export to Canvas's and Moodle's import formats;
* the exchange on a hub: release, a student fetches and submits, collect, grade from ``submitted/``;
* the students' JupyterLab without nbgrader's instructor parts.

(An older download graded after a newer one is in ``tests/test_grading_term.py``.)
"""
from __future__ import annotations

import csv
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import answers_data as D  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "grading.md"
EX1, EX2, EX3 = "ex01_products_and_services", "ex02_agency_over_time", "ex03_product_like_or_pure"

#: Commands of the guide that this test does not run as written, and where they are run instead.
NOT_RUN_HERE = {
    "python3 run.py install": "the README's test command runs it before any test (run.py test installs first)",
    ". .venv/bin/activate": "this test puts the environment's bin folder first on PATH, which is what it does",
}


def guide_commands(text: str) -> list[str]:
    """Every command line in the guide's ``bash`` blocks, without trailing comments."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            commands.append(re.sub(r"\s+#.*$", "", line))
    return commands


def test_guide_commands_are_found_and_unknown_ones_fail():
    """The extractor sees every command (a guide with a command this test does not know fails)."""
    cmds = guide_commands(GUIDE.read_text(encoding="utf-8"))
    assert cmds[0].startswith("git clone") and len(cmds) >= 15
    assert guide_commands("text\n```bash\na --x   # note\n\n# comment\nb\n```\n") == ["a --x", "b"]
    with pytest.raises(AssertionError, match="does not know"):
        _hook_for("rm -rf everything")


# ------------------------------------------------------------------ the people around the commands
def _zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, nb in files.items():
            zf.writestr(name, nbformat.writes(nb) if not isinstance(nb, bytes) else nb)


class Term:
    """The state of the term: the course copy, its environment, and what the test has seen."""

    def __init__(self, base: Path):
        self.base = base
        self.course = base / "coproduction"
        self.env = dict(os.environ)
        self.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + self.env.get("PATH", "")
        self.env["PYTHONWARNINGS"] = "ignore"
        self.env["JUPYTER_CONFIG_DIR"] = str(base / "jupyter-config")
        self.seen: dict = {}
        self.grade_runs: dict = {}

    def run(self, command: str):
        proc = subprocess.run(["bash", "-c", command], cwd=self.course, env=self.env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"`{command}` failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    def rows(self, a):
        with open(self.course / "graded" / a / "grades.csv", newline="", encoding="utf-8") as fh:
            return {r["student_id"]: r for r in csv.DictReader(fh)}


def clone(term: Term, command: str):
    """`git clone <this repository> coproduction && cd coproduction`: a copy of every tracked file."""
    assert command == "git clone <this repository> coproduction && cd coproduction", command
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src, dst = ROOT / rel, term.course / rel
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def canvas_download(term: Term, command: str = ""):
    """Canvas names files `<name>[_LATE]_<user id>_<submission id>_<file>`."""
    release = D.released(EX1, repo=str(term.course))
    right = D.fill(release, D.solution_answers(EX1))
    slip = D.fill(release, {**D.solution_answers(EX1), "q2": "A", "q4": "B"})
    _zip(term.course / "canvas-download.zip", {
        f"annguyen_10031_900_{EX1}.ipynb": right,
        f"annguyen_10032_901_{EX1}.ipynb": release,                 # a namesake who handed in nothing
        f"doejane_LATE_10040_902_{EX1}-1.ipynb": slip,             # late, and renamed by the browser
    })


def moodle_download(term: Term, command: str = ""):
    """Moodle's "download in folders": one folder `<Full Name>_<participant id>_assignsubmission_file_` each."""
    release = D.released(EX2, repo=str(term.course))
    right = D.fill(release, D.solution_answers(EX2))
    _zip(term.course / "moodle-download.zip", {
        f"Jane van der Berg_4711_assignsubmission_file_/{EX2}.ipynb": right,
        f"Ó Briain_4712_assignsubmission_file_/{EX2}.ipynb": release,
    })


def after_grading_ex01(term: Term):
    rows = term.rows(EX1)
    term.seen["first"] = rows
    assert sorted(rows) == ["10031", "10032", "10040"], "namesakes must stay two students"
    assert float(rows["10031"]["auto_points"]) == float(rows["10031"]["max_score"]) - 6  # 6 tutor points
    assert rows["10031"]["marking"] == "awaiting manual marking" and float(rows["10031"]["pending_points"]) == 6
    assert float(rows["10032"]["auto_points"]) == 0
    assert "submitted late" in rows["10040"]["reason"] and "was graded as" in rows["10040"]["reason"]
    assert float(rows["10040"]["auto_points"]) == float(rows["10031"]["auto_points"]) - 4  # q2 and q4 wrong
    page = (term.course / "graded" / EX1 / "feedback" / "10031.html").read_text(encoding="utf-8")
    assert "awaiting your tutor" in page and "MARK SCHEME" not in page and "_key = {" not in page


def after_grading_ex02(term: Term):
    rows = term.rows(EX2)
    assert sorted(rows) == ["4711", "4712"]
    assert float(rows["4711"]["auto_points"]) == 15 and float(rows["4712"]["auto_points"]) == 0


def tutor_marks(term: Term, command: str):
    """What a tutor does in the formgrader: scores and a comment for 10031's written answers."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{term.course / 'gradebook.db'}") as gb:
        for task, points in (("task_7", 2), ("task_8", 3)):
            grade = gb.find_grade(task, EX1, EX1, "10031")
            grade.manual_score, grade.needs_manual_grade = points, False
        gb.find_comment("task_7", EX1, EX1, "10031").manual_comment = "Clear: survey versus coproduction."
        gb.db.commit()


def after_feedback(term: Term):
    page = (term.course / "graded" / EX1 / "feedback" / "10031.html").read_text(encoding="utf-8")
    assert "Clear: survey versus coproduction." in page
    assert "MARK SCHEME" not in page and "Level descriptors" not in page and "_key = {" not in page
    other = (term.course / "graded" / EX1 / "feedback" / "10040.html").read_text(encoding="utf-8")
    assert "awaiting your tutor" in other


def after_regrade_same_input(term: Term):
    rows, first = term.rows(EX1), term.seen["first"]
    assert sorted(rows) == sorted(first), "a re-run must keep every row"
    assert float(rows["10031"]["manual_points"]) == 5 and rows["10031"]["marking"] == "complete"
    assert float(rows["10031"]["score"]) == float(first["10031"]["auto_points"]) + 5
    assert rows["10040"]["reason"] == first["10040"]["reason"], "a re-run must keep the notes"
    term.seen["marked"] = rows


def correct_the_key(term: Term):
    """The instructor finds Question 3a's key wrong and edits it in solutions/ (84 -> 120 days)."""
    path = term.course / "solutions" / EX1 / f"{EX1}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if D.nbg(c).get("grade_id") == "check_q3a")
    assert "'answer': 84," in cell.source
    cell.source = cell.source.replace("'answer': 84,", "'answer': 120,").replace(
        "[[12,", "[[84, 'This was the key before it was corrected.'], [12,")
    nbformat.write(nb, str(path))


def after_corrected_key(term: Term):
    rows, before = term.rows(EX1), term.seen["marked"]
    with open(term.course / "graded" / EX1 / "audit.csv", newline="", encoding="utf-8") as fh:
        audit = list(csv.DictReader(fh))
    changed = {(r["student_id"], r["cell"]): (r["before"], r["after"]) for r in audit}
    assert changed == {("10031", "check_q3a"): ("1", "0"), ("10040", "check_q3a"): ("1", "0")}, audit
    assert all("solutions changed" in r["why"] for r in audit)
    assert float(rows["10031"]["score"]) == float(before["10031"]["score"]) - 1
    assert float(rows["10031"]["manual_points"]) == 5, "a regrade must keep the tutor's marks"
    assert "edited" not in rows["10031"]["reason"], "the instructor's change is not the student's edit"


def rosters(term: Term, command: str = ""):
    (term.course / "canvas-roster.csv").write_text(
        "student_id,name,email,sis_user_id,sis_login_id,section\n"
        "10031,An Nguyen,an.nguyen@example.edu,S10031,anguyen,Group A\n"
        "10032,An Nguyen,an.nguyen2@example.edu,S10032,anguyen2,Group B\n"
        "10040,Jane Doe,jane.doe@example.edu,S10040,jdoe,Group A\n", encoding="utf-8")
    (term.course / "moodle-roster.csv").write_text(
        "student_id,name,email\n4711,Jane van der Berg,jvdb@example.edu\n4712,Ó Briain,obriain@example.edu\n",
        encoding="utf-8")


def after_canvas_export(term: Term):
    rows = list(csv.reader(io.StringIO((term.course / "canvas-ex01.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", EX1]
    assert rows[1][0].strip() == "Points Possible"
    grades = {r[1]: r[-1] for r in rows[2:]}
    assert float(grades["10031"]) == float(term.rows(EX1)["10031"]["score"])
    assert grades["10040"] == "" and grades["10032"] == ""  # still awaiting the tutor: left empty, not 0


def after_moodle_export(term: Term):
    rows = list(csv.reader(io.StringIO((term.course / "moodle-ex02.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["Full name", "Email address", EX2]
    got = {r[1]: r[2] for r in rows[1:]}
    assert set(got) == {"jvdb@example.edu", "obriain@example.edu"}
    assert got["jvdb@example.edu"] == ""  # its written answers await a tutor


def exchange(term: Term, command: str = ""):
    (term.base / "exchange").mkdir()
    cfg = term.base / "jupyter-config"
    cfg.mkdir(exist_ok=True)
    (cfg / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(term.base / 'exchange')!r}\n"
        , encoding="utf-8")


def student_fetches_and_submits(term: Term, command: str):
    """Between release and collect, a student fetches the exercise, answers it and submits it."""
    home = term.base / "student"
    home.mkdir()
    env = {**term.env}
    for step in (f"nbgrader fetch_assignment {EX3} --course coproduction-of-health",):
        proc = subprocess.run(shlex.split(step), cwd=home, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    path = home / EX3 / f"{EX3}.ipynb"
    nbformat.write(D.fill(nbformat.read(str(path), as_version=4), D.solution_answers(EX3)), str(path))
    subprocess.run(shlex.split(f"nbgrader submit {EX3} --course coproduction-of-health"), cwd=home, env=env, check=True,
                   capture_output=True)


def after_hub_grading(term: Term):
    rows = term.rows(EX3)
    assert len(rows) == 1, "only the student who submitted exercise 3 has a row"
    (row,) = rows.values()
    assert row["status"] == "graded" and float(row["auto_points"]) == 15, row


def student_fetches_feedback(term: Term):
    """The student fetches the released feedback: the clean page, not nbgrader's with the mark scheme."""
    home = term.base / "student"
    proc = subprocess.run(shlex.split(f"nbgrader fetch_feedback {EX3} --course coproduction-of-health"), cwd=home,
                          env=term.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pages = list((home / EX3 / "feedback").glob("*/*.html"))
    assert len(pages) == 1, pages
    page = pages[0].read_text(encoding="utf-8")
    assert "awaiting your tutor" in page and "Content-Security-Policy" in page
    assert "MARK SCHEME" not in page and "Level descriptors" not in page and "_key = {" not in page


def after_student_lab(term: Term):
    """A student's JupyterLab on the hub: the Assignments panel stays, the instructor parts are off."""
    import json
    cfg = term.base / "jupyter-config"
    page = json.loads((cfg / "labconfig" / "page_config.json").read_text(encoding="utf-8"))["disabledExtensions"]
    assert page["@jupyter/nbgrader:formgrader"] is True and page["@jupyter/nbgrader:create-assignment"] is True
    assert "@jupyter/nbgrader:assignment-list" not in page  # students still fetch and submit
    listing = term.run("jupyter server extension list")
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert re.search(r"nbgrader\.server_extensions\.formgrader\s+disabled", text), text
    assert re.search(r"nbgrader\.server_extensions\.assignment_list\s+enabled", text), text


def after_bundle(term: Term):
    with zipfile.ZipFile(term.course / "bundles" / f"{EX1}.zip") as zf:
        names = zf.namelist()
    assert any(n.endswith(f"{EX1}.ipynb") for n in names) and any(n.endswith(".whl") for n in names)


def after_regrade_and_corrected_key(term: Term):
    """Section 5's second command is the first grade command again: the tutor's marks reach grades.csv.
    Then section 4's "A corrected answer key": edit the key and run the same command once more."""
    after_regrade_same_input(term)
    correct_the_key(term)
    term.run(term.seen["grade_ex01"])
    after_corrected_key(term)


def remember_grade_ex01(term: Term, command: str):
    term.seen["grade_ex01"] = command
    canvas_download(term)


#: (start of a command as the guide writes it, which time it appears) -> (before, after)
HOOKS = {
    ("git clone", 1): (clone, None),
    (f"nbgrader generate_assignment {EX1} --force", 1): (None, None),
    (f"nbgrader generate_assignment {EX2} --force", 1): (None, None),
    (f"coproduction-course bundle {EX1}", 1): (None, after_bundle),
    (f"coproduction-course grade {EX1} canvas-download.zip", 1): (remember_grade_ex01, after_grading_ex01),
    (f"coproduction-course grade {EX2} moodle-download.zip", 1): (moodle_download, after_grading_ex02),
    (f"coproduction-course feedback {EX1}", 1): (tutor_marks, after_feedback),
    (f"coproduction-course grade {EX1} canvas-download.zip", 2): (None, after_regrade_and_corrected_key),
    (f"coproduction-course export {EX1} --lms canvas", 1): (rosters, after_canvas_export),
    (f"coproduction-course export {EX2} --lms moodle", 1): (None, after_moodle_export),
    ("export GRADEBOOK=", 1): (exchange, None),
    (f"nbgrader generate_assignment {EX3} --force", 1): (None, None),
    (f"nbgrader release_assignment {EX3}", 1): (None, None),
    (f"nbgrader collect {EX3}", 1): (student_fetches_and_submits, None),
    (f"coproduction-course grade {EX3} submitted/", 1): (None, after_hub_grading),
    (f"coproduction-course feedback {EX3}", 1): (None, None),
    (f"nbgrader release_feedback {EX3}", 1): (None, student_fetches_feedback),
    ('mkdir -p "$(jupyter --config-dir)" && cp -r jupyter-config/hub-student/.', 1): (None, after_student_lab),
}


def _hook_for(command, seen=None):
    seen = {} if seen is None else seen
    for (start, nth), hooks in HOOKS.items():
        if command.startswith(start) and seen.get(start, 0) + 1 == nth:
            seen[start] = nth
            return hooks
    raise AssertionError(f"the guide has a command this test does not know: {command!r}")


def test_the_guide_walks_a_fresh_clone_through_a_term(tmp_path):
    term = Term(tmp_path)
    commands = guide_commands(GUIDE.read_text(encoding="utf-8"))
    ran, seen = [], {}
    for command in commands:
        if command in NOT_RUN_HERE:
            continue
        before, after = _hook_for(command, seen)
        if before is not None:
            before(term, command)
        if before is clone:
            pass
        elif command.startswith("export "):
            name, _, value = command[len("export "):].partition("=")
            term.env[name] = value.split()[0]
        else:
            term.run(command)
        if after is not None:
            after(term)
        ran.append(command)
    assert len(ran) + len(NOT_RUN_HERE) == len(commands)
    assert set(HOOKS) == {(start, n) for start, n_max in seen.items() for n in range(1, n_max + 1)}, \
        "a step of the term is no longer in the guide"
