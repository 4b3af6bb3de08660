"""Does the page show exactly the figure the kernel drew, however its pixels got there?

An explorer's figure is a canvas that receives only the rectangle of pixels
that changed (course.explorers.figure_view).  These tests compare what the
canvas holds (``getImageData``, hashed in the page) with the frame the
kernel drew last (hashed in the kernel), byte for byte, after key presses,
after a patch the view cannot use, and in a second view of the same output
created afterwards.
"""

from __future__ import annotations

import pytest

from tests.browser import browser_support as bs

pytestmark = pytest.mark.browser

ROOT = ".course-agency-explorer"
SLIDER = "Patient agency at start"


def _open(page, lab, workspace):
    bs.open_notebook(page, lab, bs.fresh_copy(lab, bs.notebook_showing("AgencyExplorer"), workspace), workspace)
    bs.run_all(page)
    root = page.locator(f"{bs.NOTEBOOK} {ROOT}").first
    root.wait_for(state="attached")
    root.scroll_into_view_if_needed()
    canvas = root.locator(".course-figure canvas").first
    page.wait_for_function("(c) => c.dataset.frame !== undefined", arg=canvas.element_handle())
    return root, canvas


def _handle(root):
    row = root.locator(".course-control").filter(has=root.page.locator(".widget-label", has_text=SLIDER)).first
    return row.locator(".noUi-handle").first


def _settled_digest(page, canvas) -> tuple:
    """Wait until the kernel is idle, then (the canvas's frame number, its digest, the kernel's digests)."""
    bs.wait_idle(page)
    page.wait_for_timeout(100)  # the last patch's message can trail the kernel's idle by a moment
    return canvas.get_attribute("data-frame"), bs.canvas_digest(canvas), bs.kernel_digests(page)


def test_after_each_key_press_the_canvas_holds_the_kernels_frame(page, lab, workspace):
    root, canvas = _open(page, lab, workspace)
    frame, digest, kernel = _settled_digest(page, canvas)
    assert digest in kernel, "before any key press the canvas differs from the figure the kernel drew"
    handle = _handle(root)
    handle.focus()
    seen = {digest}
    for key in ("ArrowLeft", "ArrowLeft", "ArrowRight", "Home", "PageUp"):
        page.keyboard.press(key)
        ok, _ = bs.eventually(lambda: (canvas.get_attribute("data-frame") != frame, None))
        assert ok, f"{key}: the canvas was not repainted"
        frame, digest, kernel = _settled_digest(page, canvas)
        assert digest in kernel, f"after {key} the canvas differs from the kernel's frame {frame}"
        seen.add(digest)
    assert len(seen) >= 4, "the key presses did not change the figure"
    assert canvas.get_attribute("role") == "img"
    label = canvas.get_attribute("aria-label") or ""
    caption = root.locator(".course-figure-description").first.get_attribute("data-alt")
    assert label and label == caption, "the canvas's label is not the figure's description"


def test_a_patch_for_a_frame_the_view_has_not_got_is_not_painted(page, lab, workspace):
    """A patch whose base frame the view lacks makes it ask for the whole figure instead of painting a wrong one."""
    root, canvas = _open(page, lab, workspace)
    frame, digest, kernel = _settled_digest(page, canvas)
    assert digest in kernel
    # one black pixel at the top left, said to follow a frame the page never received
    out = bs.kernel_output(page, """
from course.explorers.figure_view import live_views as _lv
for _v in [v for v in _lv() if v._pixels is not None]:
    _h, _w = _v._pixels.shape[:2]
    _v.send({"kind": "patch", "frame": _v.frame + 2, "base": _v.frame + 1, "whole": False,
             "rects": [[0, 0, 1, 1]], "width": _w, "height": _h}, buffers=[bytes([0, 0, 0, 255])])
print("sent")
""")
    assert out.strip() == "sent", out
    page.wait_for_timeout(300)
    after_frame, after, kernel = _settled_digest(page, canvas)
    assert after == digest and after in kernel, "the view painted a patch meant for another frame"
    corner = canvas.evaluate("(c) => Array.from(c.getContext('2d').getImageData(0, 0, 1, 1).data)")
    assert corner != [0, 0, 0, 255]


def test_a_second_view_created_later_shows_the_current_figure_and_follows_it(page, lab, workspace):
    """JupyterLab's "Create New View for Cell Output": the new canvas starts from the current frame and keeps up."""
    root, canvas = _open(page, lab, workspace)
    handle = _handle(root)
    handle.focus()
    page.keyboard.press("ArrowRight")  # the figure the lesson saved is no longer the current one
    bs.wait_idle(page)
    root.click(position={"x": 5, "y": 5})  # make the explorer's cell the active one
    notebook_id = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    bs.run_command(page, "notebook:create-output-view")
    views = page.locator(f".jp-LinkedOutputView {ROOT} .course-figure canvas")
    views.first.wait_for(state="attached")
    ok, _ = bs.eventually(lambda: (views.first.get_attribute("data-frame") is not None, None))
    assert ok, "the second view never drew the figure"
    page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", notebook_id)  # back to the notebook
    _, digest, kernel = _settled_digest(page, canvas)
    ok, second = bs.eventually(lambda: (bs.canvas_digest(views.first) == digest, bs.canvas_digest(views.first)))
    assert ok and digest in kernel, "the second view does not show the kernel's current frame"
    handle.focus()
    page.keyboard.press("ArrowRight")
    _, digest, kernel = _settled_digest(page, canvas)
    ok, _ = bs.eventually(lambda: (bs.canvas_digest(views.first) == digest, None))
    assert ok and digest in kernel, "after a key press the two views differ"
