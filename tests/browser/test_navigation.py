"""Do the links between lessons and exercises work in JupyterLab, as a learner clicks them?"""
from __future__ import annotations

import pytest

from tests.browser import browser_support as bs

pytestmark = pytest.mark.browser

CURRENT_PATH = "() => { const w = window.jupyterapp.shell.currentWidget; return w && w.context ? w.context.path : ''; }"


def _click_link(page, text: str, *, last: bool = False) -> None:
    links = page.locator(f"{bs.NOTEBOOK} .jp-RenderedMarkdown a", has_text=text)
    assert links.count() >= 1, f"no link {text!r} in the rendered notebook"
    link = links.last if last else links.first
    link.scroll_into_view_if_needed()
    link.click()
    bs.count("interactions")


def _lands_on(page, path: str) -> None:
    ok, shown = bs.eventually(lambda: (lambda p: (p == path, p))(page.evaluate(CURRENT_PATH)))
    assert ok, f"expected JupyterLab to open {path}, it shows {shown!r}"
    page.wait_for_selector(f"{bs.NOTEBOOK} .jp-RenderedMarkdown h1", state="attached")


def test_next_link_at_the_top_of_a_lesson_opens_the_next_lesson(page, lab, workspace):
    bs.open_notebook(page, lab, "notebooks/01_products_and_services.ipynb", workspace)
    _click_link(page, "Next: Lesson 2, Agency over time")
    _lands_on(page, "notebooks/02_agency_over_time.ipynb")
    title = page.locator(f"{bs.NOTEBOOK} .jp-RenderedMarkdown h1").first.inner_text()
    assert title.startswith("Lesson 2: Agency over time")
    # the link at the bottom of lesson 2 goes back to lesson 1
    _click_link(page, "Previous: Lesson 1, Products and services", last=True)
    _lands_on(page, "notebooks/01_products_and_services.ipynb")


def test_an_exercise_links_back_to_its_lesson_and_the_last_lesson_returns_to_the_start(page, lab, workspace):
    bs.open_notebook(page, lab, "exercises/ex04_value_stream_mapping/ex04_value_stream_mapping.ipynb", workspace)
    _click_link(page, "Back to Lesson 4, Value-stream mapping")
    _lands_on(page, "notebooks/04_value_stream_mapping.ipynb")
    bs.open_notebook(page, lab, "notebooks/07_measuring_and_improving.ipynb", workspace + "b")
    _click_link(page, "Next: back to the start page", last=True)
    _lands_on(page, "notebooks/00_start_here.ipynb")
