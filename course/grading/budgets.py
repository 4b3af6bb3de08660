"""Budgets per submission, and which failures are the environment's rather than the student's.

Per cell, a submission is already bounded (``--timeout``, an output cap per cell). These
bound the whole submission, whatever it does:

* **time**: a wall-clock budget for all its cells and all attempts together
  (``--submission-timeout``; by default :data:`BUDGET_FACTOR` times ``--timeout``). No cell
  runs past it, and once it is spent the cells not yet run are not run; each says why.
  Without it, ten sleeping cells and a few cells that kill the kernel cost the per-cell
  timeout times the cells times the attempts;
* **output**: at most :data:`MAX_NOTEBOOK_OUTPUT_BYTES` of output for a whole notebook,
  counting every kind of output message (``update_display_data`` and widget messages too).

A failure that no cell of the submission caused (the disk filled up, the sandbox could not
be set up, the grading process crashed) is the environment's: :func:`environment_failure`
recognises it, and such a result is never cached as the student's; the next run grades
the submission again.
"""
from __future__ import annotations

__all__ = ["BUDGET_FACTOR", "MAX_NOTEBOOK_OUTPUT_BYTES", "submission_seconds", "apply",
           "environment_failure", "limits_key", "limited"]

#: The default time budget of one submission, in multiples of the per-cell timeout.
BUDGET_FACTOR = 10
#: The output one notebook may keep in all (each cell also keeps at most 1 MB).
MAX_NOTEBOOK_OUTPUT_BYTES = 10_000_000

#: Words in a failure's log that say the environment failed, not the student's code.
_ENVIRONMENT_SIGNS = ("No space left on device", "database or disk is full", "Disk quota exceeded", "ENOSPC", "EDQUOT",
                      "sandbox setup failed", "bwrap:", "Read-only file system", "Too many open files",
                      "Cannot allocate memory", "BrokenProcessPool", "database is locked")


def submission_seconds(timeout, submission_timeout=None):
    """The submission's time budget in seconds."""
    return float(submission_timeout) if submission_timeout else float(BUDGET_FACTOR * timeout)


def apply(config, seconds, started):
    """Put the budgets into a worker's nbgrader config (``started``: ``time.time()`` at the start)."""
    config.GuardedExecute.deadline = started + seconds
    config.GuardedExecute.budget_seconds = seconds
    config.GuardedExecute.max_notebook_output_bytes = MAX_NOTEBOOK_OUTPUT_BYTES


def environment_failure(text):
    """The words of an error or log that say the environment failed (so the student is not to blame),
    or ``""``."""
    return next((sign for sign in _ENVIRONMENT_SIGNS if sign in (text or "")), "")


def limits_key(memory_mb, seconds):
    """The limits a code-based result was graded under, recorded with it in the journal. A result
    they affected (:func:`limited`) is graded again when a re-run has other limits (a student stopped
    by the old limits may pass); results they did not affect are kept."""
    return f"memory={memory_mb}|budget={seconds:g}|output={MAX_NOTEBOOK_OUTPUT_BYTES}"


def limited(result):
    """Could other limits (``--memory-mb``, the time budget) change this graded result? Yes when a cell
    raised ``MemoryError``, stopped the kernel (a memory limit kills it as ``os._exit`` would) or was not
    run because the time budget was spent. (``--timeout`` is part of every key already.)"""
    for fail in result.neutralised or []:
        why = fail.get("why", "")
        if "time budget" in why or "stopped the Python kernel" in why:
            return True
    return '"MemoryError"' in "".join((result.autograded or {}).values())
