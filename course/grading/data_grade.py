"""Grade one answers-as-data submission in memory, with nbgrader's own rules but none of its machinery.

``nbgrader autograde`` with :class:`~course.grading.answers_as_data.GradeAnswersAsData` already runs
no student code, but it still converts every notebook twice, opens a scratch gradebook and commits
each grade separately. For a class of hundreds that bookkeeping is most of the time. This module
does the same steps on the notebook in memory, in nbgrader's order and with nbgrader's own helpers:

1. sanitize (as nbgrader's ``ClearOutput`` and ``OverwriteCells``): clear outputs; put back each
   read-only or check cell's source, type, lock and points from the gradebook (so the keys come
   from the gradebook, never from the submission);
2. read the answers as data and write each check cell's outputs (``GradeAnswersAsData``);
3. score each cell as nbgrader's ``SaveAutoGrades`` does (``nbgrader.utils.determine_grade``;
   task cells wait for a tutor; "No response." for an answer left as released).

The result has the shape the grade command merges into the real gradebook (one writer), so
formgrader, feedback and nbgrader's exports see the same rows as after ``nbgrader autograde``;
``tests/test_grading_data.py`` checks that both give the same grades.
"""
from __future__ import annotations

from dataclasses import dataclass

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from .answers_as_data import GradeAnswersAsData
from .cells import grade_id, marks

__all__ = ["AssignmentCells", "grade_notebook", "PutGrades"]


@dataclass(frozen=True)
class AssignmentCells:
    """What the gradebook knows of one assignment's notebooks (read once per worker).

    ``source[nb][grade_id] = (cell_type, locked, source, checksum)``, ``points[nb][grade_id] =
    max score`` of check cells, ``tasks[nb][grade_id] = max score`` of tutor-marked tasks,
    ``commented[nb]`` the cells that carry a comment (answer cells and tasks).
    """

    source: dict
    points: dict
    tasks: dict
    commented: dict

    @classmethod
    def from_gradebook(cls, db_url: str, assignment: str) -> "AssignmentCells":
        from nbgrader.api import Gradebook
        source, points, tasks, commented = {}, {}, {}, {}
        with Gradebook(db_url) as gb:
            for nb in gb.find_assignment(assignment).notebooks:
                source[nb.name] = {c.name: (c.cell_type, bool(c.locked), c.source, c.checksum)
                                   for c in nb.source_cells}
                points[nb.name] = {c.name: float(c.max_score) for c in nb.grade_cells}
                tasks[nb.name] = {c.name: float(c.max_score) for c in nb.task_cells}
                commented[nb.name] = tuple(c.name for c in nb.solution_cells) + tuple(tasks[nb.name])
        return cls(source, points, tasks, commented)


def _set_type(cell, cell_type):
    """As nbgrader's ``OverwriteCells.update_cell_type``."""
    if cell.cell_type == cell_type:
        return
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _overwrite(nb, source, points):
    for cell in nb.cells:
        meta, gid = marks(cell), grade_id(cell)
        if gid is None:
            continue
        if gid not in source:
            del meta["grade_id"]
            continue
        cell_type, locked, text, checksum = source[gid]
        _set_type(cell, cell_type)
        meta["locked"] = locked
        if utils.is_grade(cell) and gid in points:
            meta["points"] = points[gid]
        meta["checksum"] = checksum
        if locked and utils.compute_checksum(cell) != checksum:
            cell.source = text


def grade_notebook(nb, cells: AssignmentCells, name: str, resources: dict, release_root: str = ""):
    """Grade notebook ``name`` in place; returns ``{"grades": {...}, "comments": {...}, "answers": {...}}``.

    ``answers`` holds each question's answer as it was compared (for the report's item analysis).

    ``resources`` is nbgrader's (``resources["nbgrader"]`` names the assignment and notebook).
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    source, points = cells.source.get(name, {}), cells.points.get(name, {})
    _overwrite(nb, source, points)
    present = {grade_id(c) for c in nb.cells}
    for gid in points:
        if gid not in present and gid in source and source[gid][0] == "code":
            # a deleted check cell is put back from the gradebook (nbgrader's add_missing_cells)
            nb.cells.append(nbformat.v4.new_code_cell(source[gid][2], metadata={"nbgrader": {
                "grade": True, "grade_id": gid, "locked": True, "points": points[gid], "schema_version": 3,
                "solution": False, "checksum": source[gid][3]}}))
    GradeAnswersAsData(release_root=release_root).preprocess(nb, resources)
    grades, comments = {}, {}
    for cell in nb.cells:
        meta, gid = marks(cell), grade_id(cell)
        if gid is None:
            continue
        if utils.is_grade(cell):
            auto, max_score = utils.determine_grade(cell)
            grades[gid] = {"auto_score": auto, "max_score": max_score,
                           "needs_manual_grade": auto is None, "cell_type": cell.cell_type}
        if utils.is_solution(cell) or utils.is_task(cell):
            unchanged = meta.get("checksum") == utils.compute_checksum(cell) and not utils.is_task(cell)
            comments[gid] = "No response." if unchanged else None
    for gid in cells.commented.get(name, ()):
        comments.setdefault(gid, None)  # an answer cell that is not in the notebook: no comment
    for gid, max_score in cells.tasks.get(name, {}).items():
        grades.setdefault(gid, {"auto_score": None, "max_score": max_score, "needs_manual_grade": True,
                                "cell_type": "markdown"})
    for gid, max_score in cells.points.get(name, {}).items():
        # a check cell that is not in the notebook at all scores 0, as nbgrader does
        grades.setdefault(gid, {"auto_score": 0.0, "max_score": max_score, "needs_manual_grade": False,
                                "cell_type": "code"})
    return {"grades": grades, "comments": comments, "answers": dict(resources.get("answers", {}))}


class PutGrades(NbGraderPreprocessor):
    """Feedback: put this run's grades into the notebook, as nbgrader's ``GetGrades`` does from a gradebook.

    Reads ``resources["nbgrader"]["grades"]`` (the dictionary :func:`grade_notebook` returned).
    """

    def preprocess(self, nb, resources):
        data = resources["nbgrader"]["grades"]
        self._grades, self._comments = data["grades"], data["comments"]
        nb, resources = super().preprocess(nb, resources)
        score = sum(g["auto_score"] or 0.0 for g in self._grades.values())
        resources["nbgrader"]["score"] = score
        resources["nbgrader"]["max_score"] = sum(g["max_score"] for g in self._grades.values())
        resources["nbgrader"]["late_penalty"] = 0
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        meta, gid = marks(cell), grade_id(cell)
        if gid is None:
            return cell, resources
        if utils.is_solution(cell) or utils.is_task(cell):
            meta["comment"] = self._comments.get(gid)
        if utils.is_grade(cell) or utils.is_task(cell):
            g = self._grades.get(gid, {"auto_score": 0.0, "max_score": float(meta.get("points", 0))})
            meta["score"] = g["auto_score"] or 0.0
            meta["points"] = g["max_score"]
        return cell, resources


def read(text: str):
    """Parse a submitted notebook (pre-flight has already checked it)."""
    return nbformat.reads(text, as_version=4)


def mark_pending(page: str, grades: dict) -> str:
    """Feedback HTML where answers a tutor has not marked yet say so, instead of a score of 0.

    ``grades`` is ``{grade_id: {"auto_score", "max_score", "needs_manual_grade", ...}}``; a cell that
    needs manual grading and has no score yet is "awaiting your tutor" in the list at the top, in
    its own heading and in the notebook's total.

    >>> page = '<h4>ex (Score: 3.0 / 7.0)</h4><li><a href="#task_2">Task</a> (Score: 0.0 / 4.0)</li>'
    >>> print(mark_pending(page, {"task_2": {"auto_score": None, "max_score": 4.0, "needs_manual_grade": True}}))
    <h4>ex (Score: 3.0 / 7.0; 4 points awaiting your tutor)</h4><li><a href="#task_2">Task</a> (awaiting your tutor, 4 points)</li>
    """
    import re
    pending = {gid: g["max_score"] for gid, g in grades.items()
               if g.get("needs_manual_grade") and g.get("auto_score") is None}
    for gid, pts in pending.items():
        words = f"awaiting your tutor, {pts:g} points"
        page = re.sub(rf'(<a href="#{re.escape(gid)}">[^<]*</a>) \(Score: [0-9.]+ / [0-9.]+\)', rf"\1 ({words})", page)
        page = re.sub(rf'(<a name="(?:comment-)?{re.escape(gid)}"></a>.{{0,400}}?)Score: [0-9.]+ / [0-9.]+',
                      rf"\1{words[0].upper() + words[1:]}", page, count=1, flags=re.S)
    if pending:
        total = sum(pending.values())
        page = re.sub(r"(<h4>[^<]*\(Score: [0-9.]+ / [0-9.]+)\)</h4>",
                      rf"\1; {total:g} points awaiting your tutor)</h4>", page, count=1)
    return page
