"""The explorers' live figure: matplotlib's pixels painted straight onto a canvas in the page.

An explorer renders its figure with Agg in Python, as before.  What changes
is the way the pixels reach the screen.  An ``<img>`` fed a new PNG on every
slider step costs a PNG encoding in Python and, in the page, an asynchronous
decode that usually misses the next frame.  :class:`FigureView` instead sends
only the pixels that changed since the last frame, raw (RGBA, no encoding),
as a few rectangles (:func:`changed_boxes`: the smallest one in each band of
:data:`TILE` columns, so a line that moves across the whole figure costs a
thin strip per band, not the box around all of it), and the page paints
them into a ``<canvas>`` as soon as the message arrives: a key press is on
screen in the next frame.

The whole figure is also kept as PNG in the widget's synced ``png`` trait, so
a saved notebook holds it (widget state, static views) and a view created
later starts from it.  That PNG is encoded once the figure has stopped
changing (:data:`SETTLE_SECONDS` after the last change, or at the end of the
cell that changed it), not on every step.

Frames are numbered.  Each patch names the frame it applies to; a view that
has missed one (it was created in between, or a message was lost) asks for
the whole figure again instead of painting a wrong picture.

The canvas is an image to assistive technology: ``role="img"`` and an
``aria-label`` holding the figure's description (the ``alt`` trait).
"""

from __future__ import annotations

import asyncio
import weakref

import anywidget
import numpy as np
import traitlets

from course.rendering import png_rgb

__all__ = ["FigureView", "SETTLE_SECONDS", "TILE", "changed_boxes", "flush_all", "live_views"]

#: How long the figure must stay unchanged before its PNG is encoded and synced (seconds).
SETTLE_SECONDS = 0.25
#: Width in pixels of the column bands :func:`changed_boxes` finds a changed rectangle in.
TILE = 64

_ESM = r"""
function render({ model, el }) {
  const canvas = document.createElement("canvas");
  canvas.className = "course-figure-canvas";
  canvas.setAttribute("role", "img");
  canvas.style.maxWidth = "100%";
  canvas.style.height = "auto";
  canvas.style.display = "block";
  const ctx = canvas.getContext("2d");
  el.appendChild(canvas);
  let frame = -1;        // the frame this canvas shows
  let loading = -1;      // the frame of a PNG being decoded
  const alt = () => canvas.setAttribute("aria-label", model.get("alt") || "");
  const shown = (n) => { frame = n; canvas.dataset.frame = String(n); };
  const size = (w, h) => {
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w; canvas.height = h;
      canvas.style.aspectRatio = w + " / " + h;
    }
  };
  const whole = () => {
    const n = model.get("png_frame");
    const png = model.get("png");
    if (!png || !png.byteLength || n <= frame || n === loading) { return; }
    loading = n;
    createImageBitmap(new Blob([png], { type: "image/png" })).then((bmp) => {
      if (loading === n) { loading = -1; }
      if (n <= frame) { return; }          // a newer patch arrived meanwhile
      size(bmp.width, bmp.height);
      ctx.drawImage(bmp, 0, 0);
      shown(n);
    }).catch(() => { loading = -1; });
  };
  const onMessage = (msg, buffers) => {
    if (!msg || msg.kind !== "patch") { return; }
    if (msg.base !== frame && !msg.whole) {  // missed a frame: ask for the whole figure
      model.send({ kind: "resync" });
      return;
    }
    size(msg.width, msg.height);
    const b = buffers[0];
    const data = b instanceof ArrayBuffer ? b : b.buffer;
    let at = b instanceof ArrayBuffer ? 0 : b.byteOffset;
    for (const [x, y, w, h] of msg.rects) {   // the rectangles' pixels, one after the other
      const n = w * h * 4;
      ctx.putImageData(new ImageData(new Uint8ClampedArray(data, at, n), w, h), x, y);
      at += n;
    }
    shown(msg.frame);
  };
  alt();
  whole();
  model.on("change:alt", alt);
  model.on("change:png", whole);
  model.on("msg:custom", onMessage);
  return () => {
    model.off("change:alt", alt);
    model.off("change:png", whole);
    model.off("msg:custom", onMessage);
  };
}
export default { render };
"""


def changed_boxes(old: np.ndarray | None, new: np.ndarray, tile: int = TILE) -> list:
    """Rectangles (x, y, width, height) that hold every pixel that differs: the smallest in each band of columns.

    The bands are ``tile`` pixels wide; a band where nothing changed has no
    rectangle.  A different shape (or no old frame) gives the whole image as
    one rectangle.

    Examples
    --------
    >>> a = np.zeros((4, 5, 4), dtype=np.uint8); b = a.copy(); b[1:3, 2, 0] = 9
    >>> changed_boxes(a, b), changed_boxes(a, a), changed_boxes(None, a)
    ([(2, 1, 1, 2)], [], [(0, 0, 5, 4)])

    A change at the top left and one at the bottom right, in different bands:

    >>> b = a.copy(); b[0, 0, 0] = b[3, 4, 0] = 9
    >>> changed_boxes(a, b, tile=2)
    [(0, 0, 1, 1), (4, 3, 1, 1)]
    """
    h, w = new.shape[:2]
    if old is None or old.shape != new.shape:
        return [(0, 0, w, h)]
    diff = old.view(np.uint32)[..., 0] != new.view(np.uint32)[..., 0]
    if not diff.any():
        return []
    boxes = []
    for x0 in range(0, w, tile):
        band = diff[:, x0:x0 + tile]
        rows = np.flatnonzero(band.any(axis=1))
        if rows.size:
            cols = np.flatnonzero(band[rows[0]:rows[-1] + 1].any(axis=0))
            boxes.append((x0 + int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1),
                          int(rows[-1] - rows[0] + 1)))
    return boxes


class FigureView(anywidget.AnyWidget):
    """A figure on a canvas: :meth:`show` sends the pixels that changed; ``value`` is the whole PNG."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    png = traitlets.Bytes(b"").tag(sync=True)
    png_frame = traitlets.Int(-1).tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.frame = -1
        self._pixels = None  # the last frame's RGBA, height x width x 4
        self._png = None  # its PNG, once encoded
        self._timer = None
        self.on_msg(self._on_front_end_message)
        _views.add(self)

    # -- what the explorers call ---------------------------------------------------------------------
    def show(self, rgba) -> int:
        """Put this frame (height x width x 4 uint8, e.g. an Agg buffer) on screen; return the bytes sent.

        Only the rectangles that changed since the last frame are sent (nothing when nothing did).
        """
        rgba = np.asarray(rgba)
        if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise ValueError(f"'rgba' must be a height x width x 4 array of uint8. Got {rgba.dtype} of shape "
                             f"{rgba.shape} instead.")
        boxes = changed_boxes(self._pixels, rgba)
        if not boxes:
            return 0
        whole = self._pixels is None or self._pixels.shape != rgba.shape
        self._pixels = np.array(rgba, copy=True)
        self._png = None
        self.frame += 1
        sent = self._send_patch(boxes, whole)
        self._settle()
        return sent

    @property
    def value(self) -> bytes:
        """The figure as it is now, as PNG bytes (b"" before the first frame)."""
        if self._pixels is None:
            return b""
        if self._png is None:
            self._png = png_rgb(self._pixels[..., :3])
        return self._png

    @property
    def size(self) -> tuple:
        """(width, height) in pixels of the figure shown; (0, 0) before the first frame."""
        return (0, 0) if self._pixels is None else (self._pixels.shape[1], self._pixels.shape[0])

    def flush(self) -> None:
        """Sync the whole figure's PNG now (a saved notebook, and any new view, then hold this frame)."""
        self._cancel()
        if self._pixels is not None and self.png_frame != self.frame:
            with self.hold_sync():
                self.png = self.value
                self.png_frame = self.frame

    # -- inside ------------------------------------------------------------------------------------------
    def _send_patch(self, boxes, whole: bool) -> int:
        """Send the pixels of ``boxes`` as one message: their rectangles, and their pixels one after the other."""
        data = np.concatenate([self._pixels[y:y + h, x:x + w].reshape(-1) for x, y, w, h in boxes])
        height, width = self._pixels.shape[:2]
        self.send({"kind": "patch", "frame": self.frame, "base": self.frame - 1, "whole": whole,
                   "rects": [list(b) for b in boxes], "width": width, "height": height}, buffers=[data.data])
        return data.nbytes

    def _settle(self) -> None:
        """Encode and sync the PNG once the figure has stopped changing (at once outside a kernel)."""
        self._cancel()
        loop = _kernel_loop()
        if loop is None:
            self.flush()
        else:
            self._timer = loop.call_later(SETTLE_SECONDS, self.flush)
            _pending.add(self)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        _pending.discard(self)

    def _on_front_end_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("kind") == "resync" and self._pixels is not None:
            height, width = self._pixels.shape[:2]  # a view missed a frame: send it the whole figure
            self._send_patch([(0, 0, width, height)], True)


def _kernel_loop():
    """The event loop of the IPython kernel this runs in, while it runs; None anywhere else.

    Elsewhere (a script, a test, nbconvert's own process) nothing would ever
    run a timer, so the PNG is encoded at once.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_pending: set = set()
_views: weakref.WeakSet = weakref.WeakSet()


def live_views() -> list:
    """Every figure view still in use (for tests and benchmarks that compare the page with the kernel)."""
    return [v for v in list(_views) if v.comm is not None or v._pixels is not None]


def flush_all(*_args) -> None:
    """Sync every figure whose PNG is waiting (after each cell, so a saved notebook holds the last frame)."""
    for view in list(_pending):
        view.flush()


def _register() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    ip = get_ipython()
    if ip is not None and flush_all not in ip.events.callbacks.get("post_run_cell", []):
        ip.events.register("post_run_cell", flush_all)


_register()
