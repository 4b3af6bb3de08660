"""The ``grade`` command: from a folder of submissions to grades, feedback and a report.

Steps, in order (each depends on the one before):

1. check the arguments and the course (unknown assignment, missing solutions, unwritable
   output folder end the command with a message; nothing else does);
2. generate the student version once into a private template (its gradebook holds the
   assignment's cells) and make sure the course gradebook knows the assignment;
3. collect the submissions and pre-flight each one (:mod:`.preflight`); a submission whose
   content hash is already in the journal is not graded again;
4. grade the rest in worker processes, each in its own scratch folder (:mod:`.worker`);
5. merge each result into the course gradebook from this process only (a single writer),
   write its feedback, then append it to the journal (the commit point);
6. write ``grades.csv`` and ``report.html`` and print a summary.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import glob
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass

from . import collect as _collect
from .journal import Journal
from .preflight import preflight
from .report import write_grades_csv, write_report

__all__ = ["GradeOptions", "run_grade", "GradingSetupError", "GRADER_VERSION"]

#: Part of every journal key: bump it when a change to the grader changes grades.
GRADER_VERSION = "2"


class GradingSetupError(ValueError):
    """The command cannot run at all (bad argument, missing course files)."""


@dataclass(frozen=True)
class GradeOptions:
    assignment: str
    submissions: str
    out: str = "graded"
    jobs: int = 0
    db: str | None = None
    timeout: int = 60
    course_root: str = "."
    lms_pattern: str = _collect.DEFAULT_LMS_PATTERN
    memory_mb: int = 2048
    quiet: bool = False
    feedback: bool = True
    cluster: str | None = None
    submission_timeout: float | None = None   #: seconds for a whole submission (None: 10 x timeout)

    def __post_init__(self):
        if not isinstance(self.jobs, int) or self.jobs < 0:
            raise GradingSetupError(f"'jobs' must be an integer >= 1 (0 means the default, "
                                    f"one more than the number of CPUs). "
                                    f"Got {self.jobs!r} instead.")
        if not isinstance(self.timeout, (int, float)) or self.timeout <= 0:
            raise GradingSetupError(f"'timeout' must be a number of seconds in (0, inf). "
                                    f"Got {self.timeout!r} instead.")
        if self.submission_timeout is not None and (
                not isinstance(self.submission_timeout, (int, float)) or self.submission_timeout <= 0):
            raise GradingSetupError(f"'submission_timeout' must be a number of seconds in (0, inf). "
                                    f"Got {self.submission_timeout!r} instead.")
        if not isinstance(self.memory_mb, int) or self.memory_mb < 256:
            raise GradingSetupError(f"'memory_mb' must be an integer >= 256. "
                                    f"Got {self.memory_mb!r} instead.")


def default_jobs():
    """Worker processes when ``--jobs`` is not given: one more than the number of CPUs.

    A worker is idle while its kernel starts, runs a cell or is stopped (and a kernel is
    idle while its worker records results), so one extra worker keeps every CPU busy.
    """
    return (os.cpu_count() or 1) + 1


def _quiet_warnings():
    try:
        from sqlalchemy.exc import SAWarning
        warnings.filterwarnings("ignore", category=SAWarning)
    except ImportError:  # pragma: no cover
        pass


def _load_config(course_root):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    path = os.path.join(course_root, "nbgrader_config.py")
    if os.path.exists(path):
        return PyFileConfigLoader("nbgrader_config.py", path=course_root).load_config()
    return Config()


def _db_url(opts, config, course_root):
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


def _generate(config, root, source_dir, release_dir, db_url, assignment):
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


def _definition_hash(source_dir):
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(source_dir, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            h.update(os.path.relpath(path, source_dir).encode())
            with open(path, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:16]


def _cell_fingerprints(source_dir):
    """``{"<notebook>:<grade_id>": digest}`` of every scored cell of the solutions, and one digest per
    notebook (``"<notebook>:"``) of everything else that could change a score (the other code cells).

    Comparing two runs' fingerprints says which questions a change to ``solutions/`` touched.
    """
    import nbformat
    out = {}
    for path in sorted(glob.glob(os.path.join(source_dir, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # an unreadable notebook: nothing can be kept from before
            out[name + ":"] = "unreadable"
            continue
        rest = hashlib.sha256()
        for cell in nb.cells:
            md = cell.get("metadata", {}).get("nbgrader", {})
            if isinstance(md, dict) and md.get("grade") and isinstance(md.get("grade_id"), str):
                h = hashlib.sha256(f"{cell.cell_type}|{md.get('points')}|{cell.source}".encode())
                out[f"{name}:{md['grade_id']}"] = h.hexdigest()[:16]
            elif cell.cell_type == "code":
                rest.update(cell.source.encode() + b"\0")
        out[name + ":"] = rest.hexdigest()[:16]
    for path in sorted(glob.glob(os.path.join(source_dir, "**", "*"), recursive=True)):
        if os.path.isfile(path) and not path.endswith(".ipynb"):  # data files the notebooks read
            with open(path, "rb") as fh:
                out[":" + os.path.relpath(path, source_dir)] = hashlib.sha256(fh.read()).hexdigest()[:16]
    return out


def _changed_cells(before, after):
    """The scored cells a change of the solutions touched (``{(notebook, grade_id)}``), or ``None`` when a
    change outside the scored cells (another code cell, a data file) may have changed any score."""
    if not before:
        return None
    keys = set(before) | set(after)
    if any(before.get(k) != after.get(k) for k in keys if k.endswith(":") or k.startswith(":")):
        return None
    return {tuple(k.split(":", 1)) for k in keys if before.get(k) != after.get(k)}


def _keep_unchanged_scores(result, previous, changed):
    """After a change to the solutions touched only ``changed`` cells, the other cells keep the
    automatic scores recorded before: a regrade changes only the questions whose tests changed."""
    kept = 0
    for nb, data in result.get("grades", {}).items():
        old = ((previous.get("grades") or {}).get(nb) or {}).get("grades", {})
        for gid, g in data.get("grades", {}).items():
            if (nb, gid) in changed or g.get("needs_manual_grade") or gid not in old:
                continue
            was = old[gid].get("auto_score")
            if was is not None and was != g.get("auto_score"):
                g["auto_score"] = was
                kept += 1
    return kept


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


def _create_gradebook(db_url, course_id):
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


def _ensure_student(gb, student):
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


def _ensure_main_gradebook(config, db_url, template_root, assignment, release_nbs, course_id,
                           template_db=None):
    """Make sure the course gradebook has the assignment with the released cells.

    A SQLite gradebook that does not exist yet becomes a copy of the template gradebook
    (which ``generate_assignment`` just filled with this assignment); otherwise the
    assignment is generated into the course gradebook, as ``nbgrader generate_assignment``
    would do.
    """
    with _setup_lock(db_url):
        _ensure_main_gradebook_locked(config, db_url, template_root, assignment, release_nbs,
                                      course_id, template_db)


def _ensure_main_gradebook_locked(config, db_url, template_root, assignment, release_nbs, course_id,
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
    _create_gradebook(db_url, course_id)
    wanted = {name: sorted(g for g in _grade_cells(nb)) for name, nb in release_nbs.items()}
    try:
        with Gradebook(db_url, course_id) as gb:
            a = gb.find_assignment(assignment)
            have = {nb.name: sorted(gc.name for gc in nb.grade_cells) for nb in a.notebooks}
        if have == wanted:
            return
    except MissingEntry:
        pass
    _generate(config, template_root, "source", "release_main", db_url, assignment)


def _grade_cells(nb):
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            yield meta["grade_id"]


def _open(db_url, course_id, gb=None):
    """A gradebook context: ``gb`` itself when one is already open, else a new one."""
    import contextlib

    from nbgrader.api import Gradebook
    return contextlib.nullcontext(gb) if gb is not None else Gradebook(db_url, course_id)


def _merge(db_url, course_id, assignment, student, grades, timestamp, gb=None):
    """Copy one worker's grades into the course gradebook (manual scores are kept)."""
    with _open(db_url, course_id, gb) as gb:
        _ensure_student(gb, student)
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


def _score(db_url, course_id, assignment, student, gb=None):
    from nbgrader.api import MissingEntry
    with _open(db_url, course_id, gb) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return float(sub.score), float(sub.max_score)


def _breakdown(gb, assignment, student):
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


#: Scratch folders (they hold a copy of the solutions and gradebook while grading) and their owner.
SCRATCH_PREFIX, OWNER_FILE = "cg-", ".owner-pid"


def _remove_stale_scratch(tmp):
    """Remove scratch folders left by a grade command that was killed (kill -9, a power cut).

    A folder is stale when the process that wrote its owner file is gone; folders of a command
    still running (on this machine) are left alone.
    """
    for path in glob.glob(os.path.join(tmp, SCRATCH_PREFIX + "*")):
        try:
            with open(os.path.join(path, OWNER_FILE)) as fh:
                pid = int(fh.read().strip() or 0)
        except (OSError, ValueError):
            continue  # not ours, or being created right now
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue  # another user's command, alive


def _older(order, other):
    """Is a submission with ``order`` older than one with ``other``? (Unknown order: no.)"""
    if not order or not other:
        return False
    (when, number), (other_when, other_number) = order, other
    if when and other_when:
        return when < other_when
    if number >= 0 and other_number >= 0:
        return number < other_number
    return False


def _changed_scores(student, before, after, why):
    """``[(student, notebook, cell, score before, score after, why)]`` for every automatic score that changed."""
    out = []
    for nb, data in after.items():
        old = (before.get(nb) or {}).get("grades", {})
        for gid, g in data.get("grades", {}).items():
            if g.get("needs_manual_grade"):
                continue
            was = (old.get(gid) or {}).get("auto_score")
            if was != g.get("auto_score"):
                out.append((student, nb, gid, was, g.get("auto_score"), why))
    return out


def _write_audit(path, changes):
    """``audit.csv``: this run's changed automatic scores (after a corrected key, say); removed when none."""
    import csv
    if not changes:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "notebook", "cell", "before", "after", "why"])
        for sid, nb, gid, was, now, why in sorted(changes, key=lambda c: (c[0], c[1], c[2])):
            w.writerow([sid, nb, gid, "" if was is None else f"{was:g}", "" if now is None else f"{now:g}", why])


def _max_score(db_url, course_id, assignment):
    from nbgrader.api import Gradebook
    with Gradebook(db_url, course_id) as gb:
        return float(gb.find_assignment(assignment).max_score)


def _atomic_write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _write_student_files(course_root, coursedirs, assignment, student, result, notebooks,
                         timestamp, copy_submitted):
    auto = os.path.join(course_root, coursedirs["autograded"], student, assignment)
    os.makedirs(auto, exist_ok=True)
    for name, text in result.get("autograded", {}).items():
        _atomic_write(os.path.join(auto, name + ".ipynb"), text)
    if copy_submitted:
        sub = os.path.join(course_root, coursedirs["submitted"], student, assignment)
        os.makedirs(sub, exist_ok=True)
        for name, text in notebooks.items():
            _atomic_write(os.path.join(sub, name + ".ipynb"), text)
        if timestamp:
            _atomic_write(os.path.join(sub, "timestamp.txt"), timestamp)


#: Feedback pages run no script at all: a student's own output or written answer may hold one.
NO_SCRIPTS = ('<meta http-equiv="Content-Security-Policy" content="script-src \'none\'; object-src \'none\'; '
              'base-uri \'none\'">')


def _no_scripts(page):
    """``page`` with a policy, first thing in its head, that forbids every script."""
    import re
    if re.search(r"<head[^>]*>", page, re.I):
        return re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + NO_SCRIPTS, page, count=1, flags=re.I)
    return NO_SCRIPTS + page


def _feedback_html(student, feedback):
    if len(feedback) == 1:
        return _no_scripts(next(iter(feedback.values())))
    import html
    parts = "".join(
        f"<h2>{html.escape(n)}</h2><iframe title='feedback on {html.escape(n)}' "
        f"style='width:100%;height:80vh' srcdoc=\"{html.escape(t, quote=True)}\"></iframe>"
        for n, t in sorted(feedback.items()))
    return _no_scripts(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback for "
                       f"{html.escape(student)}</title></head><body><h1>Feedback for "
                       f"{html.escape(student)}</h1>{parts}</body></html>")


def _neutralised_notes(result):
    notes = []
    for fail in result.get("neutralised", []):
        text = result.get("autograded", {}).get(fail["notebook"])
        label = f"cell {fail['index'] + 1}"
        if text:
            cells = json.loads(text)["cells"]
            if fail["index"] < len(cells):
                gid = cells[fail["index"]].get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if gid:
                    label += f" ({gid})"
        notes.append(f"{label} of {fail['notebook']} was not run and earned no points: "
                     f"{fail['why']}")
    return notes


def _hides(paths, keep):
    """Paths to hide from kernels, minus any that contain what the kernel needs."""
    out, skipped = [], []
    for p in paths:
        if not p or not os.path.exists(p):
            continue
        rp = os.path.realpath(p)
        if any(os.path.realpath(k) == rp or os.path.realpath(k).startswith(rp + os.sep)
               for k in keep):
            skipped.append(rp)
        else:
            out.append(rp)
    return out, skipped


def run_grade(opts: GradeOptions) -> int:
    """Grade every submission; returns the exit status (0 when the command could run)."""
    _quiet_warnings()
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    started = time.monotonic()
    course_root = os.path.abspath(opts.course_root)
    if not os.path.isdir(course_root):
        raise GradingSetupError(f"'course_root' must be a folder holding nbgrader_config.py and "
                                f"the solutions. Got {opts.course_root!r} instead.")
    config = _load_config(course_root)
    cd = config.CourseDirectory
    source_name = cd.get("source_directory", "source")
    course_id = cd.get("course_id", "default_course")
    solutions = os.path.join(course_root, source_name)
    available = sorted(d for d in os.listdir(solutions)
                       if os.path.isdir(os.path.join(solutions, d)) and not d.startswith(".")
                       ) if os.path.isdir(solutions) else []
    if not available:
        raise GradingSetupError(
            f"no solutions found: {os.path.join(opts.course_root, source_name)!r} must hold "
            "one folder per assignment (the instructor notebooks).")
    if opts.assignment not in available:
        raise GradingSetupError(f"'assignment' must be one of {available}. "
                                f"Got {opts.assignment!r} instead.")
    if not glob.glob(os.path.join(solutions, opts.assignment, "*.ipynb")):
        raise GradingSetupError(f"the solutions folder of {opts.assignment!r} holds no notebook.")
    if not os.path.exists(opts.submissions):
        raise GradingSetupError(f"'submissions' must be a folder or a .zip file. "
                                f"Got {opts.submissions!r}, which does not exist.")
    out = os.path.abspath(opts.out)
    try:
        os.makedirs(os.path.join(out, "feedback"), exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-")
        probe.close()
    except OSError as exc:
        raise GradingSetupError(f"'out' must be a folder this command can write to. "
                                f"Got {opts.out!r} ({exc.strerror or exc}).") from None
    db_url = _db_url(opts, config, course_root)
    from .answers_as_data import is_data_exercise_config
    # Reading answers keeps a CPU busy the whole time (no kernel to wait for): one worker per CPU.
    jobs = opts.jobs or ((os.cpu_count() or 1) if is_data_exercise_config(config) else default_jobs())
    coursedirs = {"submitted": cd.get("submitted_directory", "submitted"),
                  "autograded": cd.get("autograded_directory", "autograded"),
                  "feedback": cd.get("feedback_directory", "feedback")}
    timeout = int(opts.timeout) if float(opts.timeout).is_integer() else opts.timeout
    pool = _run_pool
    if opts.cluster:  # the same work on a Dask cluster's workers (an unusable address: a setup error)
        from .cluster import connect
        pool = connect(opts.cluster)
        jobs = pool.cores

    _remove_stale_scratch(tempfile.gettempdir())
    scratch_root = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    os.chmod(scratch_root, 0o711)
    with open(os.path.join(scratch_root, OWNER_FILE), "w") as fh:
        fh.write(str(os.getpid()))
    try:
        return _run(opts, config, course_root, solutions, course_id, db_url, out, jobs,
                    coursedirs, timeout, scratch_root, started, pool)
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
        if pool is not _run_pool:
            pool.close()


def _run(opts, config, course_root, solutions, course_id, db_url, out, jobs, coursedirs,
         timeout, scratch_root, started, pool=None):
    import nbformat
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    from .sandbox import probe_sandbox
    from .worker import grade_one

    timings = {}

    A = opts.assignment
    template = os.path.join(scratch_root, "template")
    os.makedirs(template, mode=0o700)
    shutil.copytree(os.path.join(solutions, A), os.path.join(template, "source", A))
    template_db = os.path.join(template, "gradebook.db")
    # the course id nbgrader's own commands use (CourseDirectory's default is "")
    _create_gradebook("sqlite:///" + template_db, config.CourseDirectory.get("course_id", ""))
    _generate(config, template, "source", "release", "sqlite:///" + template_db, A)
    release_dir = os.path.join(template, "release", A)
    release_nbs = {os.path.splitext(os.path.basename(p))[0]: nbformat.read(p, as_version=4)
                   for p in sorted(glob.glob(os.path.join(release_dir, "*.ipynb")))}
    _ensure_main_gradebook(config, db_url, template, A, release_nbs, course_id, template_db)
    timings["setup"] = time.monotonic() - started
    max_score = _max_score(db_url, course_id, A)
    from . import budgets
    from .answers_as_data import is_data_exercise_config as _is_data
    # a code-based result that a limit affected is graded again under other limits (see budgets.py)
    limits = "" if _is_data(config) else budgets.limits_key(
        opts.memory_mb, budgets.submission_seconds(timeout, opts.submission_timeout))
    salt = (f"{GRADER_VERSION}|{A}|{_definition_hash(os.path.join(solutions, A))}|{timeout}"
            f"|feedback={opts.feedback}")
    settings = f"{GRADER_VERSION}|{A}|{timeout}|feedback={opts.feedback}"  # the key without the solutions
    fingerprints = _cell_fingerprints(os.path.join(solutions, A))
    regraded_cells = set()

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
    submitted_dir = os.path.realpath(os.path.join(course_root, coursedirs["submitted"]))
    copy_submitted = os.path.realpath(opts.submissions) != submitted_dir

    from .answers_as_data import is_data_exercise_config
    data_mode = is_data_exercise_config(config)
    keep = [sys.prefix, sys.base_prefix, scratch_root]
    hide_candidates = [solutions, out, opts.submissions,
                       os.path.join(course_root, "nbgrader_config.py")]
    hide_candidates += [os.path.join(course_root, d) for d in coursedirs.values()]
    if db_url.startswith("sqlite:///"):
        hide_candidates.append(db_url[len("sqlite:///"):])
    hides, not_hidden = _hides(hide_candidates, keep)
    if data_mode:
        # Answers are read as data and no cell of a submission is executed, so there is
        # nothing to sandbox: no kernel starts, and the keys never leave this machine's
        # grader processes.
        plan = None
        protections = [
            "answers read as data: no cell of any submission was executed (no kernel was started)",
            "the keys were read from the gradebook, never from a submission; feedback shows no key",
            "a scratch copy per submission; the real gradebook written by the grader alone"]
    else:
        plan = probe_sandbox(hides=hides, scratch_root=scratch_root, memory_mb=opts.memory_mb,
                             cpu_seconds=max(120, int(timeout) * 20))
        protections = list(plan.protections) + [
            f"NOT hidden (it contains the Python installation or scratch space): {p}"
            for p in not_hidden]
        from .envcheck import check_environment  # a known-good notebook in the real sandbox first
        problem = check_environment(plan, scratch_root, release_dir, timeout)
        if problem:
            raise GradingSetupError(f"the environment check failed, so no one was graded: {problem}")

    journal = Journal(os.path.join(out, "journal.jsonl"))
    rows, tasks = {}, []
    for sub in subs:
        key = sub.content_hash(salt)
        entry = journal.get(sub.student_id, key)
        if entry and entry.get("limited") and entry.get("limits") != limits:
            entry = None  # graded under other limits, which affected it: grade it again
        if entry:
            if entry["status"] == "graded":
                # always: a run on other input since then may have put another grade in the gradebook
                _merge(db_url, course_id, A, sub.student_id, entry["grades"], sub.timestamp)
            rows[sub.student_id] = entry
            continue
        previous = journal.last_graded(sub.student_id)
        if previous is not None and _older(sub.order, previous.get("order")):
            # an older submission than the one already graded (an earlier download graded after a
            # later one): the newer submission's grade stays, in the gradebook too
            _merge(db_url, course_id, A, sub.student_id, previous["grades"], None)
            rows[sub.student_id] = dict(previous, reason="; ".join(filter(None, [
                previous.get("reason", ""),
                "an older submission was received and not graded: this is the grade of the newer one"])))
            continue
        pf = preflight(sub.files, release_nbs, sub.problems)
        if pf.status == "rejected":
            entry = {"student_id": sub.student_id, "key": key, "status": "rejected",
                     "score": 0.0, "max_score": max_score, "reason": pf.reason, "received": sub.source}
            journal.append(entry)
            rows[sub.student_id] = entry
            continue
        tasks.append({"student_id": sub.student_id, "assignment": A, "key": key,
                      "notebooks": pf.notebooks, "notes": sub.notes + pf.notes, "timestamp": sub.timestamp,
                      "template_db": template_db, "release_dir": release_dir,
                      "scratch_root": scratch_root, "plan": plan, "timeout": timeout,
                      "config": config, "bin_dir": os.path.dirname(sys.executable),
                      "data_mode": data_mode, "feedback": opts.feedback, "order": sub.order,
                      "submission_timeout": opts.submission_timeout, "received": sub.source,
                      "content": sub.content_hash("")})

    audit = []

    def finish(task, result):
        sid = task["student_id"]
        if result.get("status") == "graded":
            with Gradebook(db_url, course_id) as gb:
                _merge(db_url, course_id, A, sid, result["grades"], task["timestamp"], gb)
                score = _score(db_url, course_id, A, sid, gb)
            _write_student_files(course_root, coursedirs, A, sid, result, task["notebooks"],
                                 task["timestamp"], copy_submitted)
            if result.get("feedback"):
                _atomic_write(os.path.join(out, "feedback", sid + ".html"),
                              _feedback_html(sid, result["feedback"]))
            notes = task["notes"] + _neutralised_notes(result)
            previous = journal.last_graded(sid)
            if previous is not None and previous.get("key") != task["key"]:
                same = previous.get("content") == task["content"]
                why = "the same submission, graded again after the solutions changed" if same else "a new submission"
                changed = (_changed_cells(previous.get("cells"), fingerprints)
                           if same and previous.get("settings") == settings else None)
                if changed is not None:
                    _keep_unchanged_scores(result, previous, changed)
                    regraded_cells.update(changed)
                audit.extend(_changed_scores(sid, previous.get("grades") or {}, result["grades"], why))
            entry = {"student_id": sid, "key": task["key"], "status": "graded", "order": task["order"],
                     "content": task["content"], "settings": settings, "cells": fingerprints,
                     "received": task.get("received", ""),
                     "score": score[0] if score else 0.0, "max_score": max_score,
                     "reason": "; ".join(notes), "grades": result["grades"],
                     "neutralised": result.get("neutralised", []),
                     "limits": limits, "limited": budgets.limited(result),
                     "seconds": round(result.get("seconds", 0), 3),
                     "phases": result.get("phases", {})}
        else:
            entry = {"student_id": sid, "key": task["key"], "status": "rejected", "score": 0.0,
                     "max_score": max_score, "retry": bool(result.get("retry")), "received": task.get("received", ""),
                     "limits": limits, "limited": True,  # a kernel that kept failing: maybe the limits
                     "reason": "the notebook could not be graded: " + result.get("error", "")}
            previous = journal.last_graded(sid)
            if entry["retry"] and previous is not None:
                # The grader failed, not the student: the grade already recorded stays visible
                # (and stays in the gradebook) until this submission can be graded.
                journal.append(entry)
                rows[sid] = dict(previous, reason="; ".join(filter(None, [
                    previous.get("reason", ""),
                    "a newer submission could not be graded because of a grader problem ("
                    + result.get("error", "") + "); it will be graded on the next run, and until "
                    "then this is the grade of the previous submission"])))
                return
        journal.append(entry)
        rows[sid] = entry

    mark = time.monotonic()
    timings["checks"] = mark - started - timings["setup"]
    (pool or _run_pool)(tasks, jobs, grade_one, finish, tqdm, opts.quiet)
    timings["grading"] = time.monotonic() - mark
    if pool is not None and pool is not _run_pool:
        protections = pool.protections(protections)

    out_rows = []
    with Gradebook(db_url, course_id) as gb:
        for sub in subs:
            entry = dict(rows[sub.student_id])
            if entry["status"] == "graded":
                score = _score(db_url, course_id, A, sub.student_id, gb)
                if score:
                    entry["score"] = score[0]
                    entry.update(_breakdown(gb, A, sub.student_id))
            out_rows.append(entry)
    write_grades_csv(os.path.join(out, "grades.csv"), out_rows)
    _write_audit(os.path.join(out, "audit.csv"), audit)
    elapsed = time.monotonic() - started
    mark = time.monotonic()
    write_report(os.path.join(out, "report.html"), assignment=A, rows=out_rows,
                 max_score=max_score, protections=protections, seconds=elapsed)
    timings["report"] = time.monotonic() - mark
    graded = [r for r in out_rows if r["status"] == "graded"]
    mean = sum(r["score"] for r in graded) / len(graded) if graded else float("nan")
    lines = [f"{'assignment':<22}{A}", f"{'graded':<22}{len(graded)}",
             f"{'rejected':<22}{len(out_rows) - len(graded)}",
             f"{'graded this run':<22}{len(tasks)}",
             f"{'mean score':<22}{mean:.2f} / {max_score:g}",
             f"{'time':<22}{elapsed:.1f} s ({jobs} worker(s))",
             f"{'phases':<22}setup {timings['setup']:.1f} s, checks "
             f"{timings['checks']:.1f} s, grading {timings['grading']:.1f} s, "
             f"report {timings['report']:.1f} s",
             f"{'output':<22}{out}"]
    if regraded_cells:
        lines.append(f"{'solutions changed in':<22}{', '.join(sorted(g for _, g in regraded_cells))}: "
                     "only these cells' scores were changed (see audit.csv)")
    if unmatched:
        lines.append(f"{'ignored files':<22}{', '.join(unmatched[:10])}"
                     + (" ..." if len(unmatched) > 10 else ""))
    print("\n".join(lines))
    return 0


def _mp_context():
    """``fork`` where it is safe and available (Linux), else ``spawn``.

    Forked workers start with nbgrader, nbconvert and jupyter_client already imported by
    this process (importing them costs seconds per worker). The parent forks from its only
    thread (no progress-bar monitor thread, no earlier pool's manager thread left running)
    and holds no open gradebook connection at that moment.
    """
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _run_pool(tasks, jobs, fn, finish, tqdm, quiet):
    """Run ``fn`` on every task in ``jobs`` processes; a crashed worker does not stop the rest."""
    if not tasks:
        return
    from .worker import init_worker, preload
    attempts = {t["student_id"]: 0 for t in tasks}
    pending = list(tasks)
    ctx = _mp_context()
    if ctx.get_start_method() == "fork":
        preload()

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: the pool forks from a single thread

    with Bar(total=len(tasks), file=sys.stderr, unit="submission", disable=quiet,
             desc="grading") as bar:
        while pending:
            batch, pending = pending, []
            pool = cf.ProcessPoolExecutor(max_workers=min(jobs, len(batch)), mp_context=ctx,
                                          initializer=init_worker)
            try:
                futures = {pool.submit(fn, t): t for t in batch}
                for fut in cf.as_completed(futures):
                    task = futures[fut]
                    try:
                        result = fut.result()
                    except cf.process.BrokenProcessPool:
                        attempts[task["student_id"]] += 1
                        if attempts[task["student_id"]] < 2:
                            pending.append(task)
                            continue
                        result = {"status": "error", "retry": True,
                                  "error": "the grading process crashed twice; it will be "
                                           "tried again on the next run"}
                    except Exception as exc:
                        result = {"status": "error", "retry": True,
                                  "error": f"{type(exc).__name__}: {exc}"}
                    finish(task, result)
                    bar.update(1)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
