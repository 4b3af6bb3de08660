"""Grading as an ordinary user: a real ``coproduction-course grade`` run by an unprivileged user.

An instructor who is not root grades in bubblewrap's allow-list sandbox with a user namespace of
its own (in which no further one can be made), without per-student user ids or cgroups, and the
report says so. The test starts as root (as CI does), hands a course in a folder only its owner
can enter (``tempfile.mkdtemp``) to the unprivileged user ``nobody`` and runs the command as
that user.

The Python environment that runs the tests may sit below a folder only root can enter (a
``pyenv`` under ``/root``, a clone under ``mktemp -d``). The command then runs in a private mount
namespace where that folder is covered by an empty one through which only the environment is
reachable (``jail.py``'s ``--cover``/``--expose``, as the hide-list fallback does), as it would be
for an instructor whose Python is installed where they can use it.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

from course.grading import jail, sandbox  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]

USER = "nobody"

#: Tries to make a user namespace with the unshare command; answers right only if it could not.
USERNS = ("import subprocess\n"
          "made = subprocess.run(['unshare', '-U', 'true'], capture_output=True).returncode == 0\n"
          "print('made a user namespace:', made)\n"
          "def squares(n):\n"
          "    return 'escaped' if made else [i * i for i in range(1, n + 1)]\n")


def _need_root_linux():
    """The test switches to another user, which only root can do: fail on CI, skip elsewhere."""
    why = None
    if not sys.platform.startswith("linux"):
        why = "grading as a non-root user is tested on Linux"
    elif os.geteuid() != 0:
        why = ("this test starts as root to run the grade command as the unprivileged user "
               f"{USER!r}; run it as root (CI does)")
    elif shutil.which("bwrap") is None or shutil.which("unshare") is None:
        why = "bubblewrap (bwrap) and util-linux's unshare must be installed"
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def _as_user(uid, gid, base, cwd):
    """A command prefix that runs the rest as ``uid``/``gid``, with the Python environment reachable."""
    covers, exposes = [], []
    for path in sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}):
        anc = sandbox._blocking_ancestor(path)
        if anc:
            exposes.append(path)
            if anc not in covers:
                covers.append(anc)
    args = ["--log", os.path.join(base, "setup.log"), "--cwd", cwd, "--uid", str(uid), "--gid", str(gid)]
    for c in covers:
        args += ["--cover", c]
    for e in exposes:
        args += ["--expose", e]
    wrapper = [shutil.which("unshare"), "-m"] if covers else []
    return wrapper + [sys.executable, "-I", sandbox.JAIL] + args + ["--"]


def _unprivileged_bwrap_works(prefix, env):
    """Can the unprivileged user start bubblewrap with a user namespace of its own here?"""
    cmd = prefix + [shutil.which("bwrap"), "--unshare-all", "--unshare-user", "--disable-userns",
                    "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"]
    return subprocess.run(cmd, env=env, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def nonroot_run():
    _need_root_linux()
    pw = pwd.getpwnam(USER)
    base = tempfile.mkdtemp()
    try:
        assert os.stat(base).st_mode & 0o777 == 0o700
        clone = os.path.join(base, "clone")
        shutil.copytree(os.path.join(B.REPO, "course"), os.path.join(clone, "course"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        course = B.make_course(os.path.join(base, "course"))
        subs, out = os.path.join(base, "subs"), os.path.join(base, "out")
        B.write_nbgrader_layout(subs, {
            "honest": {"ps1.ipynb": B.notebook()},
            "blank": {"ps1.ipynb": B.notebook({"squares": "", "mean": "", "count_words": ""})},
            "userns": {"ps1.ipynb": B.notebook({"squares": USERNS})},
        })
        for root, dirs, files in os.walk(base):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = _as_user(pw.pw_uid, pw.pw_gid, base, course)
        env = dict(B.cli_env(), PYTHONPATH=clone, HOME=base, USER=USER, LOGNAME=USER)
        env.pop("TMPDIR", None)  # the user's own /tmp, not a folder of root's
        bwrap_ok = _unprivileged_bwrap_works(prefix, env)
        cmd = prefix + B.grade_cmd(course, subs, out, "--jobs", "2", "--timeout", "10")
        proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
        log = os.path.join(base, "setup.log")
        setup_log = open(log).read() if os.path.exists(log) else ""
        assert proc.returncode == 0, proc.stdout + proc.stderr + setup_log
        with open(os.path.join(out, "report.html"), encoding="utf-8") as fh:
            report = fh.read()
        yield {"pw": pw, "out": out, "rows": B.read_csv(out), "report": report, "bwrap_ok": bwrap_ok,
               "proc": proc}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_an_unprivileged_grader_gives_full_marks_and_zero(nonroot_run):
    """Do the honest and the blank submission get the grades they get from a root grader?"""
    rows = nonroot_run["rows"]
    assert rows["honest"]["status"] == "graded" and float(rows["honest"]["score"]) == 6.0, rows["honest"]
    assert rows["blank"]["status"] == "graded" and float(rows["blank"]["score"]) == 0.0, rows["blank"]


def test_the_run_was_not_root(nonroot_run):
    """The grades and report were written by the unprivileged user, not by root."""
    for name in ("grades.csv", "report.html"):
        assert os.stat(os.path.join(nonroot_run["out"], name)).st_uid == nonroot_run["pw"].pw_uid


def test_the_report_names_the_sandbox_an_unprivileged_grader_gets(nonroot_run):
    """bubblewrap with a user namespace of its own where that works, else the reported fallback;
    never per-student user ids or cgroups, which need root."""
    report = nonroot_run["report"].replace("&#x27;", "'")
    if nonroot_run["bwrap_ok"]:
        assert "allow-list sandbox (bubblewrap)" in report, report[report.find("isolated"):]
        assert "own user namespace, in which no further user namespace can be made " \
               "(bubblewrap's --disable-userns)" in report
        assert "NOT a separate user: kernels run as the grader's own user (inside the allow-list " \
               "sandbox)" in report
        assert "FALLBACK" not in report
    else:
        assert "FALLBACK: bubblewrap could not start a kernel here (" in report
    assert "separate unprivileged user id per student" not in report
    assert "limits per process only" in report
    if jail.userns_filter() is not None:
        assert "no new privileges and no new user namespaces (a seccomp filter" in report


def test_a_kernel_of_an_unprivileged_grader_cannot_make_a_user_namespace(nonroot_run):
    """Inside the unprivileged sandbox, the student's code cannot make a user namespace of its own."""
    with open(os.path.join(nonroot_run["out"], "feedback", "userns.html"), encoding="utf-8") as fh:
        page = fh.read()
    assert "made a user namespace: False" in page, page[page.find("made a"):page.find("made a") + 200]
    assert float(nonroot_run["rows"]["userns"]["score"]) == 6.0
