"""Does an explorer's "Use this as my answer" button put its state into the answer cell in JupyterLab?

The fixture notebook (``fixtures/answer_explorer.ipynb``, written by
``make_fixtures.py``) is shaped like an exercise: an explorer built with
``answer="my_stripe"``, the answer cell ``my_stripe = None`` right after it, a
check cell, and a second explorer whose answer cell is missing.  The learner
uses only the mouse and the keyboard; what counts is what Save writes to disk,
read back the way the grader reads it.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import browser_support as bs
from course.agency import AgencyParams, PRESETS
from course.answers import format_answer, read_cell

pytestmark = pytest.mark.browser

NOTEBOOK = "browser_fixtures/answer_explorer.ipynb"
EXPLORER_CELL, ANSWER_CELL, CHECK_CELL = 2, 3, 4
PRESET = "Cataract surgery"
BASELINE = "Patient agency at start"


def _cell(page, index: int):
    return page.locator(f"{bs.NOTEBOOK} .jp-Cell").nth(index)


def _baseline_handle(page, n: int = 0):
    explorer = page.locator(f"{bs.NOTEBOOK} .course-agency-explorer").nth(n)
    slider = explorer.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(BASELINE)}\s*$")))
    row = explorer.locator(".course-control").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(BASELINE)}\s*$")))
    return slider.locator(".noUi-handle"), row.locator(".course-readout")


def test_button_writes_the_explorer_state_into_the_answer_cell(page, lab, workspace, artifacts):
    """After moving a slider with the keyboard and clicking "Use this as my answer", does the answer
    cell hold exactly the explorer's line (its comments untouched), does Save keep it, and does the
    grader's reader get an AgencyParams with the slider's new value?"""
    notebook = bs.fresh_copy(lab, NOTEBOOK, workspace)
    bs.open_notebook(page, lab, notebook, workspace)
    bs.run_all(page)
    page.wait_for_selector(f"{bs.ANSWER_BOX} .course-answer-line textarea", state="attached")
    start = PRESETS[PRESET]
    first = bs.wait_for_answer_line(page, 0, lambda t: t.startswith("my_stripe = AgencyParams("), "appear")
    assert read_cell(first).values["my_stripe"] == start
    original = bs.cell_source(page, ANSWER_CELL)

    # ten steps of 0.01 to the left, with the keyboard, on the handle of the baseline slider
    handle, readout = _baseline_handle(page)
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    bs.count("interactions", 10)
    shown = pytest.approx(start.baseline - 0.10)
    value = lambda: float(readout.get_attribute("data-value"))  # noqa: E731  (the readout shows "80%")
    ok, _ = bs.eventually(lambda: (value() == shown, None))
    assert ok, f"the baseline slider shows {readout.inner_text()}, not {start.baseline - 0.10:.2f}"
    new_value = round(value(), 9)
    expected = format_answer("my_stripe", start.replace(baseline=new_value))
    line = bs.wait_for_answer_line(page, 0, lambda t: t == expected, "follow the slider")
    bs.wait_idle(page)

    message = bs.click_answer_button(page, 0)
    assert bs.ANSWER_WRITTEN in message, message
    source = bs.cell_source(page, ANSWER_CELL)
    assert source == original.replace("my_stripe = None", line), source
    page.screenshot(path=str(artifacts / "answer-button-written.png"),
                    clip=_union(bs.answer_box(page, 0).bounding_box(), _cell(page, CHECK_CELL).bounding_box()))
    bs.count("screenshots")

    bs.save(page)
    bs.count("interactions")
    saved = bs.saved_cell_source(lab.root / notebook, ANSWER_CELL)
    assert saved == source, f"the saved answer cell holds {saved!r}"
    assert line in saved.splitlines() and saved.startswith("# Question 1")
    answer = read_cell(saved)
    assert not answer.problem, answer.problem
    value = answer.values["my_stripe"]
    assert isinstance(value, AgencyParams)
    assert value.baseline == pytest.approx(new_value)
    assert value == start.replace(baseline=new_value)

    # run the answer cell and its check with Shift+Enter, as a learner does
    _cell(page, ANSWER_CELL).locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")
    bs.count("interactions", 3)
    bs.wait_idle(page)
    verdict = _cell(page, CHECK_CELL).locator(".jp-OutputArea-output").first
    ok, text = bs.eventually(lambda: ("Question 1" in verdict.inner_text(), verdict.inner_text()))
    assert "✓ Question 1: right" in text, text
    assert not bs.error_outputs(page), bs.error_outputs(page)
    assert not page.console_errors.messages, "\n".join(page.console_errors.messages)


def test_without_an_answer_cell_the_learner_is_told_to_copy_the_line(page, lab, workspace, artifacts):
    """When no cell has a line ``my_missing = ...``, does the button (pressed with Enter) say so and leave
    every cell as it was, and do the answer controls have names a screen reader announces?"""
    notebook = bs.fresh_copy(lab, NOTEBOOK, workspace)
    bs.open_notebook(page, lab, notebook, workspace)
    bs.run_all(page)
    page.wait_for_selector(f"{bs.ANSWER_BOX} .course-answer-line textarea", state="attached")
    before = [bs.cell_source(page, i) for i in range(page.locator(f"{bs.NOTEBOOK} .jp-Cell").count())]
    line = bs.wait_for_answer_line(page, 1, lambda t: t.startswith("my_missing = AgencyParams("), "appear")
    names = bs.accessible_names(page, f"{bs.ANSWER_BOX}", "button, textarea")
    assert [(c["role"], c["name"]) for c in names] == [
        ("textbox", "Your answer line, to copy by hand"), ("button", bs.ANSWER_BUTTON)], names
    message = bs.click_answer_button(page, 1, keyboard=True)
    assert "Could not find your answer cell" in message and "my_missing =" in message, message
    assert "by hand" in message
    assert [bs.cell_source(page, i) for i in range(len(before))] == before
    assert bs.shown_answer_line(page, 1) == line
    bs.answer_box(page, 1).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "answer-button-not-found.png"), clip=bs.answer_box(page, 1).bounding_box())
    bs.count("screenshots")
    assert not page.console_errors.messages, "\n".join(page.console_errors.messages)


def _union(a: dict, b: dict) -> dict:
    x, y = min(a["x"], b["x"]), min(a["y"], b["y"])
    return {"x": x, "y": y, "width": max(a["x"] + a["width"], b["x"] + b["width"]) - x,
            "height": max(a["y"] + a["height"], b["y"] + b["height"]) - y}


@pytest.mark.parametrize("mode", ["contentVisibility", "full"])
def test_button_works_when_jupyterlab_renders_cells_lazily(page, lab, workspace, mode):
    """With JupyterLab's default windowing ("contentVisibility") and with "full" windowing, where cells
    are rendered only near the view, does the button still find and fill the answer cell?"""
    with bs.windowing_mode(lab, mode):
        notebook = bs.fresh_copy(lab, NOTEBOOK, workspace)
        bs.open_notebook(page, lab, notebook, workspace)
        assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.notebookConfig.windowingMode") == mode
        bs.run_all(page)
        page.wait_for_selector(f"{bs.ANSWER_BOX} .course-answer-line textarea", state="attached")
        line = bs.wait_for_answer_line(page, 0, lambda t: t.startswith("my_stripe = AgencyParams("), "appear")
        message = bs.click_answer_button(page, 0)
        assert bs.ANSWER_WRITTEN in message, f"windowing {mode}: {message}"
        assert line in bs.cell_source(page, ANSWER_CELL).splitlines()
        assert not page.console_errors.messages, "\n".join(page.console_errors.messages)
