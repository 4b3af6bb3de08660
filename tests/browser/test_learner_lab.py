"""Does the learner's JupyterLab show nothing of nbgrader's instructor or exchange machinery?

Without a course server, nbgrader's Assignment List opens on "Error fetching courses!" and
"The exchange directory does not exist", and its Validate button sits on every notebook. The
learner's configuration (``jupyter-config/learner``, which ``python3 run.py lab`` and this
suite's server use) switches all of it off; the instructor's lab (see docs/grading.md) keeps it.
"""
from __future__ import annotations

import pytest

from tests.browser import browser_support as bs

pytestmark = pytest.mark.browser

#: What nbgrader shows when it has no course server to talk to.
EXCHANGE_ERRORS = ("Error fetching courses", "exchange directory does not exist", "Error fetching assignments")


def test_the_learners_lab_shows_no_nbgrader_menu_button_or_exchange_error(page, lab, workspace, artifacts):
    bs.open_notebook(page, lab, "notebooks/02_agency_over_time.ipynb", workspace)
    page.wait_for_selector(f"{bs.NOTEBOOK} .jp-OutputArea-output", state="attached")
    menus = page.locator("#jp-menu-panel .lm-MenuBar-itemLabel").all_inner_texts()
    assert "Kernel" in menus, f"the menu bar was not read: {menus}"
    assert not [m for m in menus if "nbgrader" in m.lower()], f"nbgrader's menu is shown: {menus}"
    toolbar = " ".join(page.locator(".jp-NotebookPanel-toolbar").all_inner_texts())
    assert "Validate" not in toolbar, f"nbgrader's Validate button is shown: {toolbar!r}"
    panels = " ".join(page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
        "tabs => tabs.map(t => (t.getAttribute('title') || '') + ' ' + t.textContent)"))
    assert "Assignment" not in panels and "Course" not in panels, panels
    text = page.locator("body").inner_text()
    shown = [e for e in EXCHANGE_ERRORS if e.lower() in text.lower()]
    assert not shown, shown
    page.screenshot(path=str(artifacts / "learner-lab.png"))
    bs.count("screenshots")
