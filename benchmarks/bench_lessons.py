"""How long each lesson takes to run on a fresh kernel, and how much memory the kernel uses.

Run from the course root:

    python benchmarks/bench_lessons.py [--repeat N] [notebooks/01_products_and_services.ipynb ...]

For every lesson it starts a fresh ``python3`` kernel with nbclient, runs all
cells in order, and reports

* **start**: seconds to start the kernel;
* **run**: seconds to execute the cells (the median over ``--repeat`` runs);
* **peak RSS**: the kernel process's peak resident memory, read from
  ``VmHWM`` in ``/proc/<pid>/status`` (Linux) and cross-checked by sampling
  ``VmRSS`` every 20 ms while the cells run.

The goal is that every lesson runs in under 10 s (start + run) and stays
under 200 MB.  The script prints whether each lesson meets it; it asserts
nothing, because timings depend on the machine (they belong here, not in tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 10.0
GOAL_MB = 200.0


def _status_kb(pid: int, field: str) -> float:
    """A ``/proc/<pid>/status`` field in kB, or NaN where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


class _RssSampler(threading.Thread):
    """Samples a process's VmRSS until stopped; keeps the maximum (kB)."""

    def __init__(self, pid: int, interval_s: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.peak_kb = 0.0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            kb = _status_kb(self.pid, "VmRSS")
            if kb == kb:  # not NaN
                self.peak_kb = max(self.peak_kb, kb)
            self._halt.wait(self.interval_s)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak_kb


def run_once(path: Path) -> dict:
    """Execute one notebook on a fresh kernel; return timings (s) and memory (MB)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    with client.setup_kernel():
        t1 = time.perf_counter()
        pid = client.km.provisioner.pid
        sampler = _RssSampler(pid)
        sampler.start()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        t2 = time.perf_counter()
        sampled_kb = sampler.stop()
        hwm_kb = _status_kb(pid, "VmHWM")
    return {
        "start_s": t1 - t0,
        "run_s": t2 - t1,
        "peak_mb": (hwm_kb if hwm_kb == hwm_kb else sampled_kb) / 1024,
        "sampled_mb": sampled_kb / 1024,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per lesson (median reported)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    header = f"{'lesson':40} {'start s':>8} {'run s':>7} {'total s':>8} {'peak MB':>8} {'sampled MB':>11}  goal (<{GOAL_SECONDS:.0f} s, <{GOAL_MB:.0f} MB)"
    print(header)
    print("-" * len(header))
    all_ok = True
    for path in paths:
        runs = [run_once(path) for _ in range(max(1, args.repeat))]
        start = statistics.median(r["start_s"] for r in runs)
        run = statistics.median(r["run_s"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        sampled = max(r["sampled_mb"] for r in runs)
        ok = start + run < GOAL_SECONDS and peak < GOAL_MB
        all_ok &= ok
        print(f"{path.stem:40} {start:8.2f} {run:7.2f} {start + run:8.2f} {peak:8.1f} {sampled:11.1f}  "
              f"{'meets it' if ok else 'MISSES it'}")
    print(f"\nAll lessons meet the goal: {'yes' if all_ok else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
