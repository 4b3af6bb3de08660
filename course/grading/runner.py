"""The ``grade`` command: from a folder of submissions to grades, feedback and a report.

Stages, in order (each depends on the one before, and each lives in its own module):

1. **setup** (:mod:`.prepare`): check the options (:class:`~.contracts.GradeOptions`) against
   the course; an unknown assignment, missing solutions or an unwritable output folder end
   the command with a message, and nothing else does. Generate the student version once into
   a private template (its gradebook holds the assignment's cells) and make sure the course
   gradebook knows the assignment; prove the sandbox with a known-good notebook;
2. **intake** (:mod:`.collect`, :mod:`.intake`, :mod:`.preflight`): collect the submissions and
   check each one without running it; a submission already in the journal is not graded again;
3. **grading pool** (:mod:`.pool` or :mod:`.cluster`, each task graded by :mod:`.worker`):
   one :class:`~.contracts.Task` per submission, each in its own scratch folder and sandbox;
4. **recording** (:mod:`.recording`): merge each :class:`~.contracts.Result` into the course
   gradebook from this process only (a single writer), write its feedback, then append its
   :class:`~.contracts.JournalEntry` to the journal (the commit point);
5. **report** (:mod:`.report`): write ``grades.csv``, ``audit.csv`` and ``report.html`` and
   print a summary.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
import warnings

from . import collect as _collect
from .contracts import GradeOptions, GradingSetupError
from .journal import Journal

__all__ = ["GradeOptions", "run_grade", "GradingSetupError", "GRADER_VERSION"]

#: Part of every journal key: bump it when a change to the grader changes grades.
GRADER_VERSION = "2"


def _quiet_warnings():
    try:
        from sqlalchemy.exc import SAWarning
        warnings.filterwarnings("ignore", category=SAWarning)
    except ImportError:  # pragma: no cover
        pass


def run_grade(opts: GradeOptions) -> int:
    """Grade every submission; returns the exit status (0 when the command could run)."""
    from .pool import run_pool
    from .prepare import check_course, make_scratch_root

    if not isinstance(opts, GradeOptions):
        raise GradingSetupError(f"'opts' must be a GradeOptions. Got {type(opts).__name__} instead.")
    _quiet_warnings()
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    started = time.monotonic()
    course = check_course(opts)
    pool = run_pool
    if opts.cluster:  # the same work on a Dask cluster's workers (an unusable address: a setup error)
        from .cluster import connect
        pool = connect(opts.cluster)
        course = _with_jobs(course, pool.cores)
    scratch_root = make_scratch_root()
    try:
        return _run(opts, course, scratch_root, started, pool)
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
        if pool is not run_pool:
            pool.close()


def _with_jobs(course, jobs):
    import dataclasses
    return dataclasses.replace(course, jobs=jobs)


def _run(opts, course, scratch_root, started, pool):
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    from .gradebook import breakdown, merge_grades, submission_score
    from .intake import plan_intake
    from .pool import run_pool
    from .prepare import prepare_assignment
    from .recording import Recorder, write_audit
    from .report import summary_lines, write_grades_csv, write_report
    from .worker import grade_one

    timings = {}
    # 1. setup
    setup = prepare_assignment(opts, course, scratch_root, GRADER_VERSION)
    timings["setup"] = time.monotonic() - started
    A = setup.assignment

    # 2. intake
    try:
        subs, unmatched = _collect.collect_submissions(opts.submissions, A, opts.lms_pattern)
    except (ValueError, OSError) as exc:  # not a folder or zip, or a zip that cannot be read
        raise GradingSetupError(f"the submissions at {opts.submissions!r} cannot be read: {exc}") from None
    if not subs:
        raise GradingSetupError(
            f"no submission of {A!r} was found in {opts.submissions!r}"
            + (f" (files that match no layout: {', '.join(unmatched[:5])})" if unmatched else "")
            + ". Accepted: nbgrader's <student>/<assignment>/<notebook>.ipynb, one folder per student, "
              "Canvas or Moodle downloads (folder or .zip), or --lms-pattern for other file names.")
    submitted_dir = os.path.realpath(os.path.join(course.root, course.coursedirs["submitted"]))
    journal = Journal(os.path.join(course.out, "journal.jsonl"))
    intake = plan_intake(subs, journal, setup, opts, course)
    for sid, grades, timestamp in intake.merges:
        merge_grades(course.db_url, course.course_id, A, sid, grades, timestamp)
    for entry in intake.new_entries:
        journal.append(entry)
    timings["checks"] = time.monotonic() - started - timings["setup"]

    # 3. grading pool and 4. recording
    record = Recorder(course=course, setup=setup, journal=journal,
                      copy_submitted=os.path.realpath(opts.submissions) != submitted_dir)
    mark = time.monotonic()
    pool(intake.tasks, course.jobs, grade_one, record, tqdm, opts.quiet)
    timings["grading"] = time.monotonic() - mark
    protections = list(setup.protections)
    if pool is not run_pool:
        protections = pool.protections(protections)
    rows = {**intake.rows, **record.rows}

    # 5. report
    out_rows = []
    with Gradebook(course.db_url, course.course_id) as gb:
        for sub in subs:
            row = rows[sub.student_id].to_dict()
            if row["status"] == "graded":
                score = submission_score(course.db_url, course.course_id, A, sub.student_id, gb)
                if score:
                    row["score"] = score[0]
                    row.update(breakdown(gb, A, sub.student_id))
            out_rows.append(row)
    write_grades_csv(os.path.join(course.out, "grades.csv"), out_rows)
    write_audit(os.path.join(course.out, "audit.csv"), record.audit)
    elapsed = time.monotonic() - started
    mark = time.monotonic()
    write_report(os.path.join(course.out, "report.html"), assignment=A, rows=out_rows,
                 max_score=setup.max_score, protections=protections, seconds=elapsed)
    timings["report"] = time.monotonic() - mark
    print("\n".join(summary_lines(
        assignment=A, rows=out_rows, max_score=setup.max_score, graded_now=len(intake.tasks),
        seconds=elapsed, jobs=course.jobs, timings=timings, out=course.out,
        regraded_cells=record.regraded_cells, unmatched=unmatched)))
    return 0
