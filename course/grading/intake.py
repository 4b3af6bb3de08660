"""Stage 3 of a grading run: from collected submissions to the tasks that need grading.

For each student, in the order collected, :func:`plan_intake` decides without running any
of the submission's code:

* the same submission, graded before under the same settings: its recorded outcome stands
  (its grades are put into the gradebook again, since a run on other input may have changed them);
* an older submission than the one already graded: the newer one's grade stays;
* a submission preflight rejects (:mod:`.preflight`): a ``rejected`` entry with the reason;
* anything else becomes a :class:`~course.grading.contracts.Task`.

A submission that makes intake itself fail (an error of the grader's own on strange input)
becomes that student's rejected row, marked to be tried again, and the run goes on.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from .contracts import JournalEntry, Task
from .preflight import preflight

__all__ = ["Intake", "plan_intake", "older"]


@dataclass
class Intake:
    rows: dict = field(default_factory=dict)     #: student id -> JournalEntry known without grading
    tasks: list = field(default_factory=list)    #: Task per submission to grade
    merges: list = field(default_factory=list)   #: (student id, grades, timestamp) to write to the gradebook again
    new_entries: list = field(default_factory=list)  #: JournalEntry to append (rejections found here)


def older(order, other):
    """Is a submission with ``order`` older than one with ``other``? (Unknown order: no.)"""
    if not order or not other:
        return False
    (when, number), (other_when, other_number) = order, other
    if when and other_when:
        return when < other_when
    if number >= 0 and other_number >= 0:
        return number < other_number
    return False


def plan_intake(subs, journal, setup, opts, course) -> Intake:
    """Sort ``subs`` (:class:`~course.grading.collect.Submission`) into known outcomes and tasks.

    ``journal``: the run's :class:`~course.grading.journal.Journal`; ``setup``: the
    :class:`~course.grading.prepare.Setup`; ``opts``: the :class:`GradeOptions`; ``course``: the
    :class:`~course.grading.prepare.Course`. Nothing is written: the caller appends
    ``new_entries`` to the journal and applies ``merges``.
    """
    out = Intake()
    for sub in subs:
        try:
            _one(sub, journal, setup, opts, course, out)
        except Exception as exc:  # a grader bug on strange input: this student only, tried again next run
            entry = JournalEntry(student_id=sub.student_id, key=_safe_key(sub, setup), status="rejected",
                                 max_score=setup.max_score, retry=True, received=_safe_source(sub),
                                 reason=f"the submission could not be read ({type(exc).__name__}: "
                                        f"{str(exc)[:200]}); a problem of the grader's own: it will be "
                                        "tried again on the next run")
            out.new_entries.append(entry)
            out.rows[sub.student_id] = entry
    return out


def _safe_key(sub, setup):
    try:
        return sub.content_hash(setup.salt)
    except Exception:
        return "unreadable"


def _safe_source(sub):
    try:
        return sub.source
    except Exception:
        return ""


def _one(sub, journal, setup, opts, course, out):
    sid = sub.student_id
    key = sub.content_hash(setup.salt)
    entry = journal.get(sid, key)
    if entry is not None and entry.limited and entry.limits != setup.limits:
        entry = None  # graded under other limits, which affected it: grade it again
    if entry is not None:
        if entry.graded:
            out.merges.append((sid, entry.grades, sub.timestamp))
        out.rows[sid] = entry
        return
    previous = journal.last_graded(sid)
    if previous is not None and older(sub.order, previous.order):
        # an older submission than the one already graded (an earlier download graded after a
        # later one): the newer submission's grade stays, in the gradebook too
        out.merges.append((sid, previous.grades, None))
        out.rows[sid] = previous.replace(reason="; ".join(filter(None, [
            previous.reason,
            "an older submission was received and not graded: this is the grade of the newer one"])))
        return
    pf = preflight(sub.files, setup.release_nbs, sub.problems)
    if pf.status == "rejected":
        entry = JournalEntry(student_id=sid, key=key, status="rejected", max_score=setup.max_score,
                             reason=pf.reason, received=sub.source)
        out.new_entries.append(entry)
        out.rows[sid] = entry
        return
    out.tasks.append(Task(
        student_id=sid, assignment=setup.assignment, key=key, notebooks=pf.notebooks,
        notes=tuple(sub.notes) + tuple(pf.notes), timestamp=sub.timestamp, order=sub.order,
        received=sub.source, content=sub.content_hash(""), data_mode=course.data_mode,
        feedback=opts.feedback, timeout=opts.timeout, submission_timeout=opts.submission_timeout,
        config=course.config, template_db=setup.template_db, release_dir=setup.release_dir,
        scratch_root=setup.scratch_root, bin_dir=os.path.dirname(sys.executable), plan=setup.plan))
