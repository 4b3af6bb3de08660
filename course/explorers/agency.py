"""The agency explorer: shape Batalden's blue/green agency stripe with sliders.

A thin view over :mod:`course.agency` (the stripe), :mod:`course.episodes`
(adding, selecting, moving and deleting episodes) and :mod:`course.plots`.

Examples
--------
>>> ex = AgencyExplorer(preset="Cataract surgery")
>>> ex.baseline.value = 0.5
>>> float(ex.profile.patient[0])
0.5
>>> ex.readout_text(ex.duration)
'30 minutes'
"""

from __future__ import annotations

import html

import ipywidgets as W

from course import plots
from course.agency import PRESETS, AgencyParams, agency_profile, boundary_notes, summarize
from course.episodes import EpisodeEditor
from course.explorers.base import STYLE, WIDE, Explorer, near, table
from course.formatting import format_duration, format_number, format_percent, format_period, format_signed

__all__ = ["AgencyExplorer", "summary_rows", "CONCENTRATION_HELP"]

#: Said wherever "concentration in episodes" is shown.
CONCENTRATION_HELP = ("Concentration in episodes: how much of the professionals' agency falls in short stretches "
                      "of time (a Gini coefficient): 0% when it is spread evenly over the stripe, near 100% when "
                      "nearly all of it comes in brief episodes.")


def summary_rows(profile, summary=None) -> list:
    """The readout rows of a stripe: (what, value as text); ``summary`` is ``summarize(profile)`` if known."""
    return [(k, format_percent(v)) for k, v in (summary or summarize(profile)).as_dict().items()]


def _day(x: float) -> str:
    return f"day {format_number(x, 1)}"


class AgencyExplorer(Explorer):
    """Shape Batalden's blue/green agency stripe with sliders.

    Examples
    --------
    >>> ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    >>> ex.episode.value = 1
    >>> ex.start.value = 5000        # dragged past the end: it stops on the stripe's last day
    >>> ex.params.episodes[1].start_days
    365.0
    """

    css_class = "course-agency-explorer"

    def __init__(self, preset: str = "Self-managing patient with occasional acute events", compare_with=None, *,
                 answer: str | None = None):
        super().__init__(answer=answer)
        if preset not in PRESETS:
            allowed = ", ".join(repr(k) for k in PRESETS)
            raise ValueError(f"'preset' of AgencyExplorer must be one of {allowed}. Got {preset!r} instead.")
        self.preset = W.Dropdown(options=list(PRESETS), value=preset, description="Preset", style=STYLE, layout=WIDE)
        self.compare = W.Dropdown(options=["(none)"] + list(PRESETS), value=compare_with or "(none)",
                                  description="Compare with", style=STYLE, layout=WIDE)
        self.baseline = self.slider(W.FloatSlider, "Patient agency at start", 0.8, 0.05, 0.95, 0.01, format_percent)
        self.trend = self.slider(W.FloatSlider, "Change per year", 0.0, -0.3, 0.3, 0.01,
                                 lambda x: f"{format_signed(x, 2)} a year")
        self.horizon = self.slider(W.IntSlider, "Length of stripe", 365, 30, 1460, 5, format_period)
        self.episode = W.Dropdown(description="Episode", style=STYLE, layout=WIDE)
        self.start = self.slider(W.FloatSlider, "Episode starts on", 0, 0, 365, 0.5, _day)
        self.duration = self.slider(W.FloatLogSlider, "Episode lasts", 1, -3, 2.5, 0.01, format_duration, base=10)
        self.depth = self.slider(W.FloatSlider, "Patient agency lost", 0.5, 0, 1, 0.01, format_percent)
        self.recovery = self.slider(W.FloatLogSlider, "Half-recovered after", 7, -1, 2.5, 0.01, format_duration,
                                    base=10)
        self.add_button = W.Button(description="Add episode", tooltip="Add an episode to the stripe")
        self.remove_button = W.Button(description="Remove episode", tooltip="Remove the selected episode")
        self.caption = W.HTML(layout=W.Layout(max_width="420px"))
        self.editor = EpisodeEditor()
        with self.suspended(update=False):
            self._load_preset(preset)
        self.profiles = self._profiles()
        self.summary = summarize(self.profiles[0])
        self.artists = plots.draw_agency(self.ax, self.profiles)
        self._n_stripes = len(self.artists.boundaries)
        self._observe(self.baseline, self.trend, self.compare)
        self.horizon.observe(self._on_horizon, names="value")
        for w in (self.start, self.duration, self.depth, self.recovery):
            w.observe(self._on_episode_slider, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.episode.observe(self._on_episode, names="value")
        self.add_button.on_click(self._on_add)
        self.remove_button.on_click(self._on_remove)
        controls = self.controls(self.preset, self.compare, self.baseline, self.trend, self.horizon,
                                 W.HTML("<b>Episodes</b> (acute events or procedures)"), self.episode, self.start,
                                 self.duration, self.depth, self.recovery,
                                 W.HBox([self.add_button, self.remove_button]))
        self.ui = self.layout(controls, W.VBox([self.readout, self.caption]))
        self._on_change()

    # reading controls into parameters ------------------------------------------------
    @property
    def params(self) -> AgencyParams:
        """The parameters the controls currently describe."""
        base = AgencyParams(baseline=self.read(self.baseline), trend_per_year=self.read(self.trend),
                            name=self.preset.value)
        return self.editor.params(base)

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

    # editor -> controls ----------------------------------------------------------------
    def _load_preset(self, name):
        p = PRESETS[name]
        self.baseline.value = p.baseline
        self.trend.value = p.trend_per_year
        self.horizon.value = int(round(p.horizon_days))
        self.editor = EpisodeEditor.from_params(p)
        self._show_editor()
        self.caption.value = f"<p>{html.escape(p.description)}</p>"

    def _show_editor(self):
        """Show the editor's menu and selected episode in the controls (call inside ``suspended``)."""
        ed = self.editor
        self._menu = ed.menu()
        self.episode.options = self._menu
        self.episode.value = ed.selected
        self.start.max = ed.latest_start_days
        e = ed.current
        self.set_enabled(e is not None, self.episode, self.start, self.duration, self.depth, self.recovery,
                         self.remove_button)
        if e is not None:
            self.start.value, self.duration.value = e.start_days, e.duration_days
            self.depth.value, self.recovery.value = e.depth, e.recovery_days

    # control callbacks ----------------------------------------------------------------
    def _on_preset(self, change):
        with self.suspended():
            self._load_preset(change["new"])

    def _on_horizon(self, change):
        if self.paused:
            return
        with self.suspended():
            self.editor = self.editor.set_horizon(float(self.horizon.value))
            self._show_editor()

    def _on_episode(self, change):
        if self.paused or change["new"] is None:
            return
        with self.suspended():
            self.editor = self.editor.select(change["new"])
            self._show_editor()

    def _on_episode_slider(self, change):
        if self.paused or self.editor.current is None:
            return
        old = self.editor.current
        w = change["owner"]
        field, log = {id(self.start): ("start_days", False), id(self.duration): ("duration_days", True),
                      id(self.depth): ("depth", False), id(self.recovery): ("recovery_days", True)}[id(w)]
        new = self.read(w)
        value = getattr(old, field) if near(getattr(old, field), new, w.step, log=log) else float(new)
        with self.suspended():
            self.editor = self.editor.edit(**{field: value})
            if self.editor.menu() != self._menu:
                self._show_editor()

    def _on_add(self, _button=None):
        with self.suspended():
            self.editor = self.editor.add()
            self._show_editor()

    def _on_remove(self, _button=None):
        if self.editor.current is None:
            return
        with self.suspended():
            self.editor = self.editor.delete()
            self._show_editor()

    # model -> view ------------------------------------------------------------------------
    def _update(self):
        self.profiles = profiles = self._profiles()
        if len(profiles) != self._n_stripes:
            self.ax.clear()
            self.artists = plots.draw_agency(self.ax, profiles)
            self._n_stripes = len(profiles)
        else:
            plots.update_agency(self.artists, profiles)
        summaries = [summarize(p) for p in profiles]
        self.summary = summaries[0]
        self._render(plots.describe_agency(profiles, summaries))
        self.readout.value = ("<b>Summary of your stripe</b>" + table(summary_rows(profiles[0], self.summary))
                              + f"<p style='font-size:90%;max-width:420px'>{html.escape(CONCENTRATION_HELP)}</p>")
        self.show_notes(list(boundary_notes(self.params)) + list(self.editor.notes()))
