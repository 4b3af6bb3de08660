"""Can a learner answer an exercise in JupyterLab, save it, and see the self-check's verdict?"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import browser_support as bs

pytestmark = pytest.mark.browser


def _exercise() -> tuple[str, Path]:
    """(path under the server root, instructor version): the first exercise, else the fixture."""
    for nb in sorted((bs.REPO / "exercises").glob("*/*.ipynb")):
        solution = bs.REPO / "solutions" / nb.parent.name / nb.name
        if solution.exists():
            return f"exercises/{nb.parent.name}/{nb.name}", solution
    return ("browser_fixtures/exercises/ex00_fixture/ex00_fixture.ipynb",
            bs.FIXTURES / "solutions" / "ex00_fixture" / "ex00_fixture.ipynb")


def _nbgrader(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _plan(student: Path, solution: Path) -> dict:
    """Where the first answer cell, its tests and the self-check cell are, from nbgrader metadata."""
    cells = json.loads(student.read_text(encoding="utf-8"))["cells"]
    answer = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
                  and _nbgrader(c).get("solution") and not _nbgrader(c).get("grade"))
    grade_id = _nbgrader(cells[answer])["grade_id"]
    tests = []
    for c in cells[answer + 1:]:
        meta = _nbgrader(c)
        if meta.get("solution"):
            break
        if meta.get("grade") and c["cell_type"] == "code":
            tests.append(meta["grade_id"].removeprefix("test_"))
    check = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
                 and "self_check(" in "".join(c["source"]))
    sol_cells = json.loads(solution.read_text(encoding="utf-8"))["cells"]
    text = next("".join(c["source"]) for c in sol_cells if _nbgrader(c).get("grade_id") == grade_id)
    return {"answer": answer, "grade_id": grade_id, "questions": tests, "check": check,
            "text": _strip_solution_markers(text)}


def _cell(page, index: int):
    return page.locator(f"{bs.NOTEBOOK} .jp-Cell").nth(index)


def _run_check(page, index: int) -> str:
    """Select the self-check cell and run it with Shift+Enter, as a learner does; return its output."""
    cell = _cell(page, index)
    cell.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")
    bs.count("interactions")
    bs.wait_idle(page)
    out = cell.locator(".jp-OutputArea-output")
    out.first.wait_for(state="visible")
    return out.first.inner_text()


def test_learner_answers_saves_and_self_checks(page, lab, workspace, artifacts):
    """After typing the answer into the first answer cell (found by nbgrader metadata), saving with
    Ctrl+S and running the self-check cell, does the learner see the questions marked right?"""
    rel, solution = _exercise()
    plan = _plan(lab.root / rel, solution)
    assert plan["questions"], f"{rel}: no visible test follows the answer cell {plan['grade_id']}"
    bs.open_notebook(page, lab, rel, workspace)

    # set-up cells first (everything above the answer), then the self-check: not right yet
    _cell(page, plan["answer"]).locator(".jp-InputPrompt").first.click()
    bs.run_command(page, "notebook:run-all-above")
    bs.wait_idle(page)
    before = _run_check(page, plan["check"])
    for q in plan["questions"]:
        assert f"✗ Question {q} " in before, f"before answering, the self-check should mark {q} wrong:\n{before}"

    # type the answer into the answer cell's editor, as text input (no auto-indent or auto-close)
    editor = _cell(page, plan["answer"]).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(plan["text"])
    bs.count("interactions")
    bs.save(page)
    bs.count("interactions")
    saved = json.loads((lab.root / rel).read_text(encoding="utf-8"))["cells"][plan["answer"]]
    assert "".join(saved["source"]).strip() == plan["text"].strip(), "the saved file does not hold the answer"

    page.keyboard.press("Shift+Enter")          # run the answer cell
    bs.count("interactions")
    bs.wait_idle(page)
    after = _run_check(page, plan["check"])
    _cell(page, plan["check"]).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"exercise-{Path(rel).stem}-self-check.png"))
    bs.count("screenshots")
    for q in plan["questions"]:
        assert f"✓ Question {q} " in after, f"after answering, the self-check should mark {q} right:\n{after}"
    assert not bs.error_outputs(page), bs.error_outputs(page)
    assert not page.console_errors.messages, "\n".join(page.console_errors.messages)
