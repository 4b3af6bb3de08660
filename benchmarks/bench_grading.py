"""How fast is ``coproduction-course grade`` compared with ``nbgrader autograde``?

Builds one class of N submissions from the test fixture course (right, partly wrong and
broken answers, mixed), then, in the same run:

1. grades them with ``coproduction-course grade`` (parallel, sandboxed);
2. grades the same submissions with ``nbgrader autograde`` (one process, serial);
3. measures the cost of starting and stopping one kernel, plain and sandboxed.

Prints the figures; asserts nothing. Usage::

    python benchmarks/bench_grading.py            # 60 submissions
    python benchmarks/bench_grading.py --n 12 --jobs 2
"""
import argparse
import asyncio
import os
import shutil
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


def _kernel_cost(sandboxed, repeats=3):
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
                             cpu_seconds=120) if sandboxed else None
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=60, help="number of submissions (default 60)")
    p.add_argument("--jobs", type=int, default=0, help="workers for the command (default: CPUs)")
    p.add_argument("--timeout", type=int, default=5, help="per-cell timeout, both graders")
    args = p.parse_args(argv)
    env = B.cli_env()
    os.environ["PATH"] = env["PATH"]
    base = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        students = {f"s{i:03d}": {"ps1.ipynb": KINDS[i % len(KINDS)][1]()} for i in range(args.n)}
        kinds = {}
        for i in range(args.n):
            kinds[KINDS[i % len(KINDS)][0]] = kinds.get(KINDS[i % len(KINDS)][0], 0) + 1

        # 1. this command
        course = B.make_course(os.path.join(base, "ours"))
        subs = B.write_nbgrader_layout(os.path.join(base, "subs"), students)
        extra = ["--timeout", str(args.timeout)] + (["--jobs", str(args.jobs)] if args.jobs else [])
        t = time.perf_counter()
        proc = B.run_grade(course, subs, os.path.join(base, "out"), *extra)
        ours = time.perf_counter() - t

        # 2. nbgrader autograde, serially, on the same files
        ref = B.make_course(os.path.join(base, "nbgrader"))
        shutil.copytree(subs, os.path.join(ref, "submitted"))
        nbg = [sys.executable, "-m", "nbgrader"]
        common = [f"--Exchange.root={os.path.join(base, 'exchange')}"]
        subprocess.run(nbg + ["generate_assignment", "ps1", "--force"] + common, cwd=ref,
                       env=env, capture_output=True, check=True)
        t = time.perf_counter()
        ag = subprocess.run(nbg + ["autograde", "ps1", f"--Execute.timeout={args.timeout}"]
                            + common, cwd=ref, env=env, capture_output=True, text=True)
        serial = time.perf_counter() - t
        failed = ag.stderr.count("There was an error processing assignment")

        # 3. kernel start + shutdown
        plain = _kernel_cost(False)
        boxed = _kernel_cost(True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    n = args.n
    print(f"submissions            {n}  ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"cpu count              {os.cpu_count()}; command jobs {args.jobs or os.cpu_count()}")
    print(f"coproduction-course    {ours:8.1f} s   {n / ours:6.2f} submissions/s   "
          f"{ours / n:6.2f} s per submission")
    print(f"nbgrader autograde     {serial:8.1f} s   {n / serial:6.2f} submissions/s   "
          f"{serial / n:6.2f} s per submission  ({failed} submissions failed whole)")
    print(f"speed-up               {serial / ours:8.2f} x")
    print(f"kernel start+stop      plain {plain[0]:.2f} s (mean {plain[1]:.2f} s); "
          f"sandboxed {boxed[0]:.2f} s (mean {boxed[1]:.2f} s)")
    print("command summary:\n  " + proc.stdout.strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
