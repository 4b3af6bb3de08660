"""An allow-list sandbox for students' kernels, built on bubblewrap (``bwrap``).

Where ``bwrap`` works, a student's kernel starts in an empty root file system into which
only what it needs is bound:

* read-only: the system's programs and libraries (``/usr`` and its links), a few files
  of ``/etc`` that programs read to start (:data:`ETC_FILES`), the Python installation and
  environment that run the grader, and the ``course`` package (bound on its own, never the
  folder that holds it: that folder may hold the solutions and ``.git``);
* read-write: the student's own scratch folder (``box``), where the kernel's unix sockets
  and connection file live, so the grader still talks to it;
* private: ``/proc`` of its own PID namespace, ``/dev`` with only the harmless devices, and
  ``/tmp`` and ``/dev/shm`` on small memory file systems that go when the kernel goes.

Nothing else exists inside: not the solutions, the gradebook, the submissions, the output
folder, other students' folders, the grader's ``/proc`` entries or ``/tmp``. The kernel has
its own PID, IPC, UTS, network (no network at all) and mount namespaces, a new session (no
terminal to type into) and may not gain privileges. Binding the course package in, rather
than relying on folder permissions, is what lets a course kept in a folder only its owner
can enter still be imported.

This module only builds argument lists; :mod:`.sandbox` decides when to use them.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

__all__ = ["find_bwrap", "environment_paths", "course_package_dir", "bwrap_command", "ETC_FILES",
           "TMP_MB"]

#: Files of ``/etc`` a kernel reads to start (dynamic linker, time zone, fonts); nothing else.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
             "/etc/timezone", "/etc/fonts", "/etc/alternatives", "/etc/mime.types",
             "/etc/matplotlibrc")
#: Folders of the root file system that are either links into ``/usr`` or bound read-only.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Size of the private ``/tmp`` and ``/dev/shm`` (memory file systems), in MB each.
TMP_MB = 64


def find_bwrap():
    """The path of ``bwrap``, or None where it is not installed (macOS, Windows, a bare Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    return shutil.which("bwrap")


def course_package_dir():
    """The folder of the ``course`` package the grader runs (bound read-only into the sandbox)."""
    spec = importlib.util.find_spec("course")
    return os.path.realpath(list(spec.submodule_search_locations)[0])


def environment_paths():
    """The Python installation and environment (``sys.base_prefix``, ``sys.prefix``) as real paths,
    with the path each is reached by when that differs (a symbolic link on the way)."""
    out = []
    for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable)):
        for q in (os.path.abspath(p), os.path.realpath(p)):
            if q not in out:
                out.append(q)
    # a folder below another one is bound with it
    return [p for p in out if not any(p != o and p.startswith(o + os.sep) for o in out)]


def _under(path, folders):
    return any(path == f or path.startswith(f + os.sep) for f in folders)


class _Args:
    """bwrap arguments, creating every missing parent folder (mode 0755) before a bind."""

    def __init__(self):
        self.args, self.made = [], {"/"}

    def parents(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in self.made:
                self.args += ["--perms", "0755", "--dir", d]
                self.made.add(d)

    def bind(self, flag, src, dest):
        self.parents(dest)
        self.args += [flag, src, dest]
        self.made.add(dest)

    def add(self, *args):
        self.args += list(args)


def bwrap_command(bwrap, *, box, log, python_paths, course_dir, as_root, extra_ro=()):
    """The ``bwrap ... --`` prefix that starts one student's kernel in the allow-list sandbox.

    ``box`` is the student's scratch folder (read-write; holds the kernel's sockets), ``log``
    a file outside it where the set-up step writes why it failed, ``python_paths`` the result
    of :func:`environment_paths`, ``course_dir`` that of :func:`course_package_dir`.
    ``as_root``: the grader is root, so no user namespace is made (the set-up step inside
    then changes to the student's own user id); otherwise bwrap makes one, as it must.
    """
    a = _Args()
    if as_root:
        # every namespace but the user namespace: inside one, the per-student user id would not exist
        a.add("--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
              "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID")
    else:
        # bwrap needs a user namespace here; the kernel may not make another one inside it
        a.add("--unshare-all", "--unshare-user", "--disable-userns")
    a.add("--die-with-parent", "--new-session", "--hostname", "sandbox",
          # the grader's process id means nothing in the kernel's own PID namespace (where its
          # parent is 1, which ipykernel would take for "the grader has gone"); bwrap's
          # --die-with-parent ends the kernel with its worker instead
          "--unsetenv", "JPY_PARENT_PID")
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            a.add("--symlink", os.readlink(d), d)
            a.made.add(d)
        elif os.path.isdir(d):
            a.bind("--ro-bind", d, d)
    for f in ETC_FILES:
        if os.path.exists(f):
            a.bind("--ro-bind", f, f)
    a.add("--proc", "/proc", "--dev", "/dev")
    a.made.update({"/proc", "/dev"})
    a.add("--size", str(TMP_MB * 2**20), "--perms", "1777", "--tmpfs", "/tmp")
    a.add("--size", str(TMP_MB * 2**20), "--perms", "1777", "--tmpfs", "/dev/shm")
    a.made.update({"/tmp", "/dev/shm"})
    bound = []
    for p in python_paths:
        if not _under(p, bound) and os.path.exists(p):
            a.bind("--ro-bind", os.path.realpath(p), p)
            bound.append(p)
    for p in (course_dir, *extra_ro):
        if p and not _under(p, bound):
            a.bind("--ro-bind", p, p)
            bound.append(p)
    a.bind("--bind", box, box)
    a.bind("--bind", log, log)
    return [bwrap] + a.args + ["--"]


def bwrap_works(bwrap, *, box, log, python_paths, course_dir, as_root, uid, jail, jail_args):
    """Can a sandboxed kernel start here? Returns ``(True, "")`` or ``(False, why)``.

    Runs ``python -c "import ipykernel"`` through the whole chain (bwrap, then the set-up
    step that changes user and sets limits), exactly as a student's kernel will be started.
    """
    cmd = bwrap_command(bwrap, box=box, log=log, python_paths=python_paths, course_dir=course_dir,
                        as_root=as_root) + [sys.executable, "-I", jail] + jail_args + [
        "--", sys.executable, "-c", "import ipykernel, course"]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if proc.returncode == 0:
        return True, ""
    why = proc.stderr.decode(errors="replace").strip()
    try:
        with open(log, encoding="utf-8", errors="replace") as fh:
            why = (why + " " + fh.read().strip()).strip()
    except OSError:
        pass
    return False, (why or f"exit status {proc.returncode}")[-300:]
