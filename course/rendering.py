"""Rendering for the explorers and reports: figures as PNG with alt text, fast redraws, page helpers.

* :func:`figure_png` and :func:`figure_html` turn a matplotlib figure into a PNG
  and an HTML ``<figure>`` whose image carries its description as alt text
  (the explorers and the grading report use the same code);
* :class:`Blitter` redraws a figure that was drawn once by repainting only the
  artists an update changed over a saved background (blitting);
* :class:`StampedText` is a short label that a redraw copies into place from
  an image of it rendered once, instead of laying it out again;
* :func:`static_bundle` is what a saved notebook shows for an explorer before
  its cell has run (or after a restart): the figure as it starts and what to do;
* :data:`ACCESSIBILITY_JS` is the small script shown beside each explorer that
  gives sliders their names and spoken values, marks summaries as live
  regions, keeps disabled controls out of the Tab order, draws a visible
  focus ring, and tells the learner to re-run the cell when the kernel has
  restarted.
"""

from __future__ import annotations

import base64
import html
import io
import struct
import zlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

__all__ = [
    "png_rgb",
    "figure_png",
    "figure_html",
    "png_html",
    "png_size",
    "description_html",
    "render_figure_html",
    "Blitter",
    "StampedText",
    "StampedAnnotation",
    "STATIC_NOTE",
    "RESTART_NOTE",
    "static_html",
    "static_bundle",
    "ACCESSIBILITY_JS",
    "FOCUS_RING_COLOUR",
]

#: Shown with the static figure of an explorer whose cell has not run in this session.
STATIC_NOTE = "This is the explorer as it starts. Run this cell (Shift+Enter) to use its controls."
#: Shown when the controls have lost their connection to Python (after a kernel restart).
RESTART_NOTE = ("If the controls show a broken-link icon or stop responding, Python has restarted: "
                "run this cell again (Shift+Enter).")
#: The focus ring: 3 px, near-black blue on white (contrast 8.6:1), with a white halo for dark backgrounds.
FOCUS_RING_COLOUR = "#00438a"


def _agg(fig: Figure) -> FigureCanvasAgg:
    return fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_rgb(rgb: np.ndarray, level: int = 1) -> bytes:
    """An 8-bit RGB image (height x width x 3) as PNG bytes, every row unfiltered, deflated at ``level``.

    About three times faster than Pillow's encoder for the explorers' figures
    (which tries five filters on every row) at the same size: flat colours
    and lines compress as well without filtering.

    Examples
    --------
    >>> data = png_rgb(np.zeros((2, 3, 3), dtype=np.uint8))
    >>> data[:8], len(data)
    (b'\\x89PNG\\r\\n\\x1a\\n', 68)
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"'rgb' must be a height x width x 3 array of uint8. Got {rgb.dtype} of shape "
                         f"{rgb.shape} instead.")
    h, w, _ = rgb.shape
    rows = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 (none) for every row
    pixels = rows[:, 1:]
    pixels.shape = (h, w, 3)  # a view of each row's pixels (setting .shape never copies)
    pixels[...] = rgb  # one copy, straight from the canvas's RGBA buffer when given a view of it
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.data, level))
            + _chunk(b"IEND", b""))


def figure_png(fig: Figure, *, draw: bool = True, tight: bool = False, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes, drawn with Agg.

    With ``draw=False`` the canvas's current pixels are used (the caller has
    already rendered them, for example by blitting).  ``tight=True`` crops to
    the drawn content (as ``savefig(bbox_inches="tight")``), for reports.

    Examples
    --------
    >>> fig = Figure(figsize=(1, 1), dpi=20)
    >>> figure_png(fig)[:4]
    b'\\x89PNG'
    """
    canvas = _agg(fig)
    if tight:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi, bbox_inches="tight")
        return buf.getvalue()
    if draw:
        canvas.draw()
    return png_rgb(np.asarray(canvas.buffer_rgba())[..., :3])


def figure_html(fig: Figure, description: str, *, draw: bool = True, caption: bool = True,
                tight: bool = False, dpi: float | None = None) -> str:
    """An HTML ``<figure>``: the PNG with ``description`` as alt text, and the same text as a caption.

    Examples
    --------
    >>> html_ = figure_html(Figure(figsize=(1, 1), dpi=20), "An empty square.")
    >>> 'alt="An empty square."' in html_, "Figure description:" in html_
    (True, True)
    """
    return png_html(figure_png(fig, draw=draw, tight=tight, dpi=dpi), description, caption=caption)


def png_html(png: bytes, description: str, *, caption: bool = True) -> str:
    """PNG bytes as an HTML ``<figure>``: the image with ``description`` as alt text, and as a caption.

    Examples
    --------
    >>> html_ = png_html(png_rgb(np.zeros((2, 3, 3), dtype=np.uint8)), "A black strip.")
    >>> 'alt="A black strip."' in html_, 'width="3" height="2"' in html_
    (True, True)
    """
    data = base64.b64encode(png).decode("ascii")
    width, height = png_size(png)
    text = html.escape(description, quote=True)
    cap = (f'<figcaption class="course-figure-description"><b>Figure description:</b> {text}</figcaption>'
           if caption else "")
    # width and height let the page lay the figure out before the image is decoded: a new image then
    # replaces the old one in place, without the page moving twice
    return (f'<figure style="margin:0"><img src="data:image/png;base64,{data}" alt="{text}" '
            f'width="{width}" height="{height}" style="max-width:100%;height:auto"/>{cap}</figure>')


def png_size(png: bytes) -> tuple:
    """(width, height) in pixels, from a PNG's header."""
    return struct.unpack(">II", png[16:24])


def description_html(description: str) -> str:
    """A live figure's visible description; ``data-alt`` holds the same text, as the figure's label.

    An explorer's figure is a canvas (:mod:`course.explorers.figure_view`)
    labelled with the same description (``role="img"``, ``aria-label``).
    """
    text = html.escape(description, quote=True)
    return (f'<p class="course-figure-description" data-alt="{text}" style="margin:2px 0">'
            f"<b>Figure description:</b> {text}</p>")


#: The name the explorers have used; the same function.
render_figure_html = figure_html


class Blitter:
    """Redraw a figure into its Agg buffer, blitting when only the dynamic artists changed.

    ``artists`` is any object with ``dynamic`` (the artists an update changes)
    and ``layout_key()`` (changes when anything else moves: axis limits, the
    number of stripes).  The static parts are drawn once and kept as a
    background; an update restores it and draws only the dynamic artists.  A
    new layout key triggers one full draw and a new background; the layout
    engine runs on each full draw and its result is then frozen, so blitted
    draws do not shift the axes.
    """

    def __init__(self, figure: Figure):
        self.figure = figure
        _agg(figure)
        self._engine = figure.get_layout_engine()
        self._background = None
        self._key = None
        self._laid_out_for = object()

    def invalidate(self) -> None:
        """Make the next :meth:`draw` a full draw (in the same layout)."""
        self._key = None

    def draw(self, artists) -> bool:
        """Render; return True when it was a full draw, False when it blitted."""
        canvas, dynamic = self.figure.canvas, artists.dynamic
        key = (artists.layout_key(), tuple(id(a) for a in dynamic))
        full = key != self._key
        if full:
            for a in dynamic:
                a.set_animated(True)
            if self._engine is not None and key[0] != self._laid_out_for:
                # lay the figure out again for the new limits (longer tick labels...), then freeze it
                self.figure.set_layout_engine(self._engine)
                canvas.draw()
                self.figure.set_layout_engine("none")
                self._laid_out_for = key[0]
            canvas.draw()  # everything but the dynamic artists
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self._key = (artists.layout_key(), key[1])
        else:
            canvas.restore_region(self._background)
        for a in dynamic:
            if a.get_visible():
                a.axes.draw_artist(a) if a.axes is not None else self.figure.draw_artist(a)
        return full


class StampedText(Text):
    """A short label that a redraw copies into place from an image of it rendered once.

    matplotlib lays a text out and rasterises its glyphs with FreeType on
    every draw: about 0.6 ms for one digit, so a row of six step numbers that
    moves with every slider step costs more than the bars under it.  This
    text is drawn once, by matplotlib, onto a transparent canvas of its own;
    later draws of the same string in the same font, colour, alignment and
    resolution copy those pixels to the text's place (to the nearest whole
    pixel).  Its box, alignment and everything else about it are a
    :class:`~matplotlib.text.Text`'s, so layout checks see it as one.

    Texts it cannot stamp faithfully (rotated, clipped, with a box, path
    effects, several lines or mathematics) are drawn as any text is.

    Examples
    --------
    The same pixels as matplotlib's own text, on the first draw and the next:

    >>> def pixels(cls):
    ...     fig = Figure(figsize=(1, 1), dpi=90); canvas = FigureCanvasAgg(fig)
    ...     fig.add_artist(cls(0.5, 0.5, "3", ha="center"))
    ...     canvas.draw(); first = np.asarray(canvas.buffer_rgba()).astype(int)
    ...     canvas.draw(); return first, np.asarray(canvas.buffer_rgba()).astype(int)
    >>> (plain, _), (first, again) = pixels(Text), pixels(StampedText)
    >>> int(abs(first - plain).max()), int(abs(again - plain).max()), int((plain < 255).sum()) > 20
    (0, 0, True)

    and where it has moved since, from the image made at its first place:

    >>> fig = Figure(figsize=(1, 1), dpi=90); canvas = FigureCanvasAgg(fig)
    >>> label = fig.add_artist(StampedText(0.5, 0.5, "3", ha="center")); canvas.draw()
    >>> label.set_x(0.2); canvas.draw(); moved = np.asarray(canvas.buffer_rgba()).astype(int)
    >>> fig = Figure(figsize=(1, 1), dpi=90); canvas = FigureCanvasAgg(fig)
    >>> _ = fig.add_artist(Text(0.2, 0.5, "3", ha="center")); canvas.draw()
    >>> int(abs(moved - np.asarray(canvas.buffer_rgba()).astype(int)).max())
    0
    """

    _stamps: dict = {}
    _MAX_STAMPS = 512

    def _stamp_key(self, renderer):
        text = self.get_text()
        if (not isinstance(renderer, RendererAgg) or "\n" in text or "$" in text or self.get_rotation() % 360
                or self.get_clip_on() and (self.get_clip_box() is not None or self.get_clip_path() is not None)
                or self.get_bbox_patch() is not None or self.get_path_effects() or self.get_usetex()
                or self.get_alpha() not in (None, 1)):
            return None
        return (text, self.get_fontproperties(), to_rgba(self.get_color()), renderer.dpi,
                self.get_horizontalalignment(), self.get_verticalalignment(), self.get_antialiased())

    def draw(self, renderer):
        if renderer is not None:
            self._renderer = renderer
        if not self.get_visible() or self.get_text() == "":
            return
        key = self._stamp_key(renderer)
        if key is None:
            return super().draw(renderer)
        anchor = self.get_transform().transform(self.get_unitless_position())
        stamp = self._stamps.get(key)
        if stamp is None:
            stamp = self._make_stamp(renderer, anchor)
            if len(self._stamps) >= self._MAX_STAMPS:
                self._stamps.clear()
            self._stamps[key] = stamp
        pixels, dx, dy = stamp
        gc = renderer.new_gc()
        gc.set_url(self._url)
        renderer.draw_image(gc, round(anchor[0] + dx), round(anchor[1] + dy), pixels)
        gc.restore()
        self.stale = False

    def _make_stamp(self, renderer, anchor):
        """The text drawn alone, cropped to its box (2 pixels of margin), and the crop's offset from the anchor.

        Everything that places the text around its anchor point (string, font,
        alignment, resolution) is part of the stamp's key, so the offset holds
        wherever the anchor moves.
        """
        box = self.get_window_extent(renderer)
        scratch = RendererAgg(renderer.width, renderer.height, renderer.dpi)
        scratch.clear()
        super().draw(scratch)
        x0, y0 = int(np.floor(box.x0)) - 2, int(np.floor(box.y0)) - 2
        x1, y1 = int(np.ceil(box.x1)) + 2, int(np.ceil(box.y1)) + 2
        height = int(renderer.height)
        x0, x1 = max(x0, 0), min(x1, int(renderer.width))
        top, bottom = max(height - y1, 0), min(height - y0, height)  # the buffer's rows run downwards
        # the crop, bottom row first: Agg's draw_image takes an image's rows upwards
        pixels = np.ascontiguousarray(np.asarray(scratch.buffer_rgba())[top:bottom, x0:x1][::-1])
        return pixels, x0 - anchor[0], (height - bottom) - anchor[1]


class StampedAnnotation(StampedText, Annotation):
    """An annotation without an arrow (a point's label, placed in offset points) drawn as :class:`StampedText`.

    With an arrow, or when the annotated point is clipped away, it draws as
    any annotation does.

    Examples
    --------
    >>> fig = Figure(figsize=(2, 1), dpi=90); canvas = FigureCanvasAgg(fig); ax = fig.add_subplot()
    >>> note = ax.add_artist(StampedAnnotation("Label", (0.5, 0.5), xytext=(10, 10), textcoords="offset points",
    ...                                        clip_on=False))
    >>> canvas.draw(); stamped = np.asarray(canvas.buffer_rgba()).astype(int)
    >>> fig = Figure(figsize=(2, 1), dpi=90); canvas = FigureCanvasAgg(fig); ax = fig.add_subplot()
    >>> _ = ax.annotate("Label", (0.5, 0.5), xytext=(10, 10), textcoords="offset points"); canvas.draw()
    >>> int(abs(stamped - np.asarray(canvas.buffer_rgba()).astype(int)).max())
    0
    """

    def draw(self, renderer):
        if renderer is not None:
            self._renderer = renderer
        if self.arrow_patch is not None or not self.get_visible() or not self._check_xy(renderer):
            return Annotation.draw(self, renderer)
        self.update_positions(renderer)
        return StampedText.draw(self, renderer)


def static_html(image_html: str) -> str:
    """What a notebook shows for an explorer where its controls cannot run: the figure and what to do."""
    return (f'<div class="course-explorer-static">{image_html}'
            f"<p><b>{html.escape(STATIC_NOTE)}</b></p>"
            f"<p>{html.escape(RESTART_NOTE)}</p></div>")


def static_bundle(widget_bundle: dict, image_html: str) -> dict:
    """A display bundle: the live widget where widgets run, else the starting figure and what to do.

    A viewer without a kernel (GitHub, nbviewer, a notebook opened before
    running it) shows ``text/html``; JupyterLab with a kernel shows the widget.
    """
    bundle = dict(widget_bundle)
    bundle["text/html"] = static_html(image_html)
    bundle["text/plain"] = STATIC_NOTE + " " + RESTART_NOTE
    return bundle


# The script shown once with each explorer.  It is idempotent (the second
# explorer of a page only re-runs ``fix``) and watches for widgets rendered later.
#
# * ipywidgets 8 renders a slider's handle (role="slider") without an accessible
#   name, and noUiSlider announces the raw slider position (the exponent of a
#   log slider: "-1.68" for 30 minutes).  Each course control is a row
#   ``.course-control`` holding the slider (its own readout switched off, so one
#   Tab stop) and the course's readout ``.course-readout``: the handle is named
#   after the description and its aria-valuetext is the readout's text.
# * ``.course-live`` elements (summaries, notes, the figure's description) become
#   polite live regions.
# * A live figure (``.course-figure``: its canvas, labelled by the widget itself, and its
#   description) gets role="figure".
# * Disabled controls leave the Tab order (tabindex -1) and come back when enabled.
# * A 3 px focus ring (WCAG 2.2 focus appearance) on every control in an explorer.
# * When a widget loses its kernel (ipywidgets adds ``jupyter-widgets-disconnected``
#   after a restart), the explorer's restart note is shown.
ACCESSIBILITY_JS = """
(function () {
  if (window.__courseA11y) { window.__courseA11y(document); return; }
  var css = '.course-explorer :focus-visible, .course-explorer .noUi-handle:focus, '
    + '.course-explorer select:focus, .course-explorer button:focus, .course-explorer input:focus '
    + '{ outline: 3px solid FOCUS !important; outline-offset: 2px !important; '
    + 'box-shadow: 0 0 0 5px #ffffff !important; }'
    + '.course-explorer .course-restart-note { display: none; }'
    + '.course-explorer.course-disconnected .course-restart-note { display: block; }';
  var style = document.createElement('style');
  style.id = 'course-a11y-style';
  style.textContent = css;
  document.head.appendChild(style);

  function syncControl(row) {
    var label = row.querySelector('.widget-label');
    var value = row.querySelector('.course-readout');
    var name = label ? label.textContent.trim() : '';
    var text = value ? value.textContent.trim() : '';
    row.querySelectorAll('.noUi-handle').forEach(function (h) {
      if (name && h.getAttribute('aria-label') !== name) { h.setAttribute('aria-label', name); }
      if (text && h.getAttribute('aria-valuetext') !== text) { h.setAttribute('aria-valuetext', text); }
    });
  }
  function syncDisabled(el) {
    var off = el.disabled || el.getAttribute('disabled') !== null;
    if (off && el.getAttribute('tabindex') !== '-1') {
      el.setAttribute('data-course-tabindex', el.getAttribute('tabindex') || '');
      el.setAttribute('tabindex', '-1');
    } else if (!off && el.hasAttribute('data-course-tabindex')) {
      var t = el.getAttribute('data-course-tabindex');
      el.removeAttribute('data-course-tabindex');
      if (t) { el.setAttribute('tabindex', t); } else { el.removeAttribute('tabindex'); }
    }
  }
  function fixSliderDisabled(slider) {
    var target = slider.querySelector('.noUi-target');
    var off = !!(target && target.hasAttribute('disabled'));
    slider.querySelectorAll('.noUi-handle').forEach(function (h) {
      var want = off ? '-1' : '0';
      if (h.getAttribute('tabindex') !== want) { h.setAttribute('tabindex', want); }
      if (off) { h.setAttribute('aria-disabled', 'true'); } else { h.removeAttribute('aria-disabled'); }
    });
  }
  function fixExplorer(root) {
    root.querySelectorAll('.course-control').forEach(syncControl);
    root.querySelectorAll('.widget-slider').forEach(fixSliderDisabled);
    root.querySelectorAll('button, select, input').forEach(syncDisabled);
    root.querySelectorAll('.course-figure').forEach(function (fig) {
      if (fig.getAttribute('role') !== 'figure') { fig.setAttribute('role', 'figure'); }
    });
    root.querySelectorAll('.course-live').forEach(function (el) {
      if (el.getAttribute('aria-live') !== 'polite') { el.setAttribute('aria-live', 'polite'); }
    });
    var dead = root.classList.contains('jupyter-widgets-disconnected')
      || root.querySelector('.jupyter-widgets-disconnected') !== null;
    if (dead !== root.classList.contains('course-disconnected')) { root.classList.toggle('course-disconnected', dead); }
  }
  function fix(scope) {
    var roots = scope.querySelectorAll ? scope.querySelectorAll('.course-explorer') : [];
    roots.forEach(fixExplorer);
    if (scope.classList && scope.classList.contains('course-explorer')) { fixExplorer(scope); }
  }
  window.__courseA11y = fix;
  fix(document);
  var pending = new Set();
  var queued = false;
  function flush() {
    queued = false;
    pending.forEach(fixExplorer);
    pending.clear();
  }
  new MutationObserver(function (records) {
    for (var i = 0; i < records.length; i++) {
      var node = records[i].target;
      var el = node.nodeType === 1 ? node : node.parentElement;
      var root = el && el.closest ? el.closest('.course-explorer') : null;
      if (root) { pending.add(root); }
      var added = records[i].addedNodes || [];
      for (var j = 0; j < added.length; j++) {
        if (added[j].nodeType === 1 && added[j].querySelectorAll) {
          added[j].querySelectorAll('.course-explorer').forEach(function (r) { pending.add(r); });
          if (added[j].classList.contains('course-explorer')) { pending.add(added[j]); }
        }
      }
    }
    if (pending.size && !queued) { queued = true; Promise.resolve().then(flush); }
  }).observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true,
                             attributeFilter: ['aria-valuetext', 'class', 'disabled']});
})();
""".replace("FOCUS", FOCUS_RING_COLOUR)
