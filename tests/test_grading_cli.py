"""Does ``coproduction-course grade`` grade a mixed class fairly, whatever students submit?

One graded run of a class with right, partly wrong and broken submissions is shared by
most tests (module-scoped fixture); each test checks one kind of trouble: its status, its
reason and its score, and that it did not change anyone else's grade.
"""
import hashlib
import os
import sys
import zipfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402
from course.grading.cells import grade_id  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

TIMEOUT = "3"

IGNORE_SIGINT_LOOP = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                      "while True:\n    pass")


def _attack(paths):
    """An answer that tries to read and change files it must not see."""
    return (
        "leaked = []\n"
        f"for p in {paths!r}:\n"
        "    try:\n"
        "        with open(p, 'rb') as fh:\n"
        "            fh.read(1)\n"
        "        leaked.append(p)\n"
        "    except Exception:\n"
        "        pass\n"
        "    try:\n"
        "        with open(p, 'ab') as fh:\n"
        "            fh.write(b'tampered')\n"
        "        leaked.append('wrote ' + p)\n"
        "    except Exception:\n"
        "        pass\n"
        "print('leaked:', leaked)\n"
        "def squares(n):\n"
        "    if leaked:\n"
        "        return leaked\n"
        "    return [i * i for i in range(1, n + 1)]")


def _reorder(cells):
    """Move the first test cell above the answer it tests."""
    i = next(k for k, c in enumerate(cells)
             if grade_id(c) == "test_squares")
    cells.insert(i - 1, cells.pop(i))
    return cells


def _class(course, subs, out):
    sol = os.path.join(course, "solutions", "ps1", "ps1.ipynb")
    alice_file = os.path.join(subs, "alice", "ps1", "ps1.ipynb")
    targets = [sol, os.path.join(course, "gradebook.db"), alice_file,
               os.path.join(out, "journal.jsonl"), os.path.join(course, "nbgrader_config.py")]
    return {
        "alice": {"ps1.ipynb": B.notebook()},
        "bob": {"ps1.ipynb": B.notebook({"mean": "def mean(xs):\n    return sum(xs) / len(xs)"})},
        "carol": {"ps1.ipynb": b""},
        "dave": {"ps1.ipynb": B.notebook()[:-40]},
        "erin": {"ps1.ipynb": '{"answers": [1, 2, 3]}'},
        "frank": {"answers.txt": "I did it on paper"},
        "gina": {"ps1 (1).ipynb": B.notebook()},
        "hank": {"ps1.ipynb": B.notebook({"mean": "def mean(xs):\n    return 0"},
                                         drop=("test_squares",),
                                         edit={"test_mean_basic": "pass"})},
        "ivan": {"ps1.ipynb": B.notebook({"count_words": "while True:\n    pass"})},
        "judy": {"ps1.ipynb": B.notebook({"mean": IGNORE_SIGINT_LOOP})},
        "kate": {"ps1.ipynb": B.notebook({"squares": "import sys\nsys.exit(1)"})},
        "leo": {"ps1.ipynb": B.notebook({"count_words": "import os\nos._exit(1)"})},
        "mia": {"ps1.ipynb": B.notebook({"mean": "hog = bytearray(8 * 1024 ** 3)\n"
                                                 + B.RIGHT["mean"]})},
        "nick": {"ps1.ipynb": B.notebook({"squares": "raise ValueError('not done yet')"})},
        "olga": {"ps1.ipynb": B.notebook({"squares": "for i in range(300):\n"
                                                     "    print('x' * 100000)\n"
                                                     + B.RIGHT["squares"]})},
        "pete": {"ps1.ipynb": B.notebook(order=_reorder)},
        "quinn": {"ps1.ipynb": B.notebook({"squares": _attack(targets)})},
    }


def _digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    course = B.make_course(str(base / "course"))
    subs = str(base / "submissions")
    out = str(base / "out")
    B.write_nbgrader_layout(subs, _class(course, subs, out))
    protected = [os.path.join(course, "solutions", "ps1", "ps1.ipynb"),
                 os.path.join(subs, "alice", "ps1", "ps1.ipynb")]
    before = {p: _digest(p) for p in protected}
    proc = B.run_grade(course, subs, out, "--timeout", TIMEOUT, "--jobs", "2",
                       "--memory-mb", "1024")
    return {"course": course, "subs": subs, "out": out, "proc": proc, "before": before,
            "rows": B.read_csv(out), "journal": B.read_journal(out)}


def _row(graded, sid):
    return graded["rows"][sid]


def _score(graded, sid):
    return float(_row(graded, sid)["score"])


def test_every_student_has_exactly_one_row_with_the_documented_columns(graded):
    """Does grades.csv have one row per student and exactly the documented columns?"""
    with open(os.path.join(graded["out"], "grades.csv"), encoding="utf-8") as fh:
        header = fh.readline().strip()
    assert header == ("student_id,score,max_score,status,reason,auto_points,manual_points,pending_points,marking,"
                      "graded_files")
    assert sorted(graded["rows"]) == sorted(_class("c", "s", "o"))
    assert {r["max_score"] for r in graded["rows"].values()} == {"8"}
    assert graded["proc"].returncode == 0


def test_right_and_partly_wrong_answers_score_their_points(graded):
    """Does a right notebook earn all autograded points and a wrong answer lose only its test?"""
    assert _row(graded, "alice")["status"] == "graded"
    assert _score(graded, "alice") == 6.0  # 8 minus the manually graded reflection
    assert _row(graded, "alice")["reason"] == ""
    assert _score(graded, "bob") == 5.0     # fails only the hidden empty-list test


@pytest.mark.parametrize("sid, words", [
    ("carol", "empty"),
    ("dave", "not valid JSON"),
    ("erin", "not a Jupyter notebook"),
    ("frank", "no notebook named 'ps1.ipynb'"),
])
def test_unreadable_or_missing_notebooks_are_rejected_with_a_reason(graded, sid, words):
    """Is a notebook that cannot be read rejected with a reason that says why?"""
    row = _row(graded, sid)
    assert row["status"] == "rejected"
    assert words in row["reason"]
    assert float(row["score"]) == 0.0
    assert not os.path.exists(os.path.join(graded["out"], "feedback", sid + ".html"))


def test_renamed_notebook_is_graded_under_its_expected_name(graded):
    """Is 'ps1 (1).ipynb' graded as ps1.ipynb, saying so?"""
    row = _row(graded, "gina")
    assert row["status"] == "graded"
    assert _score(graded, "gina") == _score(graded, "alice")
    assert "'ps1 (1).ipynb' was graded as 'ps1.ipynb'" in row["reason"]


def test_deleted_and_edited_tests_are_restored(graded):
    """Does deleting or weakening a test earn nothing, and is it reported?"""
    row = _row(graded, "hank")
    assert row["status"] == "graded"
    # squares (2, deleted test restored) + empty-list mean (1) + count_words (2);
    # the weakened basic mean test is restored and fails for mean() == 0.
    assert _score(graded, "hank") == 5.0
    assert "test_squares" in row["reason"] and "deleted" in row["reason"]
    assert "test_mean_basic" in row["reason"] and "edited" in row["reason"]


def test_reordered_cells_are_put_back_and_said_so(graded):
    """Are tests placed above their answer run after it, with a note?"""
    row = _row(graded, "pete")
    assert _score(graded, "pete") == _score(graded, "alice")
    assert "original order" in row["reason"]


@pytest.mark.parametrize("sid", ["ivan", "kate", "mia", "nick"])
def test_an_answer_that_loops_exits_hogs_memory_or_raises_costs_only_its_question(graded, sid):
    """Does an endless loop, sys.exit, MemoryError or an exception lose only that question?"""
    row = _row(graded, sid)
    assert row["status"] == "graded"
    # every one of these breaks exactly one question worth 2 of the 6 autograded points
    assert _score(graded, sid) == 4.0


def test_an_answer_that_ignores_interrupts_is_neutralised(graded):
    """Does a loop that ignores Ctrl-C cost only its question, with the cell named?"""
    row = _row(graded, "judy")
    assert row["status"] == "graded"
    assert _score(graded, "judy") == 4.0
    assert "did not finish" in row["reason"]


def test_an_answer_that_kills_its_kernel_costs_only_its_question(graded):
    """Does os._exit in one answer leave the other answers' points intact?"""
    row = _row(graded, "leo")
    assert row["status"] == "graded"
    assert _score(graded, "leo") == 4.0
    assert "stopped the Python kernel" in row["reason"]
    assert "not run" in row["reason"]


def test_enormous_output_is_truncated_and_graded(graded):
    """Does printing 30 MB still grade, with bounded feedback?"""
    assert _score(graded, "olga") == 6.0
    fb = os.path.join(graded["out"], "feedback", "olga.html")
    assert os.path.getsize(fb) < 5_000_000


def test_student_code_cannot_read_or_change_protected_files(graded):
    """Can an answer read the solutions, gradebook or another student's file? It must not."""
    assert _score(graded, "quinn") == _score(graded, "alice")
    for path, digest in graded["before"].items():
        assert _digest(path) == digest, path
    with open(os.path.join(graded["out"], "feedback", "quinn.html"), encoding="utf-8") as fh:
        assert "leaked: []" in fh.read()


def test_feedback_never_shows_hidden_tests(graded):
    """Is hidden test code (and what it printed) absent from every feedback file?"""
    fb_dir = os.path.join(graded["out"], "feedback")
    files = sorted(os.listdir(fb_dir))
    assert "alice.html" in files and "bob.html" in files
    for name in files:
        with open(os.path.join(fb_dir, name), encoding="utf-8") as fh:
            text = fh.read()
        assert "HIDDEN-MARKER" not in text, name
        assert "squares(6)" not in text, name
        assert "spaced   out" not in text, name


def test_report_has_described_plots_and_rejections(graded):
    """Does report.html embed two figures with alt text and list every rejection?"""
    with open(os.path.join(graded["out"], "report.html"), encoding="utf-8") as fh:
        text = fh.read()
    assert text.count('<img src="data:image/png;base64,') == 2
    assert 'alt="Histogram of' in text and 'alt="Mean fraction' in text
    for sid in ("carol", "dave", "erin", "frank"):
        assert f"<td>{sid}</td>" in text


def test_summary_is_printed(graded):
    """Does the command end with a summary of what it did?"""
    out = graded["proc"].stdout
    assert "graded                13" in out
    assert "rejected              4" in out
    assert "mean score" in out and "time" in out


def test_grades_equal_grading_each_student_alone(graded, tmp_path):
    """Are the grades in a mixed run exactly those of students graded on their own?"""
    for sid in ("alice", "bob", "hank"):
        subs = str(tmp_path / sid / "subs")
        out = str(tmp_path / sid / "out")
        course = B.make_course(str(tmp_path / sid / "course"))
        os.makedirs(os.path.join(subs, sid, "ps1"))
        src = os.path.join(graded["subs"], sid, "ps1", "ps1.ipynb")
        with open(src, "rb") as fh, open(os.path.join(subs, sid, "ps1", "ps1.ipynb"), "wb") as o:
            o.write(fh.read())
        B.run_grade(course, subs, out, "--timeout", TIMEOUT, "--jobs", "1")
        alone = B.read_csv(out)[sid]
        assert alone == graded["rows"][sid]
        grades_alone = [e["grades"] for e in B.read_journal(out) if e["student_id"] == sid]
        grades_mixed = [e["grades"] for e in graded["journal"] if e["student_id"] == sid]
        assert grades_alone == grades_mixed


def test_rerun_on_unchanged_submissions_changes_nothing(graded):
    """Does a second run re-grade nothing and write the same grades.csv?"""
    csv_path = os.path.join(graded["out"], "grades.csv")
    before = _digest(csv_path)
    n_journal = len(B.read_journal(graded["out"]))
    proc = B.run_grade(graded["course"], graded["subs"], graded["out"], "--timeout", TIMEOUT,
                       "--memory-mb", "1024")
    assert "graded this run       0" in proc.stdout
    assert _digest(csv_path) == before
    assert len(B.read_journal(graded["out"])) == n_journal


def test_rerun_with_other_limits_regrades_only_what_they_affected(graded):
    """A larger --memory-mb grades again the students a limit may have stopped (MemoryError, a killed
    kernel), and only them; their grades come out the same here, so grades.csv does not change."""
    csv_path = os.path.join(graded["out"], "grades.csv")
    before = _digest(csv_path)
    n_journal = len(B.read_journal(graded["out"]))
    proc = B.run_grade(graded["course"], graded["subs"], graded["out"], "--timeout", TIMEOUT,
                       "--memory-mb", "2048")
    assert "graded this run       2" in proc.stdout  # leo (kernel stopped) and mia (MemoryError)
    new = [e["student_id"] for e in B.read_journal(graded["out"])[n_journal:]]
    assert sorted(new) == ["leo", "mia"]
    assert _digest(csv_path) == before


def test_gradebook_holds_the_merged_grades(graded):
    """Does the course gradebook (for the formgrader) hold each graded student's score?"""
    from nbgrader.api import Gradebook
    url = "sqlite:///" + os.path.join(graded["course"], "gradebook.db")
    with Gradebook(url) as gb:
        for sid in ("alice", "bob", "leo"):
            assert gb.find_submission("ps1", sid).score == _score(graded, sid)
        names = {s.id for s in gb.students}
    assert "carol" not in names
    assert os.path.exists(os.path.join(graded["course"], "autograded", "leo", "ps1", "ps1.ipynb"))


def test_lms_zip_layout(graded, tmp_path):
    """Are files named like an LMS download (in a .zip) matched to students and graded?"""
    course = B.make_course(str(tmp_path / "course"))
    zpath = str(tmp_path / "download.zip")
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("alice_12345_67890_ps1.ipynb", B.notebook())
        zf.writestr("bob_ps1.ipynb", B.notebook({"mean": "def mean(xs):\n    return sum(xs) / len(xs)"}))
        zf.writestr("carol_LATE_1_2_ps1 (1).ipynb", B.notebook())
        zf.writestr("dave_3_ps1.ipynb", "")
        zf.writestr("readme.txt", "not a submission")
    out = str(tmp_path / "out")
    proc = B.run_grade(course, zpath, out, "--timeout", TIMEOUT)
    rows = B.read_csv(out)
    # Canvas names (<name>[_LATE]_<user id>_<submission id>_<file>) give the numeric user id
    assert sorted(rows) == ["1", "12345", "bob", "dave"]
    same = lambda r: {k: v for k, v in r.items() if k not in ("student_id", "graded_files")}  # noqa: E731
    assert same(rows["12345"]) == same(graded["rows"]["alice"])
    assert same(rows["bob"]) == same(graded["rows"]["bob"])
    # each row names the file whose grade it is, as the download named it
    assert rows["12345"]["graded_files"] == "alice_12345_67890_ps1.ipynb (LMS submission 67890)"
    assert graded["rows"]["bob"]["graded_files"] == "bob/ps1/ps1.ipynb"
    assert float(rows["1"]["score"]) == 6.0 and "graded as 'ps1.ipynb'" in rows["1"]["reason"]
    assert "submitted late" in rows["1"]["reason"]
    assert rows["dave"]["status"] == "rejected" and "empty" in rows["dave"]["reason"]
    assert "readme.txt" in proc.stdout


def test_no_submission_found_is_an_error_not_an_empty_success(tmp_path):
    """Does a folder with nothing gradable stop with exit 2 and say what layouts are accepted?"""
    from course.cli import main
    course = B.make_course(str(tmp_path / "course"))
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "notes.txt").write_text("x")
    assert main(["grade", "ps1", str(tmp_path / "subs"), "--course-root", course,
                 "--out", str(tmp_path / "o"), "--quiet"]) == 2


@pytest.mark.parametrize("args, words", [
    (["nope"], "'assignment' must be one of ['ps1']. Got 'nope' instead."),
    (["ps1", "--timeout", "-1"], "'--timeout' must be a number of seconds in (0, inf). Got '-1' instead."),
    (["ps1", "--jobs", "zero"], "'--jobs' must be an integer >= 1, or 0 for the default"),
    (["ps1", "--memory-mb", "100"], "'--memory-mb' must be an integer >= 256 (megabytes). Got '100' instead."),
    (["ps1", "--submission-timeout", "inf"], "'--submission-timeout' must be a number of seconds in (0, inf)"),
    (["ps1", "--lms-pattern", "(?P<who>.+)"], "'--lms-pattern' must be a regular expression with the named groups"),
    (["ps1", "--cluster", "http://x:1"], "'--cluster' must be a Dask scheduler address"),
    (["ps1", "--db", "mysql://x"], "'--db' must be a sqlite:///PATH or postgresql://"),
])
def test_setup_errors_name_the_parameter(tmp_path, args, words):
    """Does a wrong argument stop the command with a message naming it and what is allowed?"""
    import subprocess
    course = B.make_course(str(tmp_path / "course"))
    os.makedirs(tmp_path / "subs")
    cmd = [sys.executable, "-m", "course.cli", "grade", args[0], str(tmp_path / "subs"),
           "--course-root", course, "--out", str(tmp_path / "out"), *args[1:]]
    proc = subprocess.run(cmd, env=B.cli_env(), capture_output=True, text=True)
    assert proc.returncode != 0
    assert words in proc.stderr


def test_unwritable_out_and_missing_solutions_are_setup_errors(tmp_path):
    """Do an output path that is a file, or a course without solutions, fail clearly?"""
    from course.cli import main
    course = B.make_course(str(tmp_path / "course"))
    os.makedirs(tmp_path / "subs")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["grade", "ps1", str(tmp_path / "subs"), "--course-root", course,
                 "--out", str(blocker)]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["grade", "ps1", str(tmp_path / "subs"), "--course-root", str(empty),
                 "--out", str(tmp_path / "o")]) == 2
