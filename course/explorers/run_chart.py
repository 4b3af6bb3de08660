"""The run-chart explorer of Lesson 7: a weekly measure, a real change and noise, read with the run-chart rules.

The model is :func:`course.improvement.run_chart` (Perla et al.'s shift and trend
rules) over :func:`course.improvement.simulated_series`.  The figure is drawn once
by :func:`draw_run_chart` and changed in place by :func:`update_run_chart`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as W
import numpy as np

from course.improvement import RunChart, run_chart, simulated_series
from course.explorers.base import Explorer, table

__all__ = ["RunChartArtists", "draw_run_chart", "update_run_chart", "describe_run_chart", "RunChartExplorer"]

DATA_COLOUR = "#0072B2"   # Okabe-Ito blue
SHIFT_COLOUR = "#E69F00"  # Okabe-Ito orange
TREND_COLOUR = "#D55E00"  # Okabe-Ito vermillion
Y_LIMITS = (0.0, 100.0)


@dataclass
class RunChartArtists:
    """The artists of a run chart; the series, the median and the flags change in place."""

    ax: object
    series: object
    median: object
    median_text: object
    shift_marks: object
    trend_marks: object
    change_line: object
    change_text: object

    @property
    def dynamic(self) -> list:
        return [self.series, self.median, self.median_text, self.shift_marks, self.trend_marks,
                self.change_line, self.change_text]

    def layout_key(self) -> tuple:
        return (self.ax.get_xlim(), self.ax.get_ylim())


def _flagged(chart: RunChart, kind: str):
    idx = sorted({i for s in (chart.shifts if kind == "shift" else chart.trends) for i in range(s.start, s.stop + 1)})
    x = np.asarray(idx, dtype=float) + 1
    y = np.asarray([chart.values[i] for i in idx], dtype=float)
    return x, y


def draw_run_chart(ax, chart: RunChart, change_at=None, *, unit: str = "%") -> RunChartArtists:
    """Draw a run chart: the points in time order, the median, and the points the rules flag.

    Points inside a shift are ringed by orange squares, points inside a trend by
    vermillion triangles (shape, not only colour, tells them apart).  A dotted
    vertical line marks the week a change was made, when ``change_at`` is given.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> art = draw_run_chart(Figure().add_subplot(), run_chart([1, 2, 1, 2, 1, 2, 8, 9, 8, 9, 8, 9]), change_at=7)
    >>> art.shift_marks.get_xdata().tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    """
    n = len(chart.values)
    x = np.arange(1, n + 1)
    (series,) = ax.plot(x, chart.values, "-o", color=DATA_COLOUR, markersize=4, linewidth=1.2,
                        label="Weekly value")
    (median,) = ax.plot([0.5, n + 0.5], [chart.median] * 2, "--", color="0.2", linewidth=1.2, label="Median")
    median_text = ax.text(1.0, chart.median, "", transform=ax.get_yaxis_transform(), fontsize=8, va="center",
                          ha="left", clip_on=False)
    (shift,) = ax.plot(*_flagged(chart, "shift"), "s", markersize=10, markerfacecolor="none",
                       markeredgecolor=SHIFT_COLOUR, markeredgewidth=2, linestyle="none",
                       label=f"In a shift ({chart.shift_points}+ points on one side)")
    (trend,) = ax.plot(*_flagged(chart, "trend"), "^", markersize=12, markerfacecolor="none",
                       markeredgecolor=TREND_COLOUR, markeredgewidth=1.5, linestyle="none",
                       label=f"In a trend ({chart.trend_points}+ points one way)")
    (change_line,) = ax.plot([np.nan, np.nan], [0, 1], ":", color="0.35", linewidth=1.5,
                             transform=ax.get_xaxis_transform())
    change_text = ax.text(np.nan, 0.98, "change made", transform=ax.get_xaxis_transform(), fontsize=8,
                          va="top", ha="left", color="0.25")
    ax.set_xlim(0.5, n + 0.5)
    ax.set_ylim(*Y_LIMITS)
    ax.set_xlabel("Week")
    ax.set_ylabel(f"Weekly value ({unit})" if unit else "Weekly value")
    ax.set_title("Run chart: is the change a signal or noise?")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, frameon=False, fontsize=8)
    art = RunChartArtists(ax, series, median, median_text, shift, trend, change_line, change_text)
    update_run_chart(art, chart, change_at)
    return art


def update_run_chart(artists: RunChartArtists, chart: RunChart, change_at=None) -> RunChartArtists:
    """Show ``chart`` (same number of points) on the figure ``draw_run_chart`` made."""
    n = len(chart.values)
    artists.series.set_data(np.arange(1, n + 1), chart.values)
    artists.median.set_data([0.5, n + 0.5], [chart.median] * 2)
    artists.median_text.set_position((1.005, chart.median))
    artists.median_text.set_text(f"median\n{chart.median:g}")
    artists.shift_marks.set_data(*_flagged(chart, "shift"))
    artists.trend_marks.set_data(*_flagged(chart, "trend"))
    at = np.nan if change_at is None or change_at > n else change_at - 0.5
    artists.change_line.set_xdata([at, at])
    artists.change_text.set_x(at + 0.15 if np.isfinite(at) else np.nan)
    return artists


def describe_run_chart(chart: RunChart, change_at=None) -> str:
    """The figure in one or two sentences (its text description).

    Examples
    --------
    >>> print(describe_run_chart(run_chart([5, 5, 5, 5, 5, 5])))
    Run chart of 6 weekly values, median 5: every point lies on the median, so no point counts towards a shift or a trend.
    """
    n = len(chart.values)
    lo, hi = min(chart.values), max(chart.values)
    head = f"Run chart of {n} weekly values, median {chart.median:g}"
    if len(chart.on_median) == n:
        return head + ": every point lies on the median, so no point counts towards a shift or a trend."
    change = "" if change_at is None or change_at > n else f" A change was made at week {change_at}."
    found = [s.describe() for s in chart.shifts + chart.trends]
    rules = ("The rules flag " + "; ".join(found) + ".") if found else "The rules flag no shift and no trend."
    return f"{head}, values from {lo:g} to {hi:g}.{change} {rules}"


def _verdict(chart: RunChart, change: float, change_at: int) -> str:
    n = len(chart.values)
    if change == 0 or change_at > n:
        if chart.signal:
            return "False alarm: there is no real change in this series, so this signal comes from noise alone."
        return "Rightly quiet: there is no real change, and the rules flag nothing."
    side = "above" if change > 0 else "below"
    caught = [s for s in chart.shifts if s.direction == side and s.stop + 1 >= change_at]
    if caught:
        first = min(s.first_point for s in caught)
        return f"The rules caught the real change: a shift {side} the median from week {first}."
    if chart.signal:
        return "A signal, but not a shift in the direction of the real change: look at where it lies."
    return "Missed: the change is real, but against this much noise the rules do not show it yet."


class RunChartExplorer(Explorer):
    """Make a real change in a noisy weekly measure and see whether the run-chart rules flag it.

    The measure is illustrative: the weekly percentage of patients who leave
    clinic with a care plan they helped to write, 40% before the change.

    Examples
    --------
    >>> ex = RunChartExplorer()
    >>> [s.first_point for s in ex.chart.shifts]
    [1, 13]
    >>> ex.change.value = 0
    >>> ex.chart.signal
    False
    """

    _figsize = (8.0, 3.4)
    css_class = "course-run-chart-explorer"
    BASELINE = 40.0
    WEEKS = 24

    def __init__(self, change: float = 15, noise: float = 5, change_at: int = 13, seed: int = 2):
        super().__init__()
        self.change = self.slider(W.FloatSlider, "Size of the change (points)", change, -30, 30, 1, "+.0f")
        self.noise = self.slider(W.FloatSlider, "Week-to-week noise (points)", noise, 0, 15, 0.5, ".1f")
        self.change_at = self.slider(W.IntSlider, "Change made in week", change_at, 2, self.WEEKS + 1, 1)
        self.seed = self.slider(W.IntSlider, "Random draw (seed)", seed, 0, 50, 1)
        self.result = self.chart
        self.artists = draw_run_chart(self.ax, self.chart, self.change_at.value)
        self._observe(self.change, self.noise, self.change_at, self.seed)
        self.ui = self.layout(self.controls(self.change, self.noise, self.change_at, self.seed), self.readout)
        self._on_change()

    @property
    def series(self) -> np.ndarray:
        """The weekly values the controls describe."""
        return simulated_series(n_points=self.WEEKS, change_at=int(self.change_at.value), baseline=self.BASELINE,
                                change=float(self.read(self.change)), noise=float(self.read(self.noise)),
                                seed=int(self.seed.value))

    @property
    def chart(self) -> RunChart:
        """The series read with the run-chart rules."""
        return run_chart(self.series)

    def _update(self):
        chart = self.chart
        self.result = chart
        at = int(self.change_at.value)
        shifts = "; ".join(f"weeks {s.first_point}–{s.last_point}, {s.direction} the median" for s in chart.shifts)
        trends = "; ".join(f"weeks {s.first_point}–{s.last_point}, going {s.direction}" for s in chart.trends)
        self.readout.value = "<b>What the rules say</b>" + table([
            ("Median (centre line)", f"{chart.median:g}%"),
            ("Shifts (6 or more points on one side)", shifts or "none"),
            ("Trends (5 or more points one way)", trends or "none"),
            ("Signal?", "yes" if chart.signal else "no"),
        ])
        notes = [_verdict(chart, float(self.read(self.change)), at)]
        if chart.on_median and len(chart.on_median) < len(chart.values):
            weeks = ", ".join(str(i + 1) for i in chart.on_median)
            notes.append(f"Week{'s' if len(chart.on_median) > 1 else ''} {weeks} "
                         f"lie{'' if len(chart.on_median) > 1 else 's'} exactly on the median: such points "
                         "neither count towards a shift nor break one.")
        if len(chart.on_median) == len(chart.values):
            notes.append("With no change and no noise every point is on the median, so the rules can never "
                         "flag anything: there is no variation to read.")
        self.note.value = "<p>" + "</p><p>".join(html.escape(n) for n in notes) + "</p>"
        shown_at = at if self.read(self.change) != 0 else None  # no line for a change of size 0
        update_run_chart(self.artists, chart, shown_at)
        self._render(describe_run_chart(chart, shown_at))
