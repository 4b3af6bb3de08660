"""Find every student's files in a folder of submissions or in an LMS download.

Two layouts are accepted (see ``docs/grading.md``):

* nbgrader's submitted layout: ``<student>/<assignment>/<notebook>.ipynb`` (optionally
  with ``timestamp.txt``);
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

__all__ = ["Submission", "DEFAULT_LMS_PATTERN", "collect_submissions", "STUDENT_ID_RE"]

#: ``alice_ps1.ipynb``, ``alice_12345_67890_ps1.ipynb`` (Canvas) and
#: ``alice_LATE_12345_67890_ps1.ipynb``: the student id is the text before the first
#: underscore; numeric LMS ids and ``LATE_`` after it are skipped; the rest is the file.
DEFAULT_LMS_PATTERN = r"^(?P<student_id>[^_]+)_(?:LATE_)?(?:\d+_)*(?P<file_id>.+)$"

#: Student ids become folder names and gradebook keys.
STUDENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.@+-]{0,99}$")

#: Files larger than this are not read into memory (a notebook this size is rejected).
MAX_FILE_BYTES = 100 * 1024 * 1024


@dataclass
class Submission:
    """One student's files: ``files`` maps a file name to its bytes."""

    student_id: str
    files: dict = field(default_factory=dict)
    timestamp: str | None = None
    problems: list = field(default_factory=list)  #: reasons to reject, found while collecting

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
    if os.path.getsize(path) > MAX_FILE_BYTES:
        return None
    with open(path, "rb") as fh:
        return fh.read()


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
        sub = Submission(student)
        if not os.path.isdir(adir):
            sub.problems.append(f"no folder '{assignment}' in the submission of {student}")
            subs.append(sub)
            continue
        for dirpath, dirnames, filenames in os.walk(adir):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fn in filenames:
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, adir)
                if rel == "timestamp.txt":
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        sub.timestamp = fh.read().strip() or None
                    continue
                data = _read(path)
                if data is None:
                    sub.problems.append(_too_big(rel))
                else:
                    sub.files[rel] = data
        subs.append(sub)
    return subs


def _lms_entries_from_zip(path):
    entries = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            name = os.path.basename(info.filename)
            if name.startswith("."):
                continue
            if info.file_size > MAX_FILE_BYTES:
                entries.append((name, None))
            else:
                entries.append((name, zf.read(info)))  # never extracted: no path traversal
    return entries


def _lms_entries_from_dir(path):
    entries = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith(".") or not os.path.isfile(full):
            continue
        entries.append((name, _read(full)))
    return entries


def _collect_lms(entries, pattern):
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    plugin = FileNameCollectorPlugin(named_regexp=pattern, valid_ext=[".ipynb"])
    by_student, unmatched = {}, []
    for name, data in entries:
        info = plugin.collect(name)
        if not info:
            unmatched.append(name)
            continue
        sid = info["student_id"]
        sub = by_student.setdefault(sid, Submission(sid))
        if info.get("timestamp"):
            sub.timestamp = info["timestamp"]
        file_id = info["file_id"]
        if data is None:
            sub.problems.append(_too_big(file_id))
        elif file_id in sub.files:
            sub.problems.append(f"two files are both named '{file_id}'")
        else:
            sub.files[file_id] = data
    return [by_student[s] for s in sorted(by_student)], unmatched


def collect_submissions(path, assignment, lms_pattern=DEFAULT_LMS_PATTERN):
    """Return ``(submissions, unmatched_file_names)`` found at ``path``."""
    if os.path.isfile(path) and zipfile.is_zipfile(path):
        subs, unmatched = _collect_lms(_lms_entries_from_zip(path), lms_pattern)
    elif os.path.isdir(path) and _is_nbgrader_layout(path, assignment):
        subs, unmatched = _collect_nbgrader(path, assignment), []
    elif os.path.isdir(path):
        subs, unmatched = _collect_lms(_lms_entries_from_dir(path), lms_pattern)
    else:
        raise ValueError(f"'submissions' must be a folder or a .zip file. Got {path!r} instead.")
    for sub in subs:
        if not STUDENT_ID_RE.match(sub.student_id):
            sub.problems.insert(0, f"the student id {sub.student_id!r} is not usable as a "
                                   "gradebook id (letters, digits, '.', '@', '+', '-' only)")
    return subs, unmatched
