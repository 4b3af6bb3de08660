"""Command line of the course package: ``coproduction-course SUBCOMMAND ...``.

Subcommands
-----------
grade
    Grade every submission of one assignment with nbgrader; writes ``grades.csv``,
    ``feedback/<student>.html`` and ``report.html`` (see ``docs/grading.md``).
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "build_parser"]


def _error(command, exc):
    """Print a setup error, naming a wrong option as the flag the user typed; returns exit status 2."""
    text = str(exc)
    option = getattr(exc, "option", None)
    if option and option not in ("assignment", "submissions"):
        text = text.replace(f"'{option}'", f"'--{option.replace('_', '-')}'", 1)
    print(f"coproduction-course {command}: error: {text}", file=sys.stderr)
    return 2


def _course_options(parser):
    """The options that say which course and gradebook a command works on."""
    parser.add_argument("--db", default=None, help="gradebook URL (default: the course's)")
    parser.add_argument("--course-root", default=".", help="folder with nbgrader_config.py (default: current folder)")


def build_parser():
    from .grading.collect import DEFAULT_LMS_PATTERN

    parser = argparse.ArgumentParser(prog="coproduction-course",
                                     description="Tools for the Coproduction of Health course.")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade all submissions of one assignment",
                       description="Grade every submission of ASSIGNMENT with nbgrader, in "
                                   "parallel and isolated; write grades.csv, feedback and a report.")
    g.add_argument("assignment", help="assignment name, a folder of the solutions directory")
    g.add_argument("submissions", help="nbgrader submitted/ folder (<student>/<assignment>/"
                   "<notebook>.ipynb), or a flat folder or .zip as an LMS downloads it")
    g.add_argument("--jobs", default=None,
                   help="worker processes (default: number of CPUs + 1)")
    g.add_argument("--out", default="graded", help="output folder (default: ./graded)")
    g.add_argument("--db", default=None, help="gradebook URL: sqlite:///PATH (default: the "
                   "course's) or postgresql://USER@HOST:PORT/DATABASE")
    g.add_argument("--timeout", default=60,
                   help="seconds one cell may run (default: 60)")
    g.add_argument("--submission-timeout", default=None,
                   help="seconds one whole submission may run, all cells and attempts together "
                        "(default: 10 times --timeout)")
    g.add_argument("--course-root", default=".", help="folder with nbgrader_config.py and "
                   "the solutions (default: current folder)")
    g.add_argument("--lms-pattern", default=DEFAULT_LMS_PATTERN,
                   help="regular expression with named groups student_id and file_id for LMS "
                        f"file names (default: {DEFAULT_LMS_PATTERN!r})".replace("%", "%%"))
    g.add_argument("--memory-mb", default=2048,
                   help="memory limit of one student's kernel in MB (default: 2048)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--no-feedback", dest="feedback", action="store_false",
                   help="do not write feedback pages (faster; grades and the report as usual)")
    g.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="grade on the workers of a Dask distributed cluster whose scheduler is at "
                        "ADDRESS (for example tcp://10.0.0.5:8786); this machine still records every "
                        "result. Default: worker processes on this machine (see docs/grading.md)")
    f = sub.add_parser("feedback", help="write feedback pages again, with tutors' marks and comments",
                       description="Render every graded student's feedback page of ASSIGNMENT from the "
                                   "course gradebook: automatic marks, tutor marks and comments, no mark "
                                   "schemes or keys. Grades nothing.")
    f.add_argument("assignment", help="assignment name")
    f.add_argument("--out", default="graded", help="output folder; pages go to OUT/feedback and, one per notebook, to "
                   "the course's feedback/ folder for nbgrader release_feedback (default: ./graded)")
    _course_options(f)
    x = sub.add_parser("export", help="write an assignment's grades for the LMS gradebook to import",
                       description="Write ASSIGNMENT's grades (automatic and tutor marks) as a Canvas or Moodle "
                                   "gradebook import file, matched to students through a roster CSV.")
    x.add_argument("assignment", help="assignment name")
    x.add_argument("--lms", required=True, choices=["canvas", "moodle"], help="the import format")
    x.add_argument("--roster", required=True, help="CSV with student_id and name, email, sis_user_id, "
                   "sis_login_id, section as the format needs (see docs/grading.md)")
    x.add_argument("--out", required=True, help="the file to write")
    x.add_argument("--column", default=None, help="the gradebook column's name (default: the assignment name)")
    x.add_argument("--allow-pending", action="store_true",
                   help="export the marks so far of students still awaiting a tutor (default: leave them empty)")
    _course_options(x)
    b = sub.add_parser("bundle", help="package one assignment for students who only have the LMS",
                       description="Write OUT/ASSIGNMENT.zip: the student version, the lessons and the course "
                                   "package as one wheel, with a README (install with one pip command).")
    b.add_argument("assignment", help="assignment name")
    b.add_argument("--out", default="bundles", help="output folder (default: ./bundles)")
    b.add_argument("--course-root", default=".", help="the course repository (default: current folder)")
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "grade":
        from .grading import GradeOptions, GradingSetupError, run_grade
        try:
            # the text as typed: GradeOptions alone checks and converts every value
            opts = GradeOptions(assignment=args.assignment, submissions=args.submissions,
                                out=args.out, jobs=args.jobs, db=args.db,
                                timeout=args.timeout, course_root=args.course_root,
                                lms_pattern=args.lms_pattern, memory_mb=args.memory_mb,
                                quiet=args.quiet, feedback=args.feedback, cluster=args.cluster,
                                submission_timeout=args.submission_timeout)
            return run_grade(opts)
        except GradingSetupError as exc:
            return _error("grade", exc)
        except KeyboardInterrupt:
            print("interrupted: grades already recorded are kept; run the same command "
                  "again to grade the rest", file=sys.stderr)
            return 130
    if args.command == "feedback":
        from .grading import GradingSetupError
        from .grading.feedback import write_feedback
        try:
            students = write_feedback(args.assignment, args.out, course_root=args.course_root, db=args.db)
        except GradingSetupError as exc:
            print(f"coproduction-course feedback: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(students)} feedback page(s) to {os.path.join(args.out, 'feedback')}")
        return 0
    if args.command == "export":
        from .grading import GradingSetupError
        from .grading.export import export_grades
        try:
            res = export_grades(args.assignment, args.lms, args.roster, args.out, course_root=args.course_root,
                                db=args.db, allow_pending=args.allow_pending, column=args.column)
        except GradingSetupError as exc:
            print(f"coproduction-course export: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {res.exported} grade(s) to {res.path} for {args.lms}")
        for sid, why in res.left_empty:
            print(f"left empty: {sid}: {why}")
        return 0
    if args.command == "bundle":
        from .grading import GradingSetupError
        from .grading.bundle import write_bundle
        try:
            path = write_bundle(args.assignment, args.out, course_root=args.course_root)
        except GradingSetupError as exc:
            print(f"coproduction-course bundle: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}: hand it out through the LMS; its README.txt tells students what to do")
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
