"""The burden explorer: treatment workload against a patient's capacity, week by week.

A thin view over :mod:`course.capacity`.  The figure has two panels that share the
week axis:

* top, the treatment work of each week in hours, stacked: what the patient did
  (plain blue), what an unpaid carer did (orange, dotted) and what was left undone
  (white, crossed in vermilion); a black line marks the workload the plan asks for
  and a dashed line the patient's own capacity;
* bottom, the agency stripe of Lesson 2 counted in hours: the patient's side
  (plain blue, bottom) against the professionals' (hatched green, top).

``draw_burden`` / ``update_burden`` / ``describe_burden`` follow the course's plotting
pattern (draw once, update in place, describe in words).

Examples
--------
>>> ex = BurdenExplorer("One condition, plan fits")
>>> ex.summary.total_unmet_hours
0.0
>>> ex.workload.value = 12
>>> ex.summary.first_overloaded_week
1
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from course.capacity import PRESETS, SHARE_CEILING, SHARE_FLOOR, CapacityParams, CapacityRun, simulate, summarize
from course.plots import PATIENT_COLOUR, PROFESSIONAL_COLOUR, PROFESSIONAL_HATCH
from course.explorers.base import STYLE, WIDE, Explorer, table
from course.formatting import format_number, format_percent

__all__ = ["BurdenArtists", "draw_burden", "update_burden", "describe_burden", "BurdenExplorer"]

CARER_COLOUR = "#E69F00"    # Okabe-Ito orange
UNMET_COLOUR = "#D55E00"    # Okabe-Ito vermilion
CARER_HATCH = ".."
UNMET_HATCH = "xx"


def _stairs(run: CapacityRun, values) -> tuple:
    """x and y of a step line that holds each week's value for the whole week."""
    edges = np.arange(run.params.weeks + 1) + 0.5
    return np.repeat(edges, 2)[1:-1], np.repeat(np.asarray(values, dtype=float), 2)


def _band(x, lower, upper) -> np.ndarray:
    return np.concatenate([np.column_stack([x, lower]), np.column_stack([x[::-1], upper[::-1]])])


def _hours_top(run: CapacityRun) -> float:
    p = run.params
    top = max(p.workload_hours, p.capacity_hours + p.carer_hours, 1.0) * 1.15
    return float(np.ceil(top / 5) * 5)


@dataclass
class BurdenArtists:
    """The artists of a burden figure: hours panel (``ax``) and agency stripe (``ax_share``)."""

    ax: object
    ax_share: object
    patient: PolyCollection
    carer: PolyCollection
    unmet: PolyCollection
    workload: object
    capacity: object
    share_patient: PolyCollection
    share_professional: PolyCollection
    boundary: object
    limit_lines: tuple = ()

    @property
    def dynamic(self) -> list:
        """The artists an update changes (the rest of the figure stays put)."""
        return [self.patient, self.carer, self.unmet, self.workload, self.capacity,
                self.share_patient, self.share_professional, self.boundary, *self.limit_lines]

    def layout_key(self) -> tuple:
        """Changes when an update moves anything besides :attr:`dynamic` (the axis limits)."""
        return (self.ax.get_xlim(), self.ax.get_ylim(), self.ax_share.get_xlim())


def _geometry(run: CapacityRun) -> dict:
    x, patient = _stairs(run, run.patient_hours)
    _, carer = _stairs(run, run.patient_hours + run.carer_hours)
    _, unmet = _stairs(run, run.patient_hours + run.carer_hours + run.unmet_hours)
    _, capacity = _stairs(run, run.capacity_hours)
    _, share = _stairs(run, run.patient_share)
    zero, one = np.zeros_like(x), np.ones_like(x)
    return {"x": x, "patient": _band(x, zero, patient), "carer": _band(x, patient, carer),
            "unmet": _band(x, carer, unmet), "workload": unmet, "capacity": capacity, "share": share,
            "share_patient": _band(x, zero, share), "share_professional": _band(x, share, one)}


def _limits(art: BurdenArtists, run: CapacityRun) -> None:
    art.ax.set_xlim(0.5, run.params.weeks + 0.5)
    art.ax.set_ylim(0, _hours_top(run))


def draw_burden(ax, ax_share, run: CapacityRun) -> BurdenArtists:
    """Draw a run on two Axes that share the week axis (hours on ``ax``, agency on ``ax_share``).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from course.capacity import PRESETS, simulate
    >>> ax, ax2 = Figure().subplots(2, 1, sharex=True)
    >>> art = draw_burden(ax, ax2, simulate(PRESETS["One condition, plan fits"]))
    >>> len(art.dynamic)
    10
    """
    if not isinstance(run, CapacityRun):
        raise TypeError(f"'run' must be a CapacityRun. Got {type(run).__name__} instead.")
    g = _geometry(run)
    patient = PolyCollection([g["patient"]], facecolors=PATIENT_COLOUR, edgecolors="none")
    carer = PolyCollection([g["carer"]], facecolors=CARER_COLOUR, edgecolors="0.2", linewidths=0,
                           hatch=CARER_HATCH)
    unmet = PolyCollection([g["unmet"]], facecolors="white", edgecolors=UNMET_COLOUR, linewidths=0,
                           hatch=UNMET_HATCH)
    for c in (patient, carer, unmet):
        ax.add_collection(c)
    (workload,) = ax.plot(g["x"], g["workload"], color="black", linewidth=1.6)
    (capacity,) = ax.plot(g["x"], g["capacity"], color="0.15", linewidth=1.4, linestyle="--")
    ax.set_ylabel("Hours a week")
    ax.set_title("Treatment work each week: done by the patient, by a carer, or left undone", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    sp = PolyCollection([g["share_patient"]], facecolors=PATIENT_COLOUR, edgecolors="none")
    spro = PolyCollection([g["share_professional"]], facecolors=PROFESSIONAL_COLOUR, edgecolors="white",
                          linewidths=0, hatch=PROFESSIONAL_HATCH)
    ax_share.add_collection(sp)
    ax_share.add_collection(spro)
    (boundary,) = ax_share.plot(g["x"], g["share"], color="black", linewidth=1.2)
    # drawn over the stripe: the limits within which the model keeps the patient's share
    limit_lines = tuple(ax_share.axhline(y, color="0.2", linewidth=0.9, linestyle=":")
                        for y in (SHARE_FLOOR, SHARE_CEILING))
    ax_share.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_share.set_ylim(0, 1)
    ax_share.set_yticks([0, 0.5, 1])
    ax_share.set_yticklabels(["0%", "50%", "100%"])
    ax_share.set_ylabel("Agency")
    ax_share.set_xlabel("Week")
    ax_share.set_title("The stripe: the patient's side's share of the treatment work, against the professionals'",
                       fontsize=10)
    for side in ("top", "right"):
        ax_share.spines[side].set_visible(False)
    ax.figure.legend(handles=[
        Patch(facecolor=PATIENT_COLOUR, label="Patient (plain blue)"),
        Patch(facecolor=CARER_COLOUR, hatch=CARER_HATCH, edgecolor="0.2", label="Carer (orange, dotted)"),
        Patch(facecolor="white", hatch=UNMET_HATCH, edgecolor=UNMET_COLOUR, label="Left undone (crossed)"),
        Patch(facecolor=PROFESSIONAL_COLOUR, hatch=PROFESSIONAL_HATCH, label="Professionals (hatched green)"),
        Line2D([], [], color="black", linewidth=1.6, label="Workload asked"),
        Line2D([], [], color="0.15", linewidth=1.4, linestyle="--", label="Patient's own capacity"),
        Line2D([], [], color="0.2", linewidth=0.9, linestyle=":", label="Limits of the patient's share (5%, 95%)"),
    ], loc="outside lower center", ncol=4, frameon=False, fontsize=8)
    art = BurdenArtists(ax, ax_share, patient, carer, unmet, workload, capacity, sp, spro, boundary, limit_lines)
    _limits(art, run)
    return art


def update_burden(artists: BurdenArtists, run: CapacityRun) -> BurdenArtists:
    """Change the figure in place to show ``run``."""
    if not isinstance(run, CapacityRun):
        raise TypeError(f"'run' must be a CapacityRun. Got {type(run).__name__} instead.")
    g = _geometry(run)
    for name in ("patient", "carer", "unmet", "share_patient", "share_professional"):
        getattr(artists, name).set_verts([g[name]])
    artists.workload.set_data(g["x"], g["workload"])
    artists.capacity.set_data(g["x"], g["capacity"])
    artists.boundary.set_data(g["x"], g["share"])
    _limits(artists, run)
    return artists


def describe_burden(run: CapacityRun) -> str:
    """One plain-text description of a burden figure (its alt text).

    Examples
    --------
    >>> from course.capacity import PRESETS, simulate
    >>> print(describe_burden(simulate(PRESETS["One condition, plan fits"])))
    Treatment work over 52 weeks: the plan asks 6 hours a week; the patient can give 10 at the start and 10 at the end; nothing is left undone. The patient's share of agency is 86% in week 1 and 86% in the last week.
    """
    s = summarize(run)
    p = run.params
    text = (f"Treatment work over {p.weeks} week{'s' if p.weeks != 1 else ''}: the plan asks "
            f"{format_number(p.workload_hours, 1)} "
            f"hours a week; the patient can give {format_number(p.capacity_hours, 1)} at the start and "
            f"{format_number(s.final_capacity_hours, 1)} at the end")
    if p.carer_hours:
        text += f"; a carer does {format_number(s.total_carer_hours, 0)} hours in all"
    if s.first_overloaded_week is None:
        text += "; nothing is left undone."
    else:
        text += (f"; work is first left undone in week {s.first_overloaded_week}, {format_number(s.total_unmet_hours, 0)} "
                 f"hours in all, and in the last week {format_percent(s.final_plan_done)} of the plan is done.")
    text += (f" The patient's share of agency is {format_percent(s.first_share)} in week 1 and "
             f"{format_percent(s.final_share)} in the "
             f"last week.")
    return text


class BurdenExplorer(Explorer):
    """Set a treatment plan's weekly workload and a patient's capacity, and see what gets done.

    Examples
    --------
    >>> ex = BurdenExplorer("Several conditions, plan does not fit")
    >>> ex.workload.value = 10
    >>> ex.summary.total_unmet_hours
    0.0
    """

    _figsize = (8.5, 5.0)
    css_class = "course-burden-explorer"

    def __init__(self, preset: str = "Several conditions, plan does not fit", *, answer: str | None = None):
        super().__init__(answer=answer)
        if preset not in PRESETS:
            allowed = ", ".join(repr(k) for k in PRESETS)
            raise ValueError(f"'preset' of BurdenExplorer must be one of {allowed}. Got {preset!r} instead.")
        self.figure.clear()
        self.ax, self.ax_share = self.figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
        self.preset = W.Dropdown(options=list(PRESETS), value=preset, description="Start from", style=STYLE,
                                 layout=WIDE)
        self.workload = self.slider(W.FloatSlider, "Workload asked (hours a week)", 6, 0, 40, 0.5, ".1f")
        self.capacity = self.slider(W.FloatSlider, "Patient's capacity (hours a week)", 10, 0, 40, 0.5, ".1f")
        self.carer = self.slider(W.FloatSlider, "Carer's help (hours a week)", 0, 0, 40, 0.5, ".1f")
        self.professional = self.slider(W.FloatSlider, "Professionals' work (hours a week)", 1, 0.5, 10, 0.5, ".1f")
        self.feedback = self.slider(W.FloatSlider, "Overload wears capacity by", 0.1, 0, 0.5, 0.01, ".0%")
        self.weeks = self.slider(W.IntSlider, "Weeks followed", 52, 4, 104, 1)
        self.caption = W.HTML()
        with self.suspended(update=False):
            self._load(preset)
        self.run = simulate(self.params)
        self.summary = summarize(self.run)
        self.artists = draw_burden(self.ax, self.ax_share, self.run)
        self._observe(self.workload, self.capacity, self.carer, self.professional, self.feedback, self.weeks)
        self.preset.observe(self._on_preset, names="value")
        controls = self.controls(self.preset, self.workload, self.capacity, self.carer, self.professional,
                                 self.feedback, self.weeks)
        self.ui = self.layout(controls, W.VBox([self.readout, self.caption]))
        self._on_change()

    def _load(self, name):
        p = PRESETS[name]
        self.workload.value, self.capacity.value = p.workload_hours, p.capacity_hours
        self.carer.value, self.professional.value = p.carer_hours, p.professional_hours
        self.feedback.value, self.weeks.value = p.feedback, p.weeks
        self.caption.value = f"<p style='max-width:340px'>{html.escape(p.description)}</p>"

    def _on_preset(self, change):
        with self.suspended():
            self._load(change["new"])

    @property
    def params(self) -> CapacityParams:
        """The parameters the controls currently describe."""
        return CapacityParams(workload_hours=self.read(self.workload), capacity_hours=self.read(self.capacity),
                              carer_hours=self.read(self.carer), professional_hours=self.read(self.professional),
                              feedback=self.read(self.feedback), weeks=int(self.weeks.value), name=self.preset.value)

    def _answer_value(self):
        return self.params

    def _boundary_notes(self, p: CapacityParams) -> list:
        notes = []
        if p.workload_hours == 0:
            notes.append("The plan asks no treatment work of the patient's side: the model counts the plan as "
                         f"fully done and holds the patient's share at its floor of {format_percent(SHARE_FLOOR)}.")
        if p.capacity_hours == 0:
            notes.append("The patient has no capacity of their own: only a carer's hours can meet the plan.")
        if p.feedback == 0:
            notes.append("Overload does not wear capacity down at 0%: the same hours are left undone every week.")
        return notes + list(self.summary.limits)

    def _update(self):
        self.run = simulate(self.params)
        self.summary = s = summarize(self.run)
        p = self.run.params
        self.readout.value = "<b>What happens</b>" + table([
            ("First week work is left undone", "never" if s.first_overloaded_week is None
             else f"week {s.first_overloaded_week}"),
            ("Hours left undone in all", f"{format_number(s.total_unmet_hours, 0)} hours"),
            ("Hours the carer did in all", f"{format_number(s.total_carer_hours, 0)} hours"),
            ("Patient's capacity in the last week", f"{format_number(s.final_capacity_hours, 1)} of {format_number(p.capacity_hours, 1)} hours"),
            ("Share of the plan done: week 1, last week", f"{format_percent(s.first_plan_done)}, {format_percent(s.final_plan_done)}"),
            ("Patient's share of agency: week 1, last week", f"{format_percent(s.first_share)}, {format_percent(s.final_share)}"),
        ])
        notes = self._boundary_notes(p)
        self.show_notes(notes)
        update_burden(self.artists, self.run)
        self._render(describe_burden(self.run))
