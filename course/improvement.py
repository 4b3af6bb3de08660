"""Measuring and improving care: run charts, control-chart limits, patient scores and bed capacity.

Four small models used by Lesson 7.  They are pure (numpy only), so lessons,
exercises and explorers all compute the same numbers.

Run charts
    Perla, Provost & Murray (2011) describe the run chart: the data in time
    order with the **median** as the centre line, read with probability-based
    rules.  :func:`run_chart` applies the first two of their rules:

    * a **shift** is six or more consecutive points all above or all below the
      median; points that fall exactly on the median neither count towards a
      shift nor break it;
    * a **trend** is five or more consecutive points all going up or all going
      down; when two or more successive points have the same value, only the
      first is counted (like values neither make nor break a trend).

    Their other two rules (too many or too few runs, and an "astronomical" data
    point) need a table or a judgement and are not modelled here.

Control-chart limits
    :func:`xmr_limits` gives the limits of an XmR (individuals) chart, the
    first of the charts in Mohammed, Worthington & Woodall's (2008) tutorial:
    the mean plus and minus 2.66 times the mean moving range.

Patient-reported scores
    :func:`oxford_hip_score` sums the twelve answers of the Oxford Hip Score,
    each scored 0 to 4, into the current 0-48 scale on which **48 is best**.
    Older papers used other scorings (one ran 0-100 with lower better), so a
    number means nothing until its scale is stated.

Capacity
    Little's law (Little 1961): in a system in a steady state, the average
    number inside (L) equals the arrival rate (lambda) times the average time each
    stays (W).  For a ward: average occupied beds = admissions per day x average
    length of stay in days.  :class:`Ward` adds the beds and what follows from
    them (occupancy, and the beds needed for a target occupancy).

Examples
--------
>>> chart = run_chart([3, 4, 3, 4, 3, 4, 8, 9, 8, 9, 8, 9])
>>> chart.median
6.0
>>> [(s.direction, s.first_point, s.last_point) for s in chart.shifts]
[('below', 1, 6), ('above', 7, 12)]
>>> Ward(beds=12, arrivals_per_day=4, length_of_stay_days=3.4).average_occupied_beds
13.6
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from course._validation import check_real, check_str

__all__ = [
    "SHIFT_POINTS",
    "TREND_POINTS",
    "XMR_CONSTANT",
    "Signal",
    "RunChart",
    "run_chart",
    "XmRLimits",
    "xmr_limits",
    "oxford_hip_score",
    "OXFORD_HIP_ITEMS",
    "OXFORD_HIP_MAX",
    "average_occupancy",
    "beds_needed",
    "Ward",
    "simulated_series",
]

#: A shift: at least this many consecutive points on one side of the median (Perla et al. 2011).
SHIFT_POINTS = 6
#: A trend: at least this many consecutive points all going up or all going down (Perla et al. 2011).
TREND_POINTS = 5
#: The factor between the mean moving range and the distance from the mean to an XmR chart's limits.
XMR_CONSTANT = 2.66
#: The Oxford Hip Score has 12 questions, each scored 0 (worst) to 4 (best): 0 to 48, 48 best.
OXFORD_HIP_ITEMS = 12
OXFORD_HIP_MAX = 4 * OXFORD_HIP_ITEMS


def _check_values(values, name: str, owner: str, *, minimum: int = 1) -> tuple:
    """``values`` as a tuple of finite floats, or a clear error."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"'{name}' of {owner} must be a sequence of numbers, such as [12, 15, 11]. "
                        f"Got {values!r} of type {type(values).__name__} instead.")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"'{name}[{i}]' of {owner} must be a number. "
                            f"Got {v!r} of type {type(v).__name__} instead.")
        if not math.isfinite(float(v)):
            raise ValueError(f"'{name}[{i}]' of {owner} must be a finite number. Got {v!r} instead.")
        out.append(float(v))
    if len(out) < minimum:
        raise ValueError(f"'{name}' of {owner} must hold at least {minimum} number{'s' if minimum != 1 else ''}. "
                         f"Got {len(out)} instead.")
    return tuple(out)


def _check_int(value, name: str, owner: str, *, low: int, high: int | None = None) -> int:
    interval = f"[{low}, {'inf' if high is None else high}]"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"'{name}' of {owner} must be a whole number in {interval}. "
                        f"Got {value!r} of type {type(value).__name__} instead.")
    if value < low or (high is not None and value > high):
        raise ValueError(f"'{name}' of {owner} must be a whole number in {interval}. Got {value!r} instead.")
    return int(value)


# ----------------------------------------------------------------- run charts
@dataclass(frozen=True)
class Signal:
    """One run-chart signal: a shift or a trend.

    ``start`` and ``stop`` are positions in the series counted from 0 (``stop``
    is the last point, included); ``first_point`` and ``last_point`` are the
    same counted from 1, as a chart's "week 1, week 2, ..." reads.  ``points``
    is how many points the rule counted: points on the median inside a shift,
    and repeated values inside a trend, are not counted.
    """

    kind: str
    direction: str
    start: int
    stop: int
    points: int

    @property
    def first_point(self) -> int:
        return self.start + 1

    @property
    def last_point(self) -> int:
        return self.stop + 1

    def describe(self) -> str:
        """A short phrase such as ``"a shift above the median, points 7 to 12 (6 points)"``."""
        where = {"above": "above the median", "below": "below the median", "up": "going up", "down": "going down"}
        return (f"a {self.kind} {where[self.direction]}, points {self.first_point} to {self.last_point} "
                f"({self.points} points)")


@dataclass(frozen=True)
class RunChart:
    """A series read with the run-chart rules (see :func:`run_chart`)."""

    values: tuple
    median: float
    shifts: tuple
    trends: tuple
    shift_points: int = SHIFT_POINTS
    trend_points: int = TREND_POINTS

    @property
    def signal(self) -> bool:
        """Does either rule flag non-random variation?"""
        return bool(self.shifts or self.trends)

    @property
    def on_median(self) -> tuple:
        """Positions (from 0) of the points that lie exactly on the median."""
        return tuple(i for i, v in enumerate(self.values) if v == self.median)

    @property
    def signal_positions(self) -> tuple:
        """Positions (from 0) of every point inside a shift or a trend, in order."""
        return tuple(sorted({i for s in self.shifts + self.trends for i in range(s.start, s.stop + 1)}))

    def describe(self) -> str:
        """The chart's result in one sentence."""
        found = [s.describe() for s in self.shifts + self.trends]
        head = f"{len(self.values)} points, median {self.median:g}"
        if not found:
            return f"{head}: no shift and no trend, so no signal by these rules."
        return f"{head}: " + "; ".join(found) + "."


def _shifts(values, median, length) -> list:
    found = []
    side, count, start, last = None, 0, None, None

    def close():
        if side is not None and count >= length:
            found.append(Signal("shift", side, start, last, count))

    for i, v in enumerate(values):
        if v == median:
            continue  # on the median: neither counts nor breaks the run
        s = "above" if v > median else "below"
        if s != side:
            close()
            side, count, start = s, 0, i
        count += 1
        last = i
    close()
    return found


def _trends(values, length) -> list:
    # only the first of successive equal values is counted
    kept = [i for i in range(len(values)) if i == 0 or values[i] != values[i - 1]]
    found = []
    direction, first = None, 0  # first: index in kept where the current monotone run starts
    for k in range(1, len(kept) + 1):
        if k < len(kept):
            d = "up" if values[kept[k]] > values[kept[k - 1]] else "down"
            if d == direction:
                continue
        # the run kept[first .. k-1] has ended (or the series has)
        if direction is not None and k - first >= length:
            found.append(Signal("trend", direction, kept[first], kept[k - 1], k - first))
        if k < len(kept):
            direction, first = d, k - 1
    return found


def run_chart(values, *, shift_points: int = SHIFT_POINTS, trend_points: int = TREND_POINTS) -> RunChart:
    """Read a series in time order with Perla et al.'s (2011) shift and trend rules.

    Parameters
    ----------
    values : sequence of float
        The measure in time order (weekly percentages, days, scores), at least one value.
    shift_points : int
        How many consecutive points on one side of the median make a shift (default 6).
    trend_points : int
        How many consecutive points going the same way make a trend (default 5).

    Returns
    -------
    RunChart
        The median of all the values (the centre line), and the shifts and trends found.

    Examples
    --------
    Points on the median neither count nor break a shift: here the 5 sits on the
    median, and the six points above it around it still make a shift.

    >>> chart = run_chart([1, 2, 1, 2, 1, 2, 1, 5, 8, 9, 8, 5, 9, 8, 9])
    >>> chart.median
    5.0
    >>> [s.describe() for s in chart.shifts]
    ['a shift below the median, points 1 to 7 (7 points)', 'a shift above the median, points 9 to 15 (6 points)']

    A repeated value neither makes nor breaks a trend:

    >>> [s.describe() for s in run_chart([1, 2, 2, 3, 4, 5, 3]).trends]
    ['a trend going up, points 1 to 6 (5 points)']
    """
    owner = "run_chart"
    vals = _check_values(values, "values", owner)
    shift_points = _check_int(shift_points, "shift_points", owner, low=2)
    trend_points = _check_int(trend_points, "trend_points", owner, low=3)
    median = float(np.median(vals))
    return RunChart(vals, median, tuple(_shifts(vals, median, shift_points)),
                    tuple(_trends(vals, trend_points)), shift_points, trend_points)


# ----------------------------------------------------------------- XmR limits
@dataclass(frozen=True)
class XmRLimits:
    """The centre line and limits of an XmR (individuals) control chart."""

    mean: float
    mean_moving_range: float
    lower: float
    upper: float

    def outside(self, values) -> tuple:
        """Positions (from 0) of the values above the upper or below the lower limit."""
        vals = _check_values(values, "values", "XmRLimits.outside", minimum=0)
        return tuple(i for i, v in enumerate(vals) if v > self.upper or v < self.lower)


def xmr_limits(values) -> XmRLimits:
    """Limits of an XmR chart: mean +/- 2.66 x the mean of the moving ranges.

    A moving range is the absolute difference between one value and the one before.

    Examples
    --------
    >>> lim = xmr_limits([10, 12, 11, 13, 12])
    >>> lim.mean, lim.mean_moving_range
    (11.6, 1.5)
    >>> round(lim.lower, 2), round(lim.upper, 2)
    (7.61, 15.59)
    """
    vals = _check_values(values, "values", "xmr_limits", minimum=2)
    mean = float(np.mean(vals))
    mr = float(np.mean(np.abs(np.diff(vals))))
    return XmRLimits(mean, mr, mean - XMR_CONSTANT * mr, mean + XMR_CONSTANT * mr)


# ----------------------------------------------------------------- Oxford Hip Score
def oxford_hip_score(answers) -> int:
    """The Oxford Hip Score on the current scale: 12 answers, each 0 (worst) to 4 (best), summed to 0-48.

    48 is the best possible score.  Papers that used the original or other
    scorings report numbers on other scales: always say which scale a number uses.

    Examples
    --------
    >>> oxford_hip_score([1] * 12), oxford_hip_score([4] * 12)
    (12, 48)
    """
    owner = "oxford_hip_score"
    if isinstance(answers, (str, bytes)) or not hasattr(answers, "__iter__"):
        raise TypeError(f"'answers' of {owner} must be a list of {OXFORD_HIP_ITEMS} whole numbers from 0 to 4. "
                        f"Got {answers!r} of type {type(answers).__name__} instead.")
    answers = list(answers)
    if len(answers) != OXFORD_HIP_ITEMS:
        raise ValueError(f"'answers' of {owner} must hold {OXFORD_HIP_ITEMS} answers, one per question. "
                         f"Got {len(answers)} instead.")
    return sum(_check_int(a, f"answers[{i}]", owner, low=0, high=4) for i, a in enumerate(answers))


# ----------------------------------------------------------------- capacity
def average_occupancy(arrivals_per_day, length_of_stay_days) -> float:
    """Little's law: the average number of occupied beds = admissions per day x average stay in days.

    It holds for averages over a long, steady period, whatever the pattern of
    arrivals; on a busy day more beds are taken.

    Examples
    --------
    >>> average_occupancy(4, 5.3)
    21.2
    """
    owner = "average_occupancy"
    lam = check_real(arrivals_per_day, "arrivals_per_day", owner, low=0, high=1e6)
    w = check_real(length_of_stay_days, "length_of_stay_days", owner, low=0, high=3650)
    return round(lam * w, 12)


def beds_needed(arrivals_per_day, length_of_stay_days, target_occupancy=0.85) -> int:
    """The fewest beds that keep the average occupancy at or below ``target_occupancy``.

    ``target_occupancy`` is a fraction in (0, 1]: 0.85 means 85% of the beds
    occupied on average, leaving room for the days when more patients arrive.

    Examples
    --------
    >>> beds_needed(4, 3.4, 0.85)
    16
    >>> beds_needed(5, 4.2, 0.85)
    25
    """
    target = check_real(target_occupancy, "target_occupancy", "beds_needed", low=0, high=1, low_open=True)
    occupied = average_occupancy(arrivals_per_day, length_of_stay_days)
    return max(1, math.ceil(occupied / target - 1e-9))


@dataclass(frozen=True)
class Ward:
    """A ward (or any pool of beds, chairs or places) with its demand.

    Parameters
    ----------
    beds : int
        How many beds there are, a whole number in [1, 10000].
    arrivals_per_day : float
        Average admissions per day, in [0, 1000].
    length_of_stay_days : float
        Average length of stay in days, in [0, 365].
    name : str
        Shown in captions.

    Examples
    --------
    >>> ward = Ward(beds=16, arrivals_per_day=4, length_of_stay_days=3.4)
    >>> ward.average_occupied_beds, round(ward.occupancy, 3), ward.keeps_up
    (13.6, 0.85, True)
    """

    beds: int
    arrivals_per_day: float
    length_of_stay_days: float
    name: str = ""

    def __post_init__(self):
        owner = "Ward"
        object.__setattr__(self, "beds", _check_int(self.beds, "beds", owner, low=1, high=10_000))
        object.__setattr__(self, "arrivals_per_day",
                           check_real(self.arrivals_per_day, "arrivals_per_day", owner, low=0, high=1000))
        object.__setattr__(self, "length_of_stay_days",
                           check_real(self.length_of_stay_days, "length_of_stay_days", owner, low=0, high=365))
        check_str(self.name, "name", owner)

    @property
    def average_occupied_beds(self) -> float:
        """Little's law: admissions per day x average length of stay."""
        return average_occupancy(self.arrivals_per_day, self.length_of_stay_days)

    @property
    def occupancy(self) -> float:
        """Average occupied beds as a fraction of the beds; above 1 the demand cannot be met."""
        return self.average_occupied_beds / self.beds

    @property
    def keeps_up(self) -> bool:
        """Are there more beds than are occupied on average?

        At an occupancy of 1 or more there is no steady state: Little's law
        no longer describes the ward, because the queue of patients waiting
        for a bed grows for as long as the demand lasts.
        """
        return self.occupancy < 1.0

    def beds_needed(self, target_occupancy=0.85) -> int:
        """The fewest beds for this demand at ``target_occupancy`` (see :func:`beds_needed`)."""
        return beds_needed(self.arrivals_per_day, self.length_of_stay_days, target_occupancy)

    def longest_stay_days(self, target_occupancy=0.85) -> float:
        """The longest average stay these beds allow at ``target_occupancy`` (inf with no admissions)."""
        target = check_real(target_occupancy, "target_occupancy", "Ward.longest_stay_days", low=0, high=1,
                            low_open=True)
        if self.arrivals_per_day == 0:
            return math.inf
        return self.beds * target / self.arrivals_per_day


# ----------------------------------------------------------------- an illustrative series
def simulated_series(*, n_points: int = 24, change_at: int = 13, baseline: float = 40.0, change: float = 15.0,
                     noise: float = 5.0, seed: int = 7, low: float = 0.0, high: float = 100.0) -> np.ndarray:
    """A made-up weekly measure: a baseline, a step change, and random noise (for the run-chart explorer).

    Parameters
    ----------
    n_points : int
        How many weeks, in [6, 200].
    change_at : int
        The week (counted from 1) from which the change applies, in [1, n_points + 1];
        ``n_points + 1`` means no change within the series.
    baseline : float
        The level before the change.
    change : float
        How much the level moves from ``change_at`` onwards (negative for a fall).
    noise : float
        The standard deviation of the week-to-week noise, >= 0.
    seed : int
        Fixes the random numbers, so the same settings always give the same series.
    low, high : float
        Values are kept within [low, high] (for a percentage, 0 and 100), and rounded to one decimal.

    Examples
    --------
    >>> simulated_series(n_points=6, change_at=4, baseline=40, change=10, noise=0).tolist()
    [40.0, 40.0, 40.0, 50.0, 50.0, 50.0]
    """
    owner = "simulated_series"
    n = _check_int(n_points, "n_points", owner, low=6, high=200)
    at = _check_int(change_at, "change_at", owner, low=1, high=n + 1)
    base = check_real(baseline, "baseline", owner)
    step = check_real(change, "change", owner)
    sd = check_real(noise, "noise", owner, low=0, high=1e6)
    seed = _check_int(seed, "seed", owner, low=0)
    lo = check_real(low, "low", owner)
    hi = check_real(high, "high", owner)
    if hi <= lo:
        raise ValueError(f"'high' of {owner} must be greater than 'low' ({lo!r}). Got {high!r} instead.")
    rng = np.random.default_rng(seed)
    level = np.where(np.arange(1, n + 1) >= at, base + step, base)
    values = level + sd * rng.standard_normal(n)
    return np.round(np.clip(values, lo, hi), 1)
