"""Does a lesson opened before anything has run show each explorer's figure, not a widget's text?"""
from __future__ import annotations

import json

import pytest

from tests.browser import browser_support as bs

pytestmark = pytest.mark.browser


def _has_explorer(relpath):
    cells = json.loads((bs.REPO / relpath).read_text(encoding="utf-8"))["cells"]
    return any("Explorer(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("lesson", bs.lesson_paths())
def test_an_unrun_lesson_shows_figures_and_questions_not_widget_reprs(lesson, page, lab, workspace, artifacts):
    bs.open_notebook(page, lab, lesson, workspace)
    page.wait_for_selector(f"{bs.NOTEBOOK} .jp-OutputArea-output", state="attached")
    outputs = page.locator(f"{bs.NOTEBOOK} .jp-OutputArea-output").all_inner_texts()
    bad = [t[:80] for t in outputs if "VBox(" in t or "HBox(" in t or "Javascript object" in t]
    assert not bad, bad
    if _has_explorer(lesson):
        static = page.locator(f"{bs.NOTEBOOK} .course-explorer-static").first
        static.wait_for(state="attached")
        static.scroll_into_view_if_needed()
        img = static.locator("img")
        assert img.count() == 1 and img.get_attribute("alt"), "the static figure needs its alt text"
        ok, width = bs.eventually(lambda: (lambda w: (w > 100, w))(
            page.evaluate("(el) => el.naturalWidth", img.element_handle())))
        assert ok, f"the static figure did not load (natural width {width})"
        assert "Run this cell (Shift+Enter) to use its controls" in static.inner_text()
        page.screenshot(path=str(artifacts / f"{lesson.split('/')[-1][:-6]}-before-running.png"))
        bs.count("screenshots")
