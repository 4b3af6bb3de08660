"""What does grading on a Dask cluster cost, against the local pool, for the same submissions?

Builds N submissions (60 by default), then, in the same run:

1. grades them with ``coproduction-course grade --jobs W`` (W worker processes on this machine);
2. starts a scheduler and W workers on this machine with Dask's own commands
   (``dask scheduler``, ``dask worker --nthreads 1 --preload course.grading.cluster``) and grades
   the same submissions through the cluster (the grade command with ``cluster=ADDRESS``, run in
   this process so that the time spent recording each result here can be measured: that is the
   share of the work no number of workers takes away); the cluster is stopped afterwards.

``--kind data`` (default) grades one of the course's exercises (answers read as data: right,
written differently, untouched, one slip, code in the answer cells, in turn); ``--kind code``
grades the test fixture's code-based assignment (a sandboxed kernel per submission: right,
partly wrong, raising, broken JSON, in turn).

Prints each command's wall time and grading phase, the cluster's time over the local pool's,
the time per graded submission each adds beyond the work itself (a grading phase times its
worker cores, less the workers' own seconds from the journal, per graded submission) and what the cluster adds
on top, and submissions per hour per worker core (from the grading phase). The load average is
printed before and after: figures from a busy machine are comparable only within one run.
Asserts nothing::

    python benchmarks/bench_cluster.py                    # 60 submissions of ex04, 2 workers
    python benchmarks/bench_cluster.py --kind code --n 30
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "grading"))
import answers_data as D  # noqa: E402
import builders as B  # noqa: E402

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def _data_class(a, n, marker):
    import nbformat
    student, right = D.released(a), D.solution_answers(a)
    kinds = [lambda: D.fill(student, right), lambda: D.fill(student, D.restyled_answers(a)),
             lambda: student, lambda: D.fill(student, D.slip(a)[0]),
             lambda: D.with_code(D.fill(student, right), marker)]
    return {f"s{i:03d}": nbformat.writes(kinds[i % len(kinds)]()) for i in range(n)}


def _code_class(n):
    kinds = [lambda: B.notebook(), lambda: B.notebook({"mean": "def mean(xs):\n    return 0"}),
             lambda: B.notebook({"squares": "raise ValueError('todo')"}), lambda: B.notebook(),
             lambda: "{broken"]
    return {f"s{i:03d}": kinds[i % len(kinds)]() for i in range(n)}


def _setup(base, kind, a, n):
    """(course folder, submissions folder, assignment)."""
    if kind == "code":
        course = B.make_course(os.path.join(base, "course"))
        subs = B.write_nbgrader_layout(os.path.join(base, "subs"),
                                       {s: {"ps1.ipynb": nb} for s, nb in _code_class(n).items()})
        return course, subs, "ps1"
    course = os.path.join(base, "course")
    os.makedirs(course)
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), course)
    for folder in ("solutions", "exercises", "notebooks"):
        shutil.copytree(os.path.join(ROOT, folder), os.path.join(course, folder))
    subs = os.path.join(base, "subs")
    D.write_submissions(subs, a, _data_class(a, n, os.path.join(base, "code-ran")))
    return course, subs, a


def _in_process(course, subs, out, a, address, recording):
    """The grade command in this process, on the cluster, timing each result's recording
    (gradebook, files, journal: the coordinating machine's share of the work) into ``recording``."""
    import contextlib
    import io

    from course.grading import cluster as C
    from course.grading.runner import GradeOptions, run_grade
    plain = C.ClusterPool.__call__

    def timed(self, tasks, jobs, fn, finish, tqdm, quiet):
        def record(task, result):
            t, cpu = time.perf_counter(), time.thread_time()
            finish(task, result)
            recording.append((time.perf_counter() - t, time.thread_time() - cpu))
        return plain(self, tasks, jobs, fn, record, tqdm, quiet)

    here, text = os.getcwd(), io.StringIO()
    C.ClusterPool.__call__ = timed
    try:
        os.chdir(course)
        with contextlib.redirect_stdout(text):
            run_grade(GradeOptions(assignment=a, submissions=subs, out=out, course_root=course,
                                   quiet=True, cluster=address))
    finally:
        os.chdir(here)
        C.ClusterPool.__call__ = plain
    return text.getvalue()


def _grade(course, subs, out, a, *extra, address=None, recording=None):
    """(wall seconds, grading-phase seconds, worker seconds per graded submission, graded, mean phases)."""
    t = time.perf_counter()
    if address:
        stdout = _in_process(course, subs, out, a, address, recording)
    else:
        stdout = B.run_grade(course, subs, out, *extra, assignment=a).stdout
    wall = time.perf_counter() - t
    grading = float(re.search(r"grading ([0-9.]+) s", stdout).group(1))
    with open(os.path.join(out, "journal.jsonl"), encoding="utf-8") as fh:
        graded = [json.loads(line) for line in fh if '"graded"' in line]
    work = sum(e.get("seconds", 0.0) for e in graded) / max(1, len(graded))
    phases = {}
    for e in graded:
        for k, v in e.get("phases", {}).items():
            phases[k] = phases.get(k, 0.0) + v / len(graded)
    return wall, grading, work, len(graded), phases


class LocalCluster:
    """``dask scheduler`` and ``workers`` x ``dask worker --nthreads 1`` on 127.0.0.1."""

    def __init__(self, base, workers):
        self.base, self.n, self.procs = base, workers, []

    def __enter__(self):
        sched = os.path.join(self.base, "scheduler.json")
        env = B.cli_env()
        self.procs.append(subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", sched], cwd=self.base, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(
            [DASK, "worker", "--scheduler-file", sched, "--nworkers", str(self.n), "--nthreads", "1",
             "--no-dashboard", "--preload", "course.grading.cluster",
             "--local-directory", os.path.join(self.base, "workers")],
            cwd=self.base, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 120
        while True:
            try:
                with open(sched) as fh:
                    self.address = json.load(fh)["address"]
                break
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the scheduler did not start")
                time.sleep(0.1)
        from distributed import Client
        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(self.n, timeout=120)
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--workers", type=int, default=2, help="worker processes, each one core (default 2)")
    p.add_argument("--kind", choices=["data", "code"], default="data")
    p.add_argument("--assignment", default="ex04_value_stream_mapping", help="with --kind data")
    args = p.parse_args(argv)
    n, w = args.n, args.workers
    print(f"{n} submissions ({args.kind}); {w} worker(s) of one core each; {os.cpu_count()} CPUs here; "
          f"load before {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as base:
        course, subs, a = _setup(base, args.kind, args.assignment, n)
        local = _grade(course, subs, os.path.join(base, "out-local"), a, "--jobs", str(w))
        os.remove(os.path.join(course, "gradebook.db"))  # the cluster's run starts from the same state
        cluster_dir = os.path.join(base, "cluster")
        os.makedirs(cluster_dir)
        t = time.perf_counter()
        with LocalCluster(cluster_dir, w) as cluster:
            start = time.perf_counter() - t
            recording = []
            remote = _grade(course, subs, os.path.join(base, "out-cluster"), a, address=cluster.address,
                            recording=recording)
        same = (B.read_csv(os.path.join(base, "out-local")) == B.read_csv(os.path.join(base, "out-cluster")))
    print(f"{'':26}{'wall s':>9}{'grading s':>11}{'work s/sub':>12}{'overhead s/sub':>16}{'subs/h/core':>13}")
    over = {}
    for name, (wall, grading, work, graded, _) in [("local pool", local), ("Dask cluster", remote)]:
        # rejected submissions (pre-flight, on this machine) never reach a worker: count the graded ones
        over[name] = grading * w / graded - work
        print(f"{name:26}{wall:9.1f}{grading:11.2f}{work:12.3f}{over[name]:16.3f}{3600 * graded / (grading * w):13.0f}")
    print(f"cluster / local: wall {remote[0] / local[0]:.2f}x, grading phase {remote[1] / local[1]:.2f}x")
    print(f"overhead per submission the cluster adds: {over['Dask cluster'] - over['local pool']:+.3f} s "
          f"(per worker core; the workers' own work: local {local[2]:.3f} s, cluster {remote[2]:.3f} s)")
    for name, res in [("local pool", local), ("Dask cluster", remote)]:
        print(f"worker seconds per submission, {name}: "
              + ", ".join(f"{k} {v:.3f}" for k, v in sorted(res[4].items())))
    wall_per = sum(r[0] for r in recording) / max(1, len(recording))
    cpu_per = sum(r[1] for r in recording) / max(1, len(recording))
    print(f"recording one result on the coordinating machine (gradebook, files, journal): {wall_per * 1000:.1f} ms "
          f"of wall time here, {cpu_per * 1000:.1f} ms of CPU; on a coordinating machine of its own, at most "
          f"about {3600 / cpu_per:,.0f} results per hour however many workers grade")
    print(f"starting the local cluster (scheduler and {w} workers, not counted above): {start:.1f} s")
    print(f"same grades.csv from both: {'yes' if same else 'NO'}; graded {local[3]} and {remote[3]} of {n}")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
