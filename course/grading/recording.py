"""Stage 5 of a grading run: recording each result (gradebook, student files, feedback, journal),
per-question regrades after a corrected key, and the audit of changed scores."""
from __future__ import annotations

import json
import os

from .cells import grade_id
from .contracts import JournalEntry

__all__ = ['Recorder', 'changed_cells', 'keep_unchanged_scores', 'changed_scores', 'write_audit', 'atomic_write', 'write_student_files', 'NO_SCRIPTS', 'no_scripts', 'feedback_html', 'neutralised_notes']


def changed_cells(before, after):
    """The scored cells a change of the solutions touched (``{(notebook, grade_id)}``), or ``None`` when a
    change outside the scored cells (another code cell, a data file) may have changed any score."""
    if not before:
        return None
    keys = set(before) | set(after)
    if any(before.get(k) != after.get(k) for k in keys if k.endswith(":") or k.startswith(":")):
        return None
    return {tuple(k.split(":", 1)) for k in keys if before.get(k) != after.get(k)}


def keep_unchanged_scores(result, previous, changed):
    """After a change to the solutions touched only ``changed`` cells, the other cells keep the
    automatic scores recorded before: a regrade changes only the questions whose tests changed."""
    kept = 0
    for nb, data in result.grades.items():
        old = ((previous.grades or {}).get(nb) or {}).get("grades", {})
        for gid, g in data.get("grades", {}).items():
            if (nb, gid) in changed or g.get("needs_manual_grade") or gid not in old:
                continue
            was = old[gid].get("auto_score")
            if was is not None and was != g.get("auto_score"):
                g["auto_score"] = was
                kept += 1
    return kept


def changed_scores(student, before, after, why):
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


def write_audit(path, changes):
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


def atomic_write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_student_files(course_root, coursedirs, assignment, student, result, notebooks,
                         timestamp, copy_submitted):
    auto = os.path.join(course_root, coursedirs["autograded"], student, assignment)
    os.makedirs(auto, exist_ok=True)
    for name, text in result.autograded.items():
        atomic_write(os.path.join(auto, name + ".ipynb"), text)
    if copy_submitted:
        sub = os.path.join(course_root, coursedirs["submitted"], student, assignment)
        os.makedirs(sub, exist_ok=True)
        for name, text in notebooks.items():
            atomic_write(os.path.join(sub, name + ".ipynb"), text)
        if timestamp:
            atomic_write(os.path.join(sub, "timestamp.txt"), timestamp)


#: Feedback pages run no script at all: a student's own output or written answer may hold one.
NO_SCRIPTS = ('<meta http-equiv="Content-Security-Policy" content="script-src \'none\'; object-src \'none\'; '
              'base-uri \'none\'">')


def no_scripts(page):
    """``page`` with a policy, first thing in its head, that forbids every script."""
    import re
    if re.search(r"<head[^>]*>", page, re.I):
        return re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + NO_SCRIPTS, page, count=1, flags=re.I)
    return NO_SCRIPTS + page


def feedback_html(student, feedback):
    if len(feedback) == 1:
        return no_scripts(next(iter(feedback.values())))
    import html
    parts = "".join(
        f"<h2>{html.escape(n)}</h2><iframe title='feedback on {html.escape(n)}' "
        f"style='width:100%;height:80vh' srcdoc=\"{html.escape(t, quote=True)}\"></iframe>"
        for n, t in sorted(feedback.items()))
    return no_scripts(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback for "
                       f"{html.escape(student)}</title></head><body><h1>Feedback for "
                       f"{html.escape(student)}</h1>{parts}</body></html>")


def neutralised_notes(result):
    notes = []
    for fail in result.neutralised:
        text = result.autograded.get(fail["notebook"])
        label = f"cell {fail['index'] + 1}"
        if text:
            cells = json.loads(text)["cells"]
            if fail["index"] < len(cells):
                gid = grade_id(cells[fail["index"]])
                if gid:
                    label += f" ({gid})"
        notes.append(f"{label} of {fail['notebook']} was not run and earned no points: "
                     f"{fail['why']}")
    return notes


class Recorder:
    """Stage 5 of a grading run: what happens to each :class:`Result` as it arrives, in this process
    only (the single writer of the gradebook, the student's files and the journal).

    A graded result goes into the gradebook, the student's autograded (and submitted) files and
    feedback page are written, and then its :class:`JournalEntry` is appended: the commit point.
    A result that failed for the grader's own reasons (``retry``) never replaces a grade already
    recorded. ``rows`` holds each student's outcome for the report; ``audit`` every automatic
    score that changed since the student's previous grade.
    """

    def __init__(self, *, course, setup, journal, copy_submitted):
        self.course, self.setup, self.journal = course, setup, journal
        self.copy_submitted = copy_submitted
        self.rows, self.audit, self.regraded_cells = {}, [], set()

    def __call__(self, task, result):
        entry = self._graded(task, result) if result.status == "graded" else self._failed(task, result)
        if entry is not None:
            self.journal.append(entry)
            self.rows[task.student_id] = entry

    def _graded(self, task, result):
        from nbgrader.api import Gradebook

        from . import budgets
        from .gradebook import merge_grades, submission_score
        course, setup, sid = self.course, self.setup, task.student_id
        with Gradebook(course.db_url, course.course_id) as gb:
            merge_grades(course.db_url, course.course_id, setup.assignment, sid, result.grades, task.timestamp, gb)
            score = submission_score(course.db_url, course.course_id, setup.assignment, sid, gb)
        write_student_files(course.root, course.coursedirs, setup.assignment, sid, result, task.notebooks,
                            task.timestamp, self.copy_submitted)
        if result.feedback:
            atomic_write(os.path.join(course.out, "feedback", sid + ".html"), feedback_html(sid, result.feedback))
        notes = list(task.notes) + neutralised_notes(result)
        previous = self.journal.last_graded(sid)
        if previous is not None and previous.key != task.key:
            same = previous.content == task.content
            why = "the same submission, graded again after the solutions changed" if same else "a new submission"
            changed = (changed_cells(previous.cells, setup.fingerprints)
                       if same and previous.settings == setup.settings else None)
            if changed is not None:
                keep_unchanged_scores(result, previous, changed)
                self.regraded_cells.update(changed)
            self.audit.extend(changed_scores(sid, previous.grades or {}, result.grades, why))
        return JournalEntry(
            student_id=sid, key=task.key, status="graded", order=task.order, content=task.content,
            settings=setup.settings, cells=setup.fingerprints, received=task.received,
            score=score[0] if score else 0.0, max_score=setup.max_score, reason="; ".join(notes),
            grades=result.grades, neutralised=result.neutralised, limits=setup.limits,
            limited=budgets.limited(result), seconds=round(result.seconds, 3), phases=result.phases)

    def _failed(self, task, result):
        sid = task.student_id
        entry = JournalEntry(student_id=sid, key=task.key, status="rejected", max_score=self.setup.max_score,
                             retry=bool(result.retry), received=task.received, limits=self.setup.limits,
                             limited=True,  # a kernel that kept failing: maybe the limits
                             reason="the notebook could not be graded: " + result.error)
        previous = self.journal.last_graded(sid)
        if entry.retry and previous is not None:
            # The grader failed, not the student: the grade already recorded stays visible
            # (and stays in the gradebook) until this submission can be graded.
            self.journal.append(entry)
            self.rows[sid] = previous.replace(reason="; ".join(filter(None, [
                previous.reason,
                "a newer submission could not be graded because of a grader problem ("
                + result.error + "); it will be graded on the next run, and until "
                "then this is the grade of the previous submission"])))
            return None
        return entry
