"""The value-stream explorer: change a pathway's waits and process times, and see what the map misses.

A thin view over :mod:`course.value_stream` and the value-stream figure of
:mod:`course.plots`.

Examples
--------
>>> ex = ValueStreamExplorer("Hip replacement pathway")
>>> before = ex.map.lead_time_minutes
>>> ex.step.value = 1
>>> ex.wait_days.value = 0
>>> round(before - ex.map.lead_time_minutes)
60480
>>> ex.readout_text(ex.wait_days), ex.readout_text(ex.available)
('0 minutes', '8 hours')
"""

from __future__ import annotations

import html

import ipywidgets as W

from course import plots
from course.agency import PRESETS, agency_profile
from course.explorers.base import STYLE, WIDE, Explorer, near, table
from course.formatting import format_duration, format_minutes, format_number, format_percent, format_period
from course.value_stream import MINUTES_PER_DAY, load_example_maps

__all__ = ["ValueStreamExplorer", "WAIT_STOPS_DAYS", "wait_stops", "measure_rows", "step_key_html"]

#: The stops of the wait slider, in days: 0, then minutes, hours, days and weeks.
WAIT_STOPS_DAYS = (0.0, 15 / 1440, 30 / 1440, 1 / 24, 2 / 24, 4 / 24, 8 / 24, 1, 2, 3, 5, 7, 10, 14, 21, 28, 35, 42,
                   49, 56, 63, 70, 77, 84, 98, 112, 120)


def wait_stops(current_days: float) -> list:
    """The wait slider's stops: :data:`WAIT_STOPS_DAYS` plus the step's own wait, so it is shown exactly."""
    return sorted(set(WAIT_STOPS_DAYS) | {float(current_days)})


def measure_rows(vsm, step_index: int, *, available_minutes: float, demand: int) -> list:
    """The readout's rows: what the map measures, as text."""
    takt = vsm.takt_time_minutes(available_minutes=available_minutes, demand=demand)
    b, step = vsm.bottleneck, vsm.steps[step_index]
    keeps = vsm.meets_takt(available_minutes=available_minutes, demand=demand)
    return [
        ("Lead time", format_period(vsm.lead_time_days)),
        ("Process time", format_minutes(vsm.process_minutes)),
        ("Value-added time", format_minutes(vsm.value_added_minutes)),
        ("Process cycle efficiency", format_percent(vsm.process_cycle_efficiency, 2)),
        ("Takt time", f"{format_minutes(takt)} per patient"),
        ("This step holds each patient", f"{format_minutes(step.occupied_minutes)}, {step.servers} at a time"),
        ("Bottleneck step", f"{b.name} ({format_minutes(b.minutes_per_patient)} per patient)"),
        ("Keeps pace with demand", "yes" if keeps else "no: the bottleneck is slower than takt"),
    ]


def coverage_rows(cov) -> list:
    return [
        ("In the map's steps", format_number(cov.patient_days_in_steps + cov.patient_days_in_occupancy, 1)),
        ("In what the map calls waiting", format_number(cov.patient_days_in_waits, 1)),
        ("After the map ends", format_number(cov.patient_days_after_map, 1)),
    ]


def step_key_html(vsm) -> str:
    """The names of the numbered steps on the figure's map bar."""
    items = "; ".join(f"{i + 1} {html.escape(s.name)}" for i, s in enumerate(vsm.steps))
    return f"<p style='margin:2px 0;max-width:760px'><b>Steps on the map bar:</b> {items}.</p>"


class ValueStreamExplorer(Explorer):
    """Pick a pathway, change its waits and process times, and see what the map misses."""

    _figsize = (8.5, 3.6)
    css_class = "course-value-stream-explorer"

    def __init__(self, pathway: str = "Hip replacement pathway", *, answer: str | None = None):
        super().__init__(answer=answer)
        self.maps = load_example_maps()
        if pathway not in self.maps:
            allowed = ", ".join(repr(k) for k in self.maps)
            raise ValueError(f"'pathway' of ValueStreamExplorer must be one of {allowed}. Got {pathway!r} instead.")
        self.pathway = W.Dropdown(options=list(self.maps), value=pathway, description="Pathway", style=STYLE,
                                  layout=WIDE)
        self.step = W.Dropdown(description="Step", style=STYLE, layout=WIDE)
        self.wait_days = self.choice_slider("Wait before step", wait_stops(0.0), 0.0, format_duration)
        self.process_minutes = self.slider(W.FloatSlider, "Process time", 0, 0, 600, 1, format_minutes)
        self.value_added = W.Checkbox(description="Step adds value", indent=False)
        self.demand = self.slider(W.IntSlider, "Patients per day (demand)", 4, 1, 20, 1,
                                  lambda n: f"{n} patient{'s' if n != 1 else ''}")
        self.available = self.slider(W.IntSlider, "Working time per day", 480, 60, 1440, 10, format_minutes)
        self.step_key = W.HTML()
        with self.suspended(update=False):
            self._load(pathway)
        self.stripe = self._profile()
        self.coverage = self._map.coverage(self.stripe)
        self.artists = plots.draw_value_stream(self.ax, self._map, self.stripe)
        self._observe(self.wait_days, self.process_minutes, self.value_added, self.demand, self.available)
        self.pathway.observe(self._on_pathway, names="value")
        self.step.observe(self._on_step, names="value")
        controls = self.controls(self.pathway, self.step, self.wait_days, self.process_minutes, self.value_added,
                                 self.demand, self.available)
        self.ui = self.layout(controls, self.readout, above_figure=(self.step_key,))
        self._on_change()

    def _profile(self):
        """The pathway's agency stripe, moved with the map (see ``ValueStreamMap.fit_stripe``)."""
        drawn_for = self.maps[self.pathway.value]
        return agency_profile(self._map.fit_stripe(PRESETS[drawn_for.agency_preset], drawn_for))

    def _shipped_days(self) -> float:
        """How many days the pathway as shipped spans (map or stripe): the time axis keeps at least this."""
        drawn_for = self.maps[self.pathway.value]
        return max(PRESETS[drawn_for.agency_preset].horizon_days, drawn_for.lead_time_days)

    def _load(self, name):
        self._map = self.maps[name]
        self.step.options = [(f"{i + 1}: {s.name}", i) for i, s in enumerate(self._map.steps)]
        self.step.value = 0
        self._show_step(0)
        self.step_key.value = step_key_html(self._map)

    def _show_step(self, i):
        s = self._map.steps[i]
        wait = s.wait_minutes / MINUTES_PER_DAY
        stops = wait_stops(wait)
        if list(self.wait_days.options) != [(format_duration(v), v) for v in stops]:
            self.wait_days.options = [(format_duration(v), v) for v in stops]
        self.wait_days.value = wait
        self.process_minutes.max = max(600.0, s.process_minutes)
        self.process_minutes.value = s.process_minutes
        self.value_added.value = s.value_added

    def _on_pathway(self, change):
        with self.suspended():
            self._load(change["new"])

    def _on_step(self, change):
        if self.paused or change["new"] is None:
            return
        with self.suspended():  # the readout shows the chosen step's occupancy
            self._show_step(change["new"])

    @property
    def map(self):
        """The map the controls currently describe."""
        i, minutes = self.step.value, float(self.read(self.process_minutes))
        held = self._map.steps[i].process_minutes
        if near(held, minutes, self.process_minutes.step):
            minutes = held  # the page only snapped the step's time (20 comes back as 19.999999999999996)
        return self._map.replace_step(i, wait_minutes=self.wait_days.value * MINUTES_PER_DAY,
                                      process_minutes=minutes, value_added=self.value_added.value)

    def _answer_value(self):
        return self.map

    def _update(self):
        self._map = vsm = self.map
        self.stripe = profile = self._profile()
        self.coverage = cov = vsm.coverage(profile)
        plots.update_value_stream(self.artists, vsm, profile, xmax_days=self._shipped_days())
        self._render(plots.describe_value_stream(vsm, profile, coverage=cov))
        self.readout.value = ("<b>What the map measures</b>"
                              + table(measure_rows(vsm, self.step.value, available_minutes=self.available.value,
                                                   demand=self.demand.value))
                              + "<b>Where the patient's work falls</b> (days' worth)" + table(coverage_rows(cov)))
