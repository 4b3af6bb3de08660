"""Grade one student's submission in a fresh scratch course folder (runs in a worker process).

The scratch folder holds only what nbgrader needs for *this* student: a copy of the
template gradebook (the assignment's cells), the released non-notebook files, and this
student's notebooks. Nothing is written to the real course; the parent merges the
returned grades into the real gradebook (a single writer).

Layout of ``scratch_root/<random>/`` (``scratch_root`` is mode 0711, not listable)::

    course/   mode 0700, owned by the grader: gradebook.db, submitted/, autograded/, feedback/
    box/      owned by the student's sandbox uid: the kernel's only writable folder
"""
from __future__ import annotations

import asyncio
import copy
import glob
import logging
import os
import shutil
import time
import uuid
import warnings

from .contracts import Result

__all__ = ["grade_one", "init_worker", "preload", "MAX_ATTEMPTS"]

#: Each attempt after the first neutralises one more cell that broke the kernel.
MAX_ATTEMPTS = 6
#: Fault injection for the tests: a comma-separated list of student ids whose grading
#: fails as if the grader itself had broken (never set outside the test suite).
FAULT_ENV = "COPRODUCTION_COURSE_INJECT_GRADER_FAULT"

#: Per worker process: the feedback exporter, built once and reused for every student
#: (building it and compiling its templates costs more than rendering one notebook).
_STATE: dict = {}


def _quiet():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        from sqlalchemy.exc import SAWarning
        warnings.filterwarnings("ignore", category=SAWarning)
    except ImportError:  # pragma: no cover
        pass
    logging.getLogger("traitlets").setLevel(logging.CRITICAL)


def preload():
    """Import what :func:`grade_one` needs, so that forked workers start warm."""
    _quiet()
    import nbclient  # noqa: F401
    import nbconvert.exporters  # noqa: F401
    import nbgrader.apps  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401

    from . import execute, sandbox  # noqa: F401


def _die_with_parent():
    """On Linux, ask the kernel to kill this worker when the grade command dies (even by kill -9)."""
    import sys
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before the request was made
            os._exit(1)
    except (OSError, AttributeError):  # pragma: no cover - no prctl here
        pass


def init_worker():
    """Pool initializer: quiet logs and an event loop of this process's own.

    A forked worker must not reuse an event loop (and its epoll descriptor) that the
    parent may have created; jupyter_core keeps one per thread.
    """
    _quiet()
    _die_with_parent()
    try:
        import jupyter_core.utils as ju
        if ju._loop.get() is not None:
            ju._loop.set(None)
    except (ImportError, AttributeError):  # pragma: no cover - other jupyter_core versions
        pass
    asyncio.set_event_loop(None)


def _fast_scratch_gradebooks(scratch_root):
    """No ``fsync`` for the scratch gradebooks below ``scratch_root`` (this process only).

    nbgrader commits every grade and comment separately; on a disk each commit waits for
    the disk twice. A scratch gradebook lives for one student and is thrown away (the
    parent writes the real gradebook, with SQLite's normal durability), so it need not
    survive a power cut. Other databases are left alone.
    """
    prefix = os.path.realpath(scratch_root) + os.sep
    if _STATE.get("fast_sqlite") == prefix:
        return
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_conn, _record):
        if not isinstance(dbapi_conn, sqlite3.Connection):
            return
        rows = dbapi_conn.execute("PRAGMA database_list").fetchall()
        path = next((r[2] for r in rows if r[1] == "main"), "")
        scratch = _STATE.get("fast_sqlite")
        if scratch and path and os.path.realpath(path).startswith(scratch):
            dbapi_conn.execute("PRAGMA synchronous = OFF")
            dbapi_conn.execute("PRAGMA journal_mode = MEMORY")

    if "fast_sqlite" not in _STATE:
        event.listen(Engine, "connect", on_connect)
    _STATE["fast_sqlite"] = prefix


def _copy_release_files(release_dir, dest, uid=None):
    for src in glob.glob(os.path.join(release_dir, "**", "*"), recursive=True):
        if os.path.isdir(src) or src.endswith(".ipynb") or "/." in src:
            continue
        target = os.path.join(dest, os.path.relpath(src, release_dir))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(src, target)
        if uid is not None:
            os.chown(target, uid, uid)


def _config(task, course, kcfg, neutralise):
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,
                                        IgnorePattern, LimitOutput, SaveAutoGrades)
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades
    from .execute import GuardedExecute, HideHiddenTests
    from .sandbox import SandboxKernelManager

    c = copy.deepcopy(task.config)
    c.CourseDirectory.root = course
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(course, "gradebook.db")
    c.Exchange.root = os.path.join(course, "exchange")
    c.Execute.timeout = task.timeout
    # The kernel's outputs are all collected when it is shut down, and everything left
    # under its uid is killed afterwards: no need to wait for a graceful exit.
    c.GuardedExecute.shutdown_kernel = "immediate"
    c.OverwriteCells.add_missing_cells = True
    # Order as in nbgrader's Autograde.autograde_preprocessors, with Execute replaced.
    c.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    # Order as in nbgrader's GenerateFeedback.preprocessors, hidden tests removed last.
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
    c.GuardedExecute.kernel_manager_class = SandboxKernelManager
    c.GuardedExecute.neutralise = neutralise
    for key, value in kcfg.items():
        setattr(c.SandboxKernelManager, key, value)
    return c


def _grade_as_data(task, result, lap):
    """Grade one submission of an answers-as-data exercise in memory: read answers, run no code.

    The same steps and rules as ``nbgrader autograde`` with ``GradeAnswersAsData``
    (:mod:`.data_grade`), without a scratch gradebook or notebook files.
    """
    import nbformat

    from .data_grade import AssignmentCells, grade_notebook, mark_pending, read

    student, assignment = task.student_id, task.assignment
    try:
        if student in os.environ.get(FAULT_ENV, "").split(","):
            raise RuntimeError("injected grader fault (test suite)")
        cached = _STATE.get("cells")
        if cached is None or cached[0] != task.template_db:
            cached = (task.template_db, AssignmentCells.from_gradebook(
                "sqlite:///" + task.template_db, assignment))
            _STATE["cells"] = cached
        cells = cached[1]
        lap("scratch")
        result.attempts = 1
        release_root = os.path.dirname(task.release_dir)
        result.grades, result.autograded, graded_nbs = {}, {}, {}
        for name, text in task.notebooks.items():
            nb = read(text)
            resources = {"nbgrader": {"student": student, "assignment": assignment, "notebook": name}}
            result.grades[name] = grade_notebook(nb, cells, name, resources, release_root)
            result.autograded[name] = nbformat.writes(nb)
            graded_nbs[name] = nb
        lap("autograde")
        result.feedback = {}
        if task.feedback:
            try:
                for name, nb in graded_nbs.items():
                    page = render_data_feedback(task.config, nb, name, student, assignment, result.grades[name])
                    result.feedback[name] = _scrubbed(mark_pending(page, result.grades[name]["grades"]), task)
            except Exception as exc:  # no feedback is no reason to lose the grade
                result.feedback = {}
                result.feedback_error = f"{type(exc).__name__}: {exc}"[:300]
        lap("feedback")
        result.status = "graded"
        return result
    except Exception as exc:  # a grader bug must not stop the other students
        result.status, result.retry, result.error = "error", True, f"{type(exc).__name__}: {exc}"[:300]
        return result


def render_data_feedback(config, nb, name, student, assignment, grades):
    """The feedback page of notebook ``name`` of an answers-as-data exercise, as rendered before it is
    scrubbed: nbgrader's feedback exporter, with ``grades`` (what :func:`~.data_grade.grade_notebook`
    returned for it) in place of a gradebook. ``nb`` is changed in place."""
    resources = {"unique_key": name, "output_files_dir": f"{name}_files",
                 "nbgrader": {"student": student, "assignment": assignment, "notebook": name, "grades": grades}}
    page, _ = _data_feedback_exporter(config).from_notebook_node(nb, resources=resources)
    return page


def _data_feedback_exporter(config):
    """The feedback exporter for answers-as-data exercises: grades from this run, not a gradebook."""
    exporter = _STATE.get("data_feedback")
    if exporter is None:
        from .data_grade import PutGrades
        exporter = _feedback_exporter(config, grades_from=PutGrades)
        _STATE["data_feedback"] = exporter
    return exporter


def _feedback_exporter_class(HTMLExporter):
    """nbconvert's HTML exporter, skipping its final HTML re-parse when the page holds no image.

    After rendering, ``HTMLExporter`` parses the whole page with BeautifulSoup to add missing
    ``alt`` texts to images and ``tabindex`` to JupyterLab-template cells; for nbgrader's feedback
    template (classic, no JupyterLab cells) a page without an ``<img`` is unchanged by it, and
    the parse costs as much as the rendering.
    """
    from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class FeedbackExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, out = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            if "<img" in html or "jp-Cell-inputWrapper" in html:
                return super().from_notebook_node(nb, resources, **kw)
            return html, out

    return FeedbackExporter


def _feedback_exporter(config, grades_from=None):
    """nbgrader's feedback exporter (as ``GenerateFeedback`` builds it), one per worker.

    Preprocessors as in nbgrader's ``GenerateFeedback``, with :class:`HideHiddenTests`
    last, so that feedback never shows hidden tests or their output; each page is then scrubbed
    after rendering (:func:`_scrubbed`). ``grades_from``
    replaces nbgrader's ``GetGrades`` (which reads a gradebook) when given.
    """
    exporter = _STATE.get("feedback")
    if exporter is not None and grades_from is None:
        return exporter
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades
    from traitlets.config import Config

    from .execute import HideHiddenTests

    formgrader = os.path.join(os.path.dirname(os.path.abspath(nbgrader.__file__)),
                              "server_extensions", "formgrader")
    c = copy.deepcopy(config)
    extra = Config()
    extra.Exporter.default_preprocessors = []
    extra.HTMLExporter.template_name = "feedback"
    if "extra_template_basedirs" not in c.HTMLExporter:
        extra.HTMLExporter.extra_template_basedirs = [os.path.join(formgrader, "templates")]
    extra.HTMLExporter.extra_template_paths = [os.path.join(
        formgrader, "static", "node_modules", "bootstrap", "dist", "css")]
    c.merge(extra)
    exporter = _feedback_exporter_class(HTMLExporter)(config=c)
    for pp in (grades_from or GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests):
        exporter.register_preprocessor(pp)
    if grades_from is None:
        _STATE["feedback"] = exporter
    return exporter


def _feedback(task, course, db_url, student, assignment):
    """Feedback HTML for each autograded notebook: ``{notebook name: html}``."""
    exporter = _feedback_exporter(task.config)
    out = {}
    auto = os.path.join(course, "autograded", student, assignment)
    for path in sorted(glob.glob(os.path.join(auto, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        resources = {"unique_key": name, "output_files_dir": f"{name}_files",
                     "nbgrader": {"student": student, "assignment": assignment,
                                  "notebook": name, "db_url": db_url}}
        html, _ = exporter.from_filename(path, resources=resources)
        out[name] = _scrubbed(html, task)
    return out


def _hidden_text(task):
    """The hidden tests' lines of the task's assignment, compiled for :func:`.scrub.scrub_page`.

    Read from the instructor's notebooks (``source/<assignment>/`` beside the template gradebook)
    with nbgrader's ``ClearHiddenTests``, once per worker process and assignment; never from a
    student's notebook. A worker that has the template gradebook only (a cluster worker) reads
    the same cells from it: nbgrader saves each cell there before it clears the hidden tests.
    """
    template_db, assignment = task.template_db, task.assignment
    cached = _STATE.get("hidden")
    if cached is not None and cached[0] == (template_db, assignment):
        return cached[1]
    import nbformat

    from .scrub import HiddenText, hidden_test_lines

    source = os.path.join(os.path.dirname(template_db), "source", assignment)
    paths = sorted(glob.glob(os.path.join(source, "*.ipynb")))
    if paths:
        notebooks = [nbformat.read(p, as_version=4) for p in paths]
    else:
        from nbgrader.api import Gradebook
        with Gradebook("sqlite:///" + template_db) as gb:
            notebooks = [nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source)
                                                         for c in nb.source_cells])
                         for nb in gb.find_assignment(assignment).notebooks]
    hidden = HiddenText.from_lines(hidden_test_lines(notebooks, task.config))
    _STATE["hidden"] = ((template_db, assignment), hidden)
    return hidden


def _scrubbed(page, task):
    """``page`` as the student receives it: no hidden-test text in any form the grader can
    recognise, no script from a student's output (:func:`.scrub.scrub_page`)."""
    from .scrub import scrub_page
    return scrub_page(page, _hidden_text(task))[0]


def _read_grades(db_url, assignment, student):
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        for nb in sub.notebooks:
            cells = {}
            for g in nb.grades:
                cells[g.name] = {"auto_score": g.auto_score, "max_score": g.max_score,
                                 "needs_manual_grade": bool(g.needs_manual_grade),
                                 "cell_type": g.cell.cell_type}
            comments = {cm.name: cm.auto_comment for cm in nb.comments}
            out[nb.name] = {"grades": cells, "comments": comments}
    return out


def _last_error(log):
    lines = [ln for ln in (log or "").splitlines() if "ERROR" in ln or "Error" in ln]
    return lines[-1].strip()[:300] if lines else "nbgrader could not grade this notebook"


def grade_one(task):
    """Grade one :class:`Task`; returns its :class:`Result` (picklable), never raises for bad input.

    ``result.phases`` holds the seconds spent in each phase (scratch folder, autograde
    attempts, reading grades, feedback), for the benchmark and the journal.
    """
    _quiet()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from . import budgets, execute
    from .sandbox import kernel_config, kill_uid, make_box, new_sandbox_uid

    os.environ["PATH"] = task.bin_dir + os.pathsep + os.environ.get("PATH", "")
    started, started_wall = time.monotonic(), time.time()
    _fast_scratch_gradebooks(task.scratch_root)
    phases = {}
    student, assignment = task.student_id, task.assignment
    if task.data_mode:
        result = Result(student_id=student, key=task.key, phases=phases)
        mark = [time.perf_counter()]

        def data_lap(phase):
            now = time.perf_counter()
            phases[phase] = round(phases.get(phase, 0.0) + now - mark[0], 4)
            mark[0] = now

        try:
            return _grade_as_data(task, result, data_lap)
        finally:
            result.seconds = time.monotonic() - started
    plan = task.plan
    uid = new_sandbox_uid() if plan.drop_user else None
    name = uuid.uuid4().hex[:12]
    box = make_box(task.scratch_root, name, uid)
    base = os.path.dirname(box)
    course = os.path.join(base, "course")
    os.makedirs(course, mode=0o700)
    result = Result(student_id=student, key=task.key, phases=phases)
    mark = time.perf_counter()

    def lap(phase):
        nonlocal mark
        now = time.perf_counter()
        phases[phase] = round(phases.get(phase, 0.0) + now - mark, 4)
        mark = now

    try:
        if student in os.environ.get(FAULT_ENV, "").split(","):
            raise RuntimeError("injected grader fault (test suite)")
        shutil.copyfile(task.template_db, os.path.join(course, "gradebook.db"))
        _copy_release_files(task.release_dir, os.path.join(course, "source", assignment))
        _copy_release_files(task.release_dir, os.path.join(box, "work"), uid)
        sub_dir = os.path.join(course, "submitted", student, assignment)
        os.makedirs(sub_dir)
        for nb_name, text in task.notebooks.items():
            with open(os.path.join(sub_dir, nb_name + ".ipynb"), "w", encoding="utf-8") as fh:
                fh.write(text)
        if task.timestamp:
            with open(os.path.join(sub_dir, "timestamp.txt"), "w") as fh:
                fh.write(task.timestamp)
        neutralise = {}
        kcfg = kernel_config(plan, box, uid)
        lap("scratch")
        budget = budgets.submission_seconds(task.timeout, task.submission_timeout)
        while True:
            result.attempts += 1
            record = execute.AttemptRecord()
            c = _config(task, course, kcfg, neutralise)
            c.GuardedExecute.record = record
            budgets.apply(c, budget, started_wall)
            api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
            res = api.autograde(assignment, student, force=True, create=True)
            kill_uid(uid)
            lap("autograde" if result.attempts == 1 else "regrade")
            if res["success"]:
                break
            fail = dict(record.failure)
            if (not fail or result.attempts >= MAX_ATTEMPTS
                    or str(fail["index"]) in neutralise.get(fail["notebook"], {})):
                # no cell to blame (the disk filled up, the sandbox failed): the environment's fault,
                # graded again on the next run and never cached as the student's
                result.status, result.error = "error", _last_error(res.get("log"))
                result.log = (res.get("log") or "")[-4000:]
                result.retry = not fail or bool(budgets.environment_failure(res.get("log")))
                if result.retry:
                    result.error = ("a problem of the grader's own, not of this submission ("
                                       + (budgets.environment_failure(res.get("log")) or result.error)
                                       + "); it will be graded again on the next run")
                return result
            neutralise.setdefault(fail["notebook"], {})[str(fail["index"])] = fail["why"]
            result.neutralised.append(fail)
        if record.budget_spent:
            result.neutralised.append(dict(record.budget_spent, why=(
                f"the submission used up its time budget of {budget:g} seconds, so this cell and the "
                "cells after it were not run")))
        db_url = c.CourseDirectory.db_url
        result.grades = _read_grades(db_url, assignment, student)
        lap("grades")
        try:
            result.feedback = _feedback(task, course, db_url, student, assignment)
        except Exception as exc:  # no feedback is no reason to lose the grade
            result.feedback = {}
            result.feedback_error = f"{type(exc).__name__}: {exc}"[:300]
        lap("feedback")
        result.autograded = {}
        for path in glob.glob(os.path.join(course, "autograded", student, assignment, "*.ipynb")):
            with open(path, encoding="utf-8") as fh:
                result.autograded[os.path.splitext(os.path.basename(path))[0]] = fh.read()
        result.status = "graded"
        return result
    except Exception as exc:  # a grader bug must not stop the other students
        # Not the student's fault: the next run grades this submission again.
        result.status, result.retry = "error", True
        result.error = (f"{type(exc).__name__}: {exc}"[:300] + "; a problem of the grader's own, not of "
                        "this submission: it will be graded again on the next run")
        return result
    finally:
        result.seconds = time.monotonic() - started
        kill_uid(uid)
        shutil.rmtree(base, ignore_errors=True)
