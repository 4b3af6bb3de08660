"""The machinery every explorer shares: a thin ipywidgets view over pure functions.

An explorer does three things when a control changes: read its controls into
a parameter object, call the model, update the figure's artists in place
(:class:`course.rendering.Blitter` repaints only what changed).  Its result is
set in ``__init__`` and replaced on every change, never built lazily.

* :meth:`Explorer.suspended` is the one way to change several controls and
  update once (a preset loading six sliders redraws once);
* :meth:`Explorer.slider` builds a slider whose value the learner sees (and a
  screen reader hears) as the course writes it (:mod:`course.formatting`):
  "30 minutes", not "-1.68" or "0.0209";
* :meth:`Explorer.read` gives a slider's value without the float noise of the
  page's snapping (0.9 comes back from the page as 0.8999999999999999): every
  explorer reads its sliders through it, so a snapped value never reaches a
  model or an answer;
* the figure is a canvas that receives only the pixels that changed
  (:mod:`course.explorers.figure_view`), labelled for assistive technology
  with the visible description beside it; summaries,
  notes and the description are live regions;
* a visible note says when a setting reaches a limit the model treats
  specially (:meth:`Explorer.show_notes`);
* before its cell has run, and after a kernel restart, the explorer says what
  to do (:mod:`course.rendering`);
* with ``answer="my_stripe"`` an explorer shows its state as one answer line
  and a "Use this as my answer" button that writes it into the answer cell.

An error inside a callback is shown in the explorer (and kept in
``.last_error``), never swallowed.
"""

from __future__ import annotations

import html
import json
import keyword
import math
import os
import time
import traceback
import uuid
from contextlib import ExitStack, contextmanager
from typing import Callable

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from course.answers import format_answer
from course.explorers.figure_view import FigureView
from course.formatting import format_number, format_percent, format_signed
from course.rendering import (ACCESSIBILITY_JS, RESTART_NOTE, STATIC_NOTE, Blitter, description_html, png_html,
                              static_bundle, static_html)

__all__ = ["Explorer", "table", "notes_html", "near", "clean_value", "STYLE", "WIDE", "TIMINGS_ENV",
           "timed_explorers"]

#: Set this environment variable (to anything but "" or "0") before explorers are built, and each
#: explorer keeps the time of every update in ``.timings`` (for benchmarks; off by default).
TIMINGS_ENV = "COURSE_EXPLORER_TIMINGS"
_timed = []


def timed_explorers() -> list:
    """The explorers built with timing on (see :data:`TIMINGS_ENV`), oldest first."""
    return list(_timed)


#: Control labels are never cut off: each takes the width its text needs.
STYLE = {"description_width": "initial"}
WIDE = W.Layout(width="460px")
CONTROLS_LAYOUT = dict(flex="0 0 auto", width="auto", min_width="460px")

# "Use this as my answer": ipywidgets cannot write into a notebook cell, so a click shows a
# small script (in a hidden Output that is part of the explorer) that does it in the page.
# JupyterLab keeps each cell's text in a CodeMirror 6 editor bound to the notebook's model:
# a change dispatched on that editor reaches the model, marks the notebook as changed, and
# is kept by Save.  The script looks for the answer cell in the explorer's own notebook:
# first the cells after the explorer (an exercise puts the answer cell right after it, so
# it is rendered even when JupyterLab renders only the cells in view), then those before it,
# nearest first.  Whatever it cannot do, it says, and the learner copies the line by hand.
#
# This part is shown once with each explorer that has an answer: it notes every click on an
# answer button, so that a script replayed later (a widget view rebuilt, a saved widget state
# restored) does not write into a cell that the learner has changed since.
_ANSWER_CLICKS_JS = """
(function () {
  if (window.__courseAnswerClicks) { return; }
  window.__courseAnswerClicks = {};
  document.addEventListener('click', function (e) {
    var button = e.target && e.target.closest && e.target.closest('.course-answer-button');
    var box = button && button.closest('.course-answer');
    if (!box) { return; }
    box.classList.forEach(function (c) {
      if (c.indexOf('course-answer-id-') === 0) { window.__courseAnswerClicks[c] = Date.now(); }
    });
  }, true);
})();
"""

#: Written into the page on each click; ``CONFIG`` becomes a JSON object (see ``_answer_script``).
_WRITE_ANSWER_JS = """
(function (cfg) {
  var clicks = window.__courseAnswerClicks;
  if (clicks) {                       // only right after a click on this explorer's button
    if (!clicks[cfg.key]) { return; }
    delete clicks[cfg.key];
  }
  var boxes = Array.prototype.slice.call(document.querySelectorAll('.' + cfg.key));
  var box = boxes.filter(function (b) { return b.contains(document.activeElement); })[0]
    || boxes.filter(function (b) { return b.offsetParent !== null; })[0] || boxes[0];
  if (!box) { return; }
  function say(text, ok) {
    var el = box.querySelector('.course-answer-message');
    if (el) { el.textContent = (ok ? '\u2713 ' : '') + text; el.style.color = ok ? '#1b5e20' : '#8b0000'; }
  }
  // The CodeMirror 6 view of a cell's editor: from the .cm-content element, through
  // cmTile (CodeMirror 6.38 and later) or cmView (earlier; JupyterLab 4.6 keeps a shim).
  function editorOf(cell) {
    var el = cell.querySelector('.jp-InputArea-editor .cm-content');
    var view = null;
    try {
      if (el && el.cmTile && el.cmTile.root) { view = el.cmTile.root.view; }
      else if (el && el.cmView) { view = el.cmView.view || (el.cmView.rootView && el.cmView.rootView.view); }
    } catch (err) { view = null; }
    return view && view.state && view.state.doc && view.dispatch ? view : null;
  }
  var pattern = new RegExp('^' + cfg.name + '[ \\\\t]*=(?!=)');
  function answerLine(view) {
    var doc = view.state.doc;
    for (var n = 1; n <= doc.lines; n++) {
      var line = doc.line(n);
      if (pattern.test(line.text)) { return line; }
    }
    return null;
  }
  function attempt(tries) {
    var own = box.closest('.jp-Cell');
    var notebook = box.closest('.jp-Notebook');
    if (!own || !notebook) { say(cfg.noNotebook); return; }
    var cells = Array.prototype.slice.call(notebook.querySelectorAll('.jp-Cell.jp-CodeCell'));
    var i = cells.indexOf(own);
    var order = cells.slice(i + 1).concat(cells.slice(0, Math.max(i, 0)).reverse());
    for (var k = 0; k < order.length; k++) {
      var view = editorOf(order[k]);
      var line = view && answerLine(view);
      if (!line) { continue; }
      if (view.state.readOnly) { say(cfg.readOnly); return; }
      if (line.text !== cfg.line) {
        view.dispatch({changes: {from: line.from, to: line.to, insert: cfg.line}, userEvent: 'input.paste'});
      }
      if (view.state.doc.line(line.number).text !== cfg.line) { say(cfg.notWritten); return; }
      order[k].scrollIntoView({block: 'nearest'});
      say(cfg.written, true);
      return;
    }
    // JupyterLab may not have rendered the cell after the explorer yet: bring it into view, try again.
    var next = cells[i + 1];
    if (tries > 0 && (!next || !editorOf(next))) {
      own.scrollIntoView({block: 'end'});
      setTimeout(function () { attempt(tries - 1); }, 300);
      return;
    }
    say(cfg.notFound);
    box.scrollIntoView({block: 'nearest'});
  }
  attempt(2);
})(CONFIG);
"""




def clean_value(value, step: float, log: bool = False):
    """A slider's ``value`` without float noise, rounded far below its ``step``.

    The page snaps a value to its slider's step with float arithmetic and sends
    the result back (0.9 on a slider of step 0.01 comes back as
    0.8999999999999999).  A linear slider's value is rounded to six more
    decimals than its step has; a log slider's (whose step is in the exponent)
    to 12 significant digits.  Integers and other values are returned as they
    are.

    Examples
    --------
    >>> clean_value(0.8999999999999999, 0.01), clean_value(29.999999999999996, 0.5)
    (0.9, 30.0)
    >>> clean_value(10 ** 0.30000000000000004, 0.01, log=True) == clean_value(10 ** 0.3, 0.01, log=True)
    True
    >>> clean_value(7, 1), clean_value(0.123456, 0.001)
    (7, 0.123456)
    """
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        return value
    if log:
        return float(f"{value:.12g}")
    decimals = max(0, -math.floor(math.log10(step))) if step and step > 0 else 0
    return round(value, decimals + 6)


def near(old: float, new: float, step: float, log: bool = False) -> bool:
    """Is ``new`` within half a slider step of ``old``?

    The browser snaps a value set from Python (a preset's 2.0 days on a log
    slider becomes 1.995) and sends the snapped value back; such an echo must
    not change the model's input.
    """
    if log:
        if old <= 0 or new <= 0:
            return False
        old, new = math.log10(old), math.log10(new)
    return abs(old - new) <= step / 2 + 1e-12


def _check_answer_name(answer, owner: str):
    """``answer`` if it is a name an answer line can assign to (or None); else a clear error."""
    if answer is None:
        return None
    if not isinstance(answer, str):
        raise TypeError(f"'answer' of {owner} must be the name of the answer in quotes, such as \"my_stripe\". "
                        f"Got {type(answer).__name__} {answer!r} instead.")
    if not answer.isidentifier() or keyword.iskeyword(answer):
        raise ValueError(f"'answer' of {owner} must be a Python name such as \"my_stripe\" (letters, digits and _, "
                         f"not starting with a digit, not a Python keyword). Got {answer!r} instead.")
    return answer


def _message_html(text: str) -> str:
    return (f'<div class="course-answer-message" role="status" aria-live="polite" '
            f'style="padding:4px 8px;max-width:560px;line-height:1.4">{html.escape(text)}</div>')


def _answer_line_html(line: str) -> str:
    """The answer line in a read-only text area: focusable, selectable and copyable by hand."""
    rows = min(8, len(line) // 90 + 1)
    return (
        '<div style="margin:2px 0">Your answer line (to copy it by hand: select it, then Ctrl+C, or Cmd+C on a Mac):</div>'
        f'<textarea readonly rows="{rows}" spellcheck="false" aria-label="Your answer line, to copy by hand" '
        'style="width:100%;box-sizing:border-box;resize:vertical;font-family:var(--jp-code-font-family, monospace);'
        'font-size:var(--jp-code-font-size, 13px);color:var(--jp-content-font-color1, #000);'
        f'background:var(--jp-layout-color2, #f3f3f3);border:1px solid #767676;padding:4px">'
        f"{html.escape(line)}</textarea>"
    )


#: Shown with the static figure of an explorer whose cell has not run in this session.


def table(rows) -> str:
    """A two-column HTML table of (what, value) rows."""
    body = "".join(f"<tr><th scope='row' style='text-align:left;padding-right:12px'>{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def notes_html(notes) -> str:
    """Notes about limits the model treats specially, as one visible block (empty when there are none)."""
    notes = [n for n in notes if n]
    if not notes:
        return ""
    return ("<div class='course-note' style='border-left:4px solid #767676;padding:2px 8px;max-width:640px'>"
            "<b>Note.</b> " + " ".join(html.escape(n) for n in notes) + "</div>")


def _d3_formatter(fmt: str | None) -> Callable[[float], str]:
    """A Python formatter for the d3 formats older explorers give ("-.1f", ".0%", "+.2f", ".3g")."""
    if not fmt:
        return lambda x: format_number(x, 0) if float(x).is_integer() else format_number(x, 2)
    if fmt.endswith("%"):
        digits = int(fmt.lstrip("+.").rstrip("%f") or 0)
        return lambda x: format_percent(x, digits)
    if fmt.startswith("+") and fmt.endswith("f"):
        digits = int(fmt[2:-1] or 0)
        return lambda x: format_signed(x, digits)
    if fmt.endswith("f"):
        digits = int(fmt.lstrip(".").rstrip("f") or 0)
        return lambda x: format_number(x, digits)
    return lambda x: format_number(x, 3)


class Explorer:
    """Shared machinery: figure, readouts, notes, errors, suspended updates, display, answers."""

    _figsize = (8.0, 3.2)
    #: the class of the explorer's root element in the page, e.g. "course-agency-explorer"
    css_class = "course-explorer-generic"

    def __init__(self, answer=None):
        self._answer_name = _check_answer_name(answer, type(self).__name__)
        self.last_error = None
        self._pause_depth = 0
        self._formatters = {}
        self._scales = {}  # slider model id -> "log", "linear" or None (see read)
        self._readout_html = {}
        self._sliders = []  # held in step while suspended (see :meth:`suspended`)
        # one dict per update: when it began ("at", milliseconds since 1970), how long the whole callback
        # took ("total", ms) and, within it, the Agg draw ("draw", ms) and finding and sending the pixels
        # that changed ("send", ms), and how many bytes of pixels were sent ("bytes"); None (the default)
        # records nothing
        self.timings = [] if os.environ.get(TIMINGS_ENV, "") not in ("", "0") else None
        self._phases = None
        if self.timings is not None:
            _timed.append(self)
        self.description = ""
        self.figure = Figure(figsize=self._figsize, dpi=90, layout="constrained")
        self.blitter = Blitter(self.figure)
        self.ax = self.figure.add_subplot()
        # the figure goes to the page as raw pixels, only those that changed, painted onto a canvas
        # (course.explorers.figure_view); its description beside it is also the canvas's label
        self.image = FigureView(layout=W.Layout(max_width="100%"))
        self.image.add_class("course-figure-image")
        self.figure_description = W.HTML(layout=W.Layout(width="100%"))
        self.figure_description.add_class("course-live")
        self.figure_box = W.VBox([self.image, self.figure_description], layout=W.Layout(width="100%"))
        self.figure_box.add_class("course-figure")
        self.readout = W.HTML(layout=W.Layout(max_width="520px"))
        self.readout.add_class("course-live")
        self.note = W.HTML(layout=W.Layout(max_width="660px"))
        self.note.add_class("course-live")
        self.restart_note = W.HTML(f"<p><b>{html.escape(RESTART_NOTE)}</b></p>")
        self.restart_note.add_class("course-restart-note")
        self.error = W.HTML(layout=W.Layout(width="100%"))
        self.ui = None
        self.answer_box = None
        if self._answer_name is not None:
            self._build_answer_box()

    # controls ---------------------------------------------------------------------------
    def slider(self, cls, description: str, value, lo, hi, step, fmt=None, **kw):
        """A slider with the course's readout: ``fmt`` is a function (value -> text) or a d3 format.

        The slider's own readout is switched off (it would add a second Tab stop
        and show the raw number); :meth:`row` puts the formatted text beside it.
        """
        w = cls(value=value, min=lo, max=hi, step=step, description=description, continuous_update=True,
                readout=False, style=STYLE, layout=W.Layout(width="330px"), **kw)
        return self._with_readout(w, fmt if callable(fmt) else _d3_formatter(fmt))

    def choice_slider(self, description: str, values, value, fmt: Callable[[float], str]):
        """A slider over a list of values (for example waits of 0, 15 minutes, 1 hour, 1 day ...).

        Every value is a stop, so the ends land exactly (dragging a wait to 0 gives 0).
        """
        w = W.SelectionSlider(options=[(fmt(v), v) for v in values], value=value, description=description,
                              continuous_update=True, readout=False, style=STYLE, layout=W.Layout(width="330px"))
        return self._with_readout(w, fmt)

    def _with_readout(self, w, fmt: Callable):
        """Register slider ``w`` with the course's readout beside it, kept up to date with ``fmt``.

        Its value is then read through :meth:`read`, without the page's float noise.
        """
        self._formatters[w.model_id] = fmt
        # how read() cleans its value: a log or linear float slider; None keeps it (integers, a list of stops)
        self._scales[w.model_id] = ("log" if isinstance(w, W.FloatLogSlider)
                                    else "linear" if isinstance(w, W.FloatSlider) else None)
        self._sliders.append(w)
        self._readout_html[w.model_id] = W.HTML(layout=W.Layout(min_width="110px"))
        w.observe(lambda change, w=w: self._show_value(w), names="value")
        self._show_value(w)
        return w

    def read(self, w):
        """Slider ``w``'s value as a model should get it: without the float noise of the page's snapping.

        0.8999999999999999 (0.9 as the page snapped it) reads as 0.9, so
        neither a model nor an answer line ever sees the noise.  A control
        that is not one of this explorer's sliders gives its value as it is.
        """
        scale = self._scales.get(w.model_id)
        if scale is None:
            return w.value
        return clean_value(w.value, w.step, log=scale == "log")

    def _show_value(self, w) -> None:
        v = self.read(w)
        text = self._formatters[w.model_id](v)
        exact = repr(float(v)) if isinstance(v, (int, float)) else html.escape(str(v))
        self._readout_html[w.model_id].value = (f'<span class="course-readout" data-value="{exact}" '
                                                f'style="padding-left:6px">{html.escape(text)}</span>')

    def readout_text(self, w) -> str:
        """The text the readout beside slider ``w`` shows (what a screen reader says for it)."""
        return self._formatters[w.model_id](self.read(w))

    def row(self, w):
        """A slider and its readout, as one row (or any other control as it is)."""
        if w.model_id not in self._readout_html:
            return w
        box = W.HBox([w, self._readout_html[w.model_id]], layout=W.Layout(align_items="center"))
        box.add_class("course-control")
        return box

    def controls(self, *widgets):
        """A column of control rows that never shrinks below its content."""
        return W.VBox([self.row(w) for w in widgets], layout=W.Layout(**CONTROLS_LAYOUT))

    def layout(self, controls, side, *, above_figure=()):
        """The explorer's page: controls beside the readouts (wrapping below on narrow pages), notes, figure."""
        top = W.Box([controls, side], layout=W.Layout(display="flex", flex_flow="row wrap",
                                                       align_items="flex-start", width="100%"))
        ui = W.VBox([top, self.note, *above_figure, self.figure_box, self.restart_note, *self._answer_widgets(),
                     self.error])
        ui.add_class("course-explorer")
        ui.add_class(self.css_class)
        return ui

    @staticmethod
    def set_enabled(enabled: bool, *widgets) -> None:
        """Enable or disable controls; disabled ones also leave the Tab order."""
        for w in widgets:
            w.disabled = not enabled
            if hasattr(w, "tabbable"):
                w.tabbable = None if enabled else False

    def show_notes(self, notes) -> None:
        """Show notes about limits the model treats specially (none: the area is empty)."""
        self.note.value = notes_html(notes)

    # "Use this as my answer" ----------------------------------------------------------
    def _answer_value(self):
        """The state an answer line records (each explorer says which)."""
        raise NotImplementedError

    def answer_line(self, name: str | None = None) -> str:
        """The one line that gives the answer ``name`` (default: the explorer's ``answer``) its current state.

        It is exactly :func:`course.answers.format_answer` of the explorer's state.
        """
        name = self._answer_name if name is None else _check_answer_name(name, f"{type(self).__name__}.answer_line")
        if name is None:
            raise TypeError(f"{type(self).__name__}.answer_line() needs a name: give one, or build the explorer "
                            f"with answer=\"my_answer\".")
        return format_answer(name, self._answer_value())

    def _build_answer_box(self):
        name = self._answer_name
        self._answer_key = f"course-answer-id-{uuid.uuid4().hex[:12]}"
        self.answer_button = W.Button(
            description="Use this as my answer", button_style="primary",
            tooltip=f"Write this state into your answer cell, the cell with the line {name} = ...",
            layout=W.Layout(width="auto", min_width="200px"))
        self.answer_button.add_class("course-answer-button")
        self.answer_field = W.HTML(layout=W.Layout(width="100%"))
        self.answer_field.add_class("course-answer-line")
        self.answer_status = W.HTML(_message_html(""))
        self.answer_status.add_class("course-answer-status")
        # holds the script that writes into the answer cell; it shows nothing
        self._answer_script_area = W.Output(layout=W.Layout(display="none"))
        self._shown_line = None
        self.answer_button.on_click(self._on_answer_click)
        self.answer_box = W.VBox([W.HTML("<b>Your answer</b>"), self.answer_field,
                                  W.HBox([self.answer_button, self.answer_status],
                                         layout=W.Layout(align_items="center")),
                                  self._answer_script_area],
                                 layout=W.Layout(width="100%", border="1px solid #767676", padding="4px 8px",
                                                 margin="6px 0"))
        self.answer_box.add_class("course-answer")
        self.answer_box.add_class(self._answer_key)

    def _answer_widgets(self) -> list:
        """The answer box, for the explorer's layout (nothing without ``answer``)."""
        return [] if self.answer_box is None else [self.answer_box]

    def _refresh_answer(self):
        if self.answer_box is None:
            return
        line = self.answer_line()
        if line != self._shown_line:
            self._shown_line = line
            self.answer_field.value = _answer_line_html(line)
            self.answer_status.value = _message_html("")

    def _answer_script(self, line: str) -> str:
        name = self._answer_name
        config = {
            "key": self._answer_key, "name": name, "line": line,
            "written": "Your answer cell now holds this line: run it with Shift+Enter.",
            "notFound": f"Could not find your answer cell (the cell with a line that starts {name} =). "
                        "Copy the line above into it by hand.",
            "readOnly": f"Your answer cell ({name} = ...) cannot be edited here. Copy the line above by hand.",
            "notWritten": "The answer cell did not take the line. Copy the line above into it by hand.",
            "noNotebook": "The button works in JupyterLab. Here, copy the line above into your answer cell by hand.",
        }
        return _WRITE_ANSWER_JS.replace("CONFIG", json.dumps(config))

    def _on_answer_click(self, _button=None):
        from IPython.display import Javascript

        try:
            line = self.answer_line()
            self._refresh_answer()
            self.answer_status.value = _message_html(
                f"Writing this line into your answer cell (the cell with {self._answer_name} = ...). "
                "If that cell does not change, copy the line above into it by hand.")
            self._answer_script_area.outputs = ()
            self._answer_script_area.append_display_data(Javascript(self._answer_script(line)))
        except Exception as exc:  # shown to the learner, never swallowed
            self._report(exc)

    @contextmanager
    def suspended(self, update: bool = True):
        """Change several controls, then update once at the end (``update=False``: not at all).

        Each slider's changes reach the page as one message when the block ends.
        The page re-snaps a slider's value to its step whenever its range
        changes, and sends the result back if it differs (30 on a 0-365 slider
        comes back as 29.999999999999996).  Were a new ``max`` sent before the
        new ``value``, the page would send back the *previous* value, which
        would arrive after the new one and read as the learner's move (a
        preset's episode jumping to the last preset's day).
        """
        self._pause_depth += 1
        try:
            with ExitStack() as held:
                for w in self._sliders:
                    held.enter_context(w.hold_sync())
                yield self
        finally:
            self._pause_depth -= 1
        if update and not self._pause_depth:
            self._on_change()

    @property
    def paused(self) -> bool:
        """True inside :meth:`suspended`: control callbacks do nothing then."""
        return self._pause_depth > 0

    def _on_change(self, change=None):
        if self.paused:
            return
        timing = self.timings is not None
        if timing:
            self._phases, t0 = {"at": time.time() * 1000}, time.perf_counter()
        try:
            # the figure reaches the page first: the tables and notes are sent once it has gone
            with ExitStack() as later:
                for name in self._texts_after_figure:
                    later.enter_context(getattr(self, name).hold_sync())
                self._update()
            self._refresh_answer()
        except Exception as exc:  # shown to the learner, and kept for tests
            self._report(exc)
        else:
            self.last_error = None
            self.error.value = ""
        if timing:
            self._phases["total"] = (time.perf_counter() - t0) * 1000
            self.timings.append(self._phases)
            self._phases = None

    #: The text widgets an update sends after the figure (their messages are held until it has gone).
    _texts_after_figure = ("readout", "note", "figure_description")

    def _update(self):
        raise NotImplementedError

    def _report(self, exc: Exception) -> None:
        self.last_error = exc
        detail = html.escape(f"{type(exc).__name__}: {exc}")
        self.error.value = (
            f'<div role="alert" style="color:#8B0000;border:1px solid #8B0000;padding:4px">'
            f"<b>Something went wrong:</b> {detail}</div>"
        )
        self._traceback = traceback.format_exc()

    def _observe(self, *controls):
        for c in controls:
            c.observe(self._on_change, names="value")

    def _draw(self) -> None:
        """Render the figure into the Agg buffer (blitting when only the dynamic artists changed)."""
        self.blitter.draw(self.artists)

    def _render(self, description: str) -> None:
        """Draw the figure and send the pixels that changed; then its description (also the canvas's label)."""
        timing = self._phases is not None
        if timing:
            t0 = time.perf_counter()
        self._draw()
        if timing:
            t1 = time.perf_counter()
        sent = self.image.show(np.asarray(self.figure.canvas.buffer_rgba()))
        if timing:
            t2 = time.perf_counter()
        if description != self.description or not self.figure_description.value:
            self.figure_description.value = description_html(description)
            self.image.alt = description
        self.description = description
        if timing:
            self._phases.update(draw=(t1 - t0) * 1000, send=(t2 - t1) * 1000, bytes=sent)

    def figure_html(self) -> str:
        """The figure as it is now, as an HTML ``<figure>`` with alt text and caption (for a saved notebook)."""
        return png_html(self.image.value, self.description)

    def static_html(self) -> str:
        """What a saved notebook shows before this cell has run: the figure, its description, and what to do."""
        return static_html(self.figure_html())

    def _ipython_display_(self):
        from IPython.display import display

        # The live controls where widgets can run; elsewhere (a notebook opened before running it, or
        # a viewer without a kernel) the figure as it starts, instead of a "VBox(...)" text.
        display(static_bundle(self.ui._repr_mimebundle_(), self.figure_html()), raw=True)
        js = ACCESSIBILITY_JS + (_ANSWER_CLICKS_JS if self.answer_box is not None else "")
        display({"application/javascript": js, "text/plain": ""}, raw=True)
