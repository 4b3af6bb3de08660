"""nbgrader preprocessors used by the grading command.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in the autograde pipeline. It

* remembers which cell was running when the kernel died or stopped answering, so that
  the worker can grade again with that one cell *neutralised* (it raises an error that
  explains why instead of running), and the rest of the notebook still earns its points;
* caps the output a single cell may produce, so that an answer printing gigabytes
  cannot exhaust the grader's memory.

:class:`HideHiddenTests` is added to nbgrader's feedback pipeline: nbgrader 0.9 shows
hidden tests (and their tracebacks) in the feedback HTML; this removes both.
"""
from __future__ import annotations

import re

import json

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Integer, Unicode

__all__ = ["GuardedExecute", "HideHiddenTests", "LAST_FAILURE", "neutralised_source"]

#: Filled by :class:`GuardedExecute` when a cell kills or hangs the kernel:
#: ``{"notebook": name, "index": cell index, "why": "..."}``; read by the worker.
LAST_FAILURE: dict = {}


def neutralised_source(why):
    """The code that runs instead of a cell that broke the kernel."""
    msg = (f"The grader did not run this cell: {why}. This cell earns no points; "
           "the rest of the notebook was graded normally.")
    return f"raise RuntimeError({msg!r})"


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` that records the failing cell and caps output size."""

    #: ``{notebook name: {str(cell index): reason}}`` of cells to neutralise.
    neutralise = Dict().tag(config=True)
    max_output_bytes = Integer(1_000_000).tag(config=True)
    notebook_name = Unicode("").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._nb_name = (resources or {}).get("unique_key", "")
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        self._out_bytes = 0
        self._truncated = False
        self._timed_out = False
        why = self.neutralise.get(self._nb_name, {}).get(str(index))
        original = cell.source
        if why is not None and cell.cell_type == "code":
            cell.source = neutralised_source(why)
        try:
            cell, res = super().preprocess_cell(cell, resources, index)
        except Exception as exc:
            kind = type(exc).__name__
            if "DeadKernel" in kind or "Dead" in str(exc):
                why_now = "it stopped the Python kernel (for example by exiting or crashing it)"
            elif "Timeout" in kind or self._timed_out:
                why_now = (f"it did not finish within {self.timeout} seconds and ignored "
                           "the request to stop")
            else:
                why_now = f"it made the grader fail ({kind})"
            LAST_FAILURE.clear()
            LAST_FAILURE.update(notebook=self._nb_name, index=index, why=why_now)
            raise
        finally:
            cell.source = original
        if self._truncated:
            cell.outputs.append(new_output(
                "stream", name="stderr",
                text=f"\n[The grader kept only the first {self.max_output_bytes} bytes of "
                     "this cell's output.]\n"))
        return cell, res

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._out_bytes = getattr(self, "_out_bytes", 0) + size
        if self._out_bytes > self.max_output_bytes:
            self._truncated = True
            return None
        return super().output(outs, msg, display_id, cell_index)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests and everything they printed from feedback.

    A student's code runs in the same kernel as the hidden tests, so it could
    capture their source (for example with an IPython ``pre_run_cell`` hook)
    and print it in a later cell of its own.  Every output in the notebook is
    therefore also scrubbed of any line of hidden-test code.  (Text that the
    student's code has encoded, say as base64, cannot be recognised; it can
    only reach that student's own feedback.)
    """

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)
    #: Lines shorter than this (``pass``, ``)``) are too common to be worth scrubbing.
    min_line_chars = Integer(8).tag(config=True)
    placeholder = "[hidden test text removed]"

    def _hidden_lines(self, nb) -> list:
        lines, hiding = set(), False
        for cell in nb.cells:
            for line in cell.source.splitlines():
                if self.begin in line:
                    hiding = True
                elif self.end in line:
                    hiding = False
                elif hiding and len(line.strip()) >= self.min_line_chars:
                    lines.add(line.strip())
        return sorted(lines, key=len, reverse=True)  # longest first, so parts of lines go last

    def _scrub(self, text, hidden):
        if isinstance(text, list):
            return [self._scrub(t, hidden) for t in text]
        if not isinstance(text, str):
            return text
        for line in hidden:
            if line in text:
                text = text.replace(line, self.placeholder)
        return text

    def preprocess(self, nb, resources):
        hidden = self._hidden_lines(nb)
        nb, resources = super().preprocess(nb, resources)
        if hidden:
            for cell in nb.cells:
                for out in cell.get("outputs", []):
                    if "text" in out:
                        out["text"] = self._scrub(out["text"], hidden)
                    if "traceback" in out:
                        out["traceback"] = self._scrub(out["traceback"], hidden)
                    if "evalue" in out:
                        out["evalue"] = self._scrub(out["evalue"], hidden)
                    for key, value in list(out.get("data", {}).items()):
                        out["data"][key] = self._scrub(value, hidden)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if "BEGIN MARK SCHEME" in cell.source:
            # a tutor-marked task: the student sees the question, never the mark scheme
            cell.source = re.sub(r"^[ \t]*#* *BEGIN MARK SCHEME.*?END MARK SCHEME[^\n]*\n?", "",
                                 cell.source, flags=re.S | re.M).rstrip()
        if self.begin not in cell.source:
            return cell, resources
        kept, hiding = [], False
        for line in cell.source.splitlines():
            if self.begin in line:
                hiding = True
                kept.append("# (hidden tests are not shown)")
            elif self.end in line:
                hiding = False
            elif not hiding:
                kept.append(line)
        cell.source = "\n".join(kept)
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        cell.outputs = []
        if failed:
            cell.outputs.append(new_output(
                "stream", name="stderr",
                text="A test in this cell failed. Check your answer against the question; "
                     "the details of hidden tests are not shown.\n"))
        return cell, resources
