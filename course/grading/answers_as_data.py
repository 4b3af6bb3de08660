"""nbgrader preprocessors for exercises whose answers are data.

* :class:`SealAnswerKeys` runs in ``nbgrader generate_assignment``: it reads each check
  cell's key (the hidden ``qN_key = {...}`` dictionary), validates it as an
  :class:`course.assessment.Item`, and writes the sealed key into the cell's visible
  ``check(...)`` line, so the student version can say right or wrong without holding the
  answer in readable form.  It also fills the self-check cell's list of questions.
* :class:`GradeAnswersAsData` replaces nbgrader's ``Execute`` in ``nbgrader autograde``:
  instead of running the notebook in a kernel, it reads the answer cells as data
  (:mod:`course.answers`), checks them against the keys the gradebook restored into the
  check cells, and writes each check cell's outputs the way nbgrader scores them (an
  ``error`` output scores 0, a number is partial credit, anything else full marks).
  No cell of the submission is ever executed.

A check cell in ``solutions/`` looks like this (the key is removed from the student
version by nbgrader, the sealed key is added by :class:`SealAnswerKeys`)::

    # Check Question 2 (2 points): run this cell after your answer.
    ### BEGIN HIDDEN TESTS
    q2_key = {"kind": "choice", "options": {...}, "answer": "B", "feedback": {...}, ...}
    ### END HIDDEN TESTS
    check("q2", q2_key)
"""
from __future__ import annotations

import ast
import json
import os
import re

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Unicode

from course.answers import read_cell

from .cells import hidden_region, is_task
from course.assessment import Item, ItemSpecError, evaluate, seal

__all__ = ["SealAnswerKeys", "GradeAnswersAsData", "read_check_cell", "is_data_exercise_config",
           "CheckCellError", "answer_text"]

#: Written above each sealed check line in the student version.
SEAL_NOTE = "# (The long text in quotes is this question's check, sealed so that it does not show the answer.)"
_CHECK_LINE = re.compile(r"^check\(\s*[\"'](\w+)[\"'].*$", re.M)
_SELF_CHECK_LINE = re.compile(r"^(_ = )?self_check\(.*$", re.M)


def answer_text(item, values, problems) -> str:
    """The learner's answer to ``item`` as the item compares it (for item analysis), or a marker."""
    if item.name in problems:
        return "(not read: code)"
    value = values.get(item.name)
    if value is None:
        return "(no answer)"
    if item.kind in ("choice", "label") and isinstance(value, str):
        return item._norm(value)
    if item.kind in ("list", "set") and isinstance(value, (list, tuple)):
        return ", ".join(item._norm(v) if isinstance(v, str) else repr(v) for v in value)
    if item.kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.4g}"
    if item.kind == "state":
        return "(explorer state)"
    return repr(value)[:60]


class CheckCellError(ValueError):
    """A check cell in the solutions is not in the expected form (an authoring error)."""


def read_check_cell(source: str) -> tuple:
    """``(qid, spec, visible_source)`` of a check cell, or ``(None, None, source)`` if it is not one."""
    m = _CHECK_LINE.search(source)
    if not m:
        return None, None, source
    qid = m.group(1)
    region = hidden_region()  # nbgrader's ClearHiddenTests delimiters
    hidden = region.search(source)
    visible = region.sub("", source)
    if not hidden:
        return qid, None, visible
    try:
        tree = ast.parse(hidden.group(1))
    except SyntaxError as exc:
        raise CheckCellError(f"the key of {qid!r} is not valid Python: {exc}") from None
    if not (len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign)):
        raise CheckCellError(f"the hidden part of the check cell of {qid!r} must be one assignment "
                             f"such as {qid}_key = {{...}}.")
    try:
        spec = ast.literal_eval(tree.body[0].value)
    except ValueError as exc:
        raise CheckCellError(f"the key of {qid!r} must be a literal dictionary: {exc}") from None
    return qid, spec, visible


def _item(cell, qid, spec) -> Item:
    points = float(cell.metadata["nbgrader"]["points"])
    spec = dict(spec)
    if "points" in spec and float(spec["points"]) != points:
        raise ItemSpecError(f"Item {qid!r}: 'points' is {spec['points']} but the cell is worth {points}.")
    spec["points"] = points
    return Item.from_spec(qid, spec)


def is_data_exercise_config(config) -> bool:
    """Does this nbgrader configuration grade answers as data (no kernel)?"""
    pps = config.Autograde.get("autograde_preprocessors", []) if "Autograde" in config else []
    return any(getattr(p, "__name__", str(p)).endswith("GradeAnswersAsData") for p in pps)


class SealAnswerKeys(NbGraderPreprocessor):
    """generate_assignment: seal every check cell's key into its visible line."""

    def preprocess(self, nb, resources):
        nbg = resources.get("nbgrader", {})
        context = "|".join(str(nbg.get(k, "")) for k in ("assignment", "notebook"))
        questions = {}
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell):
                continue
            qid, spec, _visible = read_check_cell(cell.source)
            if qid is None:
                continue
            if spec is None:
                raise CheckCellError(f"the check cell of {qid!r} has no hidden key.")
            item = _item(cell, qid, spec)
            blob = seal(item, context)
            cell.source = _CHECK_LINE.sub(lambda _m: f'{SEAL_NOTE}\ncheck("{qid}", "{blob}")', cell.source, count=1)
            questions[qid] = item.points
        tutor = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
                    if is_task(c)
                    or (c.cell_type == "markdown" and is_grade(c)))
        line = f"_ = self_check({json.dumps(questions)}, tutor_points={tutor:g})"
        for cell in nb.cells:
            if cell.cell_type == "code" and _SELF_CHECK_LINE.search(cell.source):
                cell.source = _SELF_CHECK_LINE.sub(lambda _m: line, cell.source, count=1)
        return nb, resources


def _stream(text):
    return new_output("stream", name="stdout", text=text + "\n")


def _error(outcome):
    ename = {"unanswered": "NotAnswered", "not read": "NotRead"}.get(outcome.status, "NotRight")
    return new_output("error", ename=ename, evalue=outcome.lines[0], traceback=list(outcome.lines))


class GradeAnswersAsData(NbGraderPreprocessor):
    """autograde: read answers as data and write every check cell's outputs; run nothing."""

    release_root = Unicode(
        "", help="Folder holding the released assignments (``<root>/<assignment>/<notebook>.ipynb``). "
                 "When set, code cells that are not in the released notebook are reported as not run."
    ).tag(config=True)

    def _release_sources(self, resources):
        nbg = resources.get("nbgrader", {})
        if not self.release_root:
            return None
        path = os.path.join(self.release_root, str(nbg.get("assignment", "")), f"{nbg.get('notebook', '')}.ipynb")
        try:
            with open(path, encoding="utf-8") as fh:
                cells = json.load(fh)["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return {"".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", "")
                for c in cells if c.get("cell_type") == "code"}

    def preprocess(self, nb, resources):
        released = self._release_sources(resources)
        values, problems = {}, {}
        checks = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None
            if is_grade(cell):
                qid, spec, visible = read_check_cell(cell.source)
                if qid is not None:
                    checks.append((cell, qid, spec, visible))
                continue
            if is_solution(cell):
                read = read_cell(cell.source, values)
                if read.problem:
                    for name in read.names:
                        problems[name] = read.problem
                        values.pop(name, None)
                    cell.outputs = [_stream(f"This answer cell (cell {index + 1}) {read.problem}. "
                                            "Only lines such as q1 = \"B\" are read.")]
                else:
                    values.update(read.values)
                    for name in read.values:
                        problems.pop(name, None)
                continue
            if released is not None and cell.source.strip() and cell.source not in released:
                cell.outputs = [_stream(f"Cell {index + 1} holds code, not an answer, and was not run.")]
        for cell, qid, spec, visible in checks:
            if spec is None:
                outcome_lines = [f"Question {qid[1:]} could not be checked: its key is missing. "
                                 "Tell your tutor."]
                cell.outputs = [new_output("error", ename="NotChecked", evalue=outcome_lines[0],
                                           traceback=outcome_lines)]
                continue
            item = _item(cell, qid, spec)
            outcome = evaluate(item, values, problems)
            resources.setdefault("answers", {})[qid] = answer_text(item, values, problems)
            # The student's copy of the cell never shows the key.
            cell.source = _CHECK_LINE.sub(f'check("{qid}")', visible.replace(SEAL_NOTE + "\n", ""), count=1)
            if outcome.status == "right":
                cell.outputs = [_stream(outcome.text)]
            elif outcome.status == "partly":
                cell.outputs = [_stream(outcome.text),
                                new_output("execute_result", data={"text/plain": repr(outcome.points)},
                                           execution_count=None)]
            else:
                cell.outputs = [_error(outcome)]
        return nb, resources
