"""An append-only record of every grading result, keyed by student and submission hash.

Each line of ``journal.jsonl`` is one JSON object written in a single ``write`` and
flushed to disk (``fsync``) before the run moves on, so that an interrupted run (Ctrl-C,
crash, power cut) loses at most the submission being written. A truncated last line is
ignored when reading. Lines are never rewritten or deleted: a later failed re-grade
cannot hide a grade already recorded.
"""
from __future__ import annotations

import json
import os

from .contracts import JournalEntry

__all__ = ["Journal", "JournalEntry"]


class Journal:
    """``journal.jsonl`` in the output folder."""

    def __init__(self, path):
        self.path = path
        self.entries = {}   # (student_id, key) -> latest entry
        self.graded = {}    # student_id -> the latest graded entry, whatever its submission
        if os.path.exists(path):
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":  # cut short by a crash: start a fresh line
                        with open(path, "ab") as out:
                            out.write(b"\n")
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = JournalEntry.from_dict(json.loads(line))
                    except (json.JSONDecodeError, TypeError):
                        continue  # a line cut short by a crash, or not a record (edited by hand)
                    self._remember(entry)

    def _remember(self, entry):
        self.entries[(entry.student_id, entry.key)] = entry
        if entry.graded:
            self.graded[entry.student_id] = entry

    def last_graded(self, student_id) -> JournalEntry | None:
        """The student's latest recorded grade, for any submission (None if never graded)."""
        return self.graded.get(student_id)

    def get(self, student_id, key) -> JournalEntry | None:
        """The recorded result for this exact submission, unless it should be retried."""
        entry = self.entries.get((student_id, key))
        if entry is not None and not entry.retry:
            return entry
        return None

    def append(self, entry: JournalEntry):
        """Write ``entry`` as one line, flushed to disk before returning (the commit point)."""
        if not isinstance(entry, JournalEntry):
            raise TypeError(f"'entry' must be a JournalEntry. Got {type(entry).__name__} instead.")
        line = json.dumps(entry.to_dict(), sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._remember(entry)
