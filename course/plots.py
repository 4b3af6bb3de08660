"""Figures for the course, drawn once and updated in place.

Every ``draw_*(ax, ...)`` function draws on an Axes and returns a small
object holding its artists; the matching ``update_*(artists, ...)`` changes
those artists' data without rebuilding anything, which is what makes the
explorers respond instantly.  Every figure can also describe itself in plain
text (``describe_*``), the alt text a screen reader needs.

Colours come from the Okabe-Ito palette, which stays distinct for the common
forms of colour blindness, and colour is never the only cue: professional
agency is also hatched, and stripes carry direct labels.
"""

from __future__ import annotations

import math
import textwrap

from dataclasses import dataclass, field

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Patch
from matplotlib.path import Path

from course.agency import AgencyProfile, summarize
from course.formatting import format_fixed, format_percent, format_period
from course.rendering import StampedAnnotation, StampedText
from course.services import ServiceProfile, classify, PRODUCT_LIKE_AT, PURE_AT
from course.value_stream import ValueStreamMap

__all__ = [
    "PATIENT_COLOUR",
    "PROFESSIONAL_COLOUR",
    "AgencyArtists",
    "draw_agency",
    "update_agency",
    "describe_agency",
    "ServiceMapArtists",
    "draw_service_map",
    "update_service_map",
    "describe_service_map",
    "ValueStreamArtists",
    "draw_value_stream",
    "update_value_stream",
    "time_axis_end",
    "describe_value_stream",
]

PATIENT_COLOUR = "#56B4E9"       # Okabe-Ito sky blue
PROFESSIONAL_COLOUR = "#009E73"  # Okabe-Ito bluish green
PROFESSIONAL_HATCH = "///"
STRIPE_HEIGHT = 1.0
STRIPE_GAP = 0.35
_MARKERS = {"product-like": "s", "mixed": "D", "pure service": "o"}


def _band(x, lower, upper) -> np.ndarray:
    """Vertices of the polygon between two curves over x."""
    return np.concatenate([np.column_stack([x, lower]), np.column_stack([x[::-1], upper[::-1]])])


def _redraw(ax) -> None:
    """Ask an interactive canvas to redraw.

    A figure without a manager (as in the explorers, which render it
    themselves) is left alone: Agg's ``draw_idle`` would draw at once, and the
    explorer's own render would then draw a second time.
    """
    canvas = ax.figure.canvas
    if canvas is not None and getattr(canvas, "manager", None) is not None:
        canvas.draw_idle()


_format_days = format_period


# -- agency stripes -----------------------------------------------------------
@dataclass
class AgencyArtists:
    """The artists of an agency figure; ``boundaries[i]`` traces stripe i's patient share."""

    ax: object
    patient_fills: list
    professional_fills: list
    boundaries: list
    bases: list
    names: list = field(default_factory=list)
    name_texts: list = field(default_factory=list)

    @property
    def dynamic(self) -> list:
        """The artists a slider changes (the rest of the figure stays put).

        The stripes' names are not among them: a name changes only with a
        preset, and drawing it on every slider step cost more than the
        stripes themselves (matplotlib renders text glyph by glyph).  A new
        name changes :meth:`layout_key` instead, for one full redraw.
        """
        return [*self.patient_fills, *self.professional_fills, *self.boundaries]

    def layout_key(self) -> tuple:
        """Changes when an update changes anything besides :attr:`dynamic` (axis limits, stripes, names)."""
        return (self.ax.get_xlim(), self.ax.get_ylim(), len(self.boundaries), tuple(self.names))


def _stripe_base(i: int, n: int) -> float:
    return (n - 1 - i) * (STRIPE_HEIGHT + STRIPE_GAP)


def draw_agency(ax, profiles, *, legend: bool = True) -> AgencyArtists:
    """Draw one stripe per profile, the first on top, in Batalden's style.

    Time runs left to right; in each stripe the patient's agency fills from
    the bottom (plain blue) and the professionals' agency fills the rest
    (hatched green).  The line between them is the patient's share.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from course.agency import PRESETS, agency_profile
    >>> ax = Figure().add_subplot()
    >>> art = draw_agency(ax, [agency_profile(PRESETS["Cataract surgery"])])
    >>> len(art.boundaries)
    1
    """
    profiles = _check_profiles(profiles)
    n = len(profiles)
    art = AgencyArtists(ax, [], [], [], [])
    for i, prof in enumerate(profiles):
        base = _stripe_base(i, n)
        t = prof.times_days
        top = base + STRIPE_HEIGHT * prof.patient
        pat = PolyCollection([_band(t, np.full_like(t, base), top)], facecolors=PATIENT_COLOUR,
                             edgecolors="none", label="Patient agency (plain blue)" if i == 0 else None)
        pro = PolyCollection([_band(t, top, np.full_like(t, base + STRIPE_HEIGHT))],
                             facecolors=PROFESSIONAL_COLOUR, edgecolors="white", linewidths=0,
                             hatch=PROFESSIONAL_HATCH,
                             label="Professional agency (hatched green)" if i == 0 else None)
        ax.add_collection(pat)
        ax.add_collection(pro)
        (line,) = ax.plot(t, top, color="black", linewidth=1.2)
        art.patient_fills.append(pat)
        art.professional_fills.append(pro)
        art.boundaries.append(line)
        art.bases.append(base)
    ax.set_ylim(-0.05, _stripe_base(0, n) + STRIPE_HEIGHT + STRIPE_GAP * 0.9)
    ax.set_xlabel("Time (days)")
    ax.set_title("Agency over time")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if legend:
        ax.legend(handles=[
            Patch(facecolor=PATIENT_COLOUR, label="Patient agency (plain blue)"),
            Patch(facecolor=PROFESSIONAL_COLOUR, hatch=PROFESSIONAL_HATCH, label="Professional agency (hatched green)"),
        ], loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    _set_agency_labels(art, profiles)
    return art


def _check_profiles(profiles) -> list:
    if isinstance(profiles, AgencyProfile):
        profiles = [profiles]
    profiles = list(profiles)
    if not profiles:
        raise ValueError("'profiles' must hold at least one AgencyProfile. Got an empty sequence instead.")
    for i, p in enumerate(profiles):
        if not isinstance(p, AgencyProfile):
            raise TypeError(f"'profiles[{i}]' must be an AgencyProfile. Got {type(p).__name__} instead.")
    return profiles


def _set_agency_labels(art: AgencyArtists, profiles) -> None:
    """Direct labels above each stripe (names), so no legend lookup is needed."""
    ax = art.ax
    ax.set_yticks([])
    art.names = [p.name or f"Stripe {i + 1}" for i, p in enumerate(profiles)]
    if len(art.name_texts) != len(art.names):
        for t in art.name_texts:
            t.remove()
        art.name_texts = [
            ax.text(0.0, base + STRIPE_HEIGHT + 0.04, "", transform=ax.get_yaxis_transform(), fontsize=9,
                    fontweight="bold", va="bottom")
            for base in art.bases
        ]
    for text, name in zip(art.name_texts, art.names):
        text.set_text(name)
    ax.set_xlim(0, max(p.params.horizon_days for p in profiles))


def update_agency(artists: AgencyArtists, profiles) -> AgencyArtists:
    """Change the stripes in place to show ``profiles`` (same number of stripes)."""
    profiles = _check_profiles(profiles)
    if len(profiles) != len(artists.boundaries):
        raise ValueError(
            f"'profiles' must hold {len(artists.boundaries)} profiles, as many as the figure has stripes. "
            f"Got {len(profiles)} instead."
        )
    for prof, pat, pro, line, base in zip(profiles, artists.patient_fills, artists.professional_fills,
                                          artists.boundaries, artists.bases):
        t = prof.times_days
        top = base + STRIPE_HEIGHT * prof.patient
        pat.set_verts([_band(t, np.full_like(t, base), top)])
        pro.set_verts([_band(t, top, np.full_like(t, base + STRIPE_HEIGHT))])
        line.set_data(t, top)
    _set_agency_labels(artists, profiles)
    _redraw(artists.ax)
    return artists


def describe_agency(profiles, summaries=None) -> str:
    """One plain-text sentence describing an agency figure.

    ``summaries`` (one ``summarize(p)`` per profile) spares computing them
    again when the caller has them already.

    Examples
    --------
    >>> from course.agency import AgencyParams, agency_profile
    >>> print(describe_agency([agency_profile(AgencyParams(baseline=0.8, name="Steady"))]))
    Agency over time, one stripe: Steady, over 1 year, professionals hold 20% of the agency on average and 20% at most, and more than half of it 0% of the time.
    """
    profiles = _check_profiles(profiles)
    if summaries is None:
        summaries = [summarize(p) for p in profiles]
    elif len(summaries) != len(profiles):
        raise ValueError(f"'summaries' of describe_agency must have one summary per profile ({len(profiles)}). "
                         f"Got {len(summaries)} instead.")
    parts = []
    for p, s in zip(profiles, summaries):
        parts.append(
            f"{p.name or 'unnamed stripe'}, over {_format_days(p.params.horizon_days)}, professionals hold "
            f"{format_percent(s.mean_professional)} of the agency on average and "
            f"{format_percent(s.peak_professional)} at most, "
            f"and more than half of it {format_percent(s.professional_dominant_fraction)} of the time"
        )
    count = "one stripe" if len(parts) == 1 else f"{len(parts)} stripes"
    return f"Agency over time, {count}: " + "; ".join(parts) + "."


# -- services among the catalogue ---------------------------------------------
@dataclass
class ServiceMapArtists:
    ax: object
    catalogue: object
    current: object
    annotation: object

    @property
    def dynamic(self) -> list:
        return [self.current, self.annotation]

    def layout_key(self) -> tuple:
        return (self.ax.get_xlim(), self.ax.get_ylim())


def _service_xy(profile: ServiceProfile):
    return np.log10(profile.episode_days), classify(profile).score


def draw_service_map(ax, catalogue, current: ServiceProfile) -> ServiceMapArtists:
    """Place ``current`` (a star) among the catalogue's services.

    x is the episode length on a log scale, y the product-like score; the
    marker shape gives the catalogue's expected label (square product-like,
    diamond mixed, circle pure service) so colour is not needed.
    """
    for label, marker in _MARKERS.items():
        pts = [e for e in catalogue if e.expected_label == label]
        if pts:
            xy = np.array([_service_xy(e.profile) for e in pts])
            ax.scatter(xy[:, 0], xy[:, 1], marker=marker, s=36, facecolors="white", edgecolors="0.3",
                       label=f"Catalogue: {label}")
    # room above 1 and below 0, so a star at a score of 0 or 1 is not cut off
    y0, y1 = -0.06, 1.06
    ax.axhspan(PRODUCT_LIKE_AT, y1, color=PROFESSIONAL_COLOUR, alpha=0.08, linewidth=0)
    ax.axhspan(y0, PURE_AT, color=PATIENT_COLOUR, alpha=0.12, linewidth=0)
    # the bands are named outside the plot, on the right, so no label of a point can cover them
    for y, text in (((PRODUCT_LIKE_AT + 1.0) / 2, "product-\nlike"), ((PURE_AT + PRODUCT_LIKE_AT) / 2, "mixed"),
                    (PURE_AT / 2, "pure\nservice")):
        ax.text(1.01, y, text, transform=ax.get_yaxis_transform(), va="center", ha="left", fontsize=9,
                style="italic")
    x, y = _service_xy(current)
    star = ax.scatter([x], [y], marker="*", s=260, color="black", zorder=5, label="This service")
    # the label moves with the star on every slider step: stamped, not laid out again (rendering.StampedText)
    note = StampedAnnotation(current.name, (x, y), xytext=(10, 10), fontsize=9, fontweight="bold",
                             textcoords="offset points", annotation_clip=False, clip_on=False)
    ax.add_artist(note)
    note.set_in_layout(False)
    ticks = [1 / 1440 * 15, 1 / 24, 1, 30, 365, 3650]
    ax.set_xticks(np.log10(ticks))
    ax.set_xticklabels(["15 min", "1 hour", "1 day", "1 month", "1 year", "10 years"])
    # from about 2 minutes: the star of the shortest episode the explorer allows (4.6 minutes) is not cut off
    ax.set_xlim(np.log10(0.0015), np.log10(8000))
    ax.set_ylim(y0, y1)
    ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_xlabel("Length of the episode of care (log scale)")
    ax.set_ylabel("Product-like score")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=4, fontsize=9, frameon=False)
    _place_annotation(note, ax, x, y)
    return ServiceMapArtists(ax, None, star, note)


def _place_annotation(note, ax, x, y) -> None:
    """Put a point's label inside the plot: on the side of the point where it fits, below it near the top.

    A label goes right of its point unless it would run past the plot's right
    edge (over the band names there), then left of it; a name too long for
    either side is written on two lines.
    """
    x0, x1 = ax.get_xlim()
    high = y > 0.8
    note.xy = (x, y)
    note.set_verticalalignment("top" if high else "bottom")
    name = " ".join(note.get_text().split())
    try:
        renderer = ax.figure.canvas.get_renderer()
    except AttributeError:  # a canvas without a renderer: place by the point's half of the plot
        renderer = None
    to_right, text = (x - x0) / (x1 - x0) <= 0.5, name
    if renderer is not None:
        box, (px, _) = ax.get_window_extent(renderer), ax.transData.transform((x, y))
        room_right, room_left = box.x1 - px - 10, px - box.x0 - 10
        note.set_position((10, 0))
        note.set_horizontalalignment("left")
        for text in (name, textwrap.fill(name, max(12, len(name) // 2 + 1))):
            note.set_text(text)
            width = note.get_window_extent(renderer).width
            if width <= room_right or width <= room_left:
                to_right = width <= room_right
                break
        else:
            to_right = room_right >= room_left
    note.set_text(text)
    note.set_position((10 if to_right else -10, -10 if high else 10))
    note.set_horizontalalignment("left" if to_right else "right")


def update_service_map(artists: ServiceMapArtists, current: ServiceProfile) -> ServiceMapArtists:
    x, y = _service_xy(current)
    artists.current.set_offsets([[x, y]])
    artists.annotation.set_text(current.name)
    _place_annotation(artists.annotation, artists.ax, x, y)
    _redraw(artists.ax)
    return artists


def describe_service_map(current: ServiceProfile, catalogue) -> str:
    c = classify(current)
    others = [e for e in catalogue if e.name != current.name] or list(catalogue)
    nearest = min(others, key=lambda e: (abs(classify(e.profile).score - c.score), e.name))
    return (
        f"{current.name} scores {format_fixed(c.score, 2)} of 1 and is labelled {c.label}; among the {len(catalogue)} "
        f"catalogue services, plotted by episode length and score, the nearest in score is "
        f"{nearest.name} ({nearest.expected_label})."
    )


# -- value stream against the agency stripe -------------------------------------
class _Bars(PolyCollection):
    """Bars of one colour and hatch, drawn as one compound path.

    Agg rasterises a hatch pattern once per path it fills: the map's waits,
    dotted, cost about 0.5 ms each, and as one path about as much as one
    bar (3.4 ms down to 0.7 ms for a six-step map).  The pixels are the
    same: a hatch is aligned to the canvas, not to the bar.  ``get_paths``
    still gives one path per bar.
    """

    def draw(self, renderer):
        paths = self._paths
        if paths is None or len(paths) < 2:
            return super().draw(renderer)
        self._paths = [Path.make_compound_path(*paths)]
        try:
            return super().draw(renderer)
        finally:
            self._paths = paths


@dataclass
class ValueStreamArtists:
    ax: object
    waits: object
    processes: object
    ticks: object
    stripe: AgencyArtists
    occupied: object = None
    step_numbers: list = field(default_factory=list)

    @property
    def dynamic(self) -> list:
        return [self.waits, self.processes, self.occupied, self.ticks, *self.step_numbers, *self.stripe.dynamic]

    def layout_key(self) -> tuple:
        return self.stripe.layout_key()


_MAP_ROW = (1.5, 2.1)


def _vsm_geometry(vsm: ValueStreamMap):
    waits, procs, held, ticks = [], [], [], []
    lo, hi = _MAP_ROW
    for kind, _s, a, b in vsm.intervals_days():
        rect = np.array([[a, lo], [b, lo], [b, hi], [a, hi]])
        {"process": procs, "wait": waits, "occupied": held}[kind].append(rect)
        if kind == "process":
            ticks.append([[a, lo - 0.05], [a, hi + 0.05]])
    return waits, procs, held, ticks


def draw_value_stream(ax, vsm: ValueStreamMap, profile: AgencyProfile) -> ValueStreamArtists:
    """The map's steps on a time line above the patient's agency stripe.

    Waits are pale dotted bars; process steps are black bars with a tick so
    that minutes-long steps stay visible on a scale of months; the time a
    patient holds a bed or chair beyond the hands-on work is a grey hatched bar.
    """
    stripe = draw_agency(ax, [profile], legend=False)
    waits, procs, held, ticks = _vsm_geometry(vsm)
    w = _Bars(waits, facecolors="0.92", edgecolors="0.5", hatch="..", linewidths=0.5,
                       label="Map: waiting")
    p = _Bars(procs, facecolors="black", edgecolors="black", linewidths=0.5, label="Map: process step")
    o = _Bars(held, facecolors="0.6", edgecolors="0.25", hatch="//", linewidths=0.5,
                       label="Map: bed or chair held")
    tk = LineCollection(ticks, colors="black", linewidths=1.5)
    for c in (w, o, p, tk):
        ax.add_collection(c)
    ax.set_ylim(-0.05, _MAP_ROW[1] + 0.35)
    ax.text(-0.01, (_MAP_ROW[0] + _MAP_ROW[1]) / 2, "Value-stream\nmap (steps\nnumbered)",
            transform=ax.get_yaxis_transform(), fontsize=8, fontweight="bold", va="center", ha="right")
    ax.set_title("What the map records (top) against who does the work (bottom)")
    ax.set_xlim(0, max(profile.params.horizon_days, vsm.lead_time_days))
    ax.legend(handles=[
        Patch(facecolor="0.92", edgecolor="0.5", hatch="..", label="Map: waiting"),
        Patch(facecolor="black", label="Map: process step"),
        Patch(facecolor="0.6", edgecolor="0.25", hatch="//", label="Map: bed or chair held"),
        Patch(facecolor=PATIENT_COLOUR, label="Patient agency"),
        Patch(facecolor=PROFESSIONAL_COLOUR, hatch=PROFESSIONAL_HATCH, label="Professional agency"),
    ], loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False, fontsize=9)
    art = ValueStreamArtists(ax, w, p, tk, stripe, o)
    art.step_numbers = [_step_number(ax, str(i + 1)) for i in range(len(vsm.steps))]
    _number_steps(art, vsm)
    return art


def _step_number(ax, label: str) -> StampedText:
    """One step's number above the map bar; it moves on every slider step, so it is stamped, not laid out again."""
    return ax.add_artist(StampedText(0, _MAP_ROW[1] + 0.07, label, ha="center", va="bottom", fontsize=8,
                                     clip_on=False))


def _number_steps(artists: ValueStreamArtists, vsm: ValueStreamMap) -> None:
    """Number the steps above the map bar (1 = first step), leaving out a number that would touch the one before.

    The names go with the numbers in the explorer's key and in the Step menu.
    """
    ax = artists.ax
    x0, x1 = ax.get_xlim()
    gap = (x1 - x0) * 0.025  # about two digits' width at the lesson's size
    starts = vsm.step_starts_days()
    while len(artists.step_numbers) < len(starts):
        artists.step_numbers.append(_step_number(ax, ""))
    last = -np.inf
    for i, t in enumerate(artists.step_numbers):
        if i >= len(starts):
            t.set_visible(False)
            continue
        x = starts[i]
        shown = x - last >= gap and x0 <= x <= x1
        t.set_text(str(i + 1))
        t.set_x(x)
        t.set_visible(shown)
        if shown:
            last = x


def time_axis_end(needed_days: float, xmax_days: float = 0.0) -> float:
    """Where the value-stream figure's time axis ends, for content reaching ``needed_days``.

    With ``xmax_days`` (an explorer passes the pathway as shipped) the axis
    keeps that length while the content is shorter, or longer by at most
    0.2% (less than a pixel at the lesson's width: a step made a minute
    longer moves nothing visible), and past that grows in steps of 5%.  So
    a slider step redraws by blitting instead of laying the whole figure out
    again for an axis a minute longer.

    Examples
    --------
    >>> time_axis_end(200.0, 365.0), time_axis_end(365.0007, 365.0), time_axis_end(380.0, 365.0)
    (365.0, 365.0, 383.25)
    >>> time_axis_end(120.5)
    120.5
    """
    if xmax_days <= 0:
        return needed_days
    if needed_days <= xmax_days * 1.002:
        return xmax_days
    return xmax_days * (1 + 0.05 * math.ceil((needed_days / xmax_days - 1) / 0.05 - 1e-9))


def update_value_stream(artists: ValueStreamArtists, vsm: ValueStreamMap, profile: AgencyProfile,
                        *, xmax_days: float = 0.0):
    """Show ``vsm`` over ``profile`` in place.

    The time axis keeps the length ``xmax_days`` while the content fits it
    (see :func:`time_axis_end`): an explorer passes the extent of the pathway
    as shipped, so that changing a wait or a process time keeps the axis (and
    the fast redraw) instead of moving it.
    """
    waits, procs, held, ticks = _vsm_geometry(vsm)
    artists.waits.set_verts(waits)
    artists.processes.set_verts(procs)
    artists.occupied.set_verts(held)
    artists.ticks.set_segments(ticks)
    update_agency(artists.stripe, [profile])
    artists.ax.set_xlim(0, time_axis_end(max(profile.params.horizon_days, vsm.lead_time_days), xmax_days))
    _number_steps(artists, vsm)
    _redraw(artists.ax)
    return artists


def describe_value_stream(vsm: ValueStreamMap, profile: AgencyProfile, coverage=None) -> str:
    """One plain-text sentence describing the value-stream figure.

    ``coverage`` is ``vsm.coverage(profile)`` when the caller has it already
    (an explorer computes it for its readout); otherwise it is computed here.
    """
    cov = vsm.coverage(profile) if coverage is None else coverage
    return (
        f"{vsm.name or 'The map'}: {len(vsm.steps)} steps over {_format_days(vsm.lead_time_days)}, "
        f"process cycle efficiency {format_percent(vsm.process_cycle_efficiency, 2)}; "
        f"{format_percent(cov.patient_in_waits_fraction)} of the patient's agency falls in what the map calls "
        f"waiting, {format_percent(cov.patient_seen_fraction, 1)} in its process steps"
        + (f", {format_percent(cov.patient_in_occupancy_fraction, 1)} while they hold a bed or chair beyond the "
           "hands-on time" if any(s.occupied_minutes > s.process_minutes for s in vsm.steps) else "")
        + f" and {format_percent(cov.patient_outside_map_fraction)} before or after the map."
    )
