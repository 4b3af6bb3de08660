"""How fast do the explorers respond to a slider?

For each explorer, the median time from a slider change to a fully rendered
figure (model + in-place update + Agg draw), next to a naive full re-plot of
the same figure (new Figure, draw everything, Agg draw) measured in the same
run.  A second column is the whole callback a slider change runs: readouts,
the pixels that changed for the page and, outside a kernel as here, the
PNG kept for saved notebooks (a kernel encodes that only once the figure
has settled, not on every step).  Goal: at most 16 ms median (one frame at 60 Hz) and at least 3x
faster than the naive re-plot.  Figures only; nothing is asserted.

    python benchmarks/bench_explorers.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course import plots  # noqa: E402
from course.agency import PRESETS, agency_profile, summarize  # noqa: E402
from course.services import classify  # noqa: E402
from course.widgets import AgencyExplorer, ServiceExplorer, ValueStreamExplorer  # noqa: E402


def _median_ms(fn, repeats):
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _naive(figsize, draw):
    fig = Figure(figsize=figsize, dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    fig.canvas.draw()


def bench_agency(repeats):
    ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    values = [0.5 + 0.4 * ((i % 10) / 10) for i in range(repeats)]

    def model_update_draw(i):
        with ex.suspended(update=False):  # measure the pipeline without the PNG step first
            ex.baseline.value = values[i]
        profs = ex._profiles()
        plots.update_agency(ex.artists, profs)
        summarize(profs[0])
        ex._draw()

    def full_callback(i):
        ex.baseline.value = values[i] + 0.001

    def naive(i):
        params = ex.params.replace(baseline=values[i])
        prof = agency_profile(params)
        summarize(prof)
        _naive(ex._figsize, lambda ax: plots.draw_agency(ax, [prof]))

    return model_update_draw, full_callback, naive


def bench_service(repeats):
    ex = ServiceExplorer()
    values = [(i % 20) / 20 for i in range(repeats)]

    def model_update_draw(i):
        with ex.suspended(update=False):
            ex.professional_share.value = values[i]
        s = ex.service
        classify(s)
        plots.update_service_map(ex.artists, s)
        ex._draw()

    def full_callback(i):
        ex.professional_share.value = values[i] + 0.01

    def naive(i):
        s = ex.service
        classify(s)
        _naive(ex._figsize, lambda ax: plots.draw_service_map(ax, ex.catalogue, s))

    return model_update_draw, full_callback, naive


def bench_value_stream(repeats):
    ex = ValueStreamExplorer("A year of adult type 2 diabetes care")
    ex.step.value = 3
    stops = [v for _label, v in ex.wait_days.options if 28 <= v <= 63]  # the wait slider's stops, in days
    values = [stops[i % len(stops)] for i in range(repeats)]

    def model_update_draw(i):
        with ex.suspended(update=False):
            ex.wait_days.value = values[i]
        vsm, prof = ex.map, ex._profile()
        vsm.coverage(prof)
        plots.update_value_stream(ex.artists, vsm, prof, xmax_days=ex._shipped_days())
        ex._draw()

    def full_callback(i):
        ex.wait_days.value = values[(i + 1) % len(values)]

    def naive(i):
        vsm, prof = ex.map, ex._profile()
        vsm.coverage(prof)
        _naive(ex._figsize, lambda ax: plots.draw_value_stream(ax, vsm, prof))

    return model_update_draw, full_callback, naive


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=60)
    args = ap.parse_args(argv)
    rows = []
    for name, make in (("AgencyExplorer", bench_agency), ("ServiceExplorer", bench_service),
                       ("ValueStreamExplorer", bench_value_stream)):
        fast, callback, naive = make(args.repeats)
        for fn in (fast, callback, naive):  # warm up caches and fonts
            fn(0)
        t_fast = _median_ms(fast, args.repeats)
        t_cb = _median_ms(callback, args.repeats)
        t_naive = _median_ms(naive, args.repeats)
        rows.append((name, t_fast, t_cb, t_naive, t_naive / t_fast))
    print(f"median over {args.repeats} slider changes per explorer (ms)")
    print(f"{'explorer':22s} {'update+draw':>12s} {'callback':>12s} {'naive replot':>13s} {'speed-up':>9s}  goal (<=16 ms, >=3x)")
    for name, f, cb, nv, ratio in rows:
        ok = "met" if f <= 16 and ratio >= 3 else "NOT met"
        print(f"{name:22s} {f:12.1f} {cb:12.1f} {nv:13.1f} {ratio:8.1f}x  {ok}")


if __name__ == "__main__":
    main()
