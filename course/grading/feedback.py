"""The ``feedback`` command: feedback pages from the gradebook, tutor marks and comments included.

``coproduction-course grade`` writes feedback as soon as the automatic marks exist; written answers
then show "awaiting your tutor". Once tutors have marked in nbgrader's formgrader, this command
renders every graded student's page again from the course gradebook: automatic marks, tutor
marks and tutor comments, without mark schemes, keys or hidden tests (nbgrader's own
``generate_feedback`` shows mark schemes). Nothing is graded again.

The same pages, one per notebook, go to nbgrader's feedback folder
(``feedback/<student>/<assignment>/<notebook>.html`` in the course), where ``nbgrader
release_feedback`` finds them: on a hub with the exchange, students fetch these pages instead of
the ones ``generate_feedback`` would write. Only submissions that came through the exchange
(their ``submission_secret.txt`` is in ``submitted/``) get one: the others were not handed in
that way and cannot be handed back that way.
"""
from __future__ import annotations

import glob
import os

__all__ = ["write_feedback"]


def _for_release(submitted_dir, feedback_dir, notebook, page):
    """Put ``page`` where ``nbgrader release_feedback`` looks, with the submission's timestamp and secret."""
    import shutil
    secret = os.path.join(submitted_dir, "submission_secret.txt")
    stamp = os.path.join(submitted_dir, "timestamp.txt")
    if not (os.path.isfile(secret) and os.path.isfile(stamp)):
        return False
    from .recording import atomic_write as _atomic_write
    os.makedirs(feedback_dir, exist_ok=True)
    shutil.copyfile(secret, os.path.join(feedback_dir, "submission_secret.txt"))
    shutil.copyfile(stamp, os.path.join(feedback_dir, "timestamp.txt"))
    _atomic_write(os.path.join(feedback_dir, notebook + ".html"), page)
    return True


def write_feedback(assignment: str, out: str, course_root: str = ".", db: str | None = None) -> list:
    """Write ``out/feedback/<student>.html`` for every autograded student; returns their ids."""
    from .contracts import GradeOptions, GradingSetupError
    from .gradebook import gradebook_url as _db_url, load_config as _load_config
    from .recording import atomic_write as _atomic_write, feedback_html as _feedback_html, no_scripts as _no_scripts
    from .worker import _feedback_exporter, _quiet, _read_grades
    from .data_grade import mark_pending

    _quiet()
    root = os.path.abspath(course_root)
    config = _load_config(root)
    autograded = os.path.join(root, config.CourseDirectory.get("autograded_directory", "autograded"))
    nbgrader_feedback = os.path.join(root, config.CourseDirectory.get("feedback_directory", "feedback"))
    submitted = os.path.join(root, config.CourseDirectory.get("submitted_directory", "submitted"))
    notebooks = sorted(glob.glob(os.path.join(autograded, "*", assignment, "*.ipynb")))
    if not notebooks:
        raise GradingSetupError(
            f"no graded work of {assignment!r} under {os.path.relpath(autograded)}: run "
            f"'coproduction-course grade {assignment} SUBMISSIONS' first (from the course root).")
    db_url = _db_url(GradeOptions(assignment=assignment, submissions=".", db=db), config, root)
    exporter = _feedback_exporter(config)
    os.makedirs(os.path.join(out, "feedback"), exist_ok=True)
    by_student = {}
    for path in notebooks:
        student = os.path.basename(os.path.dirname(os.path.dirname(path)))
        by_student.setdefault(student, []).append(path)
    for student, paths in sorted(by_student.items()):
        grades = _read_grades(db_url, assignment, student)
        pages = {}
        for path in paths:
            name = os.path.splitext(os.path.basename(path))[0]
            resources = {"unique_key": name, "output_files_dir": f"{name}_files",
                         "nbgrader": {"student": student, "assignment": assignment, "notebook": name,
                                      "db_url": db_url}}
            page, _ = exporter.from_filename(path, resources=resources)
            pages[name] = mark_pending(page, grades.get(name, {}).get("grades", {}))
            _for_release(os.path.join(submitted, student, assignment),
                         os.path.join(nbgrader_feedback, student, assignment), name, _no_scripts(pages[name]))
        _atomic_write(os.path.join(out, "feedback", student + ".html"), _feedback_html(student, pages))
    return sorted(by_student)
