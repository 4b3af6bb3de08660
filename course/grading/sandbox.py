"""Run students' kernels with as few rights as the machine allows.

nbgrader executes student code with the grader's own rights, next to the solutions and
the gradebook. :class:`SandboxKernelManager` instead launches each kernel in a sandbox and
talks to it over unix-domain sockets in the student's own folder, so that the kernel can
live in a network namespace with no network at all.

:func:`probe_sandbox` finds out once, in the parent, which protections work here and
returns a :class:`SandboxPlan`, in this order of preference:

1. ``bwrap``: bubblewrap's allow-list sandbox (:mod:`.bwrap`): the kernel sees only the
   system's libraries, the Python environment, the ``course`` package and its own folder;
   then ``jail.py`` sets the per-process limits and changes to the student's own user id;
2. ``unshare``: where bubblewrap is missing or cannot make namespaces, the older hide-list
   (``jail.py`` covers the solutions, gradebook, submissions and output with empty mounts);
3. nothing but the per-process limits (macOS; Linux without usable namespaces).

On Linux, in every mode, ``jail.py`` also installs a seccomp filter (x86_64 and aarch64) that
forbids new privileges and new user namespaces: run as root, bubblewrap makes no user namespace
(the per-student user id must exist), so without it a kernel could make one of its own.

In every mode on Linux, each student's kernel also gets a cgroup of its own where the
machine allows one (:mod:`.cgroups`): limits per student, not per process. A worker turns
the plan into kernel-manager settings for one student with :func:`kernel_config`. Every
protection that was active is listed in ``SandboxPlan.protections`` and ends up in the
report.
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

__all__ = ["SandboxPlan", "SandboxKernelManager", "probe_sandbox", "check_socket_room", "kernel_config",
           "new_sandbox_uid", "kill_uid"]

#: Set (to anything) to grade with the older hide-list even where bubblewrap works: the tests
#: use it to show what the fallback does.
NO_BWRAP_ENV = "COPRODUCTION_COURSE_NO_BWRAP"

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
    kind: str = "none"             #: "bwrap", "unshare" or "none" (see the module docstring)
    bwrap: tuple = ()              #: ("/usr/bin/bwrap", course package folder, *Python paths)
    cgroup: object = None          #: a :class:`.cgroups.CgroupPlan`, or None
    no_new_userns: bool = False    #: jail.py's seccomp filter: no new privileges or user namespaces


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


#: The longest path a unix socket may have (``sun_path`` less its closing NUL): 107 bytes on
#: Linux, 103 on macOS and the BSDs. The kernels' sockets live in their students' scratch folders.
SOCKET_PATH_MAX = 107 if sys.platform.startswith("linux") else 103
#: What follows the scratch root in the longest socket path: the longest box name (the
#: environment check's; a student's is 12 characters), its ``box`` and a kernel socket, ``k-N``
#: (jupyter_client numbers them from 1; room is left for two digits).
SOCKET_TAIL = os.sep + os.path.join("environment-check", "box", "k-99")


def check_socket_room(scratch_root):
    """Stop with a clear message when the kernels' socket paths below ``scratch_root`` would be
    longer than a unix socket allows (a long TMPDIR); else return None."""
    longest = len(os.fsencode(scratch_root + SOCKET_TAIL))
    if os.name == "nt" or longest <= SOCKET_PATH_MAX:
        return None
    from . import GradingSetupError
    import tempfile
    tmp = tempfile.gettempdir()
    why = (f"students' kernels talk to the grader through unix sockets made below it, and a unix "
           f"socket path may be at most {SOCKET_PATH_MAX} bytes on this system")
    if scratch_root.startswith(tmp + os.sep):
        room = SOCKET_PATH_MAX - (longest - len(os.fsencode(tmp)))
        raise GradingSetupError(
            f"'TMPDIR' must be a folder whose path is at most {room} characters long ({why}). Got "
            f"{tmp!r} ({len(os.fsencode(tmp))} characters) instead: set TMPDIR to a shorter folder, "
            f"such as /tmp, and run the command again.")
    raise GradingSetupError(
        f"the grader's scratch folder must have a path of at most "
        f"{SOCKET_PATH_MAX - len(SOCKET_TAIL)} characters ({why}). Got {scratch_root!r} "
        f"({len(os.fsencode(scratch_root))} characters) instead.")


def _userns_rule(root_bwrap):
    """``(filter on?, what the report says)`` about new user namespaces inside the sandbox.

    ``root_bwrap``: bubblewrap runs as root and makes no user namespace (so that the per-student
    user id exists), which alone would leave the kernel free to make one.
    """
    from . import jail
    if jail.userns_filter() is not None:
        return True, ("no new privileges and no new user namespaces (a seccomp filter: unshare and "
                      "clone with CLONE_NEWUSER fail, clone3 is refused so the C library uses clone)")
    why = (f"no seccomp filter for this architecture ({os.uname().machine}; written for "
           f"{' and '.join(jail.SECCOMP_ARCHES)})")
    if root_bwrap:
        return False, f"NOT blocked: a kernel may make new user namespaces ({why})"
    return False, f"new user namespaces blocked only where bubblewrap's --disable-userns applies ({why})"


def probe_sandbox(*, hides, scratch_root, memory_mb, cpu_seconds, fsize_mb=64, nproc=64,
                  allow_bwrap=True, allow_cgroup=True):
    """Find out which protections work here; returns a :class:`SandboxPlan`.

    ``hides`` are paths (solutions, gradebook, submissions, output folder) a student's
    kernel must not see (used only by the hide-list fallback: the allow-list sandbox shows
    nothing it was not told to); ``scratch_root`` is the folder holding every student's
    scratch copy. ``allow_bwrap`` and ``allow_cgroup`` (tests, benchmark) switch off the
    allow-list sandbox or the per-student cgroups to measure or test the fallbacks.

    Raises ``GradingSetupError`` when ``scratch_root`` is too long for the kernels' unix sockets
    (see :func:`check_socket_room`).
    """
    check_socket_room(scratch_root)
    if os.environ.get(NO_BWRAP_ENV):
        allow_bwrap = False
    plan = _probe_mechanism(hides=hides, scratch_root=scratch_root, memory_mb=memory_mb,
                            cpu_seconds=cpu_seconds, fsize_mb=fsize_mb, nproc=nproc,
                            allow_bwrap=allow_bwrap)
    if plan.kind == "none" or not allow_cgroup or os.name == "nt":
        return plan
    from . import cgroups
    cg, why = cgroups.probe()
    prot = list(plan.protections)
    if cg is None:
        prot.insert(1, f"limits per process only: {why}")
        return SandboxPlan(**{**plan.__dict__, "protections": tuple(prot)})
    prot.insert(1, cg.describe(memory_mb))
    import atexit
    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and cgroups.remove_run(cg))
    return SandboxPlan(**{**plan.__dict__, "cgroup": cg, "protections": tuple(prot)})


def _probe_mechanism(*, hides, scratch_root, memory_mb, cpu_seconds, fsize_mb, nproc, allow_bwrap):
    limits = dict(memory_mb=memory_mb, cpu_seconds=cpu_seconds, fsize_mb=fsize_mb, nproc=nproc)
    protections = [f"resource limits per process (memory {memory_mb} MB, CPU {cpu_seconds} s, "
                   f"file size {fsize_mb} MB, {nproc} processes)"]
    if os.name == "nt":
        return SandboxPlan(protections=("NOT isolated: Windows has no resource limits or "
                                        "namespaces; use WSL2 or a Linux container",), **limits)
    if sys.platform != "linux":
        return SandboxPlan(protections=tuple(protections + [
            "NOT isolated: no allow-list sandbox on this system (bubblewrap needs Linux); kernels "
            "run as the grader's own user, with network"]), **limits)
    root = os.geteuid() == 0
    fallback_note = None
    from . import bwrap as bw
    tool = bw.find_bwrap() if allow_bwrap else None
    if tool:
        paths = (tool, bw.course_package_dir(), *bw.environment_paths())
        no_userns, userns_note = _userns_rule(root_bwrap=root)
        plan = SandboxPlan(kind="bwrap", bwrap=paths, drop_user=root, no_new_userns=no_userns,
                           **limits)
        ok, why = _probe_bwrap(plan, scratch_root)
        if ok:
            protections += [
                "allow-list sandbox (bubblewrap): a kernel sees only the system libraries, the Python "
                "environment and the course package (read-only) and its own scratch folder; its own "
                "/tmp, /dev/shm and /proc; no solutions, gradebook, submissions, output, .git or "
                "other students' files exist inside",
                "own PID, IPC, mount and network namespaces (no network), a new session, "
                "no new privileges"]
            if not root:
                protections.append("own user namespace, in which no further user namespace can be made "
                                   "(bubblewrap's --disable-userns)")
            protections.append(userns_note)
            protections.append("separate unprivileged user id per student (no shared files)" if root else
                               "NOT a separate user: kernels run as the grader's own user (inside the "
                               "allow-list sandbox); run as root for one user id per student")
            return SandboxPlan(**{**plan.__dict__, "protections": tuple(protections)})
        fallback_note = (f"FALLBACK: bubblewrap could not start a kernel here ({why}); "
                         "the older hide-list is used instead")
    elif allow_bwrap:
        fallback_note = ("FALLBACK: bubblewrap (bwrap) is not installed; the older hide-list is used "
                         "instead (install the 'bubblewrap' package for the allow-list sandbox)")
    if fallback_note:
        protections.append(fallback_note)
    hides = tuple(os.path.realpath(h) for h in hides if h and os.path.exists(h))
    no_userns, userns_note = _userns_rule(root_bwrap=True)
    limits["no_new_userns"] = no_userns
    unshare = shutil.which("unshare")
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
                           exposes=tuple(exposes), hides=hides, kind="unshare", **limits)
        if _probe_kernel_start(plan, scratch_root):
            protections += ["separate unprivileged user id per student (no shared files)",
                            "no network (private network namespace)",
                            "solutions, gradebook, submissions and output hidden "
                            "(private mount namespace)", userns_note]
            return SandboxPlan(**{**plan.__dict__, "protections": tuple(protections)})
        protections.append("NOT isolated: could not start Python as an unprivileged user")
        return SandboxPlan(wrapper=wrapper, mounts=True, hides=hides, kind="unshare",
                           protections=tuple(protections + ["no network (private network namespace)",
                                                            userns_note]),
                           **limits)
    if unshare and not root and _run_ok([unshare, "-r", "-m", "-n", "true"]):
        protections += ["no network (private network namespace)",
                        "solutions, gradebook, submissions and output hidden "
                        "(user and mount namespace)",
                        "NOT isolated: kernels run as the grader's own user", userns_note]
        return SandboxPlan(wrapper=(unshare, "-r", "-m", "-n"), mounts=True, hides=hides,
                           covers=(os.path.realpath(scratch_root),), kind="unshare",
                           protections=tuple(protections), **limits)
    protections += ["NOT isolated: kernels run as the grader's own user, with network "
                    "(no usable 'unshare' here)", userns_note]
    return SandboxPlan(protections=tuple(protections), **limits)


def _probe_bwrap(plan, scratch_root):
    """Can the allow-list sandbox start Python and import ipykernel here? ``(ok, why)``."""
    from . import bwrap as bw
    uid = new_sandbox_uid() if plan.drop_user else None
    box = _make_box(scratch_root, "probe-bwrap", uid)
    try:
        log = _log_file(box)
        return bw.bwrap_works(plan.bwrap[0], box=box, log=log, python_paths=plan.bwrap[2:],
                              course_dir=plan.bwrap[1], as_root=plan.drop_user, uid=uid, jail=JAIL,
                              jail_args=_jail_args(plan, box, uid))
    finally:
        kill_uid(uid)
        shutil.rmtree(os.path.dirname(box), ignore_errors=True)


def _log_file(box):
    """The set-up step's log, beside (never inside) the student's folder; bound into the sandbox."""
    log = os.path.join(os.path.dirname(box), "jail.log")
    with open(log, "a"):
        pass
    return log


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
    if plan.kind == "bwrap":
        args.append("--quiet-stdio")
    if plan.no_new_userns:
        args.append("--no-new-userns")
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
    wrapper = list(plan.wrapper)
    if plan.kind == "bwrap":
        from . import bwrap as bw
        wrapper = bw.bwrap_command(plan.bwrap[0], box=box, log=_log_file(box),
                                   python_paths=plan.bwrap[2:], course_dir=plan.bwrap[1],
                                   as_root=plan.drop_user)
    cfg = {"box_dir": box, "run_uid": uid if plan.drop_user else -1,
           "wrapper": wrapper, "jail_args": _jail_args(plan, box, uid),
           "message_interrupts": plan.kind == "bwrap", "private_tmp": plan.kind == "bwrap"}
    if plan.kind == "bwrap":
        # the kernel imports the very ``course`` package the grader runs (bound in at its path)
        cfg["extra_env"] = {"PYTHONPATH": os.path.dirname(plan.bwrap[1])}
    if plan.cgroup is not None:
        cg = plan.cgroup
        cfg["cgroup"] = {"version": cg.version, "parents": [list(p) if isinstance(p, tuple) else p
                                                            for p in cg.parents],
                         "controllers": list(cg.controllers), "memory_mb": plan.memory_mb,
                         "name": os.path.basename(os.path.dirname(box))}
    return cfg


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
    #: interrupt through the kernel's control channel: a signal from outside the sandbox's new
    #: session would not reach it
    message_interrupts = Bool(False).tag(config=True)
    #: the kernel has a /tmp of its own (the allow-list sandbox)
    private_tmp = Bool(False).tag(config=True)
    #: this student's cgroup (see :func:`kernel_config`), made at the first start
    cgroup = Dict().tag(config=True)

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
        if self.private_tmp:
            env["TMPDIR"] = "/tmp"  # the sandbox's own /tmp, gone with the kernel
        cmd = list(kernel_cmd)
        if self.use_jail:
            cmd = list(self.wrapper) + [sys.executable, "-I", JAIL] + list(self.jail_args) + [
                "--"] + cmd
        if self.cgroup:
            from . import cgroups
            cmd = cgroups.join_command(self._cgroup_dirs()) + cmd
        return await super()._async_launch_kernel(cmd, **kw)

    def _cgroup_dirs(self):
        """This student's cgroup folders, made (with the limits) the first time."""
        from . import cgroups
        if getattr(self, "_cg_dirs", None) is None:
            c = self.cgroup
            plan = cgroups.CgroupPlan(c["version"], tuple(tuple(p) if isinstance(p, list) else p
                                                          for p in c["parents"]), tuple(c["controllers"]))
            self._cg_dirs = cgroups.ensure(plan, c["name"], c["memory_mb"])
        return self._cg_dirs

    async def _async_interrupt_kernel(self):
        if not self.message_interrupts or not self.has_kernel:
            return await super()._async_interrupt_kernel()
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self.cgroup and not restart:  # every process of this student's kernel ends with it
            from . import cgroups
            cgroups.kill_and_remove(self._cgroup_dirs())
            self._cg_dirs = None
