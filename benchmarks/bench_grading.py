"""How fast is ``coproduction-course grade`` compared with ``nbgrader autograde``?

Builds one class of N submissions from the test fixture course (right, partly wrong and
broken answers, mixed), then, in the same run:

1. measures the cost of starting and stopping one kernel: plain, in the allow-list sandbox
   (bubblewrap) and with the older hide-list (``unshare`` and ``jail.py``'s mounts);
2. grades the class with ``coproduction-course grade`` (parallel, sandboxed, with
   feedback; broken kernels are graded again with the failing cell neutralised), once in
   the allow-list sandbox and once with the hide-list (``COPRODUCTION_COURSE_NO_BWRAP``);
3. grades the same submissions with ``nbgrader autograde`` (one process, serial, no
   feedback, no sandbox; a dead or hung kernel fails the whole submission).

Prints wall time, throughput, the speed-up, the time the command spends on feedback
(which ``nbgrader autograde`` does not produce: compare "without feedback" for like with
like), the command's phases and, per submission, the worker time next to the cost of
starting one kernel. The load average is printed before and after: on a busy machine
the figures are not comparable between runs. Asserts nothing. Usage::

    python benchmarks/bench_grading.py            # 60 submissions
    python benchmarks/bench_grading.py --n 12 --jobs 2
"""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "grading"))
import builders as B  # noqa: E402

KINDS = [
    ("right", lambda: B.notebook()),
    ("wrong_mean", lambda: B.notebook({"mean": "def mean(xs):\n    return sum(xs) / len(xs)"})),
    ("right", lambda: B.notebook()),
    ("raises", lambda: B.notebook({"squares": "raise ValueError('todo')"})),
    ("wrong_words", lambda: B.notebook({"count_words": "def count_words(t):\n    return 0"})),
    ("right", lambda: B.notebook()),
    ("not_json", lambda: "{broken"),
    ("kills_kernel", lambda: B.notebook({"count_words": "import os\nos._exit(1)"})),
    ("right", lambda: B.notebook()),
    ("endless_loop", lambda: B.notebook({"mean": "while True:\n    pass"})),
]


def _kernel_cost(sandboxed, repeats=3, bwrap=True):
    from jupyter_client.manager import AsyncKernelManager

    from course.grading.sandbox import (SandboxKernelManager, kernel_config, kill_uid,
                                        make_box, new_sandbox_uid, probe_sandbox)

    async def once(km):
        t = time.perf_counter()
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        kc.stop_channels()
        await km.shutdown_kernel(now=False)
        return time.perf_counter() - t

    times = []
    scratch = tempfile.mkdtemp(prefix="cg-bench-")
    os.chmod(scratch, 0o711)
    try:
        plan = probe_sandbox(hides=[], scratch_root=scratch, memory_mb=2048,
                             cpu_seconds=120, allow_bwrap=bwrap) if sandboxed else None
        for i in range(repeats):
            if sandboxed:
                uid = new_sandbox_uid() if plan.drop_user else None
                box = make_box(scratch, f"k{i}", uid)
                km = SandboxKernelManager(kernel_name="python3", **kernel_config(plan, box, uid))
            else:
                km = AsyncKernelManager(kernel_name="python3")
            times.append(asyncio.run(once(km)))
            if sandboxed:
                kill_uid(uid)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return min(times), sum(times) / len(times)


def _load():
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "load average unknown"


def _journal(out):
    with open(os.path.join(out, "journal.jsonl"), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=60, help="number of submissions (default 60)")
    p.add_argument("--jobs", type=int, default=0,
                   help="workers for the command (default: the command's own, CPUs + 1)")
    p.add_argument("--timeout", type=int, default=5, help="per-cell timeout, both graders")
    args = p.parse_args(argv)
    env = B.cli_env()
    os.environ["PATH"] = env["PATH"]
    from course.grading.pool import default_jobs
    jobs = args.jobs or default_jobs()
    loads = [("start", _load())]
    base = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        students = {f"s{i:03d}": {"ps1.ipynb": KINDS[i % len(KINDS)][1]()} for i in range(args.n)}
        kind_of = {f"s{i:03d}": KINDS[i % len(KINDS)][0] for i in range(args.n)}
        kinds = {}
        for k in kind_of.values():
            kinds[k] = kinds.get(k, 0) + 1
        subs = B.write_nbgrader_layout(os.path.join(base, "subs"), students)

        # 1. kernel start + shutdown
        plain = _kernel_cost(False)
        boxed = _kernel_cost(True)
        hidelist = _kernel_cost(True, bwrap=False)

        # 2. this command
        course = B.make_course(os.path.join(base, "ours"))
        out = os.path.join(base, "out")
        extra = ["--timeout", str(args.timeout), "--jobs", str(jobs)]
        loads.append(("before the command", _load()))
        t = time.perf_counter()
        proc = B.run_grade(course, subs, out, *extra)
        ours = time.perf_counter() - t
        loads.append(("after the command", _load()))
        journal = [e for e in _journal(out) if e["status"] == "graded"]

        # 2b. this command with the older hide-list instead of the allow-list sandbox
        from course.grading.sandbox import NO_BWRAP_ENV
        old_course = B.make_course(os.path.join(base, "ours-hide-list"))
        old_out = os.path.join(base, "out-hide-list")
        t = time.perf_counter()
        subprocess.run(B.grade_cmd(old_course, subs, old_out, *extra), cwd=old_course,
                       env=dict(env, **{NO_BWRAP_ENV: "1"}), capture_output=True, check=True)
        ours_old = time.perf_counter() - t
        loads.append(("after the command with the hide-list", _load()))
        journal_old = [e for e in _journal(old_out) if e["status"] == "graded"]

        # 3. nbgrader autograde, serially, on the same files
        ref = B.make_course(os.path.join(base, "nbgrader"))
        shutil.copytree(subs, os.path.join(ref, "submitted"))
        nbg = [sys.executable, "-m", "nbgrader"]
        common = [f"--Exchange.root={os.path.join(base, 'exchange')}"]
        subprocess.run(nbg + ["generate_assignment", "ps1", "--force"] + common, cwd=ref,
                       env=env, capture_output=True, check=True)
        t = time.perf_counter()
        subprocess.run(nbg + ["autograde", "ps1", f"--Execute.timeout={args.timeout}"]
                       + common, cwd=ref, env=env, capture_output=True, text=True)
        serial = time.perf_counter() - t
        loads.append(("after nbgrader", _load()))
        failed = sum(not os.path.exists(os.path.join(ref, "autograded", sid, "ps1", "ps1.ipynb"))
                     for sid in students)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    n = args.n
    phases = {}
    for e in journal:
        for k, v in e.get("phases", {}).items():
            phases[k] = phases.get(k, 0.0) + v
    worker_total = sum(e["seconds"] for e in journal)
    feedback = phases.get("feedback", 0.0)
    no_fb = ours - feedback / jobs
    right = [e for e in journal if kind_of[e["student_id"]] == "right"]
    summary = {line[:22].strip(): line[22:].strip() for line in proc.stdout.splitlines()
               if len(line) > 22}

    def rate(name, secs, note=""):
        print(f"{name:<34}{secs:8.1f} s  {n / secs:6.2f} submissions/s  "
              f"{secs / n:5.2f} s per submission{note}")

    print(f"submissions   {n}  ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"machine       {os.cpu_count()} CPUs; command jobs {jobs}; per-cell timeout "
          f"{args.timeout} s")
    for when, load in loads:
        print(f"              {load}  ({when})")
    print()
    rate("coproduction-course grade", ours)
    rate("  without feedback (estimate)", no_fb, f"   (feedback {feedback:.1f} worker-s "
         f"/ {jobs} workers)")
    rate("  with the older hide-list", ours_old)
    print(f"allow-list sandbox overhead       {(ours - ours_old) / n:+.2f} s per submission (wall), "
          f"{statistics.median(e['seconds'] for e in journal) - statistics.median(e['seconds'] for e in journal_old):+.2f} s "
          "per submission (median worker time)")
    rate("nbgrader autograde (serial)", serial,
         f"   ({failed} submissions without grades: rejected or failed whole)")
    print(f"speed-up                          {serial / ours:8.2f} x   "
          f"(without feedback {serial / no_fb:.2f} x)")
    print()
    print(f"command phases (wall)             {summary.get('phases', '?')}")
    print(f"worker time (sum over workers)    {worker_total:.1f} s: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in sorted(phases.items(), key=lambda kv: -kv[1])))
    if right:
        med = statistics.median(e["seconds"] for e in right)
        med_phase = {k: statistics.median(e.get("phases", {}).get(k, 0.0) for e in right)
                     for k in ("scratch", "autograde", "grades", "feedback")}
        print(f"per right submission (median)     {med:.2f} s in a worker "
              f"(= {', '.join(f'{k} {v:.2f} s' for k, v in med_phase.items())})")
        print(f"  kernel start+stop               allow-list sandbox {boxed[0]:.2f} s (mean {boxed[1]:.2f} s),"
              f" hide-list {hidelist[0]:.2f} s (mean {hidelist[1]:.2f} s),"
              f" plain {plain[0]:.2f} s (mean {plain[1]:.2f} s)")
        print(f"  overhead beyond one kernel      {med - boxed[0]:.2f} s "
              f"(without feedback {med - med_phase['feedback'] - boxed[0]:.2f} s)"
              + ("; with more workers than CPUs, worker time includes waiting for a CPU"
                 if jobs > (os.cpu_count() or 1) else ""))
    print("worker time per kind (median)     " + ", ".join(
        f"{k} {statistics.median(e['seconds'] for e in journal if kind_of[e['student_id']] == k):.2f} s"
        for k in sorted(kinds) if any(kind_of[e["student_id"]] == k for e in journal)))
    cpus = min(jobs, os.cpu_count() or 1)
    print(f"wall x CPUs used per submission   {ours * cpus / n:.2f} s "
          f"(nbgrader, one CPU: {serial / n:.2f} s)")
    print("command summary:\n  " + proc.stdout.strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
