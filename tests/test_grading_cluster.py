"""Does ``coproduction-course grade --cluster`` grade on a real Dask cluster as the local pool does?

Each test starts a real scheduler and two worker processes with Dask's own command-line tools
(``dask scheduler`` on a free loopback port, ``dask worker --no-nanny``), and always stops them.
A worker is killed while it holds a submission (the test tells the workers, through
``course.grading.cluster.HOLD_ENV``, to wait on one student until the test says go): the
submission must be graded on the other worker, or, when the scheduler gives up on it, recorded as
the grader's failure and graded on the next run. Never the student's fault, never twice.
"""
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import answers_data as D  # noqa: E402
import builders as B  # noqa: E402

from course.grading.cluster import HOLD_ENV  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

A = "ex04_value_stream_mapping"
DASK = os.path.join(os.path.dirname(sys.executable), "dask")
HELD = "s07-slip"  # the submission a worker holds when it is killed


def _class(marker):
    """A mixed class: right, the same answers written differently, partly right (one slip carried
    forward), blank, broken JSON, code in the answer cells; 14 students."""
    student, right = D.released(A), D.solution_answers(A)
    kinds = {"right": D.fill(student, right), "restyled": D.fill(student, D.restyled_answers(A)),
             "slip": D.fill(student, D.slip(A)[0]), "blank": student,
             "code": D.with_code(D.fill(student, right), marker)}
    subs = {}
    for i in range(12):
        kind = list(kinds)[i % len(kinds)]
        subs[f"s{i:02d}-{kind}"] = nbformat.writes(kinds[kind])
    subs["s90-broken"] = '{"cells": [ {"cell_type": '
    subs["s91-empty"] = ""
    return subs


def _course(dest):
    os.makedirs(dest)
    import shutil
    shutil.copy(os.path.join(B.REPO, "nbgrader_config.py"), dest)
    for folder in ("solutions", "exercises", "notebooks"):
        shutil.copytree(os.path.join(B.REPO, folder), os.path.join(dest, folder))
    return dest


class Cluster:
    """A scheduler and two worker processes on localhost, started with Dask's command-line tools."""

    def __init__(self, base, env=None, scheduler_env=None):
        self.base, self.procs, self.workers = base, [], []
        os.makedirs(base, exist_ok=True)
        self.file = os.path.join(base, "scheduler.json")
        self.env = dict(B.cli_env(), **(env or {}))
        self.scheduler_env = dict(self.env, **(scheduler_env or {}))

    def _start(self, args, env, log):
        fh = open(os.path.join(self.base, log), "w")
        proc = subprocess.Popen([DASK, *args], cwd=self.base, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        fh.close()
        self.procs.append(proc)
        return proc

    def __enter__(self):
        try:
            self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                         "--scheduler-file", self.file], self.scheduler_env, "scheduler.log")
            self.address = self._wait_for(lambda: json.load(open(self.file))["address"], "the scheduler")
            for i in range(2):
                self.workers.append(self._start(
                    ["worker", "--scheduler-file", self.file, "--nworkers", "1", "--nthreads", "1",
                     "--no-nanny", "--no-dashboard", "--local-directory", os.path.join(self.base, f"w{i}")],
                    self.env, f"worker{i}.log"))
            from distributed import Client
            with Client(self.address, timeout=30) as client:
                client.wait_for_workers(2, timeout=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_for(self, get, what, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                return get()
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise AssertionError(f"{what} did not start: {self.logs()}")

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.base)):
            if name.endswith(".log"):
                with open(os.path.join(self.base, name)) as fh:
                    out.append(f"--- {name}\n{fh.read()[-2000:]}")
        return "\n".join(out)

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()
        import tempfile

        from course.grading.prepare import remove_stale_scratch as _remove_stale_scratch
        _remove_stale_scratch(tempfile.gettempdir())  # the killed workers' scratch folders


def _grade(course, subs, out, *extra):
    return subprocess.Popen(B.grade_cmd(course, subs, out, *extra, assignment=A), cwd=course, env=B.cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_the_holder(cluster, hold, proc):
    """Wait until a worker holds the held submission, kill that worker, then let the other go on."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        started = [f for f in os.listdir(hold) if f.startswith("started-")]
        if started:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no worker took {HELD}: {proc.communicate()}\n{cluster.logs()}")
    pid = int(started[0].split("-")[1])
    assert pid in [w.pid for w in cluster.workers]
    os.kill(pid, signal.SIGKILL)
    time.sleep(1.0)
    open(os.path.join(hold, "go"), "w").close()
    return pid


def _csv_rows(out):
    import csv
    with open(os.path.join(out, "grades.csv"), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def local_grades(tmp_path_factory):
    """The mixed class and its grades from the local pool (the reference)."""
    base = tmp_path_factory.mktemp("local")
    marker = str(base / "code-ran")
    subs = str(base / "subs")
    D.write_submissions(subs, A, _class(marker))
    out = str(base / "out")
    B.run_grade(_course(str(base / "course")), subs, out, assignment=A)
    rows = B.read_csv(out)
    assert not os.path.exists(marker)
    return subs, rows


def test_a_worker_killed_mid_submission_changes_nothing(local_grades, tmp_path):
    """Grading through --cluster, with the worker holding one submission killed: are the grades those
    of the local pool, each student once in grades.csv and the journal, and no one rejected for it?"""
    subs, reference = local_grades
    hold = str(tmp_path / "hold")
    os.makedirs(hold)
    course, out = _course(str(tmp_path / "course")), str(tmp_path / "out")
    with Cluster(str(tmp_path / "cluster"), env={HOLD_ENV: f"{HELD}:{hold}"}) as cluster:
        proc = _grade(course, subs, out, "--cluster", cluster.address)
        killed = _kill_the_holder(cluster, hold, proc)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{stdout}\n{stderr}\n{cluster.logs()}"
        assert cluster.workers[[w.pid for w in cluster.workers].index(killed)].poll() is not None
    # the held submission was started on both workers: the killed one, then the other
    starts = sorted(f for f in os.listdir(hold) if f.startswith("started-"))
    assert len(starts) == 2 and f"started-{killed}" in starts, starts

    rows = _csv_rows(out)
    assert sorted(r["student_id"] for r in rows) == sorted(reference), "a student is missing or twice"
    assert {r["student_id"]: r for r in rows} == reference
    assert {r["student_id"] for r in rows if r["status"] == "rejected"} == {"s90-broken", "s91-empty"}
    journal = B.read_journal(out)
    assert sorted(e["student_id"] for e in journal) == sorted(reference), "a result was recorded twice"
    assert not any(e.get("retry") for e in journal)
    # the grades themselves, by hand: the right answers (plain or restyled) earn every automatic point
    full = max(float(r["auto_points"] or 0) for r in rows)
    assert full > 0
    for r in rows:
        kind = r["student_id"].split("-")[1]
        if kind in ("right", "restyled"):
            assert float(r["auto_points"]) == full
        elif kind in ("blank", "code"):
            assert float(r["auto_points"]) == 0
        elif kind == "slip":
            assert 0 < float(r["auto_points"]) < full
    assert os.path.exists(os.path.join(out, "feedback", f"{HELD}.html"))
    with open(os.path.join(out, "report.html"), encoding="utf-8") as fh:
        assert "graded on the Dask cluster at " + cluster.address in fh.read()

    # the same command again (the cluster gone) grades nothing and writes the same grades
    again = B.run_grade(course, subs, out, assignment=A)
    assert "graded this run       0" in again.stdout
    assert B.read_csv(out) == reference


def test_a_submission_the_scheduler_gives_up_on_is_graded_on_the_next_run(local_grades, tmp_path):
    """When the scheduler allows no worker death (allowed-failures 0), killing the worker that holds a
    submission fails it with KilledWorker: is that recorded as the grader's failure (retry), the rest
    graded, and the submission graded on the next run, as the local pool grades it?"""
    subs, reference = local_grades
    hold = str(tmp_path / "hold")
    os.makedirs(hold)
    course, out = _course(str(tmp_path / "course")), str(tmp_path / "out")
    # no second chance after a worker's death; one submission at a time per worker thread, so that
    # only the held submission is on the worker when it dies
    strict = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
              "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
    with Cluster(str(tmp_path / "cluster"), env={HOLD_ENV: f"{HELD}:{hold}"}, scheduler_env=strict) as cluster:
        proc = _grade(course, subs, out, "--cluster", cluster.address)
        _kill_the_holder(cluster, hold, proc)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{stdout}\n{stderr}\n{cluster.logs()}"
        first = B.read_csv(out)
        assert sorted(first) == sorted(reference)
        assert "stopped while grading" in first[HELD]["reason"] and "next run" in first[HELD]["reason"]
        held = [e for e in B.read_journal(out) if e["student_id"] == HELD]
        assert len(held) == 1 and held[0]["retry"] is True
        for sid, row in first.items():
            if sid != HELD:
                assert row == reference[sid]

        again = _grade(course, subs, out, "--cluster", cluster.address)
        stdout, stderr = again.communicate(timeout=300)
        assert again.returncode == 0, f"{stdout}\n{stderr}\n{cluster.logs()}"
    assert "graded this run       1" in stdout
    assert B.read_csv(out) == reference
    graded = [e for e in B.read_journal(out) if e["status"] == "graded"]
    assert sorted(e["student_id"] for e in graded) == sorted(s for s in reference if reference[s]["status"] == "graded")


@pytest.mark.parametrize("address, words", [
    ("localhost", "'--cluster' must be a Dask scheduler address"),
    ("http://127.0.0.1:8786", "the scheme must be tcp:// or tls://"),
    ("tcp://127.0.0.1:{port}", "nothing answered at 127.0.0.1:{port}"),
])
def test_an_unusable_address_is_the_commands_own_error(tmp_path, address, words):
    """A bad or unreachable --cluster address: exit 2 and a message naming the option, no traceback."""
    import socket
    with socket.socket() as s:  # a free port: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    course = B.make_course(str(tmp_path / "course"))
    subs = B.write_nbgrader_layout(str(tmp_path / "subs"), {"amy": {"ps1.ipynb": B.notebook()}})
    proc = B.run_grade(course, subs, str(tmp_path / "out"), "--cluster", address.format(port=port), check=False)
    assert proc.returncode == 2, proc.stderr
    assert words.format(port=port) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_worker_whose_sandbox_cannot_import_the_assignment_grades_no_one(tmp_path, monkeypatch):
    """A cluster worker runs the environment check itself, once per assignment and sandbox: a machine
    whose sandbox cannot import what the assignment needs says so (and its students are tried again),
    instead of giving each of them 0."""
    import tempfile

    from course.grading import cluster, envcheck, sandbox
    scratch = tempfile.mkdtemp(prefix="cg-", dir=str(tmp_path))
    os.chmod(scratch, 0o711)
    release = tmp_path / "release"
    release.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import module_on_no_machine\nx = 1")])
    nbformat.write(nb, str(release / "ps9.ipynb"))
    plan = sandbox.probe_sandbox(hides=(), scratch_root=scratch, memory_mb=1024, cpu_seconds=60)
    problem = cluster._environment_problem(plan, scratch, str(release), 10, "digest-1")
    assert "module_on_no_machine" in problem, problem

    def must_not_run(*a, **k):
        raise AssertionError("the check ran again for the same assignment and sandbox")
    monkeypatch.setattr(envcheck, "check_environment", must_not_run)
    assert cluster._environment_problem(plan, scratch, str(release), 10, "digest-1") == problem
    assert cluster._environment_problem(None, scratch, str(release), 10, "digest-2") == ""
