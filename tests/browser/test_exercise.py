"""Can a learner answer a real exercise question in JupyterLab with the mouse and keyboard alone?

Exercise 3, Question 4 asks the learner to shape the rehabilitation window of a hip replacement in
the ServiceExplorer and hand it in with "Use this as my answer". The test does exactly that: moves
two sliders with the keyboard, clicks the button, runs the answer cell and its check with
Shift+Enter, saves, runs the self-check, and then grades the saved notebook with
``coproduction-course grade``: the check, the self-check and the grader must all agree.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest

from course.answers import read_cell
from course.services import ServiceProfile
from tests.browser import browser_support as bs

pytestmark = pytest.mark.browser

A = "ex03_product_like_or_pure"
NOTEBOOK = f"exercises/{A}/{A}.ipynb"
QUESTION = "q4"
SHARE, DAYS = "Professionals' share of agency", "Episode length"


def _cell(page, index: int):
    return page.locator(f"{bs.NOTEBOOK} .jp-Cell").nth(index)


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _index(cells, predicate) -> int:
    return next(i for i, c in enumerate(cells) if predicate("".join(c["source"])))


def _slider(page, explorer, label):
    slider = explorer.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    row = explorer.locator(".course-control").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    return slider.locator(".noUi-handle"), row.locator(".course-readout")


def _press(page, handle, keys):
    handle.scroll_into_view_if_needed()
    handle.focus()
    for key in keys:
        page.keyboard.press(key)
    bs.count("interactions", len(keys))


def _run(page, index):
    """Select a cell by its prompt and run it with Shift+Enter; return its first output's text."""
    cell = _cell(page, index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")
    bs.count("interactions")
    bs.wait_idle(page)
    out = cell.locator(".jp-OutputArea-output").first
    out.wait_for(state="visible")
    return out.inner_text()


def test_learner_answers_an_explorer_question_and_the_grader_agrees(page, lab, workspace, artifacts, tmp_path):
    rel = bs.fresh_copy(lab, NOTEBOOK, workspace)
    cells = _cells(lab.root / rel)
    answer_i = _index(cells, lambda s: re.search(r"^my_service = None$", s, re.M))
    explorer_i, check_i = answer_i - 1, answer_i + 1
    assert 'answer="my_service"' in "".join(cells[explorer_i]["source"])
    assert f'check("{QUESTION}"' in "".join(cells[check_i]["source"])
    self_check_i = len(cells) - 1

    bs.open_notebook(page, lab, rel, workspace)
    bs.run_all(page)
    explorer = _cell(page, explorer_i).locator(".course-service-explorer")
    explorer.wait_for(state="visible")

    # professionals' share: Home (0%), then 31 steps of 1% to the right
    handle, readout = _slider(page, explorer, SHARE)
    _press(page, handle, ["Home"] + ["ArrowRight"] * 31)
    ok, shown = bs.eventually(lambda: (readout.inner_text().strip() == "31%", readout.inner_text()))
    assert ok, f"the share slider shows {shown}"
    # episode length (a log scale, 10**-2.5 to 10**3.6 days): End, then 122 steps of 0.01 to the left
    handle, readout = _slider(page, explorer, DAYS)
    _press(page, handle, ["End"] + ["ArrowLeft"] * 122)
    ok, shown = bs.eventually(lambda: (180 < float(readout.get_attribute("data-value")) < 320, readout.inner_text()))
    assert ok, f"the episode-length slider shows {shown}"
    bs.wait_idle(page)

    message = bs.click_answer_button(page, 0)
    assert bs.ANSWER_WRITTEN in message, message
    source = bs.cell_source(page, answer_i)
    line = next(ln for ln in source.splitlines() if ln.startswith("my_service = "))
    value = read_cell(line).values["my_service"]
    assert isinstance(value, ServiceProfile)
    assert value.professional_share == pytest.approx(0.31) and 180 < value.episode_days < 320

    # run the answer cell (it prints nothing), then its check
    _cell(page, answer_i).locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")
    bs.wait_idle(page)
    verdict = _run(page, check_i)
    assert "✓ Question 4: right (2 of 2 points)." in verdict, verdict
    page.screenshot(path=str(artifacts / "exercise-explorer-answer-checked.png"))
    bs.count("screenshots")

    bs.save(page)
    bs.count("interactions")
    summary = _run(page, self_check_i)
    assert "✓ Question 4: right" in summary, summary
    assert not bs.error_outputs(page), bs.error_outputs(page)

    # the grader reads the saved file and gives the same points
    sys.path.insert(0, str(bs.REPO / "tests" / "fixtures" / "grading"))
    import builders as B
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(bs.REPO / "nbgrader_config.py", course)
    for folder in ("solutions", "exercises", "notebooks"):
        shutil.copytree(bs.REPO / folder, course / folder)
    sub = tmp_path / "submitted" / "learner" / A
    sub.mkdir(parents=True)
    shutil.copyfile(lab.root / rel, sub / f"{A}.ipynb")
    out = tmp_path / "out"
    B.run_grade(str(course), str(tmp_path / "submitted"), str(out), "--jobs", "1", assignment=A)
    entry = [e for e in B.read_journal(str(out)) if e["student_id"] == "learner"][-1]
    grades = next(iter(entry["grades"].values()))["grades"]
    assert grades[f"check_{QUESTION}"]["auto_score"] == grades[f"check_{QUESTION}"]["max_score"] == 2
    assert os.path.exists(out / "feedback" / "learner.html")
