"""How long from a slider key press to the new figure on screen, in JupyterLab with Chromium?

Run from the course root (needs Chromium, Playwright and JupyterLab, as the browser tests do):

    python benchmarks/bench_keypress.py [--presses N] [--explorers agency service value_stream] [--no-before] [--plain]

For each explorer it starts the lesson that shows it (agency: lesson 2,
service: lesson 3, value stream: lesson 4) in a JupyterLab server of its own,
configured as the learner's lab is (``python3 run.py lab``: the course's
prompt kernel connection, :class:`course.labserver.PromptKernelConnection`),
runs the lesson's cells in headless Chromium, focuses one slider and presses
an arrow key ``--presses`` times (60 by default; ArrowRight, turning back at
the slider's end), one press at a time, after 5 presses not counted.  Inside
the page it takes, with ``performance.now()``:

* **key**: the keydown event on the slider;
* **readout**: the slider's readout beside it changing;
* **image**: the new figure arriving in the page (a MutationObserver on the
  figure: the canvas's ``data-frame``, which the page's script sets once it
  has painted the new pixels into the canvas, or an ``<img>``'s new source);
* **painted**: the first animation frame after that (for an ``<img>``, after
  ``img.decode()``): the frame that paints it.

Beside it, in the same run, the kernel's own record of each update (the
explorers' opt-in timing, :data:`course.explorers.base.TIMINGS_ENV`, which
this script switches on for the server it starts): when the callback began,
how long it took, and within it the Agg draw and sending the figure.  Page
and kernel share the machine's clock, so the key-to-paint time splits into:
to the kernel, the kernel's callback, back to the page, paint.

Goal: key press to painted figure at most 33 ms median and 100 ms at the
95th percentile.  The script prints whether each explorer meets it; it
asserts nothing (timings depend on the machine and on what else runs on it).

The same page is then driven a second time with the older paths switched
back on in the kernel ("before": the whole figure sent as PNG to an
``<img>`` on every step, the stripe's name redrawn on every step, the
value-stream axis following every minute, its step numbers and the service
map's label laid out as text on every step), so the two are compared in one run (``--no-before`` skips
it).  ``--plain`` also drives each explorer on a JupyterLab started without
the course's configuration.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from course.explorers.base import TIMINGS_ENV  # noqa: E402
from course.labserver import CONNECTION_CLASS  # noqa: E402

# before the server starts: the lessons' kernels inherit it, so each explorer keeps its update times
os.environ[TIMINGS_ENV] = "1"

from tests.browser import browser_support as bs  # noqa: E402

GOAL_MEDIAN_MS, GOAL_P95_MS = 33.0, 100.0

EXPLORERS = {
    # name: (lesson, explorer's root class in the page, the slider pressed)
    "agency": ("notebooks/02_agency_over_time.ipynb", "course-agency-explorer", "Patient agency at start"),
    "service": ("notebooks/03_product_like_or_pure_service.ipynb", "course-service-explorer",
                "Professionals' share of agency"),
    "value_stream": ("notebooks/04_value_stream_mapping.ipynb", "course-value-stream-explorer", "Process time"),
}

# Records, for every figure that replaces the previous one, when the last arrow key went down,
# when the new image reached the page and when the frame that paints it began.
_OBSERVER_JS = """
([root, row]) => {
  const first = root.querySelector('.course-figure canvas, .course-figure img, figure img');
  const canvas = first.tagName === 'CANVAS';
  const box = first.closest('.course-figure') || first.closest('.widget-html') || first.parentElement.parentElement;
  const mark = (el) => el ? (canvas ? el.getAttribute('data-frame') : el.getAttribute('src')) : null;
  const st = window.__bench = {key: null, readout: null, last: mark(first), records: []};
  const text = () => { const r = row.querySelector('.course-readout'); return r ? r.textContent : ''; };
  let shownText = text();
  document.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') { st.key = performance.now(); st.readout = null; }
  }, true);
  new MutationObserver(() => {
    const t = text();
    if (t !== shownText) { shownText = t; if (st.readout === null) { st.readout = performance.now(); } }
  }).observe(row, {childList: true, subtree: true, characterData: true});
  new MutationObserver(() => {
    const el = box.querySelector(canvas ? 'canvas' : 'img');
    const now = mark(el);
    if (!el || now === st.last) { return; }
    st.last = now;
    const rec = {key: st.key, readout: st.readout, shown: performance.now(), painted: null,
                 bytes: canvas ? 0 : now.length, origin: performance.timeOrigin};
    st.records.push(rec);
    // an image is painted once decoded; a canvas holds its new pixels already: the next frame paints them
    (canvas ? Promise.resolve() : el.decode().catch(() => null))
      .then(() => requestAnimationFrame(() => { rec.painted = performance.now(); }));
  }).observe(box, {childList: true, subtree: true, attributes: true, attributeFilter: ['src', 'data-frame']});
  return true;
}
"""

_CLEAR = "from course.explorers.base import timed_explorers as _te\nfor _e in _te(): _e.timings.clear()"
_READ = ("import json as _j\nfrom course.explorers.base import timed_explorers as _te\n"
         "print(_j.dumps([[type(_e).__name__, _e.timings] for _e in _te() if _e.timings]))")
# Switches the kernel between the course's current drawing path and older ones, for comparison in the
# same page.  OLD may hold "img" (the figure sent whole as PNG to an <img>, an ipywidgets Image, on every
# step, as before course.explorers.figure_view), "axis" (the value-stream time axis following every minute
# the map or stripe grows: a full redraw per step, as before plots.time_axis_end), "names" (the stripes'
# names redrawn on every step, as before they left AgencyArtists.dynamic) and "stamp" (the value-stream
# map's step numbers and the service map's label laid out as text on every step, as before
# rendering.StampedText).
_MODE = """
import course.plots as _p, course.rendering as _r
import ipywidgets as _W, numpy as _np
from matplotlib.text import Text as _Text
from course.explorers.base import timed_explorers as _te
if not hasattr(_p, '_course_axis'):
    _p._course_axis = _p.time_axis_end
    _p._course_dynamic, _p._course_key = _p.AgencyArtists.dynamic, _p.AgencyArtists.layout_key
    _r._course_stamp = _r.StampedText.draw
    _p._old_dynamic = property(lambda a: [*a.patient_fills, *a.professional_fills, *a.boundaries, *a.name_texts])
    _p._old_key = lambda a: (a.ax.get_xlim(), a.ax.get_ylim(), len(a.boundaries))
    class _PngImage:
        # the figure as it was sent before: the whole PNG to an Image widget on every step
        def __init__(self, canvas):
            self.canvas, self.alt = canvas, ''
            self.img = _W.Image(format='png', layout=_W.Layout(max_width='100%', height='auto'))
        def show(self, rgba):
            png = _r.png_rgb(_np.asarray(rgba)[..., :3])
            self.img.value = png
            return len(png)
        value = property(lambda self: self.img.value)
    _p._PngImage = _PngImage
_p.time_axis_end = (lambda needed_days, xmax_days=0.0: max(needed_days, xmax_days)) if 'axis' in OLD \
    else _p._course_axis
_p.AgencyArtists.dynamic = _p._old_dynamic if 'names' in OLD else _p._course_dynamic
_p.AgencyArtists.layout_key = _p._old_key if 'names' in OLD else _p._course_key
_r.StampedText.draw = _Text.draw if 'stamp' in OLD else _r._course_stamp
for _e in _te():
    if not hasattr(_e, '_course_png'):
        _e._course_canvas, _e._course_png = _e.image, _p._PngImage(_e.image)
    _e.image = _e._course_png if 'img' in OLD else _e._course_canvas
    _kids = list(_e.figure_box.children)
    _kids[0] = _e._course_png.img if 'img' in OLD else _e._course_canvas
    _e.figure_box.children = tuple(_kids)
    _e.blitter.invalidate()
    _e._update()
"""

#: What each explorer did before the changes measured here (see _MODE).
BEFORE = {"agency": ("names", "img"), "service": ("stamp", "img"), "value_stream": ("axis", "names", "stamp", "img")}


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0-100)."""
    xs = sorted(values)
    return xs[max(0, math.ceil(q / 100 * len(xs)) - 1)]


def kernel(page, code: str) -> str:
    """Run ``code`` in the notebook's kernel outside any cell; what it printed."""
    return bs.kernel_output(page, code)


def drive(page, root, label: str, presses: int, warmup: int = 5) -> list[dict]:
    """Press arrow keys on the slider ``label`` one at a time; return the page's records of the counted presses."""
    row = root.locator(".course-control").filter(has=page.locator(".widget-label", has_text=label)).first
    handle = row.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    page.evaluate(_OBSERVER_JS, [root.element_handle(), row.element_handle()])
    handle.focus()
    key = "ArrowRight"
    for i in range(warmup + presses):
        if i == warmup:
            page.evaluate("() => { window.__bench.records = []; }")
            kernel(page, _CLEAR)
        now, top, bottom = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax",
                                                                        "aria-valuemin"))
        if key == "ArrowRight" and now >= top:
            key = "ArrowLeft"
        elif key == "ArrowLeft" and now <= bottom:
            key = "ArrowRight"
        n = page.evaluate("() => window.__bench.records.length")
        page.keyboard.press(key)
        page.wait_for_function("n => window.__bench.records.length > n && "
                               "window.__bench.records[window.__bench.records.length - 1].painted !== null",
                               arg=n, timeout=20_000)
        bs.wait_idle(page)
        time.sleep(0.05)
    return page.evaluate("() => window.__bench.records")


def kernel_times(page, cls: str) -> list[dict]:
    rows = json.loads(kernel(page, _READ).strip() or "[]")
    return [t for name, times in rows if name == cls for t in times]


def _kernel_legs(records, ktimes):
    """For each press whose update the kernel timed: (key press to callback start, callback end to image shown), ms.

    Page and kernel run on one machine, so their clocks agree: the page's times are taken
    back to milliseconds since 1970 with ``performance.timeOrigin``.
    """
    legs = []
    for r in records:
        key, shown = r["origin"] + r["key"], r["origin"] + r["shown"]
        k = next((t for t in ktimes if key <= t["at"] <= shown), None)
        if k is not None:
            legs.append((k["at"] - key, shown - (k["at"] + k["total"])))
    return legs


def summarize(records, ktimes) -> dict:
    paint = [r["painted"] - r["key"] for r in records]
    legs = _kernel_legs(records, ktimes)
    shown = [r["shown"] - r["key"] for r in records]
    decode = [r["painted"] - r["shown"] for r in records]
    readout = [r["readout"] - r["key"] for r in records if r["readout"] is not None]
    med = lambda k: statistics.median(t[k] for t in ktimes) if ktimes and k in ktimes[0] else float("nan")  # noqa: E731
    return {
        "n": len(paint), "median": statistics.median(paint), "p95": percentile(paint, 95),
        "shown": statistics.median(shown), "decode": statistics.median(decode),
        "readout": statistics.median(readout) if readout else float("nan"),
        "inbound": statistics.median(a for a, _ in legs) if legs else float("nan"),
        "outbound": statistics.median(b for _, b in legs) if legs else float("nan"),
        "k_n": len(ktimes), "k_median": med("total"),
        "k_p95": percentile([t["total"] for t in ktimes], 95) if ktimes else float("nan"),
        "k_draw": med("draw"), "k_send": med("send"),
        # the PNG as the kernel sent it (binary), else the data URL the page received
        "kb": (med("bytes") if ktimes and "bytes" in ktimes[0]
               else statistics.median(r["bytes"] for r in records)) / 1024,
    }


def run_explorer(browser, name: str, presses: int, before: bool, prompt: bool = False) -> dict:
    """Drive one explorer in a JupyterLab server of its own; ``prompt``: with the course's prompt kernel connection."""
    lesson, css, label = EXPLORERS[name]
    tmp = Path(tempfile.mkdtemp(prefix="course-bench-"))
    home = tmp / "home"
    (home / "config").mkdir(parents=True)
    if prompt:  # the server reads its configuration from home/config (see browser_support.start_lab)
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps(
            {"ServerApp": {"kernel_websocket_connection_class": CONNECTION_CLASS}}))
    lab = bs.start_lab(bs.make_root(tmp), home)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    try:
        page = context.new_page()
        bs.open_notebook(page, lab, lesson, f"b{uuid.uuid4().hex[:8]}")
        bs.run_all(page)
        page.wait_for_selector(f".{css} .course-figure canvas, .{css} .course-figure img, .{css} figure img",
                               state="attached")
        root = page.locator(f".{css}").first
        cls = {"agency": "AgencyExplorer", "service": "ServiceExplorer", "value_stream": "ValueStreamExplorer"}[name]
        results = {}
        modes = {"now": ()}
        if before:
            modes["before"] = BEFORE[name]
        for mode, old in modes.items():
            out = kernel(page, _MODE.replace("OLD", repr(old)))
            if "Error" in out:
                raise RuntimeError(f"switching the kernel to {mode!r} failed: {out}")
            page.wait_for_selector(f".{css} .course-figure {'img[src]' if 'img' in old else 'canvas[data-frame]'}",
                                   state="attached")
            records = drive(page, root, label, presses)
            results[mode] = summarize(records, kernel_times(page, cls))
        kernel(page, _MODE.replace("OLD", "()"))
        return results
    finally:
        context.close()
        lab.shutdown_kernels()
        lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=60, help="key presses counted per explorer (default 60)")
    parser.add_argument("--explorers", nargs="+", choices=list(EXPLORERS), default=list(EXPLORERS))
    parser.add_argument("--no-before", action="store_true",
                        help="drive only the current path, not also the older one")
    parser.add_argument("--plain", action="store_true",
                        help="also drive a JupyterLab started without the course's configuration")
    args = parser.parse_args(argv)
    chromium = bs.find_chromium()
    if chromium is None:
        print("No Chromium found (set COURSE_BROWSER_EXECUTABLE): nothing measured.")
        return 1
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=bs.CHROMIUM_ARGS, headless=True)
        try:
            for name in args.explorers:
                results[name] = run_explorer(browser, name, args.presses, not args.no_before, prompt=True)
                if args.plain:
                    results[name]["plain"] = run_explorer(browser, name, args.presses, False)["now"]
        finally:
            browser.close()

    print(f"\nKey press to painted figure, JupyterLab + Chromium ({chromium}), {args.presses} presses each, "
          f"one at a time.  Goal: median <= {GOAL_MEDIAN_MS:.0f} ms, p95 <= {GOAL_P95_MS:.0f} ms.\n")
    head = (f"{'explorer':<13} {'path':<9} {'n':>3} {'median':>7} {'p95':>6} {'readout':>8} {'image':>7} "
            f"{'paint':>6} {'to k':>5} {'kernel':>7} {'from k':>6} {'k p95':>6} {'draw':>5} {'send':>5} {'size':>5}  goal")
    print(head)
    print(f"{'':<13} {'':<9} {'':>3} {'ms':>7} {'ms':>6} {'ms':>8} {'ms':>7} {'ms':>6} {'ms':>5} {'ms':>7} {'ms':>6} {'ms':>6} "
          f"{'ms':>5} {'ms':>5} {'KB':>5}")
    for name, modes in results.items():
        for mode, r in modes.items():
            ok = r["median"] <= GOAL_MEDIAN_MS and r["p95"] <= GOAL_P95_MS
            print(f"{name:<13} {mode:<9} {r['n']:>3} {r['median']:>7.1f} {r['p95']:>6.1f} {r['readout']:>8.1f} "
                  f"{r['shown']:>7.1f} {r['decode']:>6.1f} {r['inbound']:>5.1f} {r['k_median']:>7.1f} {r['outbound']:>6.1f} "
                  f"{r['k_p95']:>6.1f} "
                  f"{r['k_draw']:>5.1f} {r['k_send']:>5.1f} {r['kb']:>5.0f}  "
                  f"{'meets' if ok else 'MISSES'}")
    print("""
median, p95: key press to the frame that paints the new figure (medians of the parts below, except p95).
readout:     key press to the slider's readout changing (the kernel sends it before it computes the figure,
             but the message may leave only once the update is done).
image:       key press to the new figure in the page (the canvas's new frame, or the <img>'s new source).
paint:       from there to the frame that paints it.
to k:        key press to the start of the explorer's callback in the kernel (page, server, kernel's queue).
from k:      end of the callback to the new figure in the page (kernel, server, widget manager, page).
kernel:      the explorer's whole update in Python; draw (Agg) and send (finding the pixels that changed
             and sending them; on the "before" path, encoding the whole PNG and sending it) are parts of it.
size:        what the kernel sends per step: the changed pixels, raw (or the PNG, "before").
path:        now = the course as it is, in the learner's lab (python3 run.py lab: the course's prompt
             kernel connection); before = the same page with the older paths switched back on: the whole
             figure as PNG to an <img> on every step (all explorers), the stripe's name redrawn on every
             step (agency, value stream), the time axis following every minute the map grows and the step
             numbers laid out as text on every step (value stream); plain = now, on a JupyterLab started
             without the course's configuration (--plain).""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
