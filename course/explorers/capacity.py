"""The capacity explorer of Lesson 7: where beds, admissions per day and length of stay meet (Little's law).

The model is :class:`course.improvement.Ward`.  The figure, drawn once by
:func:`draw_capacity` and changed in place by :func:`update_capacity`, puts the
length of stay across and beds up: the sloped line is the average number of
occupied beds that each length of stay gives at the current admissions per day.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
from matplotlib.patches import Rectangle

from course.improvement import Ward
from course.explorers.base import Explorer, table
from course.formatting import format_number, format_percent

__all__ = ["CapacityArtists", "draw_capacity", "update_capacity", "describe_capacity", "CapacityExplorer"]

DEMAND_COLOUR = "#0072B2"   # Okabe-Ito blue
OVER_COLOUR = "#D55E00"     # Okabe-Ito vermillion
MAX_STAY_DAYS = 15.0


def format_stay(days: float, digits: int = 1) -> str:
    """A length of stay as the slider, the readout, the figure and its description all write it ("5.3 days")."""
    text = format_number(days, digits)
    return f"{text} day" if text == "1" else f"{text} days"


def _beds(x: float) -> str:
    return format_number(x, 1)


@dataclass
class CapacityArtists:
    """The artists of the capacity figure."""

    ax: object
    demand: object
    beds: object
    target: object
    over: object
    now: object
    now_text: object
    beds_text: object
    target_text: object

    @property
    def dynamic(self) -> list:
        return [self.over, self.demand, self.beds, self.target, self.now, self.now_text, self.beds_text,
                self.target_text]

    def layout_key(self) -> tuple:
        return (self.ax.get_xlim(), self.ax.get_ylim())


def _y_top(ward: Ward) -> float:
    """A y limit with room for the beds and the current demand, in steps of 10 beds."""
    need = max(1.6 * ward.beds, 1.25 * ward.average_occupied_beds, 10.0)
    return 10.0 * math.ceil(need / 10.0)


def draw_capacity(ax, ward: Ward, target_occupancy: float = 0.85) -> CapacityArtists:
    """Draw beds against length of stay for ``ward``'s admissions per day.

    The sloped blue line is Little's law, average occupied beds = admissions per
    day x length of stay; the black line is the beds; the dashed line is the
    target occupancy; the hatched band above the beds is where demand exceeds
    them.  The black dot is the ward now.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> art = draw_capacity(Figure().add_subplot(), Ward(12, 4, 3.4))
    >>> [float(y) for y in art.now.get_ydata()]
    [13.6]
    """
    (demand,) = ax.plot([], [], "-", color=DEMAND_COLOUR, linewidth=2,
                        label="Occupied beds on average = admissions per day × stay")
    (beds,) = ax.plot([], [], "-", color="black", linewidth=1.5, label="Beds")
    (target,) = ax.plot([], [], "--", color="0.3", linewidth=1.2, label="Target occupancy")
    over = Rectangle((0, 0), MAX_STAY_DAYS, 1, facecolor=OVER_COLOUR, alpha=0.15, hatch="xx",
                     edgecolor=OVER_COLOUR, linewidth=0, label="More demand than beds")
    ax.add_patch(over)
    (now,) = ax.plot([], [], "o", color="black", markersize=8, zorder=5, label="This ward now")
    now_text = ax.text(0, 0, "", fontsize=8, ha="left", va="top", zorder=6)
    beds_text = ax.text(MAX_STAY_DAYS, 0, "", fontsize=8, ha="right", va="bottom", fontweight="bold")
    target_text = ax.text(MAX_STAY_DAYS, 0, "", fontsize=8, ha="right", va="top")
    ax.set_xlim(0, MAX_STAY_DAYS)
    ax.set_xlabel("Average length of stay (days)")
    ax.set_ylabel("Beds")
    ax.set_title("Little's law: occupied beds = admissions per day × length of stay")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False, fontsize=8)
    art = CapacityArtists(ax, demand, beds, target, over, now, now_text, beds_text, target_text)
    update_capacity(art, ward, target_occupancy)
    return art


def update_capacity(artists: CapacityArtists, ward: Ward, target_occupancy: float = 0.85) -> CapacityArtists:
    """Show ``ward`` on the figure ``draw_capacity`` made (the y axis grows or shrinks in steps of 10 beds)."""
    ax = artists.ax
    top = _y_top(ward)
    if ax.get_ylim() != (0.0, top):
        ax.set_ylim(0.0, top)
    x = np.array([0.0, MAX_STAY_DAYS])
    artists.demand.set_data(x, ward.arrivals_per_day * x)
    artists.beds.set_data(x, [ward.beds] * 2)
    goal = ward.beds * target_occupancy
    artists.target.set_data(x, [goal] * 2)
    artists.over.set_y(ward.beds)
    artists.over.set_height(top - ward.beds)
    w, occupied = ward.length_of_stay_days, ward.average_occupied_beds
    artists.now.set_data([w], [min(occupied, top)])
    # below and to the right of the dot, away from the line rising through it (to the left near the edge)
    # (above it when the dot is low, so the text stays clear of the axis labels)
    right = w < MAX_STAY_DAYS * 0.7
    low = min(occupied, top) < top * 0.25
    y_text = min(occupied, top) + (top * 0.03 if low else -top * 0.03)
    artists.now_text.set_position((w + 0.3 if right else w - 0.3, y_text))
    artists.now_text.set_ha("left" if right else "right")
    artists.now_text.set_va("bottom" if low else "top")
    artists.now_text.set_text(f"{format_number(ward.arrivals_per_day, 1)} a day × {format_stay(w)}\n= {_beds(occupied)} beds occupied")
    artists.beds_text.set_position((MAX_STAY_DAYS, ward.beds + top * 0.01))
    artists.beds_text.set_text(f"{ward.beds} beds")
    artists.target_text.set_position((MAX_STAY_DAYS, goal - top * 0.01))
    artists.target_text.set_text(f"{format_percent(target_occupancy)} of beds = {_beds(goal)}")
    return artists


def describe_capacity(ward: Ward, target_occupancy: float = 0.85) -> str:
    """The figure in one or two sentences (its text description).

    Examples
    --------
    >>> print(describe_capacity(Ward(12, 4, 5.3)))
    At 4 admissions a day and an average stay of 5.3 days, 21.2 beds are occupied on average (Little's law), 177% of the 12 beds: more demand than beds, so the queue for beds keeps growing. At 85% occupancy this demand needs 25 beds.
    """
    occupied = ward.average_occupied_beds
    state = (f"at or below the {format_percent(target_occupancy)} target" if ward.occupancy <= target_occupancy + 1e-9
             else "above the target but within the beds" if ward.keeps_up
             else "more demand than beds, so the queue for beds keeps growing")
    admissions = "admission" if ward.arrivals_per_day == 1 else "admissions"
    return (f"At {format_number(ward.arrivals_per_day, 1)} {admissions} a day and an average stay of "
            f"{format_stay(ward.length_of_stay_days)}, {_beds(occupied)} beds are occupied on average (Little's law), "
            f"{format_percent(ward.occupancy)} of the {ward.beds} beds: {state}. At {format_percent(target_occupancy)} occupancy this demand needs "
            f"{ward.beds_needed(target_occupancy)} beds.")


class CapacityExplorer(Explorer):
    """Change beds, admissions per day and length of stay, and see the occupancy Little's law gives.

    Examples
    --------
    >>> ex = CapacityExplorer(beds=12, arrivals_per_day=4, length_of_stay_days=5.3)
    >>> ex.ward.average_occupied_beds
    21.2
    >>> ex.length_of_stay.value = 3.4
    >>> ex.ward.average_occupied_beds
    13.6
    """

    _figsize = (8.0, 3.6)
    css_class = "course-capacity-explorer"

    def __init__(self, beds: int = 12, arrivals_per_day: float = 4.0, length_of_stay_days: float = 5.3,
                 target_occupancy: float = 0.85, *, answer: str | None = None):
        super().__init__(answer=answer)
        start = Ward(beds, arrivals_per_day, length_of_stay_days)  # checks the starting values
        self.beds = self.slider(W.IntSlider, "Beds", start.beds, 1, 60, 1)
        self.arrivals = self.slider(W.FloatSlider, "Admissions per day", start.arrivals_per_day, 0.5, 20, 0.1, ".1f")
        self.length_of_stay = self.slider(W.FloatSlider, "Average length of stay", start.length_of_stay_days,
                                          0.5, MAX_STAY_DAYS, 0.1, format_stay)
        self.target = self.slider(W.FloatSlider, "Target occupancy", target_occupancy, 0.5, 1.0, 0.01, ".0%")
        self.result = self.ward
        self.artists = draw_capacity(self.ax, self.ward, self.read(self.target))
        self._observe(self.beds, self.arrivals, self.length_of_stay, self.target)
        self.ui = self.layout(self.controls(self.beds, self.arrivals, self.length_of_stay, self.target),
                              self.readout)
        self._on_change()

    @property
    def ward(self) -> Ward:
        """The ward the controls describe."""
        return Ward(beds=int(self.beds.value), arrivals_per_day=float(self.read(self.arrivals)),
                    length_of_stay_days=float(self.read(self.length_of_stay)))

    def _answer_value(self):
        return self.ward

    def _update(self):
        ward, target = self.ward, float(self.read(self.target))
        self.result = ward
        longest = ward.longest_stay_days(target)
        self.readout.value = "<b>What Little's law gives</b>" + table([
            ("Beds occupied on average", f"{_beds(ward.average_occupied_beds)} ({format_number(ward.arrivals_per_day, 1)} "
                                         f"a day × {format_stay(ward.length_of_stay_days)})"),
            ("Average occupancy", f"{format_percent(ward.occupancy)} of {ward.beds} beds"),
            (f"Beds needed at {format_percent(target)}", f"{ward.beds_needed(target)}"),
            (f"Longest average stay at {format_percent(target)}", f"{format_stay(longest, 2)} with {ward.beds} beds"),
        ])
        if not ward.keeps_up:
            note = ("More patients need a bed, on average, than there are beds. Little's law describes a ward "
                    "that keeps up; here there is no steady state: the queue of patients waiting for a bed "
                    "grows for as long as this lasts. The numbers above "
                    "say what the demand needs, not what happens.")
        elif ward.occupancy > target + 1e-9:
            note = (f"The beds are enough on average, but the ward runs above {format_percent(target)}: on days when more "
                    "patients arrive than usual, or fewer go home, there will be no bed.")
        else:
            note = (f"The ward runs at or below {format_percent(target)} on average, leaving room for busy days. "
                    "Little's law gives averages only.")
        self.note.value = f"<p>{html.escape(note)}</p>"
        update_capacity(self.artists, ward, target)
        self._render(describe_capacity(ward, target))
