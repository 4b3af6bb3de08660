"""Build nbgrader cells for exercises whose answers are data (for course authors).

An exercise in ``solutions/`` is an ordinary nbgrader notebook made of these cells:

* :func:`answer_cell` - where the learner types ``q2 = "B"`` (an nbgrader solution cell);
* :func:`check_cell` - runs the check of one question; its hidden key is a dictionary
  in the form :class:`course.assessment.Item` describes (an nbgrader autograded test cell);
* :func:`task_cell` / :func:`written_answer_cell` - a question marked by a tutor, with a
  mark scheme that nbgrader removes from the student version;
* :func:`self_check_cell` - the exercise's last cell.

Examples
--------
>>> cell = answer_cell("q2", 'q2 = "B"', "Type one letter.")
>>> print(cell.source)
# Type one letter.
q2 = None
### BEGIN SOLUTION
q2 = "B"
### END SOLUTION
"""
from __future__ import annotations

import pprint

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["answer_cell", "check_cell", "task_cell", "written_answer_cell", "self_check_cell",
           "setup_cell", "markdown", "code", "notebook"]


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None, task=False):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        md["points"] = points
    if task:
        md["task"] = True
    return {"nbgrader": md}


def markdown(text: str):
    """A markdown cell the learner reads."""
    return new_markdown_cell(text.strip("\n"))


def code(source: str):
    """A code cell the learner runs (setup, an explorer, a worked example)."""
    return new_code_cell(source.strip("\n"))


def setup_cell(source: str, grade_id: str = "setup"):
    """A read-only code cell (imports), locked so that it is restored when graded."""
    return new_code_cell(source.strip("\n"), metadata=_meta(grade_id, locked=True))


def answer_cell(grade_id: str, solution: str, instruction: str):
    """An answer cell: the comment ``instruction``, each answer name ``= None``, then the solution.

    ``solution`` holds one ``name = value`` line per answer.
    """
    names = [line.split("=", 1)[0].strip() for line in solution.strip().splitlines() if "=" in line]
    lines = [f"# {ln}" if ln.strip() else "#" for ln in instruction.strip().splitlines()]
    lines += [f"{n} = None" for n in names]
    lines += ["### BEGIN SOLUTION", solution.strip(), "### END SOLUTION"]
    return new_code_cell("\n".join(lines), metadata=_meta(f"answer_{grade_id}", solution=True))


def check_cell(qid: str, points: float, spec: dict, label: str | None = None):
    """The autograded check of question ``qid``; ``spec`` is its key (hidden from students)."""
    label = label or f"Question {qid[1:]}"
    body = pprint.pformat(spec, width=100, sort_dicts=False)
    src = "\n".join([
        f"# Check {label} ({points:g} point{'s' if points != 1 else ''}): run this cell after your answer.",
        "### BEGIN HIDDEN TESTS",
        f"{qid}_key = {body}",
        "### END HIDDEN TESTS",
        f'check("{qid}", {qid}_key)',
    ])
    return new_code_cell(src, metadata=_meta(f"check_{qid}", grade=True, locked=True, points=points))


def task_cell(grade_id: str, points: float, question: str, mark_scheme: str):
    """A tutor-marked task: the question, then a mark scheme nbgrader removes from the student version."""
    text = question.strip() + "\n\n### BEGIN MARK SCHEME\n" + mark_scheme.strip() + "\n### END MARK SCHEME"
    return new_markdown_cell(text, metadata=_meta(grade_id, locked=True, points=points, task=True))


def written_answer_cell(grade_id: str, prompt: str = "Write your answer here: double-click this cell to edit "
                                                      "it, then press Shift+Enter."):
    """Where the learner writes a tutor-marked answer (an editable markdown cell after its task)."""
    return new_markdown_cell(f"*{prompt}*")


def self_check_cell(assignment: str):
    """The last cell: lists every question as right, wrong or unanswered, with points."""
    src = ("# Check all your answers (no points). Run this cell whenever you like.\n"
           "_ = self_check({})")
    return new_code_cell(src, metadata=_meta("self_check", locked=True))


def notebook(cells) -> nbformat.NotebookNode:
    """A notebook with the course's kernel metadata."""
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb
