"""Does an interrupted grading run lose nothing, and does running it again finish the job?"""
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

CLASS = {
    "amy": B.notebook(),
    "ben": B.notebook({"mean": "def mean(xs):\n    return sum(xs) / len(xs)"}),
    "cat": B.notebook({"squares": "raise ValueError('todo')"}),
    "dan": B.notebook({"count_words": "def count_words(t):\n    return 0"}),
    "eve": B.notebook(),
}


def _journal_lines(out):
    path = os.path.join(out, "journal.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [line for line in fh if '"graded"' in line]


def test_killed_run_resumes_without_losing_or_duplicating_grades(tmp_path):
    """After SIGKILL part-way, does a re-run grade only what is missing, each grade once?"""
    course = B.make_course(str(tmp_path / "course"))
    subs = B.write_nbgrader_layout(str(tmp_path / "subs"),
                                   {s: {"ps1.ipynb": nb} for s, nb in CLASS.items()})
    out = str(tmp_path / "out")
    proc = subprocess.Popen(B.grade_cmd(course, subs, out, "--jobs", "1", "--timeout", "5"),
                            cwd=course, env=B.cli_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not _journal_lines(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = B.read_journal(out)
    assert any(e["status"] == "graded" for e in first)
    assert not os.path.exists(os.path.join(out, "grades.csv"))  # the run really was cut short

    done = B.run_grade(course, subs, out, "--jobs", "1", "--timeout", "5")
    rows = B.read_csv(out)
    assert sorted(rows) == sorted(CLASS)
    journal = B.read_journal(out)
    keys = [(e["student_id"], e["key"]) for e in journal]
    assert len(keys) == len(set(keys)), "a grade was recorded twice"
    graded_first = {e["student_id"] for e in first if e["status"] == "graded"}
    regraded = int(done.stdout.split("graded this run")[1].split()[0])
    assert regraded == len(CLASS) - len(graded_first)
    for e in first:  # grades recorded before the kill are still the ones reported
        assert float(rows[e["student_id"]]["score"]) == e["score"]

    # the same scores as an uninterrupted run of the same class
    ref_out = str(tmp_path / "ref")
    B.run_grade(B.make_course(str(tmp_path / "ref_course")), subs, ref_out, "--timeout", "5")
    assert B.read_csv(ref_out) == rows


def test_a_failed_regrade_keeps_the_grade_already_recorded(tmp_path):
    """If the grader fails on a student's newer submission, is the earlier grade kept and shown?"""
    from course.grading.worker import FAULT_ENV

    course = B.make_course(str(tmp_path / "course"))
    subs = str(tmp_path / "subs")
    out = str(tmp_path / "out")
    partly = B.notebook({"mean": "def mean(xs):\n    return 0"})
    B.write_nbgrader_layout(subs, {"amy": {"ps1.ipynb": partly}, "ben": {"ps1.ipynb": B.notebook()}})
    B.run_grade(course, subs, out, "--jobs", "2", "--timeout", "5")
    first = B.read_csv(out)
    assert first["amy"]["status"] == "graded" and first["ben"]["status"] == "graded"
    assert float(first["amy"]["score"]) < float(first["ben"]["score"])

    # amy resubmits the right answers, and the grader breaks while grading her new notebook
    B.write_nbgrader_layout(subs, {"amy": {"ps1.ipynb": B.notebook()}})
    env = dict(B.cli_env(), **{FAULT_ENV: "amy"})
    proc = subprocess.run(B.grade_cmd(course, subs, out, "--jobs", "2", "--timeout", "5"),
                          cwd=course, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    second = B.read_csv(out)
    assert second["amy"]["status"] == "graded"
    assert second["amy"]["score"] == first["amy"]["score"], "the recorded grade was hidden"
    assert "grader problem" in second["amy"]["reason"] and "next run" in second["amy"]["reason"]
    assert second["ben"] == first["ben"]
    assert any(e["student_id"] == "amy" and e["status"] == "graded" for e in B.read_journal(out))

    # the next run, with the grader working again, grades the new submission
    B.run_grade(course, subs, out, "--jobs", "2", "--timeout", "5")
    third = B.read_csv(out)
    assert third["amy"]["status"] == "graded"
    assert third["amy"]["score"] == first["ben"]["score"]
    assert "grader problem" not in third["amy"]["reason"]
    assert third["ben"] == first["ben"]
