"""Start one command (a student's kernel) inside the grading sandbox.

This file is run as a script (``python -I jail.py OPTIONS -- CMD...``), never imported
by the kernel, so that it does not import the ``course`` package. It is started by
:class:`course.grading.sandbox.SandboxKernelManager`: inside bubblewrap's allow-list
sandbox (:mod:`course.grading.bwrap`), where only steps 3 to 5 are needed, or, where
bubblewrap cannot run, under ``unshare -m -n`` (new mount and network namespaces). In
order, it:

1. hides paths the student must not see (solutions, gradebook, other submissions,
   the grader's own scratch folders) behind empty read-only mounts;
2. exposes again only what the kernel needs below a hidden or untraversable folder
   (the Python installation, the student's own sandbox folder);
3. sets resource limits (memory, CPU seconds, file size, processes);
4. drops root: no supplementary groups, a separate user and group id;
5. changes into the sandbox working folder and replaces itself with CMD.

Any failure is written to ``--log`` and ends with exit status 70, so that a
sandbox that cannot be set up never runs student code with fewer protections
than the grader recorded.
"""
import argparse
import ctypes
import os
import resource
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None):
    libc = _libc()
    rc = libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source!r} on {target!r}: {os.strerror(err)}")


def _hide(path):
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000,size=4k")
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY | 32,
               "mode=000,size=4k")  # 32 = MS_REMOUNT
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)


def _rebind(fd, target):
    """Bind the folder open as ``fd`` (opened before hiding) onto ``target``."""
    os.makedirs(target, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--hide", action="append", default=[])
    p.add_argument("--cover", action="append", default=[],
                   help="folder to cover with an empty traversable tmpfs before exposing")
    p.add_argument("--expose", action="append", default=[])
    p.add_argument("--uid", type=int)
    p.add_argument("--gid", type=int)
    p.add_argument("--memory-mb", type=int)
    p.add_argument("--cpu-seconds", type=int)
    p.add_argument("--fsize-mb", type=int)
    p.add_argument("--nproc", type=int)
    p.add_argument("--cwd", required=True)
    p.add_argument("--quiet-stdio", action="store_true",
                   help="give CMD /dev/null as stdin, stdout and stderr")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    log_fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        mounting = bool(args.hide or args.cover or args.expose)
        fds = {}
        if mounting:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            for path in args.expose:
                fds[path] = os.open(path, os.O_PATH | os.O_DIRECTORY)
            for path in args.hide:
                _hide(path)
            for path in args.cover:
                _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=711,size=64k")
            for path in args.expose:
                _rebind(fds[path], path)
        limits = [
            (resource.RLIMIT_AS, args.memory_mb and args.memory_mb * 1024 * 1024),
            (resource.RLIMIT_CPU, args.cpu_seconds),
            (resource.RLIMIT_FSIZE, args.fsize_mb and args.fsize_mb * 1024 * 1024),
            (resource.RLIMIT_NPROC, args.nproc),
            (resource.RLIMIT_CORE, 0),
        ]
        for which, value in limits:
            if value is not None:
                try:
                    resource.setrlimit(which, (value, value))
                except (ValueError, OSError):
                    if sys.platform.startswith("linux"):
                        raise  # on Linux every limit must hold; macOS ignores some

        if args.uid is not None:
            os.setgroups([])
            os.setgid(args.gid if args.gid is not None else args.uid)
            os.setuid(args.uid)
        os.chdir(args.cwd)
        os.umask(0o077)
        for fd in fds.values():
            os.close(fd)
        if args.quiet_stdio:  # what the kernel prints never reaches the grader's log files
            null = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(null, std)
            os.close(null)
    except Exception as exc:  # report, never run the student's code half-protected
        os.write(log_fd, f"sandbox setup failed: {exc!r}\n".encode())
        return 70
    os.execvp(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
