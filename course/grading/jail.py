"""Start one command (a student's kernel) inside the grading sandbox.

This file is run as a script (``python -I jail.py OPTIONS -- CMD...``), never imported
by the kernel, so that it does not import the ``course`` package. It is started by
:class:`course.grading.sandbox.SandboxKernelManager`: inside bubblewrap's allow-list
sandbox (:mod:`course.grading.bwrap`), where only steps 3 to 6 are needed, or, where
bubblewrap cannot run, under ``unshare -m -n`` (new mount and network namespaces). In
order, it:

1. hides paths the student must not see (solutions, gradebook, other submissions,
   the grader's own scratch folders) behind empty read-only mounts;
2. exposes again only what the kernel needs below a hidden or untraversable folder
   (the Python installation, the student's own sandbox folder);
3. sets resource limits (memory, CPU seconds, file size, processes);
4. drops root: no supplementary groups, a separate user and group id;
5. with ``--no-new-userns``: may gain no new privileges and may make no new user namespace
   (a seccomp filter, :func:`userns_filter`);
6. changes into the sandbox working folder and replaces itself with CMD.

Any failure is written to ``--log`` and ends with exit status 70, so that a
sandbox that cannot be set up never runs student code with fewer protections
than the grader recorded.
"""
import argparse
import ctypes
import os
import resource
import struct
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


# --------------------------------------------------------------------------- no new user namespaces
# A kernel that runs as root's per-student user id, in a sandbox made without a user namespace
# (bubblewrap as root), could still make a user namespace of its own and, as "root" inside it,
# reach kernel code an unprivileged user otherwise cannot (a wide attack surface). A seccomp
# filter, inherited by every process the kernel starts and never removable, forbids that:
#
# * ``unshare(flags)`` and ``clone(flags, ...)`` with CLONE_NEWUSER in ``flags`` fail with EPERM
#   (``flags`` is the first argument of both on x86_64 and aarch64);
# * ``clone3`` fails with ENOSYS: its flags are in memory a filter cannot read, and on ENOSYS the
#   C library (threads, posix_spawn) falls back to ``clone``, which the filter can check;
# * a system call made through another ABI (i386 ``int 0x80`` or x32 on x86_64) ends the process,
#   since its numbers would bypass the checks above.
#
# Everything else is allowed. The numbers come from the kernel's unistd tables; other
# architectures get no filter, and the grader says so in its report.

#: ``uname -m`` -> (AUDIT_ARCH_* value, {system call: number}).
SECCOMP_ARCHES = {
    "x86_64": (0xC000003E, {"clone": 56, "unshare": 272, "clone3": 435}),
    "aarch64": (0xC00000B7, {"clone": 220, "unshare": 97, "clone3": 435}),
}
CLONE_NEWUSER = 0x10000000
_X32_SYSCALL_BIT = 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_RET_ALLOW, _RET_ERRNO, _RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
# classic BPF opcodes: load a 32-bit word of struct seccomp_data; jump if ==, >=, & set; return
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
# offsets in struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];} (little-endian: the
# low 32 bits of args[0], which hold every CLONE_* namespace flag, are at 16)
_NR, _ARCH, _ARG0_LO = 0, 4, 16


def userns_filter(machine=None, pointer_bytes=None):
    """The seccomp program (bytes of ``struct sock_filter``) that forbids new user namespaces,
    or None where it was not written for this architecture (``machine``: ``uname -m``)."""
    machine = machine or os.uname().machine
    pointer_bytes = pointer_bytes or struct.calcsize("P")
    if machine not in SECCOMP_ARCHES or pointer_bytes != 8:  # a 32-bit userland on a 64-bit kernel
        return None
    arch, nr = SECCOMP_ARCHES[machine]
    # (opcode, k, label if true, label if false); a label names the instruction to jump to
    prog = [(_LD, _ARCH, None, None),
            (_JEQ, arch, None, "kill"),
            (_LD, _NR, None, None)]
    if machine == "x86_64":
        prog.append((_JGE, _X32_SYSCALL_BIT, "kill", None))
    prog += [(_JEQ, nr["clone3"], "enosys", None),
             (_JEQ, nr["clone"], "flags", None),
             (_JEQ, nr["unshare"], "flags", None),
             (_RET, _RET_ALLOW, None, None),
             ("flags", _LD, _ARG0_LO, None, None),
             (_JSET, CLONE_NEWUSER, "eperm", None),
             (_RET, _RET_ALLOW, None, None),
             ("eperm", _RET, _RET_ERRNO | 1, None, None),     # EPERM
             ("enosys", _RET, _RET_ERRNO | 38, None, None),   # ENOSYS
             ("kill", _RET, _RET_KILL_PROCESS, None, None)]
    labels = {ins[0]: i for i, ins in enumerate(prog) if isinstance(ins[0], str)}
    out = b""
    for i, ins in enumerate(prog):
        code, k, jt, jf = ins[1:] if isinstance(ins[0], str) else ins
        # a jump offset counts the instructions skipped after this one
        out += struct.pack("=HBBI", code, labels[jt] - i - 1 if jt else 0,
                           labels[jf] - i - 1 if jf else 0, k)
    return out


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def forbid_new_userns(program):
    """No new privileges, then install ``program`` (:func:`userns_filter`) on this process."""
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")


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
    p.add_argument("--no-new-userns", action="store_true",
                   help="forbid new privileges and new user namespaces (a seccomp filter)")
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
        if args.no_new_userns:  # last: nothing above may need what the filter forbids
            program = userns_filter()
            if program is None:
                raise OSError(f"no seccomp filter for this architecture ({os.uname().machine})")
            forbid_new_userns(program)
    except Exception as exc:  # report, never run the student's code half-protected
        os.write(log_fd, f"sandbox setup failed: {exc!r}\n".encode())
        return 70
    os.execvp(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
