"""The allow-list sandbox: what a student's kernel can see, reach and use, and what happens without it.

Real ``coproduction-course grade`` runs of the code-based fixture assignment (``ps1``), each with an
honest submission beside the attacker, whose grades must come out right. The course, its copy of the
``course`` package, the submissions and the output all live in a folder only its owner can enter
(``tempfile.mkdtemp``), as in a fresh clone under ``mktemp -d``.
"""
import html
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

from course.grading import bwrap, cgroups, jail, sandbox  # noqa: E402
from course.grading.sandbox import NO_BWRAP_ENV  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

LINUX_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0


#: The files the snooping answer leaves in /tmp and /dev/shm (named for this test run, so that a file
#: some other program left under a fixed name cannot fail the test).
LEFT_BEHIND = f"left-behind-{os.getpid()}"
#: A SysV shared-memory key the snooping answer creates a segment under (it must go with the kernel).
SHM_KEY = 0x636F7072


def _snoop(targets, sockets=()):
    """An answer that lists every protected thing it can read, list, signal or connect to, then
    answers right unless it found something (so a leak also costs the attacker the question's
    points). It also leaves a SysV shared-memory segment behind, which must go with the kernel."""
    return (
        "import os, glob, socket, ctypes\n"
        "seen = []\n"
        f"for address in {list(sockets)!r}:\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(address)\n"
        "        seen.append('socket ' + repr(address))\n"
        "    except OSError:\n"
        "        pass\n"
        "    finally:\n"
        "        s.close()\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"shm_id = libc.shmget({SHM_KEY}, 4096, 0o1000 | 0o666)  # IPC_CREAT\n"
        "print('shm segment', shm_id)\n"
        f"for p in {targets!r}:\n"
        "    try:\n"
        "        if os.path.isdir(p):\n"
        "            os.listdir(p)\n"
        "        else:\n"
        "            open(p, 'rb').read(1)\n"
        "        seen.append(p)\n"
        "    except Exception:\n"
        "        pass\n"
        "for d in glob.glob('/proc/[0-9]*'):\n"
        "    try:\n"
        "        if b'course.cli' in open(d + '/cmdline', 'rb').read():\n"
        "            seen.append(d + '/cmdline')\n"
        "    except Exception:\n"
        "        pass\n"
        f"open('/tmp/{LEFT_BEHIND}', 'w').write('x')\n"
        f"open('/dev/shm/{LEFT_BEHIND}', 'w').write('x')\n"
        "print('seen:', seen)\n"
        "def squares(n):\n"
        "    return seen or [i * i for i in range(1, n + 1)]\n")


USES_COURSE = ("import course, course.grading.collect\n"
               "print('course from', course.__file__)\n" + B.RIGHT["squares"])

#: Tries every way to a new user namespace (the unshare command, unshare(2), clone(2) and clone3(2)
#: through ctypes) and records what happened; ``{nr}`` are this machine's system call numbers.
USERNS_TRIES = (
    "import ctypes, json, os, subprocess, threading\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "made = {{'uid': os.getuid()}}\n"
    "p = subprocess.run(['unshare', '-U', 'true'], capture_output=True)\n"
    "made['unshare -U'] = p.returncode == 0\n"
    "pid = libc.syscall({nr[clone]}, 0x10000000 | 17, 0, 0, 0, 0)  # CLONE_NEWUSER | SIGCHLD\n"
    "if pid == 0:\n"
    "    os._exit(0)\n"
    "made['clone'] = pid > 0 or ctypes.get_errno()\n"
    "if pid > 0:\n"
    "    os.waitpid(pid, 0)\n"
    "made['unshare'] = libc.unshare(0x10000000) == 0 or ctypes.get_errno()\n"
    "made['clone3'] = libc.syscall({nr[clone3]}, 0, 0) == 0 or ctypes.get_errno()\n"
    "t = threading.Thread(target=lambda: None); t.start(); t.join()  # threads still start\n"
    "made['subprocess'] = subprocess.run(['true']).returncode\n")
_NR = jail.SECCOMP_ARCHES.get(os.uname().machine, (0, {"clone": -1, "clone3": -1}))[1]

USERNS_ANSWER = (USERNS_TRIES.format(nr=_NR) +
                 "print('userns:', json.dumps(made))\n"
                 "def squares(n):\n"
                 "    return [i * i for i in range(1, n + 1)] if made['unshare -U'] is False else 'escaped'\n")

SPREAD = ("import subprocess, sys\n"
          "code = 'b = bytearray(450 * 2**20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n"
          "import time; time.sleep(4)'\n"
          "ps = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(3)]\n"
          "print('children:', sorted(p.wait() for p in ps))\n" + B.RIGHT["squares"])


def _private_setup():
    """A folder only its owner can enter, holding a copy of the course package, the course,
    the submissions and the output folder."""
    base = tempfile.mkdtemp()
    assert os.stat(base).st_mode & 0o777 == 0o700
    clone = os.path.join(base, "clone")
    shutil.copytree(os.path.join(B.REPO, "course"), os.path.join(clone, "course"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    course = B.make_course(os.path.join(base, "course"))
    return base, clone, course


def _grade(course, clone, subs, out, *extra, env_extra=None):
    env = dict(B.cli_env(), PYTHONPATH=clone, **(env_extra or {}))
    proc = subprocess.run(B.grade_cmd(course, subs, out, "--jobs", "2", "--timeout", "10", *extra),
                          cwd=course, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _listeners(base):
    """Unix sockets outside the sandbox that anyone may connect to: one in the shared /tmp, one in
    the abstract namespace. Returns (addresses, sockets, connections seen)."""
    import threading
    path = os.path.join(tempfile.gettempdir(), f"cg-listener-{os.getpid()}.sock")
    abstract = f"\0cg-listener-{os.getpid()}"
    socks, seen = [], []
    for address in (path, abstract):
        s = socket.socket(socket.AF_UNIX)
        s.bind(address)
        if address == path:
            os.chmod(path, 0o777)
        s.listen(4)
        s.settimeout(0.2)
        socks.append(s)

    def accept(sock):
        while sock.fileno() >= 0:
            try:
                conn, _ = sock.accept()
                seen.append(sock.getsockname())
                conn.close()
            except OSError:
                if sock.fileno() < 0:
                    return

    for s in socks:
        threading.Thread(target=accept, args=(s,), daemon=True).start()
    return [path, abstract], socks, seen


def _sysv_keys():
    with open("/proc/sysvipc/shm") as fh:
        return {int(line.split()[0]) for line in fh.readlines()[1:] if line.strip()}


@pytest.fixture(scope="module")
def private_run():
    base, clone, course = _private_setup()
    addresses, socks, connections = _listeners(base)
    subs, out = os.path.join(base, "subs"), os.path.join(base, "out")
    targets = [os.path.join(course, "solutions", "ps1", "ps1.ipynb"), os.path.join(course, "gradebook.db"),
               os.path.join(subs, "honest", "ps1", "ps1.ipynb"), os.path.join(out, "journal.jsonl"),
               os.path.join(course, "nbgrader_config.py"), os.path.join(B.REPO, ".git"),
               os.path.join(B.REPO, "solutions"), os.path.join(clone, "course", "..", "..", "course"),
               "/etc/passwd", "/etc/shadow", "/var", "/sys/fs/cgroup", "/run"]
    B.write_nbgrader_layout(subs, {
        "honest": {"ps1.ipynb": B.notebook({"squares": USES_COURSE})},
        "blank": {"ps1.ipynb": B.notebook({"squares": "", "mean": "", "count_words": ""})},
        "snoop": {"ps1.ipynb": B.notebook({"squares": _snoop(targets, addresses)})},
        "spread": {"ps1.ipynb": B.notebook({"squares": SPREAD})},
        "userns": {"ps1.ipynb": B.notebook({"squares": USERNS_ANSWER})},
    })
    try:
        proc = _grade(course, clone, subs, out, "--memory-mb", "1024")
        yield {"base": base, "clone": clone, "course": course, "subs": subs, "out": out, "proc": proc,
               "rows": B.read_csv(out), "connections": list(connections), "sysv_keys": _sysv_keys()}
    finally:
        for s in socks:
            s.close()
        if os.path.exists(addresses[0]):
            os.unlink(addresses[0])
        shutil.rmtree(base, ignore_errors=True)


def _feedback(run, sid):
    with open(os.path.join(run["out"], "feedback", sid + ".html"), encoding="utf-8") as fh:
        return fh.read()


def test_a_course_in_a_private_folder_is_graded_with_its_own_course_package(private_run):
    """The kernel imports the course package the grader runs, bound in from a folder others cannot enter."""
    rows = private_run["rows"]
    assert rows["honest"]["status"] == "graded" and float(rows["honest"]["score"]) == 6.0, rows["honest"]
    assert float(rows["blank"]["score"]) == 0.0
    page = _feedback(private_run, "honest")
    assert "course from " + os.path.join(private_run["clone"], "course", "__init__.py") in page


def test_the_kernel_sees_nothing_outside_its_allow_list(private_run):
    """Solutions, gradebook, other submissions, the journal, .git, home folders and the grader's
    command line do not exist for the kernel; the attacker scores like an honest student."""
    page = _feedback(private_run, "snoop")
    assert "seen: []" in page, page[page.find("seen:"):page.find("seen:") + 600]
    assert float(private_run["rows"]["snoop"]["score"]) == 6.0


def test_files_left_in_tmp_and_dev_shm_go_with_the_kernel(private_run):
    assert "shm segment" in _feedback(private_run, "snoop"), "the answer did not run"
    assert not os.path.exists(f"/tmp/{LEFT_BEHIND}") and not os.path.exists(f"/dev/shm/{LEFT_BEHIND}")


def test_shared_memory_and_sockets_outside_are_out_of_reach(private_run):
    """A SysV segment the kernel made goes with its IPC namespace, and unix sockets outside (a file in
    the shared /tmp, an abstract one) cannot be reached: the listeners saw no connection."""
    page = _feedback(private_run, "snoop")
    assert "shm segment" in page and "shm segment -1" not in page, "the answer could not make its segment"
    assert SHM_KEY not in private_run["sysv_keys"]
    assert private_run["connections"] == []


def test_the_report_names_the_sandbox_and_the_limits_that_were_active(private_run):
    with open(os.path.join(private_run["out"], "report.html"), encoding="utf-8") as fh:
        report = fh.read()
    assert "allow-list sandbox (bubblewrap)" in report
    assert "FALLBACK" not in report
    if jail.userns_filter() is not None:
        assert "no new user namespaces (a seccomp filter" in report
    plan, _ = cgroups.probe(tag=f"coproduction-test-{os.getpid()}")
    if plan is not None:  # this machine offers a cgroup: the limits held per student
        cgroups.remove_run(plan)
        assert "limits per student, not per process" in report
    else:
        assert "limits per process only" in report


@pytest.mark.skipif(not LINUX_ROOT, reason="cgroups are made by a grader running as root")
def test_memory_is_limited_per_student_not_per_process(private_run):
    """Three processes of 450 MB each under --memory-mb 1024: within the per-process limit, over the
    per-student one, so at least one of them is killed; the rest of the notebook is graded."""
    page = _feedback(private_run, "spread")
    line = page[page.index("children: ["):].split("]")[0]
    codes = [int(c) for c in line[len("children: ["):].split(",")]
    assert -9 in codes, line
    assert float(private_run["rows"]["spread"]["score"]) == 6.0


@pytest.mark.skipif(not LINUX_ROOT, reason="a grader running as root gives each student a user id")
def test_a_student_kernel_cannot_make_a_user_namespace(private_run):
    """Run as root, bubblewrap makes no user namespace (each student has a user id of its own), so the
    kernel could make one; the seccomp filter stops every way to it, and the honest work still runs."""
    page = _feedback(private_run, "userns")
    line = page[page.index("userns: {"):].split("}")[0] + "}"
    made = json.loads(html.unescape(line[len("userns: "):]))
    assert made["uid"] >= 1_000_000, made  # the student's own user id, not root
    assert made == {"uid": made["uid"], "unshare -U": False, "clone": 1, "unshare": 1, "clone3": 38,
                    "subprocess": 0}, made
    assert float(private_run["rows"]["userns"]["score"]) == 6.0


def _run_in_sandbox(plan, base, code):
    """Run ``code`` as a student's kernel would start (bwrap, then jail.py as the student's user id);
    returns what it wrote to ``result.json`` in its working folder."""
    uid = sandbox.new_sandbox_uid()
    box = sandbox.make_box(base, "student", uid)
    cfg = sandbox.kernel_config(plan, box, uid)
    cmd = cfg["wrapper"] + [sys.executable, "-I", sandbox.JAIL] + cfg["jail_args"] + [
        "--", sys.executable, "-c", code + "\nopen('result.json', 'w').write(json.dumps(made))\n"]
    env = dict(PATH=os.environ["PATH"], **cfg.get("extra_env", {}))
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        result = os.path.join(box, "work", "result.json")
        assert proc.returncode == 0 and os.path.exists(result), (proc.returncode, proc.stderr, open(
            os.path.join(os.path.dirname(box), "jail.log")).read())
        with open(result) as fh:
            return json.load(fh)
    finally:
        sandbox.kill_uid(uid)
        shutil.rmtree(os.path.dirname(box), ignore_errors=True)


@pytest.mark.skipif(not LINUX_ROOT, reason="a grader running as root gives each student a user id")
def test_the_seccomp_filter_is_what_stops_user_namespaces(tmp_path):
    """The same tries, in the same sandbox, with and without the filter: without it the student's user
    id can make a user namespace (so the test can fail), with it every way fails and course imports."""
    plan = sandbox.probe_sandbox(hides=(), scratch_root=str(tmp_path), memory_mb=1024, cpu_seconds=60,
                                 allow_cgroup=False)
    assert plan.kind == "bwrap" and plan.drop_user, plan.protections
    assert jail.userns_filter() is not None, f"no filter for {os.uname().machine}"
    assert plan.no_new_userns
    assert any(p.startswith("no new privileges and no new user namespaces") for p in plan.protections)
    tries = USERNS_TRIES.format(nr=_NR) + "import course.grading.collect\nmade['course'] = course.__file__\n"
    import dataclasses
    unfiltered = _run_in_sandbox(dataclasses.replace(plan, no_new_userns=False), str(tmp_path), tries)
    assert unfiltered["unshare -U"] is True and unfiltered["clone"] is True, unfiltered
    filtered = _run_in_sandbox(plan, str(tmp_path), tries)
    assert filtered["uid"] >= 1_000_000
    assert (filtered["unshare -U"], filtered["clone"], filtered["unshare"], filtered["clone3"]) == (
        False, 1, 1, 38), filtered  # EPERM, EPERM, EPERM, ENOSYS
    assert filtered["subprocess"] == 0
    assert filtered["course"] == os.path.join(bwrap.course_package_dir(), "__init__.py")


def test_a_machine_without_a_filter_says_user_namespaces_are_not_blocked(monkeypatch):
    """On an architecture the filter was not written for, the report says so instead of claiming it."""
    monkeypatch.setattr(jail.os, "uname", lambda: os.uname_result(("Linux", "h", "6", "#1", "riscv64")))
    assert jail.userns_filter() is None
    on, note = sandbox._userns_rule(root_bwrap=True)
    assert not on and note.startswith("NOT blocked: a kernel may make new user namespaces")
    assert "riscv64" in note and "x86_64 and aarch64" in note
    on, note = sandbox._userns_rule(root_bwrap=False)
    assert not on and "--disable-userns" in note


def test_the_filter_program_checks_the_architecture_first():
    """Each architecture's program loads the audit architecture first and ends the process on any
    other; its jumps stay inside the program."""
    import struct
    for machine, (arch, _) in jail.SECCOMP_ARCHES.items():
        prog = jail.userns_filter(machine, 8)
        ins = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
        assert ins[0] == (0x20, 0, 0, 4) and ins[1][0] == 0x15 and ins[1][3] == arch
        assert ins[1 + 1 + ins[1][2]] == (0x06, 0, 0, 0x80000000)  # mismatch: kill
        assert all(i + 1 + max(jt, jf) < len(ins) for i, (code, jt, jf, _) in enumerate(ins) if code & 7 == 5)
        assert ins[-1][0] == 0x06  # the program ends with a return
    assert jail.userns_filter("x86_64", 4) is None  # a 32-bit userland


def test_without_bubblewrap_the_hide_list_is_used_and_reported(tmp_path):
    """Where bwrap cannot be used, the older hide-list grades the same and the report says so."""
    course = B.make_course(str(tmp_path / "course"))
    subs, out = str(tmp_path / "subs"), str(tmp_path / "out")
    B.write_nbgrader_layout(subs, {"honest": {"ps1.ipynb": B.notebook()},
                                   "blank": {"ps1.ipynb": B.notebook({"squares": "", "mean": "",
                                                                      "count_words": ""})}})
    proc = subprocess.run(B.grade_cmd(course, subs, out, "--jobs", "2", "--timeout", "10"), cwd=course,
                          env=dict(B.cli_env(), **{NO_BWRAP_ENV: "1"}), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = B.read_csv(out)
    assert float(rows["honest"]["score"]) == 6.0 and float(rows["blank"]["score"]) == 0.0
    with open(os.path.join(out, "report.html"), encoding="utf-8") as fh:
        report = fh.read()
    assert "allow-list sandbox (bubblewrap)" not in report
    assert "hidden (private mount namespace)" in report or "NOT isolated" in report


def _folder_of_length(parent, length):
    """A new folder below ``parent`` whose path is exactly ``length`` characters long."""
    pad = length - len(parent) - 1
    assert pad > 0, (parent, length)
    path = os.path.join(parent, "t" * pad)
    os.makedirs(path)
    assert len(path) == length
    return path


def test_a_tmpdir_too_long_for_unix_sockets_stops_with_a_message_naming_it(tmp_path, monkeypatch):
    """A long TMPDIR would put the kernels' sockets past the unix socket limit: the command stops
    before anyone is graded, naming TMPDIR, its length and the longest allowed."""
    from course.grading import GradingSetupError
    long_tmp = _folder_of_length(str(tmp_path), 100)
    monkeypatch.setattr(tempfile, "tempdir", long_tmp)
    scratch = tempfile.mkdtemp(prefix="cg-")
    with pytest.raises(GradingSetupError) as err:
        sandbox.probe_sandbox(hides=(), scratch_root=scratch, memory_mb=1024, cpu_seconds=60,
                              allow_cgroup=False)
    msg = str(err.value)
    room = sandbox.SOCKET_PATH_MAX - len(scratch + sandbox.SOCKET_TAIL) + len(long_tmp)
    assert msg.startswith(f"'TMPDIR' must be a folder whose path is at most {room} characters long")
    assert f"Got {long_tmp!r} (100 characters) instead" in msg
    # the allowance is exact: a TMPDIR of that length passes, one character more does not
    fits = _folder_of_length(str(tmp_path), room)
    monkeypatch.setattr(tempfile, "tempdir", fits)
    assert sandbox.check_socket_room(tempfile.mkdtemp(prefix="cg-")) is None
    monkeypatch.setattr(tempfile, "tempdir", _folder_of_length(str(tmp_path), room + 1))
    with pytest.raises(GradingSetupError):
        sandbox.check_socket_room(tempfile.mkdtemp(prefix="cg-"))


def test_the_grade_command_names_a_long_tmpdir_and_grades_with_the_longest_allowed(tmp_path):
    """The real command: exit 2 and the message for a long TMPDIR; at the length it names as the
    longest allowed, the honest and blank submissions are graded as usual."""
    course = B.make_course(str(tmp_path / "course"))
    subs = str(tmp_path / "subs")
    B.write_nbgrader_layout(subs, {"honest": {"ps1.ipynb": B.notebook()},
                                   "blank": {"ps1.ipynb": B.notebook({"squares": "", "mean": "",
                                                                      "count_words": ""})}})
    base = tempfile.mkdtemp(dir="/tmp")  # a short start, whatever this run's own TMPDIR is
    try:
        long_tmp = _folder_of_length(base, 100)
        cmd = B.grade_cmd(course, subs, str(tmp_path / "out1"), "--jobs", "1", "--timeout", "10")
        proc = subprocess.run(cmd, cwd=course, env=dict(B.cli_env(), TMPDIR=long_tmp),
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "'TMPDIR' must be a folder whose path is at most " in proc.stderr, proc.stderr
        assert f"Got {long_tmp!r} (100 characters) instead" in proc.stderr
        assert "Traceback" not in proc.stderr
        room = int(proc.stderr.split("at most ")[1].split(" ")[0])
        out = str(tmp_path / "out2")
        cmd = B.grade_cmd(course, subs, out, "--jobs", "1", "--timeout", "10")
        proc = subprocess.run(cmd, cwd=course, env=dict(B.cli_env(), TMPDIR=_folder_of_length(base, room)),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        rows = B.read_csv(out)
        assert float(rows["honest"]["score"]) == 6.0 and float(rows["blank"]["score"]) == 0.0
    finally:
        shutil.rmtree(base, ignore_errors=True)


UNIFIED = "/sys/fs/cgroup/unified"


@pytest.mark.skipif(not os.path.exists(os.path.join(UNIFIED, "cgroup.controllers")),
                    reason="no cgroup v2 hierarchy beside cgroup v1 (hybrid mode) on this machine")
def test_a_hybrid_machines_cgroup_v2_without_memory_is_not_used():
    """On a hybrid machine the cgroup v2 hierarchy offers no memory or pids controller (those are
    cgroup v1's): reading the real one, the grader declines it and leaves nothing behind."""
    with open(os.path.join(UNIFIED, "cgroup.controllers")) as fh:
        offered = set(fh.read().split())
    before = sorted(os.listdir(UNIFIED))
    plan = cgroups._probe_v2(UNIFIED, f"coproduction-test-{os.getpid()}", "/proc/self/cgroup")
    if {"memory", "pids"} <= offered:  # a cgroup v2 that can limit: the next test covers it
        assert plan is not None and plan.version == 2
        cgroups.remove_run(plan)
    else:
        assert plan is None
        assert sorted(os.listdir(UNIFIED)) == before


@pytest.mark.skipif(not LINUX_ROOT, reason="cgroups are made by a grader running as root")
def test_a_students_cgroup_on_this_machines_real_hierarchy():
    """On the machine's own cgroup tree (v2, or v1 where that holds the controllers): a process over
    the student's memory is killed, one under it is not, at most PIDS processes, and every process
    left in the cgroup is killed when it is removed."""
    plan, why = cgroups.probe(tag=f"coproduction-test-{os.getpid()}")
    assert plan is not None, why
    try:
        dirs = cgroups.create(plan, "student", 256)
        for d in dirs:
            assert os.path.isdir(d)
        if plan.version == 2:
            with open(os.path.join(dirs[0], "memory.max")) as fh:
                assert fh.read().strip() == str(256 * 2**20)
        fill = ("b = bytearray({mb} * 2**20)\n"
                "for i in range(0, len(b), 4096): b[i] = 1\n")
        join = cgroups.join_command(dirs)
        assert subprocess.run(join + [sys.executable, "-c", fill.format(mb=100)]).returncode == 0
        assert subprocess.run(join + [sys.executable, "-c", fill.format(mb=400)]).returncode == -9
        pids_file = [os.path.join(d, "pids.max") for d in dirs if os.path.exists(os.path.join(d, "pids.max"))]
        assert pids_file and open(pids_file[0]).read().strip() == str(cgroups.PIDS)
        daemon = subprocess.Popen(join + ["sleep", "600"], start_new_session=True)
        try:
            for _ in range(200):  # until it has joined
                if daemon.pid in cgroups._pids(dirs[0]):
                    break
                time.sleep(0.05)
            cgroups.kill_and_remove(dirs)
            assert daemon.wait(timeout=10) == -9
            assert not any(os.path.exists(d) for d in dirs)
        finally:
            daemon.kill()
            daemon.wait()
    finally:
        cgroups.remove_run(plan)


def _fake_v2(tmp_path, enabled=""):
    root = tmp_path / "cgroup"
    own = root / "grading.scope"
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids io\n")
    (own / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text(enabled)
    (own / "cgroup.procs").write_text("")
    proc = tmp_path / "self-cgroup"
    proc.write_text("0::/grading.scope\n")
    return root, own, proc


def test_cgroup_v2_limits_are_written_per_student(tmp_path):
    """On a cgroup v2 tree (here a copy of its files), the grader moves itself to a leaf, passes the
    controllers down and gives each student memory.max, no swap, pids.max and one CPU."""
    root, own, proc = _fake_v2(tmp_path)
    plan, why = cgroups.probe(tag="run", root=str(root), proc_cgroup=str(proc))
    assert why == "" and plan.version == 2 and plan.controllers == ("memory", "pids", "cpu")
    assert (own / f"grader-{os.getpid()}" / "cgroup.procs").read_text() == str(os.getpid())
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    (own / "run" / "memory.swap.max").write_text("max")  # as the kernel shows it in each new cgroup
    dirs = cgroups.create(plan, "alice", 1024)
    student = own / "run" / "alice"
    assert dirs == [str(student)]
    assert (student / "memory.max").read_text() == str(1024 * 1024 * 1024)
    assert (student / "pids.max").read_text() == str(cgroups.PIDS)
    assert (student / "cpu.max").read_text() == "100000 100000"
    assert "memory 1024 MB for all its processes together" in plan.describe(1024)
    cmd = cgroups.join_command(dirs)
    assert cmd[-1] == "sh" and f'> "{student}/cgroup.procs"' in cmd[2]


def test_no_cgroup_without_memory_and_pids_controllers(tmp_path):
    root, own, proc = _fake_v2(tmp_path)
    (own / "cgroup.controllers").write_text("cpu\n")
    plan, why = cgroups.probe(tag="run", root=str(root), proc_cgroup=str(proc))
    assert plan is None and "no writable cgroup" in why
