"""Worker processes on this machine: every task graded, a crashed worker costing no one else a grade."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys

from .contracts import Result

__all__ = ['default_jobs', 'mp_context', 'run_pool']


def default_jobs():
    """Worker processes when ``--jobs`` is not given: one more than the number of CPUs.

    A worker is idle while its kernel starts, runs a cell or is stopped (and a kernel is
    idle while its worker records results), so one extra worker keeps every CPU busy.
    """
    return (os.cpu_count() or 1) + 1


def mp_context():
    """``fork`` where it is safe and available (Linux), else ``spawn``.

    Forked workers start with nbgrader, nbconvert and jupyter_client already imported by
    this process (importing them costs seconds per worker). The parent forks from its only
    thread (no progress-bar monitor thread, no earlier pool's manager thread left running)
    and holds no open gradebook connection at that moment.
    """
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_pool(tasks, jobs, fn, finish, tqdm, quiet):
    """Run ``fn`` on every :class:`Task` in ``jobs`` processes and call ``finish(task, result)`` with
    each :class:`Result` as it comes; a crashed worker does not stop the rest.

    A crash breaks the whole process pool, so the tasks it was running are tried once more in a
    new pool; a task whose process crashes twice is given up for this run, marked for retry (the
    grader's fault, never the student's), and the other tasks carry on."""
    if not tasks:
        return
    from .worker import init_worker, preload
    attempts = {t.student_id: 0 for t in tasks}
    pending = list(tasks)
    ctx = mp_context()
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
                        attempts[task.student_id] += 1
                        if attempts[task.student_id] < 2:
                            pending.append(task)
                            continue
                        result = Result.failed(task, "the grading process crashed twice; it will be "
                                                     "tried again on the next run")
                    except Exception as exc:
                        result = Result.failed(task, f"{type(exc).__name__}: {exc}")
                    finish(task, result)
                    bar.update(1)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
