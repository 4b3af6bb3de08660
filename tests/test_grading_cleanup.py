"""Nothing is left behind when the grade command is killed: workers die with it, scratch folders go next run."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from course.grading.prepare import OWNER_FILE, SCRATCH_PREFIX, remove_stale_scratch as _remove_stale_scratch


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_scratch_folders_are_removed_and_live_ones_kept(tmp_path):
    stale, live, foreign = tmp_path / f"{SCRATCH_PREFIX}stale", tmp_path / f"{SCRATCH_PREFIX}live", tmp_path / "cg-x"
    for d, pid in ((stale, _dead_pid()), (live, os.getpid())):
        d.mkdir()
        (d / OWNER_FILE).write_text(str(pid))
        (d / "gradebook.db").write_text("copy of the gradebook")
    foreign.mkdir()  # no owner file: not ours to remove
    _remove_stale_scratch(str(tmp_path))
    assert not stale.exists() and live.exists() and foreign.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_workers_die_when_the_command_is_killed(tmp_path):
    """A grading pool's workers are killed by the kernel when their parent dies by SIGKILL."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import concurrent.futures as cf, multiprocessing, os, time
        from course.grading.worker import init_worker
        def work(_):
            time.sleep(600)
        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(2, mp_context=ctx, initializer=init_worker) as pool:
            futures = [pool.submit(work, i) for i in range(2)]
            time.sleep(1.0)
            open({str(pids)!r}, "w").write(" ".join(str(p) for p in pool._processes))
            time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p) for p in pids.read_text().split()]
        assert len(workers) == 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()

        def alive(pid):
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    return fh.read().split()[2] != "Z"
            except FileNotFoundError:
                return False

        deadline = time.monotonic() + 30
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(p) for p in workers), "a worker outlived the killed command"
    finally:
        if parent.poll() is None:
            parent.kill()
