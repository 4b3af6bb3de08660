"""Value-stream maps of care pathways, and what they cannot see.

A value-stream map (Rother & Shook, *Learning to See*, 1999) lays out the
steps a unit goes through, how long each step works on it (process time) and
how long it waits between steps.  From these come the standard measures:

* lead time - elapsed time from entry to exit, waits included;
* process time - hands-on time summed over the steps;
* value-added time - process time of the steps that add value;
* process cycle efficiency (PCE) - value-added time / lead time;
* takt time - available time / demand.

Capacity is a different question from efficiency.  A step's *occupied time*
is how long one patient holds one of its servers (a bed, a chair, a theatre);
it can be much longer than the touch time: a ward bed is held for the whole
stay, an infusion chair also during the observation after the infusion.  The
bottleneck and takt comparisons use occupied time per server; process cycle
efficiency and value-added time use process (touch) time.  With occupied time
in days and demand per day, demand x occupied days is the number of servers
kept busy on average (Little's law, L = lambda W; Little 1961).

The critique at the heart of the course: in chronic care most of the work of
producing health is the patient's, done between the steps, in what the map
calls waiting.  :meth:`ValueStreamMap.coverage` lays a map over a journey's
agency stripe (see :mod:`course.agency`) and says where the patient's share of
the work falls: in the map's steps, in its waits, or before or after it.
Because the two agencies always fill the stripe, the *time* inside the steps
is only the map's process time over the stripe's length, whoever holds the
agency; where the patient's work falls is what tells maps apart.

:meth:`ValueStreamMap.fit_stripe` keeps a stripe in step with a changed map:
shorten the wait before an operation and the stripe's operation comes sooner
too.

Examples
--------
>>> from course.value_stream import Step, ValueStreamMap
>>> m = ValueStreamMap([
...     Step("Referral", process_minutes=10, wait_minutes=0, value_added=False),
...     Step("Consultation", process_minutes=20, wait_minutes=30240, value_added=True),
... ])
>>> m.lead_time_minutes, m.process_minutes, m.value_added_minutes
(30270.0, 30.0, 20.0)
>>> round(m.process_cycle_efficiency, 6)
0.000661
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Iterable

import numpy as np

from course._validation import check_bool, check_real, check_str

__all__ = [
    "Step",
    "ValueStreamMap",
    "MapCoverage",
    "takt_time_minutes",
    "load_example_maps",
    "MINUTES_PER_DAY",
    "days",
    "hours",
]

MINUTES_PER_DAY = 1440.0


def days(n: float) -> float:
    """``n`` days in minutes, the unit of :class:`Step`: ``wait_minutes=days(7)``.

    Examples
    --------
    >>> days(7)
    10080.0
    >>> Step("Infusion", process_minutes=120, wait_minutes=days(7)).wait_minutes
    10080.0
    """
    return check_real(n, "n", "days", low=0, high=1e9 / MINUTES_PER_DAY) * MINUTES_PER_DAY


def hours(n: float) -> float:
    """``n`` hours in minutes, the unit of :class:`Step`: ``process_minutes=hours(2)``.

    Examples
    --------
    >>> hours(2.5)
    150.0
    """
    return check_real(n, "n", "hours", low=0, high=1e9 / 60) * 60.0


@dataclass(frozen=True)
class Step:
    """One step of a value stream.

    Parameters
    ----------
    name : str
    process_minutes : float
        Hands-on (touch) time the step spends on one patient, >= 0.
    wait_minutes : float
        Time the patient waits *before* this step, >= 0.
    value_added : bool
        Would the patient count this step's work as adding value?
    source : str
        Where the figures come from.
    servers : int
        How many patients the step can work on at once (theatres, beds,
        clinicians working in parallel), >= 1.
    occupied_minutes : float or None
        How long one patient occupies one server (a bed for the whole stay, a
        chair for the infusion and the observation after it), at least
        ``process_minutes``.  None (the default) means the same as
        ``process_minutes``: the server is free as soon as the hands-on work
        ends.  It is also the patient's elapsed time in the step.

    Examples
    --------
    A 12-bed ward where each patient gets 240 minutes of hands-on care but
    holds a bed for a 3.4-day stay frees a bed every 408 minutes, not every 20:

    >>> Step("Ward care", process_minutes=240, servers=12, occupied_minutes=3.4 * 1440).minutes_per_patient
    408.0
    >>> Step("Consultation", process_minutes=20).occupied_minutes
    20.0
    """

    name: str
    process_minutes: float
    wait_minutes: float = 0.0
    value_added: bool = True
    source: str = field(default="", compare=False)
    servers: int = 1
    occupied_minutes: float | None = None

    def __post_init__(self):
        owner = "Step"
        check_str(self.name, "name", owner, allow_empty=False)
        object.__setattr__(self, "process_minutes",
                           check_real(self.process_minutes, "process_minutes", owner, low=0, high=1e9))
        object.__setattr__(self, "wait_minutes",
                           check_real(self.wait_minutes, "wait_minutes", owner, low=0, high=1e9))
        check_bool(self.value_added, "value_added", owner)
        check_str(self.source, "source", owner)
        if isinstance(self.servers, bool) or not isinstance(self.servers, (int, np.integer)) or self.servers < 1:
            raise ValueError(f"'servers' of Step must be an int in [1, inf). Got {self.servers!r} instead.")
        occupied = self.process_minutes if self.occupied_minutes is None else self.occupied_minutes
        occupied = check_real(occupied, "occupied_minutes", owner, low=0, high=1e9)
        if occupied < self.process_minutes:
            raise ValueError(
                f"'occupied_minutes' of Step must be a float in [{self.process_minutes!r}, 1000000000.0] "
                f"(at least process_minutes). Got {self.occupied_minutes!r} instead."
            )
        object.__setattr__(self, "occupied_minutes", occupied)

    @property
    def minutes_per_patient(self) -> float:
        """Minutes between patients leaving the step when it is busy: occupied time / servers.

        Occupied time, not touch time: a bed held for a 3.4-day stay cannot
        take the next patient after the 240 minutes of hands-on care.
        (Manufacturing calls this the cycle time; the course avoids that word,
        which health-care papers use with several meanings.)
        """
        return self.occupied_minutes / self.servers


def takt_time_minutes(available_minutes: float, demand: float) -> float:
    """Available working time divided by demand: the pace that meets demand.

    Examples
    --------
    >>> takt_time_minutes(480, 32)
    15.0
    """
    a = check_real(available_minutes, "available_minutes", "takt_time_minutes", low=0, low_open=True, high=1e12)
    d = check_real(demand, "demand", "takt_time_minutes", low=0, low_open=True, high=1e12)
    return a / d


@dataclass(frozen=True)
class MapCoverage:
    """Where a journey's coproduction work falls, seen from a value-stream map.

    Work is counted in *days' worth* of agency: a day on which the patient
    holds 75% of the agency counts as 0.75 of a day of the patient's work (the
    area of the patient's part of the stripe).

    Attributes
    ----------
    stripe_days : the stripe's length in days.
    step_days : days of the stripe inside the map's process steps (the map's
        process time, as far as it lies on the stripe).
    patient_days : the patient's work over the whole stripe.
    patient_days_in_steps : the patient's work while a step works on them.
    professional_days_in_steps : the professionals' work in the same time.
    patient_days_in_occupancy : the patient's work while they hold a step's
        bed or chair beyond its process time (a ward stay beyond the
        hands-on care): inside a step, but not in its process time.
    patient_days_in_waits : the patient's work in what the map calls waiting.
    patient_days_before_map, patient_days_after_map : the patient's work
        before the map's first wait begins and after its last step ends.

    The ``*_fraction`` properties divide these by the patient's (or the
    professionals') work over the whole stripe; all are in [0, 1].
    """

    stripe_days: float
    step_days: float
    patient_days: float
    patient_days_in_steps: float
    professional_days_in_steps: float
    patient_days_in_occupancy: float
    patient_days_in_waits: float
    patient_days_before_map: float
    patient_days_after_map: float

    @staticmethod
    def _share(x: float, total: float) -> float:
        return float(min(max(x / total, 0.0), 1.0)) if total > 1e-12 else 0.0

    @property
    def professional_days(self) -> float:
        return self.stripe_days - self.patient_days

    @property
    def step_time_fraction(self) -> float:
        """Share of the stripe's time inside the process steps.

        Since the two agencies fill the stripe, this is the map's process time
        over the stripe's length, whoever holds the agency: it cannot tell
        one journey's coproduction from another's.
        """
        return self._share(self.step_days, self.stripe_days)

    @property
    def patient_seen_fraction(self) -> float:
        """Share of the patient's work done while a step works on them."""
        return self._share(self.patient_days_in_steps, self.patient_days)

    @property
    def professional_seen_fraction(self) -> float:
        """Share of the professionals' work done inside the process steps."""
        return self._share(self.professional_days_in_steps, self.professional_days)

    @property
    def patient_in_occupancy_fraction(self) -> float:
        return self._share(self.patient_days_in_occupancy, self.patient_days)

    @property
    def patient_in_waits_fraction(self) -> float:
        """Share of the patient's work in what the map calls waiting."""
        return self._share(self.patient_days_in_waits, self.patient_days)

    @property
    def patient_outside_map_fraction(self) -> float:
        """Share of the patient's work before the map begins or after it ends."""
        return self._share(self.patient_days_before_map + self.patient_days_after_map, self.patient_days)


@dataclass(frozen=True)
class ValueStreamMap:
    """A value-stream map: an ordered sequence of :class:`Step`.

    Parameters
    ----------
    steps : sequence of Step
        At least one step, in the order the patient meets them.
    name, source : str
    agency_preset : str
        Name of the matching stripe in :data:`course.agency.PRESETS`, if any.
    """

    steps: tuple
    name: str = ""
    source: str = field(default="", compare=False)
    agency_preset: str = field(default="", compare=False)

    def __post_init__(self):
        steps = self.steps
        if isinstance(steps, Step):
            steps = (steps,)
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
            raise TypeError(f"'steps' of ValueStreamMap must be a sequence of Step. Got {steps!r} instead.")
        steps = tuple(steps)
        if not steps:
            raise ValueError("'steps' of ValueStreamMap must hold at least one Step. Got an empty sequence instead.")
        for i, s in enumerate(steps):
            if not isinstance(s, Step):
                raise TypeError(
                    f"'steps[{i}]' of ValueStreamMap must be a Step. Got {s!r} of type {type(s).__name__} instead."
                )
        object.__setattr__(self, "steps", steps)
        check_str(self.name, "name", "ValueStreamMap")

    # -- the standard measures -------------------------------------------------
    @property
    def lead_time_minutes(self) -> float:
        """Elapsed time from the first wait to the end of the last step (waits plus occupied times)."""
        return float(sum(s.occupied_minutes + s.wait_minutes for s in self.steps))

    @property
    def lead_time_days(self) -> float:
        return self.lead_time_minutes / MINUTES_PER_DAY

    @property
    def process_minutes(self) -> float:
        return float(sum(s.process_minutes for s in self.steps))

    @property
    def wait_minutes(self) -> float:
        return float(sum(s.wait_minutes for s in self.steps))

    @property
    def value_added_minutes(self) -> float:
        return float(sum(s.process_minutes for s in self.steps if s.value_added))

    @property
    def process_cycle_efficiency(self) -> float:
        """Value-added time / lead time, in [0, 1] (0 when the lead time is 0)."""
        lead = self.lead_time_minutes
        return self.value_added_minutes / lead if lead > 0 else 0.0

    @property
    def activity_ratio(self) -> float:
        """Process time / lead time."""
        lead = self.lead_time_minutes
        return self.process_minutes / lead if lead > 0 else 0.0

    @property
    def bottleneck(self) -> Step:
        """The step that takes longest per patient, occupied time / servers (the first, on ties).

        It limits how many patients the pathway can finish per unit of time.
        """
        return max(self.steps, key=lambda s: s.minutes_per_patient)

    def takt_time_minutes(self, *, available_minutes: float, demand: float) -> float:
        """Takt time for ``demand`` patients in ``available_minutes``; see :func:`takt_time_minutes`.

        The arguments are keyword-only so that they cannot be swapped by accident.
        """
        return takt_time_minutes(available_minutes, demand)

    def meets_takt(self, *, available_minutes: float, demand: float) -> bool:
        """Can the bottleneck step keep pace with demand (its minutes per patient are at most takt)?"""
        return self.bottleneck.minutes_per_patient <= self.takt_time_minutes(
            available_minutes=available_minutes, demand=demand)

    def step_index(self, step) -> int:
        """The position (from 0) of the step named ``step``; an int is checked and returned as it is.

        Examples
        --------
        >>> m = ValueStreamMap([Step("Referral", 10), Step("Consultation", 20)])
        >>> m.step_index("Consultation"), m.step_index(0)
        (1, 0)
        >>> m.step_index("Operation")
        Traceback (most recent call last):
        ...
        ValueError: 'step' must be the name of a step of this map: 'Referral', 'Consultation'. Got 'Operation' instead.
        """
        if isinstance(step, str):
            wanted = step.strip().lower()
            found = [i for i, s in enumerate(self.steps) if s.name.strip().lower() == wanted]
            if len(found) == 1:
                return found[0]
            names = ", ".join(repr(s.name) for s in self.steps)
            if not found:
                raise ValueError(f"'step' must be the name of a step of this map: {names}. Got {step!r} instead.")
            raise ValueError(
                f"'step' must name exactly one step, but {len(found)} steps are called {step!r} "
                f"(positions {found}, counting from 0): give one of those positions instead."
            )
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) \
                or not -len(self.steps) <= step < len(self.steps):
            raise IndexError(
                f"'index' of replace_step must be an int in [0, {len(self.steps) - 1}]. Got {step!r} instead."
            )
        return int(step) % len(self.steps)

    def replace_step(self, step, **changes) -> "ValueStreamMap":
        """A new map with one step changed (maps are immutable).

        ``step`` is the step's name, as the map shows it (any letter case),
        or its position counting from 0 (older code; a name cannot be
        mistaken for the step after it).

        When ``process_minutes`` changes and ``occupied_minutes`` is not given,
        a step that was occupied only during its process time stays so; a step
        occupied for longer keeps its occupied time, raised to the new process
        time if that is longer.

        Examples
        --------
        >>> m = ValueStreamMap([Step("A", 10, 0), Step("B", 10, 80)])
        >>> m.replace_step("B", wait_minutes=0).process_cycle_efficiency
        1.0
        >>> m.replace_step(1, wait_minutes=0) == m.replace_step("B", wait_minutes=0)
        True
        """
        index = self.step_index(step)
        steps = list(self.steps)
        old = steps[index]
        if "process_minutes" in changes and "occupied_minutes" not in changes:
            new_process = check_real(changes["process_minutes"], "process_minutes", "Step", low=0, high=1e9)
            changes["occupied_minutes"] = (new_process if old.occupied_minutes == old.process_minutes
                                           else max(old.occupied_minutes, new_process))
        steps[index] = replace(old, **changes)
        return replace(self, steps=tuple(steps))

    # -- the critique ----------------------------------------------------------
    def intervals_days(self, start_days: float = 0.0) -> list:
        """``(kind, step, start, end)`` for every wait, process and occupancy, in days.

        ``kind`` is ``"wait"``, ``"process"`` or ``"occupied"`` (the rest of a
        step's occupied time after its process time: the patient holds a bed
        or chair but nobody is working on them); ``start_days`` places the
        map's first wait on an agency stripe's time axis.
        """
        t = check_real(start_days, "start_days", "intervals_days", low=-1e9, high=1e9)
        out = []
        for s in self.steps:
            w, p = s.wait_minutes / MINUTES_PER_DAY, s.process_minutes / MINUTES_PER_DAY
            if w > 0:
                out.append(("wait", s, t, t + w))
            t += w
            if p > 0:
                out.append(("process", s, t, t + p))
            t += p
            o = (s.occupied_minutes - s.process_minutes) / MINUTES_PER_DAY
            if o > 0:
                out.append(("occupied", s, t, t + o))
            t += o
        return out

    def step_starts_days(self, start_days: float = 0.0) -> list:
        """When each step's hands-on work begins (the end of its wait), in days.

        Examples
        --------
        >>> ValueStreamMap([Step("A", 1440, 0), Step("B", 60, 2 * 1440)]).step_starts_days()
        [0.0, 3.0]
        """
        t = check_real(start_days, "start_days", "step_starts_days", low=-1e9, high=1e9)
        starts = []
        for s in self.steps:
            t += s.wait_minutes / MINUTES_PER_DAY
            starts.append(t)
            t += s.occupied_minutes / MINUTES_PER_DAY
        return starts

    def fit_stripe(self, params, drawn_for: "ValueStreamMap", start_days: float = 0.0):
        """Move a stripe drawn for the map ``drawn_for`` so that it fits this map.

        Each episode of the stripe belongs to the step of ``drawn_for`` whose
        hands-on work begins nearest to the episode's start, and moves as far
        as that step's start moves.  The stripe's end keeps its distance from
        its last episode, so a shorter wait before an operation brings the
        operation and the recovery after it sooner without changing them; the
        stripe is lengthened if the map runs beyond it.

        Parameters
        ----------
        params : course.agency.AgencyParams
        drawn_for : ValueStreamMap
            The map the stripe was drawn to match, with as many steps as this one.
        start_days : float
            Where both maps' first wait begins on the stripe's time axis.

        Examples
        --------
        >>> from course.agency import AgencyParams, Episode
        >>> drawn_for = ValueStreamMap([Step("Operation", 60, wait_minutes=30 * 1440)])
        >>> stripe = AgencyParams(baseline=0.8, horizon_days=100, episodes=(Episode(30, 1, 0.9, 5),))
        >>> sooner = ValueStreamMap([Step("Operation", 60, wait_minutes=10 * 1440)])
        >>> moved = sooner.fit_stripe(stripe, drawn_for)
        >>> moved.episodes[0].start_days, moved.horizon_days
        (10.0, 80.0)
        """
        from course.agency import AgencyParams

        if not isinstance(params, AgencyParams):
            raise TypeError(f"'params' of fit_stripe must be an AgencyParams. Got {type(params).__name__} instead.")
        if not isinstance(drawn_for, ValueStreamMap):
            raise TypeError(
                f"'drawn_for' of fit_stripe must be a ValueStreamMap. Got {type(drawn_for).__name__} instead."
            )
        if len(drawn_for.steps) != len(self.steps):
            raise ValueError(
                f"'drawn_for' of fit_stripe must have as many steps as this map ({len(self.steps)}). "
                f"Got {len(drawn_for.steps)} instead."
            )
        old, new = drawn_for.step_starts_days(start_days), self.step_starts_days(start_days)
        episodes, last_end, last_shift = [], None, 0.0
        for ep in params.episodes:
            k = min(range(len(old)), key=lambda i: abs(old[i] - ep.start_days))
            shift = new[k] - old[k]
            episodes.append(replace(ep, start_days=max(ep.start_days + shift, 0.0)))
            if last_end is None or ep.end_days >= last_end:
                last_end, last_shift = ep.end_days, shift
        horizon = max(params.horizon_days + last_shift, start_days + self.lead_time_days, 1e-6)
        return params.replace(episodes=tuple(episodes), horizon_days=horizon)

    def coverage(self, profile, start_days: float = 0.0) -> MapCoverage:
        """Where the coproduction work in ``profile`` falls, seen from this map.

        Parameters
        ----------
        profile : course.agency.AgencyProfile or AgencyParams
        start_days : float
            Where the map's first wait begins on the stripe's time axis.

        Examples
        --------
        A patient who holds 75% of the agency for ten days does 7.5 days' worth
        of the work; a map that waits five days and then works for five sees
        half of it in its step and half in its wait:

        >>> from course.agency import AgencyParams
        >>> stripe = AgencyParams(baseline=0.75, horizon_days=10)
        >>> half = ValueStreamMap([Step("Second half", process_minutes=5 * 1440, wait_minutes=5 * 1440)])
        >>> c = half.coverage(stripe)
        >>> round(c.patient_days, 6), round(c.patient_days_in_steps, 6), round(c.patient_days_in_waits, 6)
        (7.5, 3.75, 3.75)
        >>> round(c.step_time_fraction, 6), round(c.patient_in_waits_fraction, 6)
        (0.5, 0.5)
        """
        from course.agency import AgencyParams, AgencyProfile

        if isinstance(profile, AgencyProfile):
            params = profile.params
        elif isinstance(profile, AgencyParams):
            params = profile
        else:
            raise TypeError(
                f"'profile' must be an AgencyProfile or AgencyParams. Got {type(profile).__name__} instead."
            )
        start = check_real(start_days, "start_days", "coverage", low=-1e9, high=1e9)
        horizon = params.horizon_days
        kinds, spans = [], []
        for kind, _step, a, b in self.intervals_days(start):
            a, b = max(a, 0.0), min(b, horizon)
            if b > a:
                kinds.append(kind)
                spans.append((a, b))
        map_end = start + self.lead_time_days
        spans.append((0.0, min(max(start, 0.0), horizon)))  # before the map
        spans.append((min(max(map_end, 0.0), horizon), horizon))  # after it
        *parts, before, after = _integrals(params, spans)
        in_steps = step_days = in_waits = in_occupancy = 0.0
        for kind, (a, b), pat in zip(kinds, spans, parts):
            if kind == "process":
                in_steps += pat
                step_days += b - a
            elif kind == "wait":
                in_waits += pat
            else:
                in_occupancy += pat
        # the parts tile the stripe, so their sum is the patient's work over all of it
        total_patient = before + in_steps + in_occupancy + in_waits + after
        return MapCoverage(
            stripe_days=float(horizon),
            step_days=float(step_days),
            patient_days=float(total_patient),
            patient_days_in_steps=float(in_steps),
            professional_days_in_steps=float(max(step_days - in_steps, 0.0)),
            patient_days_in_occupancy=float(in_occupancy),
            patient_days_in_waits=float(in_waits),
            patient_days_before_map=float(before),
            patient_days_after_map=float(after),
        )


def _grid(params, a: float, b: float) -> np.ndarray:
    """Times on [a, b] for the trapezoid rule: an even grid plus every episode boundary inside."""
    pts = [np.linspace(a, b, 257)]
    for ep in params.episodes:
        for x in (ep.start_days, ep.end_days):
            if a < x <= b:  # the share jumps at an episode's start, even at the interval's end
                pts.append(np.array([x - 1e-9 * max(1.0, b - a), x]))
        for k in (0.25, 0.5, 1, 2, 4, 8):
            x = ep.end_days + k * ep.recovery_days
            if a < x < b:
                pts.append(np.array([x]))
        inside = np.linspace(max(a, ep.start_days), min(b, ep.end_days), 9)
        if inside[-1] > inside[0]:
            pts.append(inside)
    return np.unique(np.concatenate(pts))


def _integrals(params, spans) -> list:
    """Integrals of the patient's share over each (a, b) of ``spans`` (0.0 where b <= a).

    Each uses the trapezoid rule on its own grid (:func:`_grid`); the share is
    evaluated once for all of them together, which gives the same numbers as
    one interval at a time.
    """
    from course.agency import patient_share

    grids = [_grid(params, a, b) if b > a else None for a, b in spans]
    live = [g for g in grids if g is not None]
    shares = patient_share(params, np.concatenate(live)) if live else None
    out, k = [], 0
    for t in grids:
        if t is None:
            out.append(0.0)
            continue
        y = shares[k:k + len(t)]
        k += len(t)
        out.append(float(np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2))
    return out


def load_example_maps() -> dict:
    """The example maps shipped with the course, by name.

    Examples
    --------
    >>> maps = load_example_maps()
    >>> sorted(maps)
    ['A year of adult type 2 diabetes care', 'Hip replacement pathway']
    """
    text = resources.files("course").joinpath("data/value_streams.json").read_text(encoding="utf-8")
    maps = {}
    for m in json.loads(text)["maps"]:
        steps = [Step(s["name"], s["process_minutes"], s["wait_minutes"], s["value_added"], s.get("source", ""),
                      servers=s.get("servers", 1), occupied_minutes=s.get("occupied_minutes"))
                 for s in m["steps"]]
        maps[m["name"]] = ValueStreamMap(steps, name=m["name"], source=m["source"],
                                         agency_preset=m.get("agency_preset", ""))
    return maps
