"""The data that passes between the grader's stages, each as one typed, picklable object.

* :class:`GradeOptions`: what the instructor asked for. Every entry point (the command
  line, :func:`~course.grading.run_grade`, the benchmarks, the tests) builds one, and it
  alone checks every value: a bad one raises :class:`GradingSetupError` naming the option,
  what is allowed and what was given. The command line passes its text through unchanged.
* :class:`Task`: one submission to grade, sent to a worker process (or a cluster worker).
* :class:`Result`: what a worker sends back for that task.
* :class:`JournalEntry`: one line of ``journal.jsonl``, the record of a submission's
  outcome (graded or rejected) that later runs reuse.

All four are dataclasses of plain values (and, in a task, nbgrader's config and the
sandbox plan), so they cross process boundaries by pickling.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GradingSetupError", "GradeOptions", "Task", "Result", "JournalEntry", "DEFAULT_LMS_PATTERN",
           "MIN_MEMORY_MB"]

#: The default ``--lms-pattern`` (kept here so that options can be checked without importing
#: the collector); see :mod:`.collect`.
DEFAULT_LMS_PATTERN = r"^(?P<student_id>[^_]+)_(?:LATE_)?(?:\d+_)*(?P<file_id>.+)$"
#: Less memory than this cannot start a Python kernel with nbgrader's test helpers.
MIN_MEMORY_MB = 256
#: The gradebook URLs the grader can write to (SQLite, or PostgreSQL through psycopg).
_DB_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://", "postgresql+psycopg2://")
#: Assignment names are folder names of the solutions directory.
_ASSIGNMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class GradingSetupError(ValueError):
    """The command cannot run at all (bad argument, missing course files).

    ``option``: the option whose value was wrong, when one was (the command line names it
    as its flag, ``--memory-mb`` for ``memory_mb``).
    """

    option: str | None = None


def _bad(name, allowed, value):
    exc = GradingSetupError(f"'{name}' must be {allowed}. Got {value!r} instead.")
    exc.option = name
    return exc


def _number(name, value, allowed, parse, types, ok):
    """``value`` (or its text, read with ``parse``) when it is one of ``types`` and ``ok(value)``;
    else the error naming ``name``, what is ``allowed`` and the value as it was given."""
    given = value
    if isinstance(value, str):
        try:
            value = parse(value.strip())
        except ValueError:
            raise _bad(name, allowed, given) from None
    if isinstance(value, bool) or not isinstance(value, types) or not ok(value):
        raise _bad(name, allowed, given)
    return value


def _integer(name, value, low, allowed):
    return _number(name, value, allowed, int, int, lambda v: v >= low)


def _seconds(name, value):
    value = _number(name, value, "a number of seconds in (0, inf)", float, (int, float),
                    lambda v: 0 < v < float("inf"))
    return int(value) if float(value).is_integer() else float(value)


def _text(name, value, allowed="a non-empty text", empty=False):
    if not isinstance(value, str) or (not empty and not value.strip()) or "\0" in value:
        raise _bad(name, allowed, value)
    return value


def _flag(name, value):
    if not isinstance(value, bool):
        raise _bad(name, "True or False", value)
    return value


@dataclass(frozen=True)
class GradeOptions:
    """The options of ``coproduction-course grade``, checked and converted when made.

    Numbers may be given as text (as the command line has them): ``GradeOptions(jobs="4")``
    is ``GradeOptions(jobs=4)``. ``jobs`` 0 or None means the default (:func:`default_jobs`).
    """

    assignment: str
    submissions: str
    out: str = "graded"
    jobs: int = 0
    db: str | None = None
    timeout: float = 60
    course_root: str = "."
    lms_pattern: str = DEFAULT_LMS_PATTERN
    memory_mb: int = 2048
    quiet: bool = False
    feedback: bool = True
    cluster: str | None = None
    submission_timeout: float | None = None   #: seconds for a whole submission (None: 10 x timeout)

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        if not isinstance(self.assignment, str) or not _ASSIGNMENT_RE.match(self.assignment):
            raise _bad("assignment", "the name of a folder of the solutions directory (letters, digits, "
                                     "'.', '_' or '-', at most 100)", self.assignment)
        _text("submissions", self.submissions, "a folder or a .zip file")
        _text("out", self.out, "a folder this command can write to")
        _text("course_root", self.course_root, "a folder holding nbgrader_config.py and the solutions")
        set_("jobs", 0 if self.jobs is None else _integer(
            "jobs", self.jobs, 0, "an integer >= 1, or 0 for the default (one more than the number of CPUs)"))
        set_("timeout", _seconds("timeout", self.timeout))
        if self.submission_timeout is not None:
            set_("submission_timeout", _seconds("submission_timeout", self.submission_timeout))
        set_("memory_mb", _integer("memory_mb", self.memory_mb, MIN_MEMORY_MB,
                                   f"an integer >= {MIN_MEMORY_MB} (megabytes)"))
        _flag("quiet", self.quiet)
        _flag("feedback", self.feedback)
        if self.db is not None:
            allowed = "a sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE URL"
            if not _text("db", self.db, allowed).startswith(_DB_SCHEMES):
                raise _bad("db", allowed, self.db)
        if self.cluster is not None:
            from .cluster import check_address
            try:
                check_address(_text("cluster", self.cluster, "a Dask scheduler address"))
            except GradingSetupError as exc:
                exc.option = "cluster"
                raise
        _text("lms_pattern", self.lms_pattern, "a regular expression")
        try:
            groups = re.compile(self.lms_pattern).groupindex
        except re.error as exc:
            raise _bad("lms_pattern", f"a regular expression ({exc})", self.lms_pattern) from None
        missing = [g for g in ("student_id", "file_id") if g not in groups]
        if missing:
            raise _bad("lms_pattern", "a regular expression with the named groups (?P<student_id>...) and "
                                      f"(?P<file_id>...) (missing: {', '.join(missing)})", self.lms_pattern)

    @classmethod
    def fields(cls):
        """The option names, in order."""
        return [f.name for f in dataclasses.fields(cls)]


@dataclass(frozen=True)
class Task:
    """One submission to grade: everything a worker needs, nothing it must look up."""

    student_id: str
    assignment: str
    key: str                              #: the journal key (content hash salted with the grading settings)
    notebooks: dict[str, str]             #: notebook name -> its JSON text, after preflight repairs
    notes: tuple[str, ...] = ()           #: what intake and preflight noticed (shown to the student)
    timestamp: str | None = None          #: the submission time, as the LMS or nbgrader gave it
    order: Any = None                     #: what orders this student's submissions (newest last)
    received: str = ""                    #: the files as the download named them
    content: str = ""                     #: the content hash without settings (same files, other key?)
    data_mode: bool = False               #: answers read as data: no kernel, no sandbox
    feedback: bool = True
    timeout: float = 60
    submission_timeout: float | None = None
    config: Any = None                    #: nbgrader's traitlets Config for the course
    # Paths on the machine that grades (a cluster worker fills in its own):
    template_db: str = ""
    release_dir: str = ""
    scratch_root: str = ""
    bin_dir: str = ""
    plan: Any = None                      #: the sandbox plan (None for answers read as data)
    sandbox_limits: dict | None = None    #: what a cluster worker's own plan must enforce

    def replace(self, **changes) -> "Task":
        return dataclasses.replace(self, **changes)


@dataclass
class Result:
    """What a worker returns for one :class:`Task`. ``status`` is ``"graded"`` or ``"error"``;
    an error with ``retry`` is the grader's fault (graded again on the next run), one without
    is the submission's own."""

    student_id: str
    key: str
    status: str = "error"
    grades: dict = field(default_factory=dict)       #: notebook -> {"grades": {cell: ...}, "comments": ...}
    autograded: dict = field(default_factory=dict)   #: notebook -> autograded notebook JSON text
    feedback: dict = field(default_factory=dict)     #: notebook -> feedback HTML
    feedback_error: str = ""
    neutralised: list = field(default_factory=list)  #: cells not run: {"notebook", "index", "why"}
    attempts: int = 0
    phases: dict = field(default_factory=dict)       #: seconds spent per phase
    seconds: float = 0.0
    error: str = ""
    retry: bool = False
    log: str = ""
    host: str = ""                                   #: the cluster worker that graded it
    protections: list = field(default_factory=list)  #: that worker's sandbox, as reported

    @classmethod
    def failed(cls, task, error, retry=True) -> "Result":
        return cls(student_id=task.student_id, key=task.key, status="error", error=error, retry=retry)


@dataclass(frozen=True)
class JournalEntry:
    """One line of ``journal.jsonl``. Lines written by older versions (with fewer fields) read
    with the defaults below; unknown fields are ignored."""

    student_id: str
    key: str
    status: str                     #: "graded" or "rejected"
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""
    received: str = ""
    retry: bool = False             #: rejected for the grader's fault: graded again next run
    order: Any = None
    content: str = ""
    settings: str = ""              #: the grading settings without the solutions (for per-cell regrades)
    cells: Any = None               #: fingerprints of the solutions' check cells
    grades: dict | None = None
    neutralised: list = field(default_factory=list)
    limits: str = ""
    limited: bool = False           #: could other limits change this outcome?
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)

    @property
    def graded(self) -> bool:
        return self.status == "graded"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data) -> "JournalEntry":
        if not isinstance(data, dict):
            raise TypeError(f"a journal line must be a JSON object, not {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def replace(self, **changes) -> "JournalEntry":
        return dataclasses.replace(self, **changes)
