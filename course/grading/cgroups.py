"""Limits per student, not per process: one control group (cgroup) per student's kernel.

A resource limit (``setrlimit``) holds for one process: a kernel that starts three
processes may use three times ``--memory-mb``. A cgroup holds for all of them together.
Where this machine lets the grader make cgroups (it runs as root, or was given a cgroup
of its own, for example with ``systemd-run --scope -p Delegate=yes``), each student's
kernel and everything it starts share one cgroup with:

* ``memory``: ``--memory-mb`` in all (and no swap beyond it);
* ``pids``: at most :data:`PIDS` processes and threads;
* ``cpu``: at most one CPU's worth of time at any moment.

cgroup v2 (one unified hierarchy) is used when its memory and pids controllers can be
enabled below the grader's own cgroup; else the older cgroup v1 hierarchies when they are
mounted and writable. Where neither works (macOS, a container without a writable
``/sys/fs/cgroup``, an unprivileged user), :func:`probe` says so and the per-process
limits are all there is; the report says which applied.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

__all__ = ["CgroupPlan", "probe", "create", "ensure", "join_command", "kill_and_remove", "remove_run",
           "PIDS"]

ROOT = "/sys/fs/cgroup"
#: Processes and threads one student's kernel may have in all.
PIDS = 256
#: One CPU: ``cpu.max`` quota and period in microseconds.
CPU_QUOTA, CPU_PERIOD = 100_000, 100_000


@dataclass(frozen=True)
class CgroupPlan:
    """Where this run makes its students' cgroups: ``version`` 2 or 1, and the parent folder(s)."""

    version: int
    parents: tuple      #: v2: (run folder,); v1: ((controller, run folder), ...)
    controllers: tuple  #: the controllers that limit, e.g. ("memory", "pids", "cpu")

    def describe(self, memory_mb):
        parts = []
        if "memory" in self.controllers:
            parts.append(f"memory {memory_mb} MB for all its processes together")
        if "pids" in self.controllers:
            parts.append(f"{PIDS} processes")
        if "cpu" in self.controllers:
            parts.append("one CPU")
        return f"limits per student, not per process (cgroup v{self.version}: {', '.join(parts)})"


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _own_cgroup_v2(root=ROOT, proc_cgroup="/proc/self/cgroup"):
    with open(proc_cgroup) as fh:
        for line in fh:
            hier, _, path = line.rstrip("\n").split(":", 2)
            if hier == "0":
                return os.path.join(root, path.lstrip("/"))
    return None


def _probe_v2(root, tag, proc_cgroup):
    if not os.path.exists(os.path.join(root, "cgroup.controllers")):
        return None
    own = _own_cgroup_v2(root, proc_cgroup)
    if not own or not os.path.isdir(own):
        return None
    with open(os.path.join(own, "cgroup.controllers")) as fh:
        available = set(fh.read().split())
    wanted = [c for c in ("memory", "pids", "cpu") if c in available]
    if not {"memory", "pids"} <= set(wanted):
        return None
    with open(os.path.join(own, "cgroup.subtree_control")) as fh:
        enabled = set(fh.read().split())
    if not set(wanted) <= enabled:
        # A cgroup with processes in it may not pass controllers down: move this process
        # into a leaf of its own first (as a delegated systemd scope allows).
        leaf = os.path.join(own, f"grader-{os.getpid()}")
        os.makedirs(leaf, exist_ok=True)
        _write(os.path.join(leaf, "cgroup.procs"), str(os.getpid()))
        _write(os.path.join(own, "cgroup.subtree_control"), " ".join("+" + c for c in wanted))
    run = os.path.join(own, tag)
    os.makedirs(run, exist_ok=True)
    _write(os.path.join(run, "cgroup.subtree_control"), " ".join("+" + c for c in wanted))
    return CgroupPlan(2, (run,), tuple(wanted))


def _probe_v1(root, tag, proc_cgroup):
    own = {}
    with open(proc_cgroup) as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(","):
                own[name] = path
    parents, controllers = [], []
    for c in ("memory", "pids", "cpu"):
        mount = os.path.join(root, c)
        if c not in own or not os.path.exists(os.path.join(mount, "cgroup.procs")):
            continue
        run = os.path.join(mount, own[c].lstrip("/"), tag)
        os.makedirs(run, exist_ok=True)
        parents.append((c, run))
        controllers.append(c)
    if not {"memory", "pids"} <= set(controllers):
        for _, run in parents:
            _rmdir(run)
        return None
    return CgroupPlan(1, tuple(parents), tuple(controllers))


def _remove_stale(run):
    """Remove cgroup folders left by grade commands that have ended (killed, or a process was slow
    to leave at exit): siblings of ``run`` named ``coproduction-grade-<pid>`` whose process is gone."""
    import glob
    for path in glob.glob(os.path.join(os.path.dirname(run), "coproduction-grade-*")):
        try:
            pid = int(path.rsplit("-", 1)[1])
            os.kill(pid, 0)
            continue  # still running
        except ValueError:
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        for sub in os.listdir(path):
            if os.path.isdir(os.path.join(path, sub)):
                kill_and_remove([os.path.join(path, sub)], seconds=0.5)
        _rmdir(path, tries=2)


def probe(tag=None, root=ROOT, proc_cgroup="/proc/self/cgroup"):
    """A :class:`CgroupPlan` for this run, or ``(None, why)`` when no cgroup can be made here.

    Returns ``(plan, "")`` or ``(None, reason)``.
    """
    import sys
    if not sys.platform.startswith("linux"):
        return None, "no cgroups on this system"
    tag = tag or f"coproduction-grade-{os.getpid()}"
    errors = []
    for attempt in (_probe_v2, _probe_v1):
        try:
            plan = attempt(root, tag, proc_cgroup)
        except OSError as exc:
            errors.append(f"{attempt.__name__[-2:]}: {exc.strerror or exc}")
            continue
        if plan is not None:
            for run in (plan.parents if plan.version == 2 else [r for _, r in plan.parents]):
                _remove_stale(run)
            return plan, ""
    return None, ("no writable cgroup with memory and pids controllers"
                  + (f" ({'; '.join(errors)})" if errors else ""))


def create(plan, name, memory_mb):
    """Make one student's cgroup with its limits; returns the folders a process must join."""
    mem = str(memory_mb * 2**20)
    if plan.version == 2:
        d = os.path.join(plan.parents[0], name)
        os.makedirs(d)
        _write(os.path.join(d, "memory.max"), mem)
        if os.path.exists(os.path.join(d, "memory.swap.max")):
            _write(os.path.join(d, "memory.swap.max"), "0")
        _write(os.path.join(d, "pids.max"), str(PIDS))
        if "cpu" in plan.controllers:
            _write(os.path.join(d, "cpu.max"), f"{CPU_QUOTA} {CPU_PERIOD}")
        return [d]
    dirs = []
    for controller, run in plan.parents:
        d = os.path.join(run, name)
        os.makedirs(d)
        dirs.append(d)
        if controller == "memory":
            _write(os.path.join(d, "memory.limit_in_bytes"), mem)
            if os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes")):
                _write(os.path.join(d, "memory.memsw.limit_in_bytes"), mem)
        elif controller == "pids":
            _write(os.path.join(d, "pids.max"), str(PIDS))
        elif controller == "cpu":
            _write(os.path.join(d, "cpu.cfs_period_us"), str(CPU_PERIOD))
            _write(os.path.join(d, "cpu.cfs_quota_us"), str(CPU_QUOTA))
    return dirs


def ensure(plan, name, memory_mb):
    """:func:`create`, or the folders already made for ``name``."""
    if plan.version == 2:
        dirs = [os.path.join(plan.parents[0], name)]
    else:
        dirs = [os.path.join(run, name) for _, run in plan.parents]
    if all(os.path.isdir(d) for d in dirs):
        return dirs
    return create(plan, name, memory_mb)


def _pids(d):
    try:
        with open(os.path.join(d, "cgroup.procs")) as fh:
            return [int(x) for x in fh.read().split()]
    except (OSError, ValueError):
        return []


def kill_and_remove(dirs, seconds=5.0):
    """Kill every process left in a student's cgroup (daemons included), then remove it."""
    import signal
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = {p for d in dirs for p in _pids(d)}
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    remove(dirs)


def join_command(dirs):
    """A command prefix that puts itself into ``dirs`` and then runs the rest (``sh -c``)."""
    if not dirs:
        return []
    script = "".join(f'echo $$ > "{os.path.join(d, "cgroup.procs")}" && ' for d in dirs) + 'exec "$@"'
    return [shutil.which("sh") or "/bin/sh", "-c", script, "sh"]


def _rmdir(path, tries=20):
    for _ in range(tries):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.05)  # the last process is still being reaped
    return False


def remove(dirs):
    """Remove a student's cgroup folders once every process in them has ended."""
    for d in dirs:
        _rmdir(d)


def remove_run(plan):
    """Remove this run's cgroup folder(s) (and any student folder left in them)."""
    if plan is None:
        return
    runs = plan.parents if plan.version == 2 else [r for _, r in plan.parents]
    for run in runs:
        if os.path.isdir(run):
            for sub in os.listdir(run):
                if os.path.isdir(os.path.join(run, sub)):
                    kill_and_remove([os.path.join(run, sub)], seconds=1.0)
            _rmdir(run, tries=20)
