"""The ``export`` command: an assignment's grades as a file the LMS gradebook imports.

Scores come from the course gradebook (automatic and tutor marks together). A roster file, which
the instructor exports from the LMS, says who each student id is::

    student_id,name,email,sis_user_id,sis_login_id,section
    10031,An Nguyen,an.nguyen@example.edu,S10031,anguyen,Group A

``student_id`` is the id the grade command used (Canvas's numeric user id, Moodle's participant
id, or the nbgrader id); the other columns are optional, but each format needs its own: Canvas
matches rows on its user id (``ID``) or the SIS columns, Moodle on the email address.

Nothing is exported silently wrong: a student still awaiting a tutor's marks, or without a
graded submission, gets an empty grade (the LMS leaves it ungraded) and is listed, unless
``--allow-pending`` exports the marks so far; a graded student missing from the roster is an error.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass

__all__ = ["export_grades", "read_roster", "ExportResult", "FORMATS"]

FORMATS = ("canvas", "moodle")
ROSTER_COLUMNS = ("student_id", "name", "email", "sis_user_id", "sis_login_id", "section")


@dataclass(frozen=True)
class ExportResult:
    path: str
    exported: int
    left_empty: tuple   #: (student id, why) of rows whose grade was left empty
    not_in_roster: tuple


def read_roster(path: str) -> dict:
    """``{student_id: {column: value}}``; errors name the file, the row and what is expected."""
    from .contracts import GradingSetupError
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "student_id" not in reader.fieldnames:
                raise GradingSetupError(f"the roster {path!r} must be a CSV file whose first row names its "
                                        f"columns, among them student_id (allowed: {', '.join(ROSTER_COLUMNS)}). "
                                        f"Got {reader.fieldnames!r} instead.")
            roster = {}
            for i, row in enumerate(reader, start=2):
                sid = (row.get("student_id") or "").strip()
                if not sid:
                    raise GradingSetupError(f"row {i} of the roster {path!r} has no student_id.")
                if sid in roster:
                    raise GradingSetupError(f"student_id {sid!r} appears twice in the roster {path!r} (row {i}).")
                roster[sid] = {k: (row.get(k) or "").strip() for k in ROSTER_COLUMNS}
            return roster
    except OSError as exc:
        raise GradingSetupError(f"the roster {path!r} cannot be read: {exc.strerror or exc}") from None


def _scores(db_url, course_id, assignment):
    from nbgrader.api import Gradebook, MissingEntry

    from .gradebook import breakdown as _breakdown
    out = {}
    with Gradebook(db_url, course_id) as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            subs = []
        max_score = float(gb.find_assignment(assignment).max_score) if subs else 0.0
        for sub in subs:
            b = _breakdown(gb, assignment, sub.student.id)
            out[sub.student.id] = (b["auto_points"] + b["manual_points"], b["pending_points"])
    return out, max_score


def export_grades(assignment, lms, roster_path, out, *, course_root=".", db=None, allow_pending=False,
                  column=None) -> ExportResult:
    """Write ``out`` in the ``lms`` import format (see the module docstring)."""
    from .report import _csv_safe
    from .contracts import GradeOptions, GradingSetupError
    from .gradebook import gradebook_url as _db_url, load_config as _load_config
    if lms not in FORMATS:
        raise GradingSetupError(f"'lms' must be one of {FORMATS}. Got {lms!r} instead.")
    root = os.path.abspath(course_root)
    config = _load_config(root)
    db_url = _db_url(GradeOptions(assignment=assignment, submissions=".", db=db), config, root)
    roster = read_roster(roster_path)
    scores, max_score = _scores(db_url, config.CourseDirectory.get("course_id", ""), assignment)
    if not scores:
        raise GradingSetupError(f"the gradebook has no graded submission of {assignment!r}: run the grade "
                                "command first.")
    missing = tuple(sorted(set(scores) - set(roster)))
    if missing:
        raise GradingSetupError(f"{len(missing)} graded student(s) are not in the roster {roster_path!r}: "
                                f"{', '.join(missing[:10])}. Add them (student_id as the grade command used it).")
    if lms == "moodle":
        empty = [sid for sid, s in scores.items() if not roster[sid]["email"]]
        if empty:
            raise GradingSetupError(f"Moodle matches grades by email address, but the roster has none for "
                                    f"{', '.join(sorted(empty)[:10])}.")
    column = column or assignment
    left_empty, rows = [], []
    for sid in sorted(roster):
        person = roster[sid]
        grade = ""
        if sid not in scores:
            left_empty.append((sid, "no graded submission (none received, or rejected)"))
        else:
            score, pending = scores[sid]
            if pending and not allow_pending:
                left_empty.append((sid, f"awaiting a tutor's marks ({pending:g} points)"))
            else:
                grade = f"{score:g}"
        if lms == "canvas":
            rows.append([_csv_safe(person["name"] or sid), sid, _csv_safe(person["sis_user_id"]),
                         _csv_safe(person["sis_login_id"]), _csv_safe(person["section"]), grade])
        else:
            rows.append([_csv_safe(person["name"] or sid), _csv_safe(person["email"]), grade])
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if lms == "canvas":
            w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
            w.writerow(["    Points Possible", "", "", "", "", f"{max_score:g}"])
        else:
            w.writerow(["Full name", "Email address", column])
        w.writerows(rows)
    return ExportResult(out, sum(1 for r in rows if r[-1] != ""), tuple(left_empty),
                        tuple(sorted(set(roster) - set(scores))))
