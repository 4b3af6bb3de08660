"""Explorers: thin ipywidgets views over the course's models.

Each explorer does three things when a control changes: read the controls
into a parameter object, call the model, update the figure's artists in
place.  The figure is rendered with matplotlib's Agg backend into an image
that carries its own text description, so explorers need no front-end
extension beyond ipywidgets and work the same in JupyterLab, Notebook and
exported HTML.

Every explorer exposes its root container as ``.ui`` and displays itself
when it is the last expression of a cell.  An error inside a callback is
shown in the explorer (and kept in ``.last_error``), never swallowed.

With ``answer="my_stripe"`` an explorer also shows its state as one answer
line, ``my_stripe = AgencyParams(...)`` (``.answer_line()``, made by
:func:`course.answers.format_answer`), in a read-only field the learner can
copy, and a "Use this as my answer" button that writes the line into the
notebook's answer cell in JupyterLab.
"""

from __future__ import annotations

import base64
import html
import io
import json
import keyword
import traceback
import uuid
from contextlib import contextmanager

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from course import plots
from course.answers import format_answer
from course.agency import PRESETS, AgencyParams, Episode, agency_profile, summarize
from course.services import ServiceProfile, classify, load_catalogue
from course.value_stream import MINUTES_PER_DAY, load_example_maps

__all__ = ["AgencyExplorer", "ServiceExplorer", "ValueStreamExplorer", "render_figure_html"]

_WIDE = W.Layout(width="420px")

# ipywidgets 8 renders a slider's handle (role="slider") and its editable readout without an
# accessible name: the visible description is not linked to them.  This script, shown once
# with each explorer, names them after the description so that screen readers announce
# "Patient agency at start, slider, 0.85".  It watches for widgets rendered later.
_NAME_SLIDERS_JS = """
(function () {
  if (window.__courseNameSliders) { window.__courseNameSliders(); return; }
  function name() {
    document.querySelectorAll('.widget-slider').forEach(function (el) {
      var label = el.querySelector('.widget-label');
      var text = label ? label.textContent.trim() : '';
      if (!text) { return; }
      el.querySelectorAll('.noUi-handle').forEach(function (h) {
        if (h.getAttribute('aria-label') !== text) { h.setAttribute('aria-label', text); }
      });
      el.querySelectorAll('.widget-readout').forEach(function (r) {
        var t = text + ' (value)';
        if (r.getAttribute('aria-label') !== t) { r.setAttribute('aria-label', t); }
      });
    });
  }
  window.__courseNameSliders = name;
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
})();
"""


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


def _near(old: float, new: float, step: float, log: bool = False) -> bool:
    """Is ``new`` within half a slider step of ``old``?

    The browser snaps a value set from Python (a preset's 2.0 days on a log
    slider becomes 1.995) and sends the snapped value back; such an echo must
    not change the model's input.
    """
    import math

    if log:
        if old <= 0 or new <= 0:
            return False
        old, new = math.log10(old), math.log10(new)
    return abs(old - new) <= step / 2 + 1e-12
_STYLE = {"description_width": "190px"}


def render_figure_html(fig: Figure, description: str, *, draw: bool = True) -> str:
    """Draw ``fig`` with Agg and return an HTML figure with alt text and caption.

    With ``draw=False`` the canvas's current pixels are used (the caller has
    already rendered them, for example by blitting).
    """
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    if draw:
        canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    buf = io.BytesIO()
    Image.fromarray(rgba[..., :3]).save(buf, format="PNG", compress_level=1)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    text = html.escape(description, quote=True)
    return (
        f'<figure style="margin:0"><img src="data:image/png;base64,{data}" alt="{text}" '
        f'style="max-width:100%;height:auto"/>'
        f'<figcaption class="course-figure-description"><b>Figure description:</b> {text}</figcaption></figure>'
    )


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
STATIC_NOTE = "This is the explorer as it starts. Run this cell (Shift+Enter) to use its controls."


class _Explorer:
    """Shared machinery: figure, error area, suspended updates, display, "Use this as my answer"."""

    _figsize = (8.0, 3.2)

    def __init__(self, answer=None):
        self._answer_name = _check_answer_name(answer, type(self).__name__)
        self.last_error = None
        self._suspended = 0
        self.figure = Figure(figsize=self._figsize, dpi=90, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_subplot()
        self.image = W.HTML(layout=W.Layout(width="100%"))
        self.readout = W.HTML()
        self.error = W.HTML(layout=W.Layout(width="100%"))
        self.ui = None
        self.answer_box = None
        if self._answer_name is not None:
            self._build_answer_box()

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
    def _hold(self):
        """Change several controls and update once, at the end."""
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1
        if not self._suspended:
            self._on_change()

    def _on_change(self, change=None):
        if self._suspended:
            return
        try:
            self._update()
            self._refresh_answer()
        except Exception as exc:  # shown to the learner, and kept for tests
            self._report(exc)
        else:
            self.last_error = None
            self.error.value = ""

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
        """Render the figure into the Agg buffer, blitting when only the dynamic artists changed.

        The static parts (axes, ticks, labels, legend) are drawn once and kept
        as a background; an update restores that background and draws only
        the artists it changed.  Anything that moves the layout (new axis
        limits, another stripe) triggers one full draw and a new background.
        """
        canvas, artists = self.figure.canvas, self.artists
        dynamic = artists.dynamic
        key = (artists.layout_key(), tuple(id(a) for a in dynamic))
        if key != getattr(self, "_background_key", None):
            for a in dynamic:
                a.set_animated(True)
            canvas.draw()  # full draw without the dynamic artists
            if self.figure.get_layout_engine() is not None:
                self.figure.set_layout_engine("none")  # freeze the layout found in the first draw
                canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self._background_key = (artists.layout_key(), key[1])
        else:
            canvas.restore_region(self._background)
        for a in dynamic:
            a.axes.draw_artist(a) if a.axes is not None else self.figure.draw_artist(a)

    def _render(self, description: str) -> None:
        self.description = description
        self._draw()
        self.image.value = render_figure_html(self.figure, description, draw=False)

    def static_html(self) -> str:
        """What a saved notebook shows before this cell has run: the figure, its description, and what to do."""
        return (f'<div class="course-explorer-static">{self.image.value}'
                f"<p><b>{html.escape(STATIC_NOTE)}</b></p></div>")

    def _ipython_display_(self):
        from IPython.display import display

        # The live controls where widgets can run; elsewhere (a notebook opened before running it, or
        # a viewer without a kernel) the figure as it starts, instead of a "VBox(...)" text.
        bundle = dict(self.ui._repr_mimebundle_())
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = STATIC_NOTE
        display(bundle, raw=True)
        js = _NAME_SLIDERS_JS + (_ANSWER_CLICKS_JS if self.answer_box is not None else "")
        display({"application/javascript": js, "text/plain": ""}, raw=True)


def _slider(cls, description, value, lo, hi, step, fmt=None, **kw):
    extra = {"readout_format": fmt} if fmt else {}
    return cls(value=value, min=lo, max=hi, step=step, description=description, continuous_update=True,
               style=_STYLE, layout=_WIDE, **extra, **kw)


def _table(rows) -> str:
    body = "".join(f"<tr><th scope='row' style='text-align:left;padding-right:12px'>{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


class AgencyExplorer(_Explorer):
    """Shape Batalden's blue/green agency stripe with sliders.

    Examples
    --------
    >>> ex = AgencyExplorer(preset="Cataract surgery")
    >>> ex.baseline.value = 0.5
    >>> float(ex.profile.patient[0])
    0.5
    """

    def __init__(self, preset: str = "Self-managing patient with occasional acute events", compare_with=None, *,
                 answer: str | None = None):
        super().__init__(answer=answer)
        if preset not in PRESETS:
            allowed = ", ".join(repr(k) for k in PRESETS)
            raise ValueError(f"'preset' of AgencyExplorer must be one of {allowed}. Got {preset!r} instead.")
        self.preset = W.Dropdown(options=list(PRESETS), value=preset, description="Preset", style=_STYLE, layout=_WIDE)
        self.compare = W.Dropdown(options=["(none)"] + list(PRESETS), value=compare_with or "(none)",
                                  description="Compare with", style=_STYLE, layout=_WIDE)
        self.baseline = _slider(W.FloatSlider, "Patient agency at start", 0.8, 0, 1, 0.01, ".2f")
        self.trend = _slider(W.FloatSlider, "Change per year", 0.0, -0.5, 0.5, 0.01, "+.2f")
        self.horizon = _slider(W.IntSlider, "Length of stripe (days)", 365, 30, 1460, 5)
        self.episode = W.Dropdown(description="Episode", style=_STYLE, layout=_WIDE)
        self.start = _slider(W.FloatSlider, "Episode starts on day", 0, 0, 1460, 0.5, ".1f")
        self.duration = W.FloatLogSlider(value=1, base=10, min=-3, max=2.5, step=0.01, description="Episode lasts (days)",
                                         readout_format=".3g", style=_STYLE, layout=_WIDE)
        self.depth = _slider(W.FloatSlider, "Patient agency lost", 0.5, 0, 1, 0.01, ".0%")
        self.recovery = W.FloatLogSlider(value=7, base=10, min=-1, max=2.5, step=0.01,
                                         description="Half-recovered after (days)", readout_format=".3g",
                                         style=_STYLE, layout=_WIDE)
        self.add_button = W.Button(description="Add episode", tooltip="Add an episode to the stripe")
        self.remove_button = W.Button(description="Remove episode", tooltip="Remove the selected episode")
        self.caption = W.HTML()
        self._episodes: tuple = ()
        self._load_preset(preset)
        self.artists = plots.draw_agency(self.ax, self._profiles())
        self._n_stripes = len(self.artists.boundaries)
        self._observe(self.baseline, self.trend, self.horizon, self.start, self.duration, self.depth,
                      self.recovery, self.compare)
        self.preset.observe(self._on_preset, names="value")
        self.episode.observe(self._on_episode, names="value")
        self.add_button.on_click(self._on_add)
        self.remove_button.on_click(self._on_remove)
        episode_box = W.VBox([self.episode, self.start, self.duration, self.depth, self.recovery,
                              W.HBox([self.add_button, self.remove_button])])
        controls = W.VBox([self.preset, self.compare, self.baseline, self.trend, self.horizon,
                           W.HTML("<b>Episodes</b> (acute events or procedures)"), episode_box])
        self.ui = W.VBox([W.HBox([controls, W.VBox([self.readout, self.caption])]), self.image,
                          *self._answer_widgets(), self.error])
        self.ui.add_class("course-agency-explorer")
        self._on_change()

    # reading controls into parameters ------------------------------------------
    def _current_episode_from_sliders(self, index=None) -> Episode:
        """Episode ``index`` (default: the selected one) as the sliders show it.

        Stored values that the sliders only snapped to their step are kept.
        """
        old = self._episodes[self.episode.value if index is None else index]
        start = old.start_days if _near(old.start_days, self.start.value, self.start.step) else self.start.value
        duration = (old.duration_days if _near(old.duration_days, self.duration.value, self.duration.step, log=True)
                    else self.duration.value)
        depth = old.depth if _near(old.depth, self.depth.value, self.depth.step) else self.depth.value
        recovery = (old.recovery_days if _near(old.recovery_days, self.recovery.value, self.recovery.step, log=True)
                    else self.recovery.value)
        return Episode(start, duration, depth, recovery, old.label)

    @property
    def params(self) -> AgencyParams:
        """The parameters the controls currently describe."""
        episodes = list(self._episodes)
        if episodes and self.episode.value is not None:
            episodes[self.episode.value] = self._current_episode_from_sliders()
        return AgencyParams(baseline=self.baseline.value, trend_per_year=self.trend.value,
                            episodes=tuple(episodes), horizon_days=float(self.horizon.value),
                            name=self.preset.value)

    @property
    def profile(self):
        return agency_profile(self.params)

    def _answer_value(self):
        return self.params

    def _profiles(self):
        profs = [agency_profile(self.params)]
        if self.compare.value != "(none)":
            profs.append(agency_profile(PRESETS[self.compare.value]))
        return profs

    # control callbacks ------------------------------------------------------------
    def _load_preset(self, name):
        p = PRESETS[name]
        self._suspended += 1
        try:
            self.baseline.value = p.baseline
            self.trend.value = p.trend_per_year
            self.horizon.value = int(round(p.horizon_days))
            self._episodes = p.episodes
            self._refresh_episode_menu(0 if p.episodes else None)
            self.caption.value = f"<p style='max-width:380px'>{html.escape(p.description)}</p>"
        finally:
            self._suspended -= 1

    def _refresh_episode_menu(self, index):
        self._suspended += 1
        try:
            self.episode.options = [(f"{i + 1}: {e.label} (day {e.start_days:g})", i)
                                    for i, e in enumerate(self._episodes)]
            self.episode.value = index
            self._show_episode(index)
        finally:
            self._suspended -= 1

    def _show_episode(self, index):
        disabled = index is None
        for s in (self.start, self.duration, self.depth, self.recovery, self.remove_button):
            s.disabled = disabled
        if disabled:
            return
        e = self._episodes[index]
        self.start.value, self.duration.value = e.start_days, e.duration_days
        self.depth.value, self.recovery.value = e.depth, e.recovery_days

    def _commit_episode_sliders(self, previous):
        if previous is not None and previous < len(self._episodes):
            eps = list(self._episodes)
            eps[previous] = self._current_episode_from_sliders(previous)
            self._episodes = tuple(eps)

    def _on_preset(self, change):
        with self._hold():
            self._load_preset(change["new"])

    def _on_episode(self, change):
        if self._suspended:
            return
        with self._hold():
            self._commit_episode_sliders(change["old"])
            self._show_episode(change["new"])

    def _on_add(self, _button=None):
        with self._hold():
            self._commit_episode_sliders(self.episode.value)
            day = min(self.horizon.value / 2, float(self.horizon.value))
            self._episodes = self._episodes + (Episode(day, 2.0, 0.8, 7.0, "new episode"),)
            self._refresh_episode_menu(len(self._episodes) - 1)

    def _on_remove(self, _button=None):
        if self.episode.value is None:
            return
        with self._hold():
            eps = list(self._episodes)
            del eps[self.episode.value]
            self._episodes = tuple(eps)
            self._refresh_episode_menu(0 if eps else None)

    # model -> view -------------------------------------------------------------------
    def _update(self):
        profiles = self._profiles()
        if len(profiles) != self._n_stripes:
            self.ax.clear()
            self.artists = plots.draw_agency(self.ax, profiles)
            self._n_stripes = len(profiles)
        else:
            plots.update_agency(self.artists, profiles)
        self.summary = summarize(profiles[0])
        self.readout.value = "<b>Summary of your stripe</b>" + _table(
            (k, f"{v:.0%}") for k, v in self.summary.as_dict().items())
        self._render(plots.describe_agency(profiles))


class ServiceExplorer(_Explorer):
    """Set a service's features and see its label, score and reasons.

    Examples
    --------
    >>> ex = ServiceExplorer(start_from="Cataract surgery")
    >>> ex.classification.label
    'product-like'
    >>> ex.professional_share.value = 0.1
    >>> ex.classification.label
    'mixed'
    >>> ex.concrete_procedure.value = False
    >>> ex.classification.label
    'pure service'
    """

    _figsize = (7.5, 3.6)

    def __init__(self, start_from: str = "Cataract surgery", *, answer: str | None = None):
        super().__init__(answer=answer)
        self.catalogue = load_catalogue()
        names = [e.name for e in self.catalogue]
        if start_from not in names:
            allowed = ", ".join(repr(n) for n in names)
            raise ValueError(f"'start_from' of ServiceExplorer must be one of {allowed}. Got {start_from!r} instead.")
        self.start_from = W.Dropdown(options=names, value=start_from, description="Start from", style=_STYLE,
                                     layout=_WIDE)
        self.name = W.Text(description="Service name", style=_STYLE, layout=_WIDE)
        self.episode_days = W.FloatLogSlider(value=1, base=10, min=-2.5, max=3.6, step=0.01,
                                             description="Episode length (days)", readout_format=".3g",
                                             style=_STYLE, layout=_WIDE)
        self.professional_share = _slider(W.FloatSlider, "Professionals' share of agency", 0.5, 0, 1, 0.01, ".0%")
        self.concrete_procedure = W.Checkbox(description="A concrete procedure dominates", indent=False)
        self.physical_item = W.Checkbox(description="A physical item is handed over", indent=False)
        self.simultaneous = W.Checkbox(description="Produced and consumed at once", indent=False)
        self.label = W.HTML()
        self.reasons = W.HTML(layout=W.Layout(max_width="520px"))
        self._load(start_from)
        self.artists = plots.draw_service_map(self.ax, self.catalogue, self.service)
        self._observe(self.name, self.episode_days, self.professional_share, self.concrete_procedure,
                      self.physical_item, self.simultaneous)
        self.start_from.observe(self._on_start_from, names="value")
        controls = W.VBox([self.start_from, self.name, self.episode_days, self.professional_share,
                           self.concrete_procedure, self.physical_item, self.simultaneous])
        self.ui = W.VBox([W.HBox([controls, W.VBox([self.label, self.reasons])]), self.image,
                          *self._answer_widgets(), self.error])
        self.ui.add_class("course-service-explorer")
        self._on_change()

    def _load(self, name):
        entry = next(e for e in self.catalogue if e.name == name)
        p = entry.profile
        self._suspended += 1
        try:
            self.name.value = p.name
            self.episode_days.value = p.episode_days
            self._loaded_days = p.episode_days
            self.professional_share.value = p.professional_share
            self.concrete_procedure.value = p.concrete_procedure
            self.physical_item.value = p.physical_item
            self.simultaneous.value = p.simultaneous
        finally:
            self._suspended -= 1

    def _on_start_from(self, change):
        with self._hold():
            self._load(change["new"])

    @property
    def service(self) -> ServiceProfile:
        days = self.episode_days.value
        loaded = getattr(self, "_loaded_days", None)
        if loaded is not None and _near(loaded, days, self.episode_days.step, log=True):
            days = loaded  # the slider only snapped the catalogue's value to its step
        return ServiceProfile(name=self.name.value.strip() or "Unnamed service", episode_days=days,
                              professional_share=self.professional_share.value,
                              concrete_procedure=self.concrete_procedure.value,
                              physical_item=self.physical_item.value, simultaneous=self.simultaneous.value)

    def _answer_value(self):
        return self.service

    def _update(self):
        service = self.service
        self.classification = classify(service)
        c = self.classification
        shape = {"product-like": "&#9632;", "mixed": "&#9670;", "pure service": "&#9679;"}[c.label]
        self.label.value = (f"<h3 style='margin:4px 0'>{shape} {html.escape(c.label)} "
                            f"<span style='font-weight:normal'>(score {c.score:.2f} of 1)</span></h3>")
        self.reasons.value = "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in c.reasons) + "</ul>"
        plots.update_service_map(self.artists, service)
        self._render(plots.describe_service_map(service, self.catalogue))


class ValueStreamExplorer(_Explorer):
    """Pick a pathway, change its waits and process times, and see what the map misses.

    Examples
    --------
    >>> ex = ValueStreamExplorer("Hip replacement pathway")
    >>> before = ex.map.lead_time_minutes
    >>> ex.step.value = 1
    >>> ex.wait_days.value = 0
    >>> round(before - ex.map.lead_time_minutes)
    60480
    """

    _figsize = (8.5, 3.0)

    def __init__(self, pathway: str = "Hip replacement pathway", *, answer: str | None = None):
        super().__init__(answer=answer)
        self.maps = load_example_maps()
        if pathway not in self.maps:
            allowed = ", ".join(repr(k) for k in self.maps)
            raise ValueError(f"'pathway' of ValueStreamExplorer must be one of {allowed}. Got {pathway!r} instead.")
        self.pathway = W.Dropdown(options=list(self.maps), value=pathway, description="Pathway", style=_STYLE,
                                  layout=_WIDE)
        self.step = W.Dropdown(description="Step", style=_STYLE, layout=_WIDE)
        self.wait_days = _slider(W.FloatSlider, "Wait before step (days)", 0, 0, 120, 0.5, ".1f")
        self.process_minutes = _slider(W.FloatSlider, "Process time (minutes)", 0, 0, 600, 1, ".0f")
        self.value_added = W.Checkbox(description="Step adds value", indent=False)
        self.demand = _slider(W.IntSlider, "Patients per day (demand)", 4, 1, 200, 1)
        self.available = _slider(W.IntSlider, "Working minutes per day", 480, 60, 1440, 10)
        self._load(pathway)
        self.artists = plots.draw_value_stream(self.ax, self.map, self._profile())
        self._observe(self.wait_days, self.process_minutes, self.value_added, self.demand, self.available)
        self.pathway.observe(self._on_pathway, names="value")
        self.step.observe(self._on_step, names="value")
        controls = W.VBox([self.pathway, self.step, self.wait_days, self.process_minutes, self.value_added,
                           self.demand, self.available])
        self.ui = W.VBox([W.HBox([controls, self.readout]), self.image, *self._answer_widgets(), self.error])
        self.ui.add_class("course-value-stream-explorer")
        self._on_change()

    def _profile(self):
        """The pathway's agency stripe, moved with the map (see ``ValueStreamMap.fit_stripe``).

        The stripe was drawn for the pathway as shipped; when a wait changes,
        its episodes move with their steps, so the map and the stripe never
        drift apart.
        """
        drawn_for = self.maps[self.pathway.value]
        return agency_profile(self._map.fit_stripe(PRESETS[drawn_for.agency_preset], drawn_for))

    def _shipped_days(self) -> float:
        """How many days the pathway as shipped spans (map or stripe): the time axis keeps at least this."""
        drawn_for = self.maps[self.pathway.value]
        return max(PRESETS[drawn_for.agency_preset].horizon_days, drawn_for.lead_time_days)

    def _load(self, name):
        self._map = self.maps[name]
        self._suspended += 1
        try:
            self.step.options = [(f"{i + 1}: {s.name}", i) for i, s in enumerate(self._map.steps)]
            self.step.value = 0
            self._show_step(0)
        finally:
            self._suspended -= 1

    def _show_step(self, i):
        s = self._map.steps[i]
        self._suspended += 1
        try:
            self.wait_days.max = max(120.0, s.wait_minutes / MINUTES_PER_DAY)
            self.wait_days.value = s.wait_minutes / MINUTES_PER_DAY
            self.process_minutes.max = max(600.0, s.process_minutes)
            self.process_minutes.value = s.process_minutes
            self.value_added.value = s.value_added
        finally:
            self._suspended -= 1

    def _on_pathway(self, change):
        with self._hold():
            self._load(change["new"])

    def _on_step(self, change):
        if self._suspended or change["new"] is None:
            return
        with self._hold():  # the readout shows the chosen step's occupancy
            self._show_step(change["new"])

    @property
    def map(self):
        """The map the controls currently describe."""
        i = self.step.value
        return self._map.replace_step(i, wait_minutes=self.wait_days.value * MINUTES_PER_DAY,
                                      process_minutes=float(self.process_minutes.value),
                                      value_added=self.value_added.value)

    def _answer_value(self):
        return self.map

    def _update(self):
        self._map = vsm = self.map
        self.stripe = profile = self._profile()
        cov = vsm.coverage(profile)
        takt = vsm.takt_time_minutes(available_minutes=self.available.value, demand=self.demand.value)
        b = vsm.bottleneck
        step = vsm.steps[self.step.value]
        self.coverage = cov
        self.readout.value = "<b>What the map measures</b>" + _table([
            ("Lead time", f"{vsm.lead_time_days:.1f} days"),
            ("Process time", f"{vsm.process_minutes:.0f} minutes"),
            ("Value-added time", f"{vsm.value_added_minutes:.0f} minutes"),
            ("Process cycle efficiency", f"{vsm.process_cycle_efficiency:.3%}"),
            ("Takt time", f"{takt:.1f} minutes per patient"),
            ("This step holds each patient",
             f"{step.occupied_minutes:.0f} minutes ({step.occupied_minutes / MINUTES_PER_DAY:.1f} days), "
             f"{step.servers} at a time"),
            ("Bottleneck step", f"{b.name} ({b.minutes_per_patient:.0f} min per patient)"
             + ("" if vsm.meets_takt(available_minutes=self.available.value, demand=self.demand.value) else ": slower than takt")),
        ]) + "<b>Where the patient's work falls</b> (days' worth)" + _table([
            ("In the map's steps", f"{cov.patient_days_in_steps + cov.patient_days_in_occupancy:.1f}"),
            ("In what the map calls waiting", f"{cov.patient_days_in_waits:.1f}"),
            ("After the map ends", f"{cov.patient_days_after_map:.1f}"),
        ])
        plots.update_value_stream(self.artists, vsm, profile, xmax_days=self._shipped_days())
        self._render(plots.describe_value_stream(vsm, profile))
