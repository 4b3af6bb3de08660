"""Run students' kernels with as few rights as the machine allows.

nbgrader executes student code with the grader's own rights, next to the solutions and
the gradebook. :class:`SandboxKernelManager` instead launches each kernel through
``jail.py`` (see that file for the order of steps) and talks to it over unix-domain
sockets, so that the kernel can live in a network namespace with no network at all.

:func:`probe_sandbox` finds out once, in the parent, which protections work here and
returns a :class:`SandboxPlan`; a worker turns that plan into kernel-manager settings
for one student with :func:`kernel_config`. Every protection that was active is listed
in ``SandboxPlan.protections`` and ends up in the report.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass, field

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Int, List, Unicode

__all__ = ["SandboxPlan", "SandboxKernelManager", "probe_sandbox", "kernel_config",
           "new_sandbox_uid", "kill_uid"]

JAIL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jail.py")

#: Environment variables passed from the grader to a student's kernel; nothing else
#: (no database passwords, tokens or proxies) reaches student code.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED",
             "NBGRADER_EXECUTION")


@dataclass(frozen=True)
class SandboxPlan:
    """What the sandbox can do on this machine (decided once per run)."""

    wrapper: tuple = ()            #: command prefix, e.g. ("unshare", "-m", "-n")
    drop_user: bool = False        #: run each kernel as its own unprivileged uid
    mounts: bool = False           #: hide paths in a private mount namespace
    covers: tuple = ()             #: folders covered so that ``exposes`` can be re-exposed
    exposes: tuple = ()            #: folders the kernel needs below ``covers``
    hides: tuple = ()              #: folders/files the kernel must not see
    memory_mb: int = 2048
    cpu_seconds: int = 600
    fsize_mb: int = 64
    nproc: int = 64
    protections: tuple = field(default_factory=tuple)


def _run_ok(cmd, timeout=20):
    try:
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _others_can_reach(path):
    """Can a user with no group in common traverse to and read ``path``?"""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        sub = os.sep.join(parts[:i]) or os.sep
        try:
            if not os.stat(sub).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _blocking_ancestor(path):
    """The topmost ancestor of ``path`` that others cannot traverse, or None."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        sub = os.sep.join(parts[:i])
        if not os.stat(sub).st_mode & stat.S_IXOTH:
            return sub
    return None


def probe_sandbox(*, hides, scratch_root, memory_mb, cpu_seconds, fsize_mb=64, nproc=64):
    """Find out which protections work here; returns a :class:`SandboxPlan`.

    ``hides`` are paths (solutions, gradebook, submissions, output folder) a student's
    kernel must not see; ``scratch_root`` is the folder holding every student's scratch
    copy (covered, so that a kernel sees only its own).
    """
    limits = dict(memory_mb=memory_mb, cpu_seconds=cpu_seconds, fsize_mb=fsize_mb, nproc=nproc)
    protections = [f"resource limits (memory {memory_mb} MB, CPU {cpu_seconds} s, "
                   f"file size {fsize_mb} MB, {nproc} processes)"]
    if os.name == "nt":
        return SandboxPlan(protections=("NOT isolated: Windows has no resource limits or "
                                        "namespaces; use WSL2 or a Linux container",), **limits)
    if sys.platform != "linux":
        return SandboxPlan(protections=tuple(protections), **limits)
    hides = tuple(os.path.realpath(h) for h in hides if h and os.path.exists(h))
    unshare = shutil.which("unshare")
    root = os.geteuid() == 0
    if unshare and root and _run_ok([unshare, "-m", "-n", "true"]):
        wrapper = (unshare, "-m", "-n")
        covers, exposes = [os.path.realpath(scratch_root)], []
        for prefix in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
            anc = _blocking_ancestor(prefix)
            if anc and anc not in covers:
                covers.append(anc)
            if anc:
                exposes.append(prefix)
        plan = SandboxPlan(wrapper=wrapper, drop_user=True, mounts=True, covers=tuple(covers),
                           exposes=tuple(exposes), hides=hides, **limits)
        if _probe_kernel_start(plan, scratch_root):
            protections += ["separate unprivileged user id per student (no shared files)",
                            "no network (private network namespace)",
                            "solutions, gradebook, submissions and output hidden "
                            "(private mount namespace)"]
            return SandboxPlan(**{**plan.__dict__, "protections": tuple(protections)})
        protections.append("NOT isolated: could not start Python as an unprivileged user")
        return SandboxPlan(wrapper=wrapper, mounts=True, hides=hides,
                           protections=tuple(protections + ["no network (private network namespace)"]),
                           **limits)
    if unshare and not root and _run_ok([unshare, "-r", "-m", "-n", "true"]):
        protections += ["no network (private network namespace)",
                        "solutions, gradebook, submissions and output hidden "
                        "(user and mount namespace)",
                        "NOT isolated: kernels run as the grader's own user"]
        return SandboxPlan(wrapper=(unshare, "-r", "-m", "-n"), mounts=True, hides=hides,
                           covers=(os.path.realpath(scratch_root),),
                           protections=tuple(protections), **limits)
    protections.append("NOT isolated: kernels run as the grader's own user, with network "
                       "(no usable 'unshare' here)")
    return SandboxPlan(protections=tuple(protections), **limits)


def _probe_kernel_start(plan, scratch_root):
    """Can a sandboxed, unprivileged Python import ipykernel here?"""
    uid = new_sandbox_uid()
    box = _make_box(scratch_root, "probe", uid)
    try:
        cmd = list(plan.wrapper) + [sys.executable, "-I", JAIL] + _jail_args(plan, box, uid) + [
            "--", sys.executable, "-c", "import ipykernel"]
        return _run_ok(cmd, timeout=60)
    finally:
        kill_uid(uid)
        shutil.rmtree(os.path.dirname(box), ignore_errors=True)


def new_sandbox_uid():
    """A fresh user id no account uses, so that no two students share files or processes."""
    return 1_000_000 + secrets.randbelow(1_000_000_000)


def kill_uid(uid):
    """Kill every process left running under ``uid`` (e.g. daemons a student started)."""
    if uid is None or os.geteuid() != 0:
        return
    pid = os.fork()
    if pid == 0:  # child: become that user, then signal all of its processes
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except Exception:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def _make_box(scratch_root, name, uid):
    """``scratch_root/name/box``: the only folder a student's kernel may write to."""
    base = os.path.join(scratch_root, name)
    os.makedirs(base, mode=0o711, exist_ok=True)
    os.chmod(base, 0o711)
    box = os.path.join(base, "box")
    for sub in ("", "work", "home", "tmp"):
        os.makedirs(os.path.join(box, sub), mode=0o700, exist_ok=True)
        if uid is not None:
            os.chown(os.path.join(box, sub), uid, uid)
    return box


def make_box(scratch_root, name, uid):
    return _make_box(scratch_root, name, uid)


def _jail_args(plan, box, uid):
    args = ["--log", os.path.join(os.path.dirname(box), "jail.log"), "--cwd",
            os.path.join(box, "work"), "--memory-mb", str(plan.memory_mb), "--cpu-seconds",
            str(plan.cpu_seconds), "--fsize-mb", str(plan.fsize_mb)]
    if plan.mounts:
        for h in plan.hides:
            args += ["--hide", h]
        for c in plan.covers:
            args += ["--cover", c]
        for e in tuple(plan.exposes) + ((box,) if plan.covers else ()):
            args += ["--expose", e]
    if plan.drop_user and uid is not None:
        args += ["--uid", str(uid), "--gid", str(uid), "--nproc", str(plan.nproc)]
    return args


def kernel_config(plan, box, uid):
    """Settings for :class:`SandboxKernelManager` for one student's box."""
    if os.name == "nt":  # no resource limits on Windows: start the kernel directly
        return {"box_dir": box, "run_uid": -1, "wrapper": [], "jail_args": [],
                "use_jail": False}
    return {"box_dir": box, "run_uid": uid if plan.drop_user else -1,
            "wrapper": list(plan.wrapper), "jail_args": _jail_args(plan, box, uid)}


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside ``jail.py``.

    The kernel listens on unix-domain sockets in its own box (``transport = "ipc"``),
    which keeps working inside a network namespace where TCP loopback does not.
    """

    box_dir = Unicode("").tag(config=True)
    run_uid = Int(-1).tag(config=True)
    wrapper = List(Unicode()).tag(config=True)
    jail_args = List(Unicode()).tag(config=True)
    extra_env = Dict().tag(config=True)
    use_jail = Bool(True).tag(config=True)

    async def _async_pre_start_kernel(self, **kw):
        self.transport = "ipc"
        self.ip = os.path.join(self.box_dir, "k")
        self.connection_file = os.path.join(self.box_dir, "kernel.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.run_uid >= 0:
            os.chown(self.connection_file, self.run_uid, self.run_uid)
        home = os.path.join(self.box_dir, "home")
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP}
        env.update(HOME=home, USER="student", LOGNAME="student", TMPDIR=os.path.join(
            self.box_dir, "tmp"), IPYTHONDIR=os.path.join(home, ".ipython"),
            MPLCONFIGDIR=os.path.join(home, ".matplotlib"), MPLBACKEND="Agg",
            JUPYTER_RUNTIME_DIR=os.path.join(home, "runtime"),
            JUPYTER_CONFIG_DIR=os.path.join(home, "jupyter"), PYTHONDONTWRITEBYTECODE="1",
            OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
            NBGRADER_EXECUTION="autograde")
        env.update(self.extra_env)
        kw["env"] = env
        kw["cwd"] = os.path.join(self.box_dir, "work")
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = subprocess.DEVNULL
        kw["stdin"] = subprocess.DEVNULL
        cmd = list(kernel_cmd)
        if self.use_jail:
            cmd = list(self.wrapper) + [sys.executable, "-I", JAIL] + list(self.jail_args) + [
                "--"] + cmd
        return await super()._async_launch_kernel(cmd, **kw)
