"""How long from a slider key press to the new figure on screen, in JupyterLab with Chromium?

Run from the course root (needs Chromium, Playwright and JupyterLab, as the browser tests do):

    python benchmarks/bench_keypress.py [--presses N] [--explorers agency service value_stream] [--no-before] [--no-prompt]

For each explorer it starts the lesson that shows it (agency: lesson 2,
service: lesson 3, value stream: lesson 4) in a JupyterLab server of its own,
runs the lesson's cells in headless Chromium, focuses one slider and presses
an arrow key ``--presses`` times (60 by default; ArrowRight, turning back at
the slider's end), one press at a time, after 5 presses not counted.  Inside
the page it takes, with ``performance.now()``:

* **key**: the keydown event on the slider;
* **readout**: the slider's readout beside it changing;
* **image**: the new figure's ``<img>`` arriving in the page (a
  MutationObserver on the figure);
* **painted**: the first animation frame after that image is decoded
  (``img.decode()`` then ``requestAnimationFrame``): the frame that paints it.

Beside it, in the same run, the kernel's own record of each update (the
explorers' opt-in timing, :data:`course.explorers.base.TIMINGS_ENV`, which
this script switches on for the server it starts): when the callback began,
how long it took, and within it the Agg draw, the PNG encoding and handing
the image to the widget.  Page and kernel share the machine's clock, so the
key-to-paint time splits into: to the kernel, the kernel's callback, back to
the page, decode and paint.

Goal: key press to painted figure at most 33 ms median and 100 ms at the
95th percentile.  The script prints whether each explorer meets it; it
asserts nothing (timings depend on the machine and on what else runs on it).

The same page is then driven a second time with the older drawing path
switched back on in the kernel ("before": Pillow's PNG encoder, the stripe's
name redrawn on every step, the value-stream axis following every minute),
so the two are compared in one run (``--no-before`` skips it).  Last, each
explorer is driven on a second server that differs only in its kernel
websocket: :class:`course.labserver.PromptKernelConnection`, which sends each
message at once instead of letting the operating system hold small ones back
until the page acknowledges the last (``--no-prompt`` skips it).  The
learner's lab (``python3 run.py lab``, jupyter-config/learner) uses that
connection, so the "prompt" rows are what a learner gets; the "now" rows are
a JupyterLab started without the course's configuration.
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
  const img0 = root.querySelector('.course-figure img, figure img');
  const box = img0.closest('.course-figure') || img0.closest('.widget-html') || img0.parentElement.parentElement;
  const st = window.__bench = {key: null, readout: null, last: img0.getAttribute('src'), records: []};
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
    const img = box.querySelector('img');
    if (!img || img.getAttribute('src') === st.last) { return; }
    st.last = img.getAttribute('src');
    const rec = {key: st.key, readout: st.readout, shown: performance.now(), painted: null, bytes: st.last.length,
                 origin: performance.timeOrigin};
    st.records.push(rec);
    img.decode().catch(() => null).then(() => requestAnimationFrame(() => { rec.painted = performance.now(); }));
  }).observe(box, {childList: true, subtree: true, attributes: true, attributeFilter: ['src']});
  return true;
}
"""

# Runs ``code`` in the notebook's kernel outside any cell and returns what it printed.
_KERNEL_JS = """
async (code) => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session.kernel;
  let out = '';
  const f = k.requestExecute({code: code, silent: false, store_history: false});
  f.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') { out += msg.content.text; }
                         if (msg.header.msg_type === 'error') { out += msg.content.evalue; } };
  await f.done;
  return out;
}
"""

_CLEAR = "from course.explorers.base import timed_explorers as _te\nfor _e in _te(): _e.timings.clear()"
_READ = ("import json as _j\nfrom course.explorers.base import timed_explorers as _te\n"
         "print(_j.dumps([[type(_e).__name__, _e.timings] for _e in _te() if _e.timings]))")
# Switches the kernel between the course's current drawing path and the older one, for comparison in the
# same page.  OLD may hold "axis" (the value-stream time axis following every minute the map or stripe
# grows: a full redraw per step, as before plots.time_axis_end), "names" (the stripes' names redrawn on
# every step, as before they left AgencyArtists.dynamic) and "pil" (Pillow's PNG encoder at level 1, which
# tries five filters on every row, as before rendering.png_rgb).
_MODE = """
import course.plots as _p, course.rendering as _r
if not hasattr(_p, '_course_axis'):
    _p._course_axis, _r._course_png = _p.time_axis_end, _r.figure_png
    _p._course_dynamic, _p._course_key = _p.AgencyArtists.dynamic, _p.AgencyArtists.layout_key
    def _png_pil(fig, *, draw=True, tight=False, dpi=None):
        import io, numpy as np
        from PIL import Image
        if tight or draw:
            return _r._course_png(fig, draw=draw, tight=tight, dpi=dpi)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(_r._agg(fig).buffer_rgba())[..., :3]).save(buf, format='PNG', compress_level=1)
        return buf.getvalue()
    _r._png_pil = _png_pil
    _p._old_dynamic = property(lambda a: [*a.patient_fills, *a.professional_fills, *a.boundaries, *a.name_texts])
    _p._old_key = lambda a: (a.ax.get_xlim(), a.ax.get_ylim(), len(a.boundaries))
_p.time_axis_end = (lambda needed_days, xmax_days=0.0: max(needed_days, xmax_days)) if 'axis' in OLD \
    else _p._course_axis
_p.AgencyArtists.dynamic = _p._old_dynamic if 'names' in OLD else _p._course_dynamic
_p.AgencyArtists.layout_key = _p._old_key if 'names' in OLD else _p._course_key
_r.figure_png = _r._png_pil if 'pil' in OLD else _r._course_png
import course.explorers.base as _b  # the explorers call figure_png from there
_b.figure_png = _r.figure_png
"""

#: What each explorer did before the changes measured here (see _MODE).
BEFORE = {"agency": ("names", "pil"), "service": ("pil",), "value_stream": ("axis", "names", "pil")}


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0-100)."""
    xs = sorted(values)
    return xs[max(0, math.ceil(q / 100 * len(xs)) - 1)]


def kernel(page, code: str) -> str:
    return page.evaluate(_KERNEL_JS, code)


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
        "k_draw": med("draw"), "k_png": med("png"), "k_send": med("send"),
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
        page.wait_for_selector(f".{css} .course-figure img, .{css} figure img", state="attached")
        root = page.locator(f".{css}").first
        cls = {"agency": "AgencyExplorer", "service": "ServiceExplorer", "value_stream": "ValueStreamExplorer"}[name]
        results = {}
        modes = {"now": ()}
        if before:
            modes["before"] = BEFORE[name]
        for mode, old in modes.items():
            kernel(page, _MODE.replace("OLD", repr(old)))
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
    parser.add_argument("--no-prompt", action="store_true",
                        help="skip the run on a server with the course's prompt kernel connection")
    parser.add_argument("--prompt-only", action="store_true",
                        help="drive only the server with the prompt kernel connection (the learner's lab)")
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
                results[name] = ({} if args.prompt_only
                                 else run_explorer(browser, name, args.presses, not args.no_before))
                if args.prompt_only or not args.no_prompt:
                    results[name]["prompt"] = run_explorer(browser, name, args.presses, False, prompt=True)["now"]
        finally:
            browser.close()

    print(f"\nKey press to painted figure, JupyterLab + Chromium ({chromium}), {args.presses} presses each, "
          f"one at a time.  Goal: median <= {GOAL_MEDIAN_MS:.0f} ms, p95 <= {GOAL_P95_MS:.0f} ms.\n")
    head = (f"{'explorer':<13} {'path':<9} {'n':>3} {'median':>7} {'p95':>6} {'readout':>8} {'image':>7} "
            f"{'paint':>6} {'to k':>5} {'kernel':>7} {'from k':>6} {'k p95':>6} {'draw':>5} {'png':>5} {'send':>5} {'size':>5}  goal")
    print(head)
    print(f"{'':<13} {'':<9} {'':>3} {'ms':>7} {'ms':>6} {'ms':>8} {'ms':>7} {'ms':>6} {'ms':>5} {'ms':>7} {'ms':>6} {'ms':>6} "
          f"{'ms':>5} {'ms':>5} {'ms':>5} {'KB':>5}")
    for name, modes in results.items():
        for mode, r in modes.items():
            ok = r["median"] <= GOAL_MEDIAN_MS and r["p95"] <= GOAL_P95_MS
            print(f"{name:<13} {mode:<9} {r['n']:>3} {r['median']:>7.1f} {r['p95']:>6.1f} {r['readout']:>8.1f} "
                  f"{r['shown']:>7.1f} {r['decode']:>6.1f} {r['inbound']:>5.1f} {r['k_median']:>7.1f} {r['outbound']:>6.1f} "
                  f"{r['k_p95']:>6.1f} "
                  f"{r['k_draw']:>5.1f} {r['k_png']:>5.1f} {r['k_send']:>5.1f} {r['kb']:>5.0f}  "
                  f"{'meets' if ok else 'MISSES'}")
    print("""
median, p95: key press to the frame that paints the new figure (medians of the parts below, except p95).
readout:     key press to the slider's readout changing (the kernel sends it before it computes the figure,
             but the message may leave only once the update is done).
image:       key press to the new image in the page.   paint: from there to the frame that paints it.
to k:        key press to the start of the explorer's callback in the kernel (page, server, kernel's queue).
from k:      end of the callback to the new image in the page (kernel, server, widget manager, page).
kernel:      the explorer's whole update in Python; draw (Agg), png (encoding) and send (to the widget)
             are parts of it.   size: the PNG the kernel sends (a data URL's length for an HTML figure).
path:        now = the course as it is; before = the same page with the older drawing path switched back
             on: Pillow's PNG encoder (all explorers), the stripe's name redrawn on every step (agency,
             value stream), the time axis following every minute the map grows, a full redraw per step
             (value stream); prompt = now, on a server whose kernel websocket sends each message at once
             (course.labserver.PromptKernelConnection, TCP_NODELAY), started the same way.""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
