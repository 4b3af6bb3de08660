"""The live figure's transport (course.explorers.figure_view), without a browser.

What the page receives is recorded by replacing the widget's ``send``; a
small mirror of the page's script (:func:`apply`) paints the patches onto an
array, which must then equal the frame the kernel drew.  The browser tests
check the script itself (tests/browser/test_figure_canvas.py).
"""

from __future__ import annotations

import asyncio
import io
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from course.explorers import figure_view
from course.explorers.figure_view import SETTLE_SECONDS, TILE, FigureView, changed_boxes, flush_all


def recording(view: FigureView) -> list:
    sent = []
    view.send = lambda content, buffers=None: sent.append((content, [bytes(b) for b in buffers or []]))
    return sent


def apply(screen, content, buffers):
    """What the page's script does with one patch (returns the new screen, or "resync")."""
    frame, pixels = screen
    if not content["whole"] and content["base"] != frame:
        return "resync"
    if pixels is None or pixels.shape[:2] != (content["height"], content["width"]):
        pixels = np.zeros((content["height"], content["width"], 4), dtype=np.uint8)
    data, at = np.frombuffer(buffers[0], dtype=np.uint8), 0
    for x, y, w, h in content["rects"]:
        pixels[y:y + h, x:x + w] = data[at:at + w * h * 4].reshape(h, w, 4)
        at += w * h * 4
    assert at == len(data), "the message holds pixels no rectangle uses"
    return content["frame"], pixels


def frame(h=30, w=40, colour=255):
    return np.full((h, w, 4), colour, dtype=np.uint8)


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_the_first_frame_goes_whole_and_then_only_the_rectangle_that_changed():
    view = FigureView()
    sent = recording(view)
    a = frame()
    assert view.show(a) == a.nbytes
    b = a.copy()
    b[5:9, 10:13, :3] = 0  # a 3 x 4 pixel change
    assert view.show(b) == 3 * 4 * 4
    (first, _), (second, data) = sent
    assert first["whole"] and first["rects"] == [[0, 0, 40, 30]]
    assert not second["whole"] and second["base"] == first["frame"] == 0 and second["frame"] == 1
    assert second["rects"] == [[10, 5, 3, 4]]
    assert data == [np.ascontiguousarray(b[5:9, 10:13]).tobytes()]


def test_a_line_moving_across_the_figure_costs_a_strip_per_band_not_the_box_around_it():
    """A gently sloping line (as a stripe's boundary) one pixel lower: each band sends the few rows it crosses."""
    h, w = 200, 4 * TILE
    a = frame(h, w)
    b = a.copy()
    for x in range(w):
        y = 20 + x // 2
        a[y, x, :3] = 0
        b[y + 1, x, :3] = 0
    view = FigureView()
    sent = recording(view)
    view.show(a)
    n = view.show(b)
    rects = sent[-1][0]["rects"]
    (_x, _y, bw, bh), = changed_boxes(a, b, tile=w)  # the one box around the whole change
    assert len(rects) == 4 and 3 * n < bw * bh * 4
    assert apply(apply((-1, None), *sent[0]), *sent[1])[1].tobytes() == b.tobytes()


def test_an_unchanged_frame_sends_nothing():
    view = FigureView()
    sent = recording(view)
    view.show(frame())
    assert view.show(frame()) == 0 and len(sent) == 1 and view.frame == 0


def test_a_new_size_sends_the_whole_figure_again():
    view = FigureView()
    sent = recording(view)
    view.show(frame(30, 40))
    view.show(frame(20, 50, colour=7))
    assert sent[-1][0]["whole"] and (sent[-1][0]["width"], sent[-1][0]["height"]) == (50, 20)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 29), st.integers(0, 39), st.integers(1, 12), st.integers(1, 12),
                          st.integers(0, 255)), min_size=1, max_size=8))
def test_the_page_built_from_the_patches_equals_every_frame_drawn(edits):
    """Whatever rectangles change, painting each patch where it says gives exactly the frame the kernel drew."""
    view = FigureView()
    sent = recording(view)
    pixels = frame()
    screen = (-1, None)
    view.show(pixels)
    screen = apply(screen, *sent[-1])
    for y, x, h, w, colour in edits:
        pixels = pixels.copy()
        pixels[y:y + h, x:x + w, 0] = colour
        n = len(sent)
        view.show(pixels)
        for content, buffers in sent[n:]:
            screen = apply(screen, content, buffers)
        assert screen[0] == view.frame and np.array_equal(screen[1], pixels)


def test_a_view_that_missed_a_frame_asks_again_and_gets_the_whole_figure():
    view = FigureView()
    sent = recording(view)
    a = frame()
    b = a.copy()
    b[1:3, 1:3, 0] = 9
    view.show(a)
    view.show(b)
    assert apply((-1, None), *sent[-1]) == "resync"  # a view that saw neither frame cannot use this patch
    view._handle_custom_msg({"kind": "resync"}, [])
    content, buffers = sent[-1]
    assert content["whole"] and content["frame"] == view.frame
    screen = apply((-1, None), content, buffers)
    assert np.array_equal(screen[1], b)


def test_messages_a_view_does_not_send_are_ignored():
    view = FigureView()
    sent = recording(view)
    view.show(frame())
    for content in ({"kind": "something else"}, "resync", None, ["resync"]):
        view._handle_custom_msg(content, [])
    assert len(sent) == 1


def test_outside_an_event_loop_the_saved_png_follows_every_frame():
    view = FigureView()
    recording(view)
    assert view.value == b"" and view.size == (0, 0)
    a = frame()
    a[3, 4, :3] = (10, 20, 30)
    view.show(a)
    assert view.png_frame == view.frame == 0 and view.size == (40, 30)
    assert np.array_equal(decode(view.png), a[..., :3]) and view.png == view.value


def in_a_kernel(monkeypatch, scenario):
    """Run the coroutine ``scenario`` as a kernel would: on an event loop of its own (in a thread of its own,
    whatever loop this process already runs), which the figures take for the kernel's."""
    monkeypatch.setattr(figure_view, "_kernel_loop", asyncio.get_running_loop)
    result = {}

    def run():
        try:
            result["value"] = asyncio.run(scenario())
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_in_a_kernel_the_png_is_encoded_once_the_figure_settles(monkeypatch):
    """Five quick frames send five patches but encode one PNG: the last frame, after the figure settles."""
    async def scenario():
        view = FigureView()
        recording(view)
        frames = [frame(colour=c) for c in (10, 20, 30, 40, 50)]
        for f in frames:
            view.show(f)
        assert view.png_frame == -1 and view in figure_view._pending  # nothing encoded yet
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while view.png_frame != view.frame and loop.time() < deadline:
            await asyncio.sleep(SETTLE_SECONDS / 5)
        return view, frames[-1]

    view, last = in_a_kernel(monkeypatch, scenario)
    assert view.png_frame == view.frame == 4 and view not in figure_view._pending
    assert np.array_equal(decode(view.png), last[..., :3])


def test_the_end_of_a_cell_flushes_every_waiting_figure(monkeypatch):
    async def scenario():
        views = [FigureView() for _ in range(2)]
        for v in views:
            recording(v)
            v.show(frame(colour=3))
        flush_all()  # what IPython's post_run_cell event calls
        return views

    for view in in_a_kernel(monkeypatch, scenario):
        assert view.png_frame == view.frame and view._timer is None and view not in figure_view._pending


@pytest.mark.parametrize("bad, words", [
    (np.zeros((3, 4, 3), dtype=np.uint8), "height x width x 4 array of uint8"),
    (np.zeros((3, 4, 4), dtype=float), "Got float64 of shape (3, 4, 4) instead"),
    (np.zeros((3, 4), dtype=np.uint8), "shape (3, 4)"),
])
def test_a_frame_that_is_not_rgba_bytes_is_refused_with_what_is_allowed(bad, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        FigureView().show(bad)


def test_changed_boxes_are_the_smallest_rectangles_around_every_change_in_each_band():
    a = frame()
    b = a.copy()
    b[2, 3, 1] = 0
    b[20, 35, 3] = 0  # the alpha channel counts too
    assert changed_boxes(a, b) == [(3, 2, 33, 19)]  # one band: the figure is narrower than a tile
    assert changed_boxes(a, b, tile=10) == [(3, 2, 1, 1), (35, 20, 1, 1)]
    assert changed_boxes(a, a) == []
    assert changed_boxes(None, a) == changed_boxes(frame(5, 5), a) == [(0, 0, 40, 30)]
