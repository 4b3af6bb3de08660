"""The grader's contracts and stages, tested without starting a process or a kernel.

* :class:`GradeOptions` checks every value in one place and names what was wrong;
* tasks, results and journal entries survive pickling (they cross process boundaries) and
  the journal reads lines written by older versions;
* the journal keeps the last good record when a line is cut short or edited by hand;
* intake sorts submissions into known outcomes and tasks, and one strange submission
  becomes that student's row only;
* recording a grader failure never hides a grade already recorded.
"""
from __future__ import annotations

import json
import pickle

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.grading.collect import Submission
from course.grading.contracts import GradeOptions, GradingSetupError, JournalEntry, Result, Task
from course.grading.intake import plan_intake
from course.grading.journal import Journal
from course.grading.prepare import Course, Setup
from course.grading.recording import Recorder


# --- options -----------------------------------------------------------------------------

@pytest.mark.parametrize("changes, words", [
    (dict(jobs=-1), "'jobs' must be an integer >= 1, or 0 for the default"),
    (dict(jobs="two"), "Got 'two' instead."),
    (dict(jobs=True), "'jobs' must be an integer"),
    (dict(timeout=0), "'timeout' must be a number of seconds in (0, inf). Got 0 instead."),
    (dict(timeout="nan"), "'timeout' must be a number of seconds"),
    (dict(timeout=float("inf")), "'timeout' must be a number of seconds"),
    (dict(submission_timeout=-3), "'submission_timeout' must be a number of seconds"),
    (dict(memory_mb=255), "'memory_mb' must be an integer >= 256 (megabytes). Got 255 instead."),
    (dict(memory_mb=512.5), "'memory_mb' must be an integer >= 256"),
    (dict(quiet="yes"), "'quiet' must be True or False. Got 'yes' instead."),
    (dict(assignment="../ps1"), "'assignment' must be the name of a folder of the solutions directory"),
    (dict(assignment=""), "'assignment' must be the name of a folder"),
    (dict(submissions=""), "'submissions' must be a folder or a .zip file"),
    (dict(db="mysql://u@h/db"), "'db' must be a sqlite:///PATH or postgresql://"),
    (dict(lms_pattern="(?P<student_id>"), "'lms_pattern' must be a regular expression ("),
    (dict(lms_pattern="(?P<student_id>.+)"), "(missing: file_id)"),
    (dict(cluster="localhost"), "'cluster' must be a Dask scheduler address"),
])
def test_every_bad_option_is_named_with_what_is_allowed(changes, words):
    with pytest.raises(GradingSetupError) as info:
        GradeOptions(**dict(dict(assignment="ps1", submissions="subs"), **changes))
    assert words in str(info.value)
    assert info.value.option == next(iter(changes))


def test_options_given_as_text_are_converted_once():
    opts = GradeOptions(assignment="ps1", submissions="subs", jobs="3", timeout="2.5", memory_mb=" 512 ",
                        submission_timeout="30")
    assert (opts.jobs, opts.timeout, opts.memory_mb, opts.submission_timeout) == (3, 2.5, 512, 30)
    assert isinstance(opts.submission_timeout, int) and GradeOptions(assignment="a", submissions="s").jobs == 0
    assert GradeOptions(assignment="a", submissions="s", jobs=None).jobs == 0


def test_the_command_line_reports_the_options_own_words_with_the_flag(capsys):
    from course.cli import main
    assert main(["grade", "ps1", "subs", "--memory-mb", "12"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("coproduction-course grade: error: '--memory-mb' must be an integer >= 256 "
                           "(megabytes). Got '12' instead.")


# --- picklable contracts -----------------------------------------------------------------

def test_task_result_and_entry_survive_pickling_with_a_real_config():
    from traitlets.config import Config
    c = Config()
    c.CourseDirectory.course_id = "c"
    task = Task(student_id="ann", assignment="ps1", key="k", notebooks={"ps1": "{}"}, notes=("late",),
                config=c, order=["2026-01-01T00:00:00", 3])
    again = pickle.loads(pickle.dumps(task))
    assert again == task and again.config.CourseDirectory.course_id == "c"
    result = Result(student_id="ann", key="k", status="graded", grades={"ps1": {"grades": {}}}, seconds=1.5)
    assert pickle.loads(pickle.dumps(result)) == result
    entry = JournalEntry(student_id="ann", key="k", status="graded", grades={"ps1": {}}, order=[" ", 1])
    assert pickle.loads(pickle.dumps(entry)) == entry
    assert JournalEntry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry
    with pytest.raises(dataclasses_frozen()):
        task.student_id = "bob"  # a task cannot be changed on its way


def dataclasses_frozen():
    import dataclasses
    return dataclasses.FrozenInstanceError


def test_a_journal_line_from_an_older_version_reads_with_defaults():
    old = {"student_id": "ann", "key": "k", "status": "rejected", "score": 0.0, "reason": "empty",
           "something_removed_since": 1}
    entry = JournalEntry.from_dict(old)
    assert (entry.retry, entry.limited, entry.grades, entry.reason) == (False, False, None, "empty")
    with pytest.raises(TypeError):
        JournalEntry.from_dict(["not", "an", "object"])


# --- journal ------------------------------------------------------------------------------

def _graded(sid, key, score, **kw):
    return JournalEntry(student_id=sid, key=key, status="graded", score=score, grades={"nb": {"grades": {}}}, **kw)


def test_the_journal_keeps_every_good_line_and_skips_cut_or_foreign_ones(tmp_path):
    path = tmp_path / "journal.jsonl"
    j = Journal(str(path))
    j.append(_graded("ann", "k1", 3.0))
    j.append(JournalEntry(student_id="bob", key="k2", status="rejected", retry=True, reason="disk full"))
    with open(path, "a") as fh:
        fh.write('[1, 2]\n{"student_id": "cat", "key"')  # a foreign line, then one cut short by a crash
    j2 = Journal(str(path))
    assert j2.get("ann", "k1").score == 3.0
    assert j2.get("bob", "k2") is None, "a grader failure must be tried again, not reused"
    assert j2.last_graded("bob") is None and j2.last_graded("ann").key == "k1"
    j2.append(_graded("cat", "k3", 1.0))  # after the cut line: on a line of its own
    assert Journal(str(path)).get("cat", "k3").score == 1.0
    with pytest.raises(TypeError, match="'entry' must be a JournalEntry"):
        j2.append({"student_id": "dan", "key": "k", "status": "graded"})


def test_a_later_failure_does_not_hide_the_last_grade(tmp_path):
    j = Journal(str(tmp_path / "journal.jsonl"))
    j.append(_graded("ann", "k1", 3.0))
    j.append(JournalEntry(student_id="ann", key="k2", status="rejected", retry=False, reason="empty"))
    assert Journal(j.path).last_graded("ann").score == 3.0


# --- intake -------------------------------------------------------------------------------

def _release():
    nb = new_notebook(cells=[
        new_markdown_cell("Question 1"),
        new_code_cell("answer = None", metadata={"nbgrader": {
            "grade": False, "solution": True, "locked": False, "grade_id": "q1", "schema_version": 3}}),
        new_code_cell("assert answer == 1", metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "grade_id": "t1", "points": 1,
            "schema_version": 3}}),
    ])
    return nb


def _setup(tmp_path, limits="memory=2048"):
    return Setup(assignment="ps1", scratch_root=str(tmp_path), template=str(tmp_path), template_db="t.db",
                 release_dir=str(tmp_path / "release"), release_nbs={"ps1": _release()}, max_score=1.0,
                 salt="salt", settings="settings", fingerprints={}, limits=limits)


def _course():
    from traitlets.config import Config
    return Course(root=".", config=Config(), solutions="s", course_id="c", db_url="sqlite:///x.db", out=".",
                  jobs=1, coursedirs={}, data_mode=False)


def _submission(sid, answer="1", **kw):
    nb = _release()
    nb.cells[1].source = f"answer = {answer}"
    return Submission(student_id=sid, files={"ps1.ipynb": nbformat.writes(nb).encode()},
                      received=[f"{sid}_ps1.ipynb"], **kw)


def test_intake_sorts_submissions_without_running_them(tmp_path):
    opts = GradeOptions(assignment="ps1", submissions="subs")
    setup = _setup(tmp_path)
    journal = Journal(str(tmp_path / "journal.jsonl"))
    cached, limited = _submission("cached"), _submission("limited")
    journal.append(_graded("cached", cached.content_hash(setup.salt), 1.0, limits="memory=2048"))
    journal.append(_graded("limited", limited.content_hash(setup.salt), 0.0, limits="memory=512",
                           limited=True))
    empty = Submission(student_id="empty", files={"ps1.ipynb": b""}, received=["empty_ps1.ipynb"])
    subs = [cached, limited, _submission("new"), empty]
    intake = plan_intake(subs, journal, setup, opts, _course())
    assert [t.student_id for t in intake.tasks] == ["limited", "new"], "limited: graded under other limits"
    assert intake.rows["cached"].score == 1.0 and [m[0] for m in intake.merges] == ["cached"]
    assert intake.rows["empty"].status == "rejected" and intake.rows["empty"].reason
    assert [e.student_id for e in intake.new_entries] == ["empty"]
    task = intake.tasks[1]
    assert task.key == subs[2].content_hash(setup.salt) and "answer = 1" in task.notebooks["ps1"]
    assert (task.timeout, task.assignment, task.data_mode) == (60, "ps1", False)


def test_an_older_submission_keeps_the_newer_grade(tmp_path):
    setup = _setup(tmp_path)
    journal = Journal(str(tmp_path / "journal.jsonl"))
    journal.append(_graded("ann", "newer", 1.0, order=["2026-03-02T10:00:00", -1]))
    old = _submission("ann", answer="2", timestamp="2026-03-01 10:00:00")
    intake = plan_intake([old], journal, setup, GradeOptions(assignment="ps1", submissions="s"), _course())
    assert not intake.tasks and intake.rows["ann"].score == 1.0
    assert "an older submission was received" in intake.rows["ann"].reason


def test_a_submission_that_breaks_intake_costs_only_its_own_row(tmp_path):
    class Strange(Submission):
        def content_hash(self, salt=""):
            raise RecursionError("maximum recursion depth exceeded")

    strange = Strange(student_id="odd", files={"ps1.ipynb": b"{}"})
    intake = plan_intake([strange, _submission("fine")], Journal(str(tmp_path / "j.jsonl")), _setup(tmp_path),
                         GradeOptions(assignment="ps1", submissions="s"), _course())
    assert [t.student_id for t in intake.tasks] == ["fine"]
    row = intake.rows["odd"]
    assert row.status == "rejected" and row.retry and "RecursionError" in row.reason


# --- recording ----------------------------------------------------------------------------

def test_a_grader_failure_is_recorded_for_retry_and_the_old_grade_stays(tmp_path):
    journal = Journal(str(tmp_path / "journal.jsonl"))
    journal.append(_graded("ann", "old", 1.0))
    record = Recorder(course=_course(), setup=_setup(tmp_path), journal=journal, copy_submitted=False)
    task = Task(student_id="ann", assignment="ps1", key="new", notebooks={})
    record(task, Result.failed(task, "BrokenProcessPool"))
    assert record.rows["ann"].score == 1.0 and "grader problem" in record.rows["ann"].reason
    again = Journal(journal.path)
    assert again.get("ann", "new") is None and again.last_graded("ann").key == "old"
    other = Task(student_id="bob", assignment="ps1", key="b1", notebooks={})
    record(other, Result.failed(other, "the notebook is not valid JSON", retry=False))
    assert Journal(journal.path).get("bob", "b1").status == "rejected"
