"""How long does scrubbing a feedback page take, against rendering it?

Renders feedback pages of the code-based fixture assignment (``ps1``) with the grader's own feedback
exporter, at several sizes (outputs added to the notebook: printed log lines, an HTML table, a PNG
image, many code cells), then, in the same process, times per page:

1. rendering the page (what every student's feedback already costs);
2. a no-op pass over the page (``html.parser`` reading it and nothing else), the floor of any
   scrubber that parses the page;
3. :func:`course.grading.scrub.scrub_page` on the honest page (nothing to remove);
4. :func:`~course.grading.scrub.scrub_page` on the same page with the hidden tests printed by the
   student in several encodings (base64, hex, NBSP, zlib in base64, rot13, ...).

Prints milliseconds per page (best of ``--repeat``) and the scrub's share of rendering. Asserts
nothing::

    python benchmarks/bench_scrub.py
    python benchmarks/bench_scrub.py --repeat 5 --sizes 0.1 1 4
"""
import argparse
import base64
import codecs
import copy
import json
import os
import random
import sys
import time
import zlib
from html.parser import HTMLParser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "grading"))
import builders as B  # noqa: E402


def _png(n_bytes):
    """A valid PNG of about ``n_bytes`` (noise, which does not compress), as a plot's output is."""
    import struct

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    side = max(8, int((n_bytes / 3) ** 0.5))
    rng = random.Random(0)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))
    head = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _notebook(target_mb, leaks=False):
    """The fixture's solution notebook with outputs that make its page about ``target_mb`` MB."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_output

    with open(os.path.join(B.HERE, "solutions", "ps1", "ps1.ipynb"), encoding="utf-8") as fh:
        nb = nbformat.reads(fh.read(), as_version=4)
    budget = int(target_mb * 1_000_000)
    # a fifth each: printed lines, an HTML table, a PNG image (base64), code cells, a long error
    log = "".join(f"step {i}: loss={1 / (i + 1):.6f} patients_seen={i * 7 % 101} ok\n"
                  for i in range(budget // 5 // 50))
    rows = "".join(f"<tr><td>{i}</td><td>ward {i % 17}</td><td>{i * 0.37:.2f}</td></tr>"
                   for i in range(budget // 5 // 55))
    png = base64.b64encode(_png(budget // 5 * 3 // 4)).decode()
    cells = [new_code_cell("for i in range(n):\n    print(f'step {i}')", outputs=[
                 new_output("stream", name="stdout", text=log)]),
             new_code_cell("table", outputs=[new_output("display_data", data={
                 "text/html": f"<table><thead><tr><th>id</th><th>ward</th><th>days</th></tr></thead>{rows}</table>",
                 "text/plain": "<table>"})]),
             new_code_cell("plot()", outputs=[new_output("display_data", data={
                 "image/png": png, "text/plain": "<Figure>"})])]
    code = "def waiting_days(admitted, seen):\n    return (seen - admitted).days  # days waited\n"
    cells += [new_code_cell(code * 3) for _ in range(max(1, budget // 5 // 600))]
    if leaks:
        hidden = [line for cell in nb.cells for line in cell.source.splitlines() if "HIDDEN-MARKER" in line]
        text = "\n".join(hidden)
        shown = [base64.b64encode(text.encode()).decode(), text.encode().hex(), text.replace(" ", "\xa0"),
                 base64.b64encode(zlib.compress(text.encode())).decode(), codecs.encode(text, "rot13"),
                 text[::-1], base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")]
        cells.append(new_code_cell("print(captured)", outputs=[
            new_output("stream", name="stdout", text="\n".join(shown) + "\n")]))
    nb.cells[1:1] = cells
    return nb


def _render(nb):
    from nbgrader import utils
    from traitlets.config import Config

    from course.grading.worker import render_data_feedback

    grades = {c.metadata["nbgrader"]["grade_id"]: {"auto_score": 1.0, "max_score": 1.0}
              for c in nb.cells if utils.is_grade(c)}
    return render_data_feedback(Config(), copy.deepcopy(nb), "ps1", "s", "ps1", {"grades": grades, "comments": {}})


def _best(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[0.05, 0.5, 2.0, 4.0],
                    help="target page sizes in MB (default: 0.05 0.5 2 4)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    args = ap.parse_args()

    import nbformat

    from course.grading.scrub import hidden_test_lines, scrub_page

    with open(os.path.join(B.HERE, "solutions", "ps1", "ps1.ipynb"), encoding="utf-8") as fh:
        hidden = hidden_test_lines([nbformat.reads(fh.read(), as_version=4)])
    scrub_page("<body></body>", hidden)  # compile once, as a worker does for its first student

    print(f"load average before: {os.getloadavg()[0]:.2f}; {len(hidden)} hidden lines; best of {args.repeat}")
    print(f"{'page MB':>8} {'render ms':>10} {'no-op parse ms':>15} {'scrub honest ms':>16} "
          f"{'scrub attack ms':>16} {'scrub/render':>13} {'removed':>8} {'honest unchanged':>17}")
    for size in args.sizes:
        honest_nb, attack_nb = _notebook(size), _notebook(size, leaks=True)
        render_ms, honest = _best(lambda: _render(honest_nb), args.repeat)
        attack = _render(attack_nb)

        def noop():
            p = HTMLParser()
            p.feed(honest)
            p.close()

        parse_ms, _ = _best(noop, args.repeat)
        honest_ms, (out, n_honest) = _best(lambda: scrub_page(honest, hidden), args.repeat)
        attack_ms, (_, n_attack) = _best(lambda: scrub_page(attack, hidden), args.repeat)
        print(f"{len(honest) / 1e6:>8.2f} {render_ms:>10.1f} {parse_ms:>15.1f} {honest_ms:>16.1f} "
              f"{attack_ms:>16.1f} {honest_ms / render_ms:>12.2f}x {n_attack:>8} {str(out == honest and not n_honest):>17}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(json.dumps({"python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
