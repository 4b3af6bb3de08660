"""The lesson files as saved: do they render on GitHub and in nbviewer-like views, without a kernel?

A viewer without a kernel shows a widget only from the widget state saved in
the notebook's metadata (``application/vnd.jupyter.widget-state+json``), and
shows the ``text/html`` beside the widget view where it cannot draw widgets at
all.  These tests read each notebook file, as committed; they run nothing.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: A code cell that ends by showing an explorer, e.g. ``AgencyExplorer(preset="Cataract surgery")``.
EXPLORER_CALL = re.compile(r"^\s*(\w+Explorer)\(.*\)\s*$", re.S)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

lessons = pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)


def _state(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _views(nb):
    """(cell index, output data) of every widget view the notebook shows."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                yield i, data


def _explorer_cells(nb):
    """(cell index, explorer class name) of every cell whose last line shows an explorer."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        last = cell.source.strip().split("\n\n")[-1]
        m = EXPLORER_CALL.match(last)
        if m:
            yield i, m.group(1)


def test_there_are_lessons_with_explorers():
    """The checks below have something to check: eight lessons, explorers in most of them."""
    assert len(LESSONS) == 8
    with_explorers = [p for p in LESSONS if list(_explorer_cells(nbformat.read(p, as_version=4)))]
    assert len(with_explorers) >= 6, [p.name for p in with_explorers]


@lessons
def test_every_widget_the_lesson_shows_is_in_its_saved_state(path):
    """Is each widget view's model, and every model it refers to, saved in the notebook's widget state?"""
    nb = nbformat.read(path, as_version=4)
    views = list(_views(nb))
    if not views:
        return
    state = _state(nb)
    assert state, f"{path.name} shows widgets but saves no {WIDGET_STATE} in its metadata"
    for i, data in views:
        assert data[WIDGET_VIEW]["model_id"] in state, f"{path.name} cell {i}: its widget's state is not saved"
    referenced = set(re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state)))
    missing = referenced - set(state)
    assert not missing, f"{path.name}: the saved widgets refer to {len(missing)} models that are not saved"


@lessons
def test_every_explorer_saves_a_static_figure_beside_its_widget(path):
    """Does each explorer's output carry its figure as a PNG with alt text, for viewers that draw no widgets?"""
    nb = nbformat.read(path, as_version=4)
    for i, name in _explorer_cells(nb):
        outputs = [o.get("data", {}) for o in nb.cells[i].get("outputs", [])]
        shown = [d for d in outputs if WIDGET_VIEW in d]
        assert shown, f"{path.name} cell {i} ({name}): saved without its widget output (not executed?)"
        page = shown[0].get("text/html", "")
        m = re.search(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"[^>]*>', page)
        assert m, f"{path.name} cell {i} ({name}): no static figure beside the widget"
        assert base64.b64decode(m.group(1)).startswith(PNG_MAGIC)
        alt = re.search(r'alt="([^"]+)"', m.group(0))
        assert alt and len(alt.group(1)) > 20, f"{path.name} cell {i} ({name}): the static figure has no alt text"


@lessons
def test_the_saved_explorer_widgets_hold_their_figure(path):
    """In the saved state, does each explorer's figure widget hold the PNG, so a viewer shows the figure live?"""
    nb = nbformat.read(path, as_version=4)
    cells = dict(_explorer_cells(nb))
    if not cells:
        return
    state = _state(nb)
    for i, name in cells.items():
        root = next(d[WIDGET_VIEW]["model_id"] for d in (o.get("data", {}) for o in nb.cells[i].outputs)
                    if WIDGET_VIEW in d)
        seen, todo, images = set(), [root], 0
        while todo:
            mid = todo.pop()
            if mid in seen or mid not in state:
                continue
            seen.add(mid)
            model = state[mid]["state"]
            images += "data:image/png;base64," in str(model.get("value", ""))
            # a figure's PNG (a FigureView's "png", an Image widget's "value") is saved as a binary buffer,
            # base64-encoded in the notebook
            images += any(b.get("path") in (["png"], ["value"])
                          and base64.b64decode(b.get("data", "")).startswith(PNG_MAGIC)
                          for b in state[mid].get("buffers", []))
            todo += re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(model))
        assert images >= 1, f"{path.name} cell {i} ({name}): the saved widgets hold no figure"
