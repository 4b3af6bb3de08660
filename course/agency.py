"""Agency over time: who does the work of producing health, and when.

Batalden and colleagues drew the coproduction of a person's health as a stripe:
time runs left to right, the patient's agency is blue and the professionals'
agency is green, and at every moment the two add up to the whole.  This module
is that picture as a model.  It is pure (numpy only) so that lessons, exercises
and widgets all compute the same numbers.

A profile is built from parameters a learner can reason about:

* ``baseline`` - the patient's share of agency on an ordinary day;
* ``trend_per_year`` - how that share drifts (growing self-management is > 0);
* ``episodes`` - acute events or procedures, each with a start, a duration,
  how far the patient's agency drops and how fast it comes back.

Examples
--------
>>> from course.agency import AgencyParams, Episode, patient_share
>>> params = AgencyParams(baseline=0.8, episodes=(Episode(10, 2, depth=0.5, recovery_days=4),))
>>> [round(float(x), 3) for x in patient_share(params, [0, 11, 16])]
[0.8, 0.4, 0.6]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Iterable, Mapping, Optional

import numpy as np

from course._validation import check_real, check_str

__all__ = [
    "Episode",
    "AgencyParams",
    "AgencyProfile",
    "AgencySummary",
    "patient_share",
    "patient_share_at",
    "agency_profile",
    "summarize",
    "PRESETS",
    "DAYS_PER_YEAR",
    "DriftLimits",
    "drift_limits",
    "boundary_notes",
]

DAYS_PER_YEAR = 365.25
#: Professionals "dominate" when their share is above this.
DOMINANCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Episode:
    """An acute event or procedure during which the patient hands over agency.

    Parameters
    ----------
    start_days : float
        When the episode begins, in days from the start of the profile (>= 0).
    duration_days : float
        How long it lasts, in days (> 0).  30 minutes is ``30 / 1440``.
    depth : float
        The fraction of the patient's agency handed to professionals during the
        episode, in [0, 1].  0.9 means the patient keeps a tenth of their
        usual share (for example under anaesthesia).
    recovery_days : float
        After the episode ends, the days it takes to win back half of the lost
        agency (a half-life, > 0).
    label : str
        A name shown on plots, such as ``"surgery"``.
    """

    start_days: float
    duration_days: float
    depth: float
    recovery_days: float
    label: str = "episode"

    def __post_init__(self):
        owner = "Episode"
        object.__setattr__(self, "start_days", check_real(self.start_days, "start_days", owner, low=0))
        object.__setattr__(
            self, "duration_days",
            check_real(self.duration_days, "duration_days", owner, low=0, low_open=True),
        )
        object.__setattr__(self, "depth", check_real(self.depth, "depth", owner, low=0, high=1))
        object.__setattr__(
            self, "recovery_days",
            check_real(self.recovery_days, "recovery_days", owner, low=0, low_open=True),
        )
        check_str(self.label, "label", owner)

    @property
    def end_days(self) -> float:
        return self.start_days + self.duration_days


@dataclass(frozen=True)
class AgencyParams:
    """Everything that shapes one agency stripe.

    Parameters
    ----------
    baseline : float
        The patient's share of agency at day 0 outside any episode, in [0, 1].
    trend_per_year : float
        Change of the baseline share per year, in [-1, 1]; positive values model
        growing self-management.  The share is kept within [0, 1].
    episodes : sequence of Episode
        Acute events or procedures.  Overlapping episodes compound.
    horizon_days : float
        The length of the stripe in days, in (0, 36525].
    name, description : str
        Shown in menus and captions.
    """

    baseline: float
    trend_per_year: float = 0.0
    episodes: tuple = ()
    horizon_days: float = 365.0
    name: str = ""
    description: str = field(default="", compare=False)

    def __post_init__(self):
        owner = "AgencyParams"
        object.__setattr__(self, "baseline", check_real(self.baseline, "baseline", owner, low=0, high=1))
        object.__setattr__(
            self, "trend_per_year", check_real(self.trend_per_year, "trend_per_year", owner, low=-1, high=1)
        )
        object.__setattr__(
            self, "horizon_days",
            check_real(self.horizon_days, "horizon_days", owner, low=0, high=100 * DAYS_PER_YEAR, low_open=True),
        )
        episodes = self.episodes
        if isinstance(episodes, Episode):
            episodes = (episodes,)
        if isinstance(episodes, (str, bytes)) or not isinstance(episodes, Iterable):
            raise TypeError(
                f"'episodes' of AgencyParams must be a sequence of Episode. Got {episodes!r} instead."
            )
        episodes = tuple(episodes)
        for i, ep in enumerate(episodes):
            if not isinstance(ep, Episode):
                raise TypeError(
                    f"'episodes[{i}]' of AgencyParams must be an Episode. "
                    f"Got {ep!r} of type {type(ep).__name__} instead."
                )
        object.__setattr__(self, "episodes", episodes)
        check_str(self.name, "name", owner)
        check_str(self.description, "description", owner)

    def replace(self, **changes) -> "AgencyParams":
        """Return a copy with some fields changed (the original is frozen)."""
        return replace(self, **changes)


def _baseline_share(params: AgencyParams, t: np.ndarray) -> np.ndarray:
    return np.clip(params.baseline + params.trend_per_year * t / DAYS_PER_YEAR, 0.0, 1.0)


def patient_share(params: AgencyParams, times_days) -> np.ndarray:
    """The patient's share of agency at the given times (days).

    The professionals' share is ``1 - patient_share``.  Outside episodes the
    share follows the baseline and trend; during an episode it is multiplied
    by ``1 - depth``; afterwards the lost part comes back with half-life
    ``recovery_days``.

    Examples
    --------
    >>> params = AgencyParams(baseline=0.5, trend_per_year=0.2)
    >>> round(float(patient_share(params, [365.25])[0]), 3)
    0.7
    """
    if not isinstance(params, AgencyParams):
        raise TypeError(f"'params' must be an AgencyParams. Got {type(params).__name__} instead.")
    t = np.asarray(times_days, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ValueError("'times_days' must be finite numbers of days. Got a NaN or infinite value instead.")
    share = _baseline_share(params, t)
    for ep in params.episodes:
        after = t - ep.end_days
        drop = np.where(
            t < ep.start_days,
            0.0,
            np.where(after <= 0, ep.depth, ep.depth * np.exp2(-np.maximum(after, 0) / ep.recovery_days)),
        )
        share = share * (1.0 - drop)
    return share


def patient_share_at(params: AgencyParams, day: float) -> float:
    """The patient's share of agency on one day, as a plain float.

    Examples
    --------
    >>> patient_share_at(AgencyParams(baseline=0.6), 100)
    0.6
    """
    day = check_real(day, "day", "patient_share_at", low=-1e12, high=1e12)
    return float(patient_share(params, [day])[0])


def _time_grid(params: AgencyParams, n_points: int) -> np.ndarray:
    horizon = params.horizon_days
    pieces = [np.linspace(0.0, horizon, n_points)]
    eps = horizon * 1e-7
    for ep in params.episodes:
        inside = ep.start_days + ep.duration_days * np.array([0.0, 0.5, 1.0])
        recovery = ep.end_days + ep.recovery_days * np.array([0.125, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8])
        pieces.append(np.array([ep.start_days - eps]))
        pieces.append(inside)
        pieces.append(recovery)
    t = np.unique(np.concatenate(pieces))
    return t[(t >= 0.0) & (t <= horizon)]


@dataclass(frozen=True, eq=False)
class AgencyProfile:
    """A stripe sampled in time: read-only arrays of times and both shares."""

    params: AgencyParams
    times_days: np.ndarray
    patient: np.ndarray
    professional: np.ndarray

    @property
    def name(self) -> str:
        return self.params.name

    def weights(self) -> np.ndarray:
        """Trapezoid weights (days) so that ``weights() @ f`` integrates f."""
        t = self.times_days
        if t.size == 1:
            return np.array([1.0])
        dt = np.diff(t)
        w = np.zeros_like(t)
        w[:-1] += dt / 2
        w[1:] += dt / 2
        return w


def agency_profile(params: AgencyParams, n_points: int = 600) -> AgencyProfile:
    """Sample a stripe on a time grid that resolves every episode.

    The grid has ``n_points`` evenly spaced times plus extra times around each
    episode, so that a 30-minute operation in a year-long stripe is not lost.

    Examples
    --------
    >>> p = agency_profile(AgencyParams(baseline=0.7, horizon_days=10), n_points=11)
    >>> p.times_days.tolist()[:3], round(float(p.professional[0]), 2)
    ([0.0, 1.0, 2.0], 0.3)
    """
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise ValueError(f"'n_points' must be an int in [2, inf). Got {n_points!r} instead.")
    t = _time_grid(params, int(n_points))
    patient = patient_share(params, t)
    professional = 1.0 - patient
    for a in (t, patient, professional):
        a.setflags(write=False)
    return AgencyProfile(params, t, patient, professional)


@dataclass(frozen=True)
class AgencySummary:
    """Summary measures of one stripe (all in [0, 1]).

    Attributes
    ----------
    mean_professional : time-averaged professional share.
    peak_professional : the highest professional share reached.
    professional_dominant_fraction : share of the time professionals hold
        more than half the agency.
    concentration : how concentrated professional agency is in short
        episodes - the Gini coefficient of the professional share over time
        (0 = spread evenly, near 1 = all of it in a brief episode).
    """

    mean_professional: float
    peak_professional: float
    professional_dominant_fraction: float
    concentration: float

    def as_dict(self) -> dict:
        return {
            "mean professional share": self.mean_professional,
            "peak professional share": self.peak_professional,
            "time professionals dominate": self.professional_dominant_fraction,
            "concentration in episodes": self.concentration,
        }


def _weighted_gini(x: np.ndarray, w: np.ndarray) -> float:
    total_w = w.sum()
    mean = float(w @ x) / total_w
    if mean <= 1e-12:
        return 0.0
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    before = np.cumsum(ws) - ws
    after = total_w - before - ws
    g = float(np.sum(ws * xs * (before - after))) / (total_w**2 * mean)
    return float(np.clip(g, 0.0, 1.0))


def _dominant_time(profile: AgencyProfile) -> float:
    """Days during which professionals hold more than half the agency.

    Between samples the share is taken as linear, so a crossing of the 0.5
    line counts exactly the part of the interval above it.
    """
    t, y = profile.times_days, profile.professional - DOMINANCE_THRESHOLD
    if t.size == 1:
        return 0.0
    y0, y1, dt = y[:-1], y[1:], np.diff(t)
    both = (y0 > 0) & (y1 > 0)
    cross = (y0 > 0) != (y1 > 0)
    frac = np.zeros_like(dt)
    frac[both] = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(y0 > 0, y0 / (y0 - y1), y1 / (y1 - y0))
    frac[cross] = part[cross]
    return float(frac @ dt)


def summarize(profile) -> AgencySummary:
    """Summary measures of a profile (an :class:`AgencyProfile`, or :class:`AgencyParams` to sample first).

    Examples
    --------
    >>> flat = agency_profile(AgencyParams(baseline=0.75))
    >>> s = summarize(flat)
    >>> round(s.mean_professional, 3), round(s.peak_professional, 3), s.professional_dominant_fraction, s.concentration
    (0.25, 0.25, 0.0, 0.0)
    """
    if isinstance(profile, AgencyParams):
        profile = agency_profile(profile)
    if not isinstance(profile, AgencyProfile):
        raise TypeError(
            f"'profile' must be an AgencyProfile or AgencyParams. Got {type(profile).__name__} instead."
        )
    w = profile.weights()
    horizon = float(w.sum())
    def unit(x: float) -> float:  # remove rounding noise such as 1.0000000000000002
        return float(min(max(x, 0.0), 1.0))

    return AgencySummary(
        mean_professional=unit(float(w @ profile.professional) / horizon),
        peak_professional=unit(float(profile.professional.max())),
        professional_dominant_fraction=unit(_dominant_time(profile) / horizon),
        concentration=_weighted_gini(profile.professional, w),
    )


@dataclass(frozen=True)
class DriftLimits:
    """Where the drifting baseline (``baseline`` plus ``trend_per_year``) meets 0 or 1 within a stripe.

    The model keeps the patient's share within [0, 1]: past these days the
    baseline stays at 0 (professionals hold all the agency) or 1 (the patient
    holds all of it), which the lessons say does not happen (both agencies
    are always present).  Explorers show a note when either day falls inside
    the stripe.

    Attributes
    ----------
    no_patient_from_day : float or None
        The first day the baseline share is 0, or None if it never is.
    no_professional_from_day : float or None
        The first day the baseline share is 1, or None if it never is.
    days_without_both : float
        How many days of the stripe one side holds all of the baseline share.
    """

    no_patient_from_day: Optional[float]
    no_professional_from_day: Optional[float]
    days_without_both: float


def drift_limits(params: AgencyParams) -> DriftLimits:
    """When, within the stripe, the drifting baseline share reaches 0 or 1.

    Examples
    --------
    >>> d = drift_limits(AgencyParams(baseline=0.1, trend_per_year=-0.2, horizon_days=730))
    >>> round(d.no_patient_from_day, 2), d.no_professional_from_day, round(d.days_without_both, 2)
    (182.62, None, 547.38)
    >>> drift_limits(AgencyParams(baseline=0.8)).days_without_both
    0.0
    """
    if not isinstance(params, AgencyParams):
        raise TypeError(f"'params' must be an AgencyParams. Got {type(params).__name__} instead.")
    b, k, horizon = params.baseline, params.trend_per_year, params.horizon_days

    def first_day(target: float):
        if b == target:  # starts at the limit: stays there unless the trend leads away
            return 0.0 if k == 0 or (k < 0) == (target == 0.0) else None
        if k == 0 or (target - b) / k < 0:
            return None
        day = (target - b) / k * DAYS_PER_YEAR
        return day if day <= horizon else None

    none_day, all_day = first_day(0.0), first_day(1.0)
    start = next((d for d in (none_day, all_day) if d is not None), None)
    return DriftLimits(none_day, all_day, 0.0 if start is None else horizon - start)


def boundary_notes(params: AgencyParams) -> tuple:
    """Plain-language notes for the settings the model treats specially (empty when there are none).

    Examples
    --------
    >>> boundary_notes(AgencyParams(baseline=0.8))
    ()
    >>> print(boundary_notes(AgencyParams(baseline=0.05, trend_per_year=-0.5, horizon_days=365))[0])
    From day 37 the patient's share outside episodes has fallen to 0%, and the model keeps it there: for 328 days the stripe shows professionals holding all the agency, which the lessons say never happens (both agencies are always present). Raise the patient's agency at the start or the change per year.
    """
    d = drift_limits(params)
    notes = []
    if d.no_patient_from_day is not None:
        notes.append(
            f"From day {d.no_patient_from_day:.0f} the patient's share outside episodes has fallen to 0%, and the "
            f"model keeps it there: for {d.days_without_both:.0f} days the stripe shows professionals holding all "
            "the agency, which the lessons say never happens (both agencies are always present). Raise the "
            "patient's agency at the start or the change per year.")
    if d.no_professional_from_day is not None:
        notes.append(
            f"From day {d.no_professional_from_day:.0f} the patient's share outside episodes has reached 100%, and "
            f"the model keeps it there: for {d.days_without_both:.0f} days the stripe shows no professional agency "
            "at all, which the lessons say never happens (both agencies are always present). Lower the patient's "
            "agency at the start or the change per year.")
    total = [i + 1 for i, e in enumerate(params.episodes) if e.depth >= 1.0]
    if total:
        which = ", ".join(str(i) for i in total)
        notes.append(
            f"Episode {which} takes away all of the patient's agency (100% lost): during it the professionals hold "
            "everything, which the lessons say never happens. The course's presets stop at 98%.")
    return tuple(notes)


_MINUTE = 1 / 1440

#: Named stripes for the cases in the course.  Figures are illustrative shapes
#: chosen to match the sources cited in each description, not measurements.
PRESETS: Mapping[str, AgencyParams] = MappingProxyType({
    p.name: p
    for p in (
        AgencyParams(
            name="Self-managing patient with occasional acute events",
            baseline=0.85,
            episodes=(
                Episode(80, 2, depth=0.8, recovery_days=5, label="acute event"),
                Episode(240, 6, depth=0.95, recovery_days=14, label="emergency surgery"),
            ),
            description=(
                "The blog's middle stripe: a person who mostly manages without help, with "
                "occasional acute events in which they have little agency."
            ),
        ),
        AgencyParams(
            name="Adult type 2 diabetes",
            baseline=0.8,
            trend_per_year=0.05,
            episodes=tuple(
                Episode(day, 60 * _MINUTE, depth=0.4, recovery_days=3, label="review visit")
                for day in (30, 120, 210, 300)
            ),
            description=(
                "Most of the work happens at home, between visits: medicines, food, activity and "
                "checks. Short review visits shift agency briefly."
            ),
        ),
        AgencyParams(
            name="Paediatric inflammatory bowel disease",
            baseline=0.55,
            trend_per_year=0.05,
            horizon_days=730,
            episodes=(
                Episode(120, 21, depth=0.6, recovery_days=30, label="flare"),
                Episode(480, 14, depth=0.5, recovery_days=21, label="flare"),
            ),
            description=(
                "A child and family share the work with the care team over years, doing a little "
                "more of it than the team (as in the catalogue's entry), with flares; "
                "the case in Batalden et al. (ImproveCareNow). The blog calls it irritable "
                "bowel syndrome, a different condition."
            ),
        ),
        AgencyParams(
            name="Hip or knee replacement",
            baseline=0.75,
            episodes=(Episode(120, 3.4, depth=0.9, recovery_days=14, label="surgery and stay"),),
            description=(
                "A short professional-led episode (a hospital stay of about 3-5 days, Gayed et al. "
                "2013) followed by months of rehabilitation the patient does."
            ),
        ),
        AgencyParams(
            name="Cataract surgery",
            baseline=0.9,
            horizon_days=90,
            episodes=(Episode(30, 30 * _MINUTE, depth=0.95, recovery_days=5, label="surgery"),),
            description="A day-case operation of about 15-30 minutes; afterwards the patient uses eye drops.",
        ),
        AgencyParams(
            name="Ear tubes in a child",
            baseline=0.6,
            horizon_days=180,
            episodes=(Episode(45, 15 * _MINUTE, depth=0.95, recovery_days=2, label="tube insertion"),),
            description=(
                "A 15-minute procedure; before and after it the parents act for the child, "
                "including the decision (shared decision making)."
            ),
        ),
        AgencyParams(
            name="Emergency surgery episode",
            baseline=0.85,
            horizon_days=120,
            episodes=(Episode(30, 5, depth=0.98, recovery_days=20, label="emergency surgery"),),
            description="An unplanned operation in which the patient may be unconscious: agency passes almost wholly to professionals.",
        ),
    )
})
