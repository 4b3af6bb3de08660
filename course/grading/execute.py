"""nbgrader preprocessors used by the grading command.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in the autograde pipeline. It

* remembers which cell was running when the kernel died or stopped answering, so that
  the worker can grade again with that one cell *neutralised* (it raises an error that
  explains why instead of running), and the rest of the notebook still earns its points;
* caps the output a single cell may produce, and the output of the whole submission,
  counting every kind of output message (``stream``, ``display_data``,
  ``update_display_data``, ``execute_result``, ``error``, widget ``comm`` messages), so
  that an answer printing gigabytes cannot exhaust the grader's memory or disk;
* keeps to the submission's wall-clock budget (:mod:`.budgets`): no cell may run past it,
  and once it is spent the cells not yet run are not run (each says why), so one
  submission cannot hold a worker for hours.

:class:`HideHiddenTests` is added to nbgrader's feedback pipeline: nbgrader 0.9 shows
hidden tests (and their tracebacks) in the feedback HTML; this removes both, with nbgrader's own
``ClearHiddenTests``. The rendered page is scrubbed once more by :mod:`.scrub`.
"""
from __future__ import annotations

import copy
import json
import re
import time

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Instance, Integer, Unicode

__all__ = ["AttemptRecord", "GuardedExecute", "HideHiddenTests", "neutralised_source", "OUTPUT_TYPES"]

#: Messages whose content is output kept in the notebook (or its widget state): all are counted.
OUTPUT_TYPES = frozenset({"stream", "display_data", "update_display_data", "execute_result", "error",
                          "comm_open", "comm_msg"})

class AttemptRecord:
    """What one autograde attempt tells the worker that started it, handed to
    :class:`GuardedExecute` through the config (``GuardedExecute.record``).

    ``failure``: ``{"notebook": name, "index": cell index, "why": "..."}`` of the cell that killed or
    hung the kernel (empty if none); ``budget_spent``: ``{"notebook", "index"}`` of the first cell not
    run because the submission's time budget was spent (empty if none).

    traitlets gives each configurable a deep copy of its config values; a record copies to itself,
    so the preprocessor nbgrader builds writes into the worker's own record.
    """

    def __init__(self):
        self.failure: dict = {}
        self.budget_spent: dict = {}

    def __deepcopy__(self, memo):
        return self


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
    #: all output of one notebook, every message kind counted (0: no cap beyond the per-cell one)
    max_notebook_output_bytes = Integer(0).tag(config=True)
    #: the submission's wall-clock deadline (``time.time()``), or 0 for none; see :mod:`.budgets`
    deadline = Float(0).tag(config=True)
    #: the budget in seconds, for the message a cell past the deadline shows
    budget_seconds = Float(0).tag(config=True)
    notebook_name = Unicode("").tag(config=True)
    #: where this attempt's failing cell and spent budget are written (see :class:`AttemptRecord`)
    record = Instance(AttemptRecord, allow_none=True).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._nb_name = (resources or {}).get("unique_key", "")
        self._nb_out_bytes = 0
        self._nb_truncated = False
        return super().preprocess(nb, resources, km)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self.deadline:  # no cell runs past the submission's deadline
            left = max(1, int(self.deadline - time.time()) + 1)
            timeout = left if timeout is None else min(timeout, left)
        return timeout

    def preprocess_cell(self, cell, resources, index):
        self._out_bytes = 0
        self._truncated = False
        self._timed_out = False
        why = self.neutralise.get(self._nb_name, {}).get(str(index))
        if (why is None and self.deadline and cell.cell_type == "code" and cell.source.strip()
                and time.time() >= self.deadline):
            why = (f"the submission used up its time budget of {self.budget_seconds:g} seconds "
                   "(all its cells together) before this cell")
            if self.record is not None and not self.record.budget_spent:  # the first cell not run
                self.record.budget_spent = {"notebook": self._nb_name, "index": index}
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
            if self.record is not None:
                self.record.failure = {"notebook": self._nb_name, "index": index, "why": why_now}
            raise
        finally:
            cell.source = original
        if self._truncated:
            limit = (f"{self.max_notebook_output_bytes} bytes of the whole notebook's output"
                     if self._nb_truncated else f"{self.max_output_bytes} bytes of this cell's output")
            cell.outputs.append(new_output(
                "stream", name="stderr", text=f"\n[The grader kept only the first {limit}.]\n"))
        return cell, res

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") in OUTPUT_TYPES:
            size = len(json.dumps(msg.get("content", {}), default=str))
            transient = msg.get("content", {}).get("transient") or {}
            if transient.get("display_id"):  # an update rewrites every output shown with that id
                shown = getattr(self, "_display_id_map", {}).get(transient["display_id"], {})
                size *= 1 + sum(len(v) for v in shown.values())
            self._out_bytes = getattr(self, "_out_bytes", 0) + size
            self._nb_out_bytes = getattr(self, "_nb_out_bytes", 0) + size
            over_nb = bool(self.max_notebook_output_bytes) and self._nb_out_bytes > self.max_notebook_output_bytes
            if self._out_bytes > self.max_output_bytes or over_nb:
                self._truncated = True
                self._nb_truncated = self._nb_truncated or over_nb
                if msg["msg_type"] != "error":
                    return None
                # an error is always kept (it is how a failed check is seen), cut to a small size
                content = dict(msg["content"])
                content["evalue"] = str(content.get("evalue", ""))[:1000]
                content["traceback"] = [str(t)[:1000] for t in (content.get("traceback") or [])[-3:]]
                msg = dict(msg, content=content)
        return super().process_message(msg, cell, cell_index)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests, and what they printed, from the notebook a feedback page is made of.

    Hidden regions are found and removed by nbgrader's own ``ClearHiddenTests`` (configured as
    the course configures it: ``ClearHiddenTests.begin_test_delimeter`` and
    ``end_test_delimeter``); a cell that had one keeps a line saying so, and its outputs are
    replaced by a sentence (a failed hidden test's traceback would show the test).

    A student's code runs in the same kernel as the hidden tests, so it could capture their
    source (for example with an IPython ``pre_run_cell`` hook) and print it in a later cell of
    its own. Here each output line holding a hidden line as it is written is replaced; the page
    as rendered is then scrubbed of every form of hidden text the grader can recognise (entities,
    non-breaking spaces, base64, ...) by :func:`course.grading.scrub.scrub_page`.
    """

    #: Lines shorter than this once whitespace is removed (``pass``, ``)``) are too common to scrub.
    min_line_chars = Integer(8).tag(config=True)
    placeholder = "[hidden test text removed]"

    def _clear_hidden_tests(self):
        from nbgrader.preprocessors import ClearHiddenTests
        clear = ClearHiddenTests(parent=self)
        clear.enforce_metadata = False  # a region outside a grade cell is hidden all the same
        return clear

    def _hidden_lines(self, nb) -> list:
        """Hidden lines of the notebook's grade cells, which nbgrader put back from the gradebook
        (the instructor's), never a student's own cells; longest first."""
        from nbgrader.utils import is_grade

        from .scrub import hidden_test_lines
        graded = copy.copy(nb)
        graded.cells = [cell for cell in nb.cells if is_grade(cell)]
        return list(hidden_test_lines([graded], self.config, self.min_line_chars))

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
        self._clear = self._clear_hidden_tests()
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
        clear = getattr(self, "_clear", None) or self._clear_hidden_tests()
        if clear.begin_test_delimeter not in cell.source:
            return cell, resources
        before = cell.source.split("\n")
        try:
            cell, resources = clear.preprocess_cell(cell, resources, index)
            after = cell.source.split("\n")
        except RuntimeError:  # a region never closed (or nested): everything from its start is hidden
            after = before[:next(i for i, line in enumerate(before) if clear.begin_test_delimeter in line)]
        at = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), len(after))
        cell.source = "\n".join(after[:at] + ["# (hidden tests are not shown)"] + after[at:]).rstrip("\n")
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        cell.outputs = []
        if failed:
            cell.outputs.append(new_output(
                "stream", name="stderr",
                text="A test in this cell failed. Check your answer against the question; "
                     "the details of hidden tests are not shown.\n"))
        return cell, resources
