"""The course gradebook: reading the course's nbgrader configuration, creating the gradebook and the
assignment in it, and writing one student's grades (from the grader's coordinating process only).
"""
from __future__ import annotations

import contextlib
import functools
import os
import shutil

from .contracts import GradingSetupError

__all__ = ['load_config', 'gradebook_url', 'generate_release', 'create_gradebook', 'ensure_student', 'ensure_assignment', 'merge_grades', 'submission_score', 'breakdown', 'assignment_max_score']


def load_config(course_root):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    path = os.path.join(course_root, "nbgrader_config.py")
    if os.path.exists(path):
        return PyFileConfigLoader("nbgrader_config.py", path=course_root).load_config()
    return Config()


def gradebook_url(opts, config, course_root):
    url = opts.db or config.CourseDirectory.get("db_url") or (
        "sqlite:///" + os.path.join(os.path.abspath(course_root), "gradebook.db"))
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")
            or url.startswith("postgresql+psycopg2://")):
        raise GradingSetupError(
            "'db' must be a sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE URL. "
            f"Got {url!r} instead.")
    return url


def generate_release(config, root, source_dir, release_dir, db_url, assignment):
    """Run nbgrader's generate_assignment with ``root`` as a private course folder."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    c = _copy_config(config)
    c.CourseDirectory.root = root
    c.CourseDirectory.source_directory = source_dir
    c.CourseDirectory.release_directory = release_dir
    c.CourseDirectory.db_url = db_url
    c.Exchange.root = os.path.join(root, "exchange")
    api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
    res = api.generate_assignment(assignment, force=True)
    if not res["success"]:
        raise GradingSetupError(
            f"nbgrader could not generate the student version of {assignment!r} from "
            f"its solutions: {res.get('error') or ''}{(res.get('log') or '')[-1500:]}")


def _copy_config(config):
    import copy
    return copy.deepcopy(config)


@functools.lru_cache(maxsize=1)
def _alembic_head():
    """The gradebook schema version nbgrader stamps into a new gradebook, or None.

    nbgrader finds it by running the ``alembic`` command (a second or more per new
    gradebook); reading nbgrader's migration scripts in-process gives the same answer.
    """
    try:
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR
        return ScriptDirectory(ALEMBIC_DIR).get_current_head()
    except Exception:  # pragma: no cover - let nbgrader find it the slow way
        return None


def create_gradebook(db_url, course_id):
    """Open (and so create, if needed) a gradebook as nbgrader does, minus the subprocess."""
    from unittest import mock

    import nbgrader.api
    head = _alembic_head()
    if head is None:
        nbgrader.api.Gradebook(db_url, course_id).close()
        return
    with mock.patch.object(nbgrader.api, "get_alembic_version", lambda: head):
        nbgrader.api.Gradebook(db_url, course_id).close()


#: PostgreSQL advisory-lock keys (any two fixed numbers): grade commands sharing one gradebook
#: (two assignments graded at once) take turns creating its tables, course and assignment, and students.
_LOCK_SETUP, _LOCK_STUDENTS = 0x636F70726F640001, 0x636F70726F640002


@contextlib.contextmanager
def _setup_lock(db_url):
    """Hold a PostgreSQL advisory lock while this command creates the gradebook's tables, course and
    assignment: two commands started at once on a new gradebook would otherwise both create them, and
    one would fail on the other's rows. (SQLite: a new gradebook file appears in one step, above.)"""
    if not db_url.startswith("postgresql"):
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool
    engine = sqlalchemy.create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:  # the lock lasts as long as this connection
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_SETUP})
            conn.commit()
            yield
    finally:
        engine.dispose()


def ensure_student(gb, student):
    """``update_or_create_student``, safe when another grade command creates the same student at the
    same moment: on PostgreSQL the creation waits for a lock; a unique-key clash is read back."""
    from nbgrader.api import InvalidEntry, MissingEntry
    for attempt in range(3):
        try:
            return gb.find_student(student)
        except MissingEntry:
            pass
        try:
            if gb.engine.dialect.name == "postgresql":  # held until update_or_create_student commits
                import sqlalchemy
                gb.db.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_STUDENTS})
            return gb.update_or_create_student(student)
        except InvalidEntry:  # created by another command meanwhile: read it on the next turn
            gb.db.rollback()
            if attempt == 2:
                raise


def ensure_assignment(config, db_url, template_root, assignment, release_nbs, course_id,
                           template_db=None):
    """Make sure the course gradebook has the assignment with the released cells.

    A SQLite gradebook that does not exist yet becomes a copy of the template gradebook
    (which ``generate_assignment`` just filled with this assignment); otherwise the
    assignment is generated into the course gradebook, as ``nbgrader generate_assignment``
    would do.
    """
    with _setup_lock(db_url):
        _ensure_assignment_locked(config, db_url, template_root, assignment, release_nbs,
                                      course_id, template_db)


def _ensure_assignment_locked(config, db_url, template_root, assignment, release_nbs, course_id,
                                  template_db):
    from nbgrader.api import Gradebook, MissingEntry
    if template_db and db_url.startswith("sqlite:///"):
        path = db_url[len("sqlite:///"):]
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            shutil.copyfile(template_db, tmp)
            try:
                os.link(tmp, path)  # fails if someone created it meanwhile: then use theirs
            except OSError:
                pass
            finally:
                os.unlink(tmp)
    create_gradebook(db_url, course_id)
    wanted = {name: sorted(g for g in _grade_cells(nb)) for name, nb in release_nbs.items()}
    try:
        with Gradebook(db_url, course_id) as gb:
            a = gb.find_assignment(assignment)
            have = {nb.name: sorted(gc.name for gc in nb.grade_cells) for nb in a.notebooks}
        if have == wanted:
            return
    except MissingEntry:
        pass
    generate_release(config, template_root, "source", "release_main", db_url, assignment)


def _grade_cells(nb):
    """The grade ids of the scored cells of a released (trusted) notebook, as nbgrader finds them."""
    from nbgrader.utils import is_grade
    for cell in nb.cells:
        if is_grade(cell):
            yield cell.metadata["nbgrader"]["grade_id"]


def _open(db_url, course_id, gb=None):
    """A gradebook context: ``gb`` itself when one is already open, else a new one."""
    import contextlib

    from nbgrader.api import Gradebook
    return contextlib.nullcontext(gb) if gb is not None else Gradebook(db_url, course_id)


def merge_grades(db_url, course_id, assignment, student, grades, timestamp, gb=None):
    """Copy one worker's grades into the course gradebook (manual scores are kept)."""
    with _open(db_url, course_id, gb) as gb:
        ensure_student(gb, student)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)
        sub = gb.find_submission(assignment, student)
        known = {nb.name for nb in sub.notebooks}
        for nb_name in known:
            data = grades.get(nb_name)
            for grade in gb.find_submission_notebook(nb_name, assignment, student).grades:
                g = (data or {}).get("grades", {}).get(grade.name)
                if g is None:  # notebook missing from the submission: zero, like nbgrader
                    grade.auto_score, grade.needs_manual_grade = 0, False
                else:
                    grade.auto_score = g["auto_score"]
                    grade.needs_manual_grade = g["needs_manual_grade"]
            if data:
                for cm in gb.find_submission_notebook(nb_name, assignment, student).comments:
                    if cm.name in data.get("comments", {}):
                        cm.auto_comment = data["comments"][cm.name]
        gb.db.commit()


def submission_score(db_url, course_id, assignment, student, gb=None):
    from nbgrader.api import MissingEntry
    with _open(db_url, course_id, gb) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return float(sub.score), float(sub.max_score)


def breakdown(gb, assignment, student):
    """Automatic, manual (tutor) and still-pending points of one student's submission."""
    auto = manual = pending = 0.0
    for nb in gb.find_submission(assignment, student).notebooks:
        for g in nb.grades:
            extra = g.extra_credit or 0.0
            if g.manual_score is not None:
                manual += g.manual_score + extra
            elif g.needs_manual_grade:
                pending += g.max_score
            else:
                auto += (g.auto_score or 0.0) + extra
    return {"auto_points": auto, "manual_points": manual, "pending_points": pending,
            "marking": "awaiting manual marking" if pending else "complete"}


def assignment_max_score(db_url, course_id, assignment):
    from nbgrader.api import Gradebook
    with Gradebook(db_url, course_id) as gb:
        return float(gb.find_assignment(assignment).max_score)
