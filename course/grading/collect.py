"""Find every student's files in a folder of submissions or in an LMS download.

These layouts are accepted (see ``docs/grading.md``):

* nbgrader's submitted layout: ``<student>/<assignment>/<notebook>.ipynb`` (optionally
  with ``timestamp.txt``);
* one folder per student: ``<student>/<notebook>.ipynb`` (Moodle's "download in folders",
  extracted or as its ``.zip``, gives ``<Full Name>_<id>_assignsubmission_file_/<notebook>``:
  the id is the student id);
* Canvas's download (``<name>[_LATE]_<user id>_<submission id>_<file>``: the numeric user id is
  the student id, so namesakes never merge; ``LATE`` is noted) and Moodle's flat download
  (``<Full Name>_<id>_assignsubmission_file_<file>``);
* Blackboard Learn's "Assignment File Download"
  (``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>``, with a ``.txt`` receipt per
  attempt): the username is the student id, and of several attempts the newest is graded;
* a flat folder or a ``.zip`` as a learning-management system downloads it, where each
  file name carries the student id. The names are matched with nbgrader's own
  :class:`~nbgrader.plugins.zipcollect.FileNameCollectorPlugin` using
  :data:`DEFAULT_LMS_PATTERN` (change it with ``--lms-pattern``).
"""
from __future__ import annotations

import hashlib
import os
import re
import zipfile
from dataclasses import dataclass, field

__all__ = ["Submission", "DEFAULT_LMS_PATTERN", "CANVAS_RE", "MOODLE_RE", "BLACKBOARD_RE", "collect_submissions", "STUDENT_ID_RE"]

#: ``alice_ps1.ipynb``, ``alice_12345_67890_ps1.ipynb`` (Canvas) and
#: ``alice_LATE_12345_67890_ps1.ipynb``: the student id is the text before the first
#: underscore; numeric LMS ids and ``LATE_`` after it are skipped; the rest is the file.
from .contracts import DEFAULT_LMS_PATTERN  # noqa: E402 (one definition, checked with the options)

#: Canvas "Download submissions": ``<name>[_LATE]_<user id>_<submission id>_<file>``; the name is
#: lower case without separators, so namesakes collide and the numeric user id is the student id.
CANVAS_RE = re.compile(r"^(?P<name>[a-z0-9]+)_(?P<late>LATE_)?(?P<student_id>\d+)_(?P<submission_id>\d+)_"
                       r"(?P<file_id>.+)$")
#: Moodle "Download all submissions": ``<Full Name>_<participant id>_assignsubmission_file_<file>`` (flat) or a
#: folder ``<Full Name>_<participant id>_assignsubmission_file_`` per student ("download in folders").
MOODLE_RE = re.compile(r"^(?P<name>.+?)_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file_id>.*)$")
#: Blackboard Learn "Assignment File Download": ``<assignment>_<username>_attempt_<date-time>_<file>`` for each
#: submitted file and ``<assignment>_<username>_attempt_<date-time>.txt`` for the attempt's receipt.
BLACKBOARD_RE = re.compile(r"^(?P<assignment>.+)_(?P<student_id>[^_]+)_attempt_"
                           r"(?P<when>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file_id>.+)|\.txt)$")

#: Student ids become folder names and gradebook keys.
STUDENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.@+-]{0,99}$")

#: Files larger than this are not read into memory (a notebook this size is rejected).
MAX_FILE_BYTES = 100 * 1024 * 1024
#: At most this many files are read for one student, and at most this many bytes in all: a
#: submission of many large files is rejected with a reason instead of being read.
MAX_FILES_PER_STUDENT = 100
MAX_BYTES_PER_STUDENT = 200 * 1024 * 1024


@dataclass
class Submission:
    """One student's files: ``files`` maps a file name to its bytes."""

    student_id: str
    files: dict = field(default_factory=dict)
    timestamp: str | None = None
    problems: list = field(default_factory=list)  #: reasons to reject, found while collecting
    notes: list = field(default_factory=list)     #: worth telling (late, the name the LMS gave)
    name: str = ""                                #: the student's name as the LMS wrote it, if any
    number: int = -1                              #: the LMS's submission number (Canvas), if any
    received: list = field(default_factory=list)  #: the files as the download or folder named them

    @property
    def source(self) -> str:
        """Which files were used, as the input named them, and which submission they are."""
        when = []
        if self.timestamp:
            when.append(f"submitted {self.timestamp}")
        if self.number >= 0:
            when.append(f"LMS submission {self.number}")
        return "; ".join(sorted(self.received)) + (f" ({', '.join(when)})" if when else "")

    @property
    def order(self):
        """``[UTC time as ISO text or "", submission number or -1]``: which of two submissions is newer."""
        when = ""
        if self.timestamp:
            try:
                from nbgrader.utils import parse_utc
                when = parse_utc(self.timestamp).isoformat()
            except Exception:  # an unreadable timestamp says nothing about order
                when = ""
        return [when, self.number]

    def content_hash(self, salt=""):
        """SHA-256 of the file names and bytes (and ``salt``): the journal key."""
        h = hashlib.sha256(salt.encode())
        for name in sorted(self.files):
            data = self.files[name]
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        h.update(f"timestamp={self.timestamp}".encode())
        for p in self.problems:
            h.update(p.encode())
        return h.hexdigest()


def _read(path):
    """The bytes of a regular file; ``None`` when too large. Links and special files are never read."""
    if os.path.islink(path) or not os.path.isfile(path):
        raise _NotAFile(path)
    if os.path.getsize(path) > MAX_FILE_BYTES:
        return None
    with open(path, "rb") as fh:
        return fh.read()


class _NotAFile(Exception):
    """A symbolic link or special file where a submitted file was expected."""


def _caps_problem():
    return (f"the submission has more than {MAX_FILES_PER_STUDENT} files or {MAX_BYTES_PER_STUDENT // 2**20} MB in "
            "all; submit only the notebook(s) and the files the assignment asks for")


def _within_caps(sub, path=None, size=None):
    """Count one more file (of ``size`` bytes, or the size of ``path``) against ``sub``'s caps; False
    (and a problem noted once) when it would go over them, so that it is never read."""
    try:
        size = size if size is not None else (0 if os.path.islink(path) else os.path.getsize(path))
    except OSError:
        size = 0
    sub._count = getattr(sub, "_count", 0) + 1
    sub._bytes = getattr(sub, "_bytes", 0) + size
    if sub._count > MAX_FILES_PER_STUDENT or sub._bytes > MAX_BYTES_PER_STUDENT:
        if _caps_problem() not in sub.problems:
            sub.problems.append(_caps_problem())
        return False
    return True


def _too_big(name):
    return (f"'{name}' is larger than {MAX_FILE_BYTES // 2**20} MB; clear the outputs "
            "(Edit > Clear Outputs of All Cells), save and submit again")


def _is_nbgrader_layout(root, assignment):
    entries = [e for e in os.listdir(root) if not e.startswith(".")]
    return bool(entries) and any(os.path.isdir(os.path.join(root, e, assignment)) for e in entries)


def _collect_nbgrader(root, assignment):
    subs = []
    for student in sorted(os.listdir(root)):
        adir = os.path.join(root, student, assignment)
        if student.startswith(".") or not os.path.isdir(os.path.join(root, student)):
            continue
        if not os.path.isdir(adir):
            continue  # this student has submitted other assignments, not this one
        sub = Submission(student)
        for dirpath, dirnames, filenames in os.walk(adir):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fn in filenames:
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, adir)
                if rel == "timestamp.txt":
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        sub.timestamp = fh.read().strip() or None
                    continue
                if not _within_caps(sub, path):
                    continue
                try:
                    data = _read(path)
                except _NotAFile:
                    sub.problems.append(f"'{rel}' is a link or a special file, not a notebook; submit the file itself")
                    continue
                if data is None:
                    sub.problems.append(_too_big(rel))
                else:
                    sub.files[rel] = data
                    sub.received.append(f"{student}/{assignment}/{rel}")
        subs.append(sub)
    return subs


def _is_student_folders(root):
    """``<student>/<notebook>.ipynb`` without an assignment level (or Moodle's folders, extracted)."""
    entries = [e for e in os.listdir(root) if not e.startswith(".")]
    dirs = [e for e in entries if os.path.isdir(os.path.join(root, e)) and not os.path.islink(os.path.join(root, e))]
    return bool(dirs) and any(f.endswith(".ipynb") for d in dirs for f in os.listdir(os.path.join(root, d)))


def _collect_student_folders(root):
    entries = []
    for folder in sorted(os.listdir(root)):
        full = os.path.join(root, folder)
        if folder.startswith(".") or not os.path.isdir(full) or os.path.islink(full):
            continue
        for fn in sorted(os.listdir(full)):
            path = os.path.join(full, fn)
            if fn.startswith("."):
                continue
            entries.append((folder + "/" + fn, _LazyFile(path)))
    return entries


def _lms_entries_from_zip(path):
    entries = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            parts = [p for p in info.filename.replace("\\", "/").split("/") if p]
            if not parts or parts[-1].startswith("."):
                continue
            # a file in a folder keeps that folder (Moodle's "download in folders"); never extracted
            name = "/".join(parts[-2:])
            entries.append((name, _Lazy(path, info)))
    return entries


class _LazyFile:
    """A file in a folder, read only when it is kept (within the caps); links are never read."""

    def __init__(self, path):
        self.path = path
        try:
            self.size = 0 if os.path.islink(path) else os.path.getsize(path)
        except OSError:
            self.size = 0

    def read(self):
        try:
            return _read(self.path)
        except _NotAFile:
            return _NotAFile


class _Lazy:
    """A file in a zip, read only when it is kept (within the caps), and never past MAX_FILE_BYTES
    whatever size the zip's directory claims."""

    def __init__(self, path, info):
        self.path, self.info, self.size = path, info, info.file_size

    def read(self):
        if self.size > MAX_FILE_BYTES:
            return None
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.info) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except Exception:  # a damaged or forged entry (bad CRC, wrong size, encrypted): that student's problem
            return _Broken
        return None if len(data) > MAX_FILE_BYTES else data


class _Broken:
    """A zip entry that could not be read."""


def _lms_entries_from_dir(path):
    entries = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith(".") or os.path.isdir(full):
            continue
        entries.append((name, _LazyFile(full)))
    return entries


def _lms_match(name, plugin):
    """What one downloaded file's name says, as a dict (``student_id``, ``file_id``, ``name``, ``late``,
    ``number``, ``attempt``), or ``None``. A Blackboard receipt has ``file_id`` ``None``.

    Blackboard, Canvas and Moodle names are recognised first, by their shapes; anything else goes
    through ``plugin`` (nbgrader's ``FileNameCollectorPlugin`` with the ``--lms-pattern``).
    """
    folder, _, base = name.rpartition("/")
    found = {"name": "", "late": False, "number": -1, "attempt": ""}
    if folder:  # one folder per student (Moodle's "download in folders", or a plain folder)
        m = MOODLE_RE.match(folder)
        return {**found, "student_id": m["student_id"] if m else folder, "file_id": base,
                "name": m["name"] if m else ""}
    m = BLACKBOARD_RE.match(base)
    if m:
        d, t = m["when"][:10], m["when"][11:].replace("-", ":")
        return {**found, "student_id": m["student_id"], "file_id": m["file_id"], "attempt": f"{d} {t}"}
    m = CANVAS_RE.match(base)
    if m:
        return {**found, "student_id": m["student_id"], "file_id": m["file_id"], "name": m["name"],
                "late": bool(m["late"]), "number": int(m["submission_id"])}
    m = MOODLE_RE.match(base)
    if m and m["file_id"]:
        return {**found, "student_id": m["student_id"], "file_id": m["file_id"], "name": m["name"]}
    info = plugin.collect(base)
    if not info:
        return None
    return {**found, "student_id": info["student_id"], "file_id": info["file_id"]}


def _newest_attempts(matches):
    """Keep, for each student, only the files of their newest Blackboard attempt; note the others."""
    newest = {}
    for _, m in matches:
        if m["attempt"]:
            newest[m["student_id"]] = max(newest.get(m["student_id"], ""), m["attempt"])
    kept, notes = [], {}
    for entry, m in matches:
        if m["attempt"] and m["attempt"] != newest[m["student_id"]]:
            notes.setdefault(m["student_id"], set()).add(m["attempt"])
            continue
        if m["file_id"] is not None:  # a Blackboard receipt (.txt) holds no work
            kept.append((entry, m))
    return kept, notes


def _collect_lms(entries, pattern):
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    plugin = FileNameCollectorPlugin(named_regexp=pattern, valid_ext=[".ipynb"])
    by_student, unmatched, matches = {}, [], []
    for name, data in entries:
        if pattern == DEFAULT_LMS_PATTERN:
            match = _lms_match(name, plugin)
        else:
            info = plugin.collect(name.rpartition("/")[2])
            match = ({"student_id": info["student_id"], "file_id": info["file_id"], "name": "", "late": False,
                      "number": -1, "attempt": ""} if info else None)
        if not match:
            unmatched.append(name)
        else:
            matches.append(((name, data), match))
    matches, older = _newest_attempts(matches)
    for (name, data), m in matches:
        sid, file_id, lms_name = m["student_id"], m["file_id"], m["name"]
        sub = by_student.setdefault(sid, Submission(sid, name=lms_name))
        sub.number = max(sub.number, m["number"])
        if m["attempt"]:
            sub.timestamp = m["attempt"]
        if lms_name and lms_name != sub.name:
            sub.problems.append(f"files of two names ({sub.name!r}, {lms_name!r}) carry the same id {sid}")
        if m["late"] and "submitted late (the LMS marked it LATE)" not in sub.notes:
            sub.notes.append("submitted late (the LMS marked it LATE)")
        if isinstance(data, (_Lazy, _LazyFile)):
            if not _within_caps(sub, size=data.size):
                continue
            data = data.read()
        if data is _Broken:
            sub.problems.append(f"'{file_id}' could not be read from the zip (it is damaged); submit it again")
        elif data is _NotAFile:
            sub.problems.append(f"'{file_id}' is a link or a special file, not a notebook; submit the file itself")
        elif data is None:
            sub.problems.append(_too_big(file_id))
        elif file_id in sub.files:
            sub.problems.append(f"two files are both named '{file_id}'")
        else:
            sub.files[file_id] = data
            sub.received.append(name)
    for sid, attempts in older.items():
        if sid in by_student:
            by_student[sid].notes.append(f"graded the attempt of {by_student[sid].timestamp}; earlier attempts "
                                         f"({', '.join(sorted(attempts))}) were not graded")
    return [by_student[s] for s in sorted(by_student)], unmatched


def collect_submissions(path, assignment, lms_pattern=DEFAULT_LMS_PATTERN):
    """Return ``(submissions, unmatched_file_names)`` found at ``path``."""
    if os.path.isfile(path) and zipfile.is_zipfile(path):
        subs, unmatched = _collect_lms(_lms_entries_from_zip(path), lms_pattern)
    elif os.path.isdir(path) and _is_nbgrader_layout(path, assignment):
        subs, unmatched = _collect_nbgrader(path, assignment), []
    elif os.path.isdir(path) and _is_student_folders(path):
        subs, unmatched = _collect_lms(_collect_student_folders(path), lms_pattern)
    elif os.path.isdir(path):
        subs, unmatched = _collect_lms(_lms_entries_from_dir(path), lms_pattern)
    else:
        raise ValueError(f"'submissions' must be a folder or a .zip file. Got {path!r} instead.")
    for sub in subs:
        if not STUDENT_ID_RE.match(sub.student_id):
            sub.problems.insert(0, f"the student id {sub.student_id!r} is not usable as a "
                                   "gradebook id (letters, digits, '.', '@', '+', '-' only)")
    return subs, unmatched
