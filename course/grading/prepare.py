"""Setting up a grading run (stages 1 and 2 of :mod:`.runner`).

:func:`check_course` checks the options against the course on disk; :func:`prepare_assignment`
generates the student version once, makes sure the gradebook has the assignment, and proves the
sandbox works with a known-good notebook before anyone is graded. Also here: the scratch folder
and the parts of the journal key that say what the solutions were.
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from .contracts import GradingSetupError

__all__ = ["Course", "Setup", "check_course", "prepare_assignment", "make_scratch_root", "definition_hash",
           "cell_fingerprints", "SCRATCH_PREFIX", "OWNER_FILE", "remove_stale_scratch", "hide_list"]


def definition_hash(source_dir):
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(source_dir, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            h.update(os.path.relpath(path, source_dir).encode())
            with open(path, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:16]


def cell_fingerprints(source_dir):
    """``{"<notebook>:<grade_id>": digest}`` of every scored cell of the solutions, and one digest per
    notebook (``"<notebook>:"``) of everything else that could change a score (the other code cells).

    Comparing two runs' fingerprints says which questions a change to ``solutions/`` touched.
    """
    import nbformat
    from nbgrader.utils import is_grade
    out = {}
    for path in sorted(glob.glob(os.path.join(source_dir, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # an unreadable notebook: nothing can be kept from before
            out[name + ":"] = "unreadable"
            continue
        rest = hashlib.sha256()
        for cell in nb.cells:  # the instructor's own notebooks: nbgrader's helpers can read them
            md = cell.metadata.get("nbgrader", {})
            if is_grade(cell) and isinstance(md.get("grade_id"), str):
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


#: Scratch folders (they hold a copy of the solutions and gradebook while grading) and their owner.
SCRATCH_PREFIX, OWNER_FILE = "cg-", ".owner-pid"


def remove_stale_scratch(tmp):
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


def hide_list(paths, keep):
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


@dataclass(frozen=True)
class Course:
    """The course a run grades in, checked (stage 1)."""

    root: str
    config: Any                  #: the course's nbgrader configuration
    solutions: str               #: the source (instructor) folder, one subfolder per assignment
    course_id: str
    db_url: str
    out: str
    jobs: int
    coursedirs: dict             #: nbgrader's submitted/autograded/feedback folder names
    data_mode: bool              #: answers read as data (no kernel) or code run in a sandbox


def check_course(opts) -> Course:
    """Stage 1: the course, assignment, submissions and output folder exist and can be used, or a
    :class:`~course.grading.contracts.GradingSetupError` says which one cannot."""
    from .answers_as_data import is_data_exercise_config
    from .gradebook import gradebook_url, load_config
    from .pool import default_jobs

    root = os.path.abspath(opts.course_root)
    if not os.path.isdir(root):
        raise GradingSetupError(f"'course_root' must be a folder holding nbgrader_config.py and "
                                f"the solutions. Got {opts.course_root!r} instead.")
    config = load_config(root)
    cd = config.CourseDirectory
    source_name = cd.get("source_directory", "source")
    solutions = os.path.join(root, source_name)
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
    data_mode = is_data_exercise_config(config)
    # Reading answers keeps a CPU busy the whole time (no kernel to wait for): one worker per CPU.
    jobs = opts.jobs or ((os.cpu_count() or 1) if data_mode else default_jobs())
    return Course(root=root, config=config, solutions=solutions, course_id=cd.get("course_id", "default_course"),
                  db_url=gradebook_url(opts, config, root), out=out, jobs=jobs, data_mode=data_mode,
                  coursedirs={"submitted": cd.get("submitted_directory", "submitted"),
                              "autograded": cd.get("autograded_directory", "autograded"),
                              "feedback": cd.get("feedback_directory", "feedback")})


def make_scratch_root():
    """A private scratch folder for this run (removed at its end; a killed run's, at the next)."""
    remove_stale_scratch(tempfile.gettempdir())
    scratch_root = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    os.chmod(scratch_root, 0o711)
    with open(os.path.join(scratch_root, OWNER_FILE), "w") as fh:
        fh.write(str(os.getpid()))
    return scratch_root


@dataclass(frozen=True)
class Setup:
    """What every submission of the run is graded against (stage 2)."""

    assignment: str
    scratch_root: str
    template: str                #: a private course folder holding the generated student version
    template_db: str             #: its gradebook: the assignment's cells, keys and hidden tests
    release_dir: str
    release_nbs: dict            #: notebook name -> the released notebook
    max_score: float
    salt: str                    #: the journal key's settings: a change grades everything again
    settings: str                #: the same without the solutions (for per-question regrades)
    fingerprints: dict           #: the solutions' scored cells (see :func:`cell_fingerprints`)
    limits: str                  #: the limits a code-based result is graded under ("" for data)
    plan: Any = None             #: the sandbox (None: answers read as data)
    protections: tuple = ()      #: what the report says protected the run


def prepare_assignment(opts, course: Course, scratch_root, grader_version) -> Setup:
    """Stage 2: generate the student version once into a private template, make sure the course
    gradebook has the assignment, and (for code-based assignments) prove the sandbox works."""
    import nbformat

    from . import budgets
    from .gradebook import (assignment_max_score, create_gradebook, ensure_assignment,
                            generate_release)

    A = opts.assignment
    template = os.path.join(scratch_root, "template")
    os.makedirs(template, mode=0o700)
    shutil.copytree(os.path.join(course.solutions, A), os.path.join(template, "source", A))
    template_db = os.path.join(template, "gradebook.db")
    # the course id nbgrader's own commands use (CourseDirectory's default is "")
    create_gradebook("sqlite:///" + template_db, course.config.CourseDirectory.get("course_id", ""))
    generate_release(course.config, template, "source", "release", "sqlite:///" + template_db, A)
    release_dir = os.path.join(template, "release", A)
    release_nbs = {os.path.splitext(os.path.basename(p))[0]: nbformat.read(p, as_version=4)
                   for p in sorted(glob.glob(os.path.join(release_dir, "*.ipynb")))}
    ensure_assignment(course.config, course.db_url, template, A, release_nbs, course.course_id, template_db)
    timeout = opts.timeout
    # a code-based result that a limit affected is graded again under other limits (see budgets.py)
    limits = "" if course.data_mode else budgets.limits_key(
        opts.memory_mb, budgets.submission_seconds(timeout, opts.submission_timeout))
    salt = (f"{grader_version}|{A}|{definition_hash(os.path.join(course.solutions, A))}|{timeout}"
            f"|feedback={opts.feedback}")
    settings = f"{grader_version}|{A}|{timeout}|feedback={opts.feedback}"
    plan, protections = _sandbox(opts, course, scratch_root, release_dir)
    return Setup(assignment=A, scratch_root=scratch_root, template=template, template_db=template_db,
                 release_dir=release_dir, release_nbs=release_nbs,
                 max_score=assignment_max_score(course.db_url, course.course_id, A),
                 salt=salt, settings=settings, fingerprints=cell_fingerprints(os.path.join(course.solutions, A)),
                 limits=limits, plan=plan, protections=tuple(protections))


def _sandbox(opts, course, scratch_root, release_dir):
    """The sandbox plan and the protections it gives; the environment check passes or the run stops."""
    if course.data_mode:
        # Answers are read as data and no cell of a submission is executed, so there is
        # nothing to sandbox: no kernel starts, and the keys never leave this machine's
        # grader processes.
        return None, [
            "answers read as data: no cell of any submission was executed (no kernel was started)",
            "the keys were read from the gradebook, never from a submission; feedback shows no key",
            "a scratch copy per submission; the real gradebook written by the grader alone"]
    from .envcheck import check_environment
    from .sandbox import probe_sandbox
    keep = [sys.prefix, sys.base_prefix, scratch_root]
    candidates = [course.solutions, course.out, opts.submissions, os.path.join(course.root, "nbgrader_config.py")]
    candidates += [os.path.join(course.root, d) for d in course.coursedirs.values()]
    if course.db_url.startswith("sqlite:///"):
        candidates.append(course.db_url[len("sqlite:///"):])
    hides, not_hidden = hide_list(candidates, keep)
    plan = probe_sandbox(hides=hides, scratch_root=scratch_root, memory_mb=opts.memory_mb,
                         cpu_seconds=max(120, int(opts.timeout) * 20))
    protections = list(plan.protections) + [
        f"NOT hidden (it contains the Python installation or scratch space): {p}" for p in not_hidden]
    problem = check_environment(plan, scratch_root, release_dir, opts.timeout)  # a known-good notebook first
    if problem:
        raise GradingSetupError(f"the environment check failed, so no one was graded: {problem}")
    return plan, protections
