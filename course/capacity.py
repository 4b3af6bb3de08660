"""Workload against capacity: what happens when treatment asks more than a patient can give.

May, Montori and Mair (2009) warn that "the burden of treatment for many people with
complex, chronic, comorbidities reduces their capacity to collaborate in their care".
Shippee et al. (2012) put the mechanism as "the balance between patient workload of
demands and patient capacity to address demands", with treatment and illness burdens
acting as feedback loops, so that "complexity may accumulate over time".  This module
is a small, week-by-week teaching model of that balance.  It is pure (numpy only).

How a week is computed
----------------------
Hours are hours a week.  In week 1 the patient's own capacity is ``capacity_hours``.

1. The patient does the treatment work up to their own capacity that week.
2. An unpaid carer takes on what is left, up to ``carer_hours``.
3. Whatever is still left is **unmet**: treatment work that does not get done.
4. Overload feeds back: next week the patient's own capacity falls by
   ``feedback`` times the hours left undone this week (the hours by which the
   workload exceeded what patient and carer together could give).  It never falls
   below 0.  Hours to spare leave it where it is.

Two read-outs follow from each week:

* the **share of the plan done**, ``(patient + carer hours) / workload``: the model's
  stand-in for an outcome (May et al. 2009 say treatment burden "induces poor
  adherence, wasted resources, and poor outcomes");
* the **patient's share of agency** in the week's treatment work,
  ``(patient + carer hours) / (patient + carer hours + professional_hours)``, the
  Batalden stripe of Lesson 2 counted in hours.  The lesson holds that both agencies
  are always present, so the share is kept within ``[SHARE_FLOOR, SHARE_CEILING]``;
  the summary says in which weeks a limit was reached.

Assumptions (this is a teaching model, not a validated one)
-----------------------------------------------------------
* Workload, capacity, carer time and professional time are constant hours a week;
  only the patient's own capacity changes, and only through the feedback rule, so a
  patient once overloaded never recovers within the model.
* Work is interchangeable hour for hour: a carer's hour replaces a patient's hour.
* The carer's own capacity does not wear down, though in reality carers are often
  unwell themselves; professionals do not step in when work goes undone.
* "Share of the plan done" is not a measured health outcome; it only shows the
  direction the sources describe.

Examples
--------
>>> run = simulate(CapacityParams(workload_hours=10, capacity_hours=8, feedback=0.5,
...                               professional_hours=2, weeks=3))
>>> run.unmet_hours.tolist()
[2.0, 3.0, 4.5]
>>> summarize(run).total_unmet_hours
9.5
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from course._validation import check_real, check_str

__all__ = [
    "CapacityParams",
    "CapacityRun",
    "CapacitySummary",
    "simulate",
    "summarize",
    "PRESETS",
    "SHARE_FLOOR",
    "SHARE_CEILING",
    "HOURS_PER_WEEK",
    "MAX_WEEKS",
]

#: The lowest patient's share of agency the model shows: the patient always keeps some
#: agency (they decide whether to attend, to take a medicine), even when no work is done.
SHARE_FLOOR = 0.05
#: The highest: professionals always hold some agency in a treatment plan they prescribed.
SHARE_CEILING = 0.95
HOURS_PER_WEEK = 168.0
MAX_WEEKS = 520


@dataclass(frozen=True)
class CapacityParams:
    """One patient's weekly treatment workload and the capacity to meet it.

    Parameters
    ----------
    workload_hours : float
        Hours a week the treatment plan asks of the patient's side (self-care, medicines,
        appointments, travel, paperwork), in [0, 168].
    capacity_hours : float
        Hours a week the patient can give to treatment work at the start, in [0, 168].
        Illness, age, money, literacy and life's other demands all lower it.
    carer_hours : float
        Hours a week an unpaid carer can take on, in [0, 168].
    professional_hours : float
        Hours a week of professionals' work in the plan, in (0, 168]: never 0, because
        both agencies are always present.
    feedback : float
        The share of each week's overload (hours of workload beyond what patient and
        carer can give) lost from the patient's own capacity the next week, in [0, 1].
        0 means capacity never wears down.
    weeks : int
        How many weeks to follow, in [1, 520].
    name, description : str
        Shown in menus and captions.
    """

    workload_hours: float
    capacity_hours: float
    carer_hours: float = 0.0
    professional_hours: float = 1.0
    feedback: float = 0.0
    weeks: int = 52
    name: str = ""
    description: str = field(default="", compare=False)

    def __post_init__(self):
        owner = "CapacityParams"
        for name in ("workload_hours", "capacity_hours", "carer_hours"):
            object.__setattr__(self, name, check_real(getattr(self, name), name, owner, low=0, high=HOURS_PER_WEEK))
        object.__setattr__(self, "professional_hours", check_real(
            self.professional_hours, "professional_hours", owner, low=0, high=HOURS_PER_WEEK, low_open=True))
        object.__setattr__(self, "feedback", check_real(self.feedback, "feedback", owner, low=0, high=1))
        weeks = self.weeks
        if isinstance(weeks, float) and weeks.is_integer():
            weeks = int(weeks)
        if isinstance(weeks, bool) or not isinstance(weeks, (int, np.integer)) or not 1 <= weeks <= MAX_WEEKS:
            raise ValueError(f"'weeks' of CapacityParams must be a whole number in [1, {MAX_WEEKS}]. "
                             f"Got {self.weeks!r} instead.")
        object.__setattr__(self, "weeks", int(weeks))
        check_str(self.name, "name", owner)
        check_str(self.description, "description", owner)

    def replace(self, **changes) -> "CapacityParams":
        """Return a copy with some fields changed (the original is frozen)."""
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class CapacityRun:
    """Week-by-week results (read-only arrays, one entry per week, week 1 first).

    Attributes
    ----------
    weeks : week numbers 1, 2, ...
    capacity_hours : the patient's own capacity each week.
    patient_hours, carer_hours, unmet_hours : how the week's workload was shared out;
        the three add up to ``params.workload_hours``.
    plan_done : share of the week's workload that was done, in [0, 1] (1 when there is no workload).
    patient_share : the patient's side's share of agency, kept in [SHARE_FLOOR, SHARE_CEILING].
    raw_share : the same share before the limits were applied.
    """

    params: CapacityParams
    weeks: np.ndarray
    capacity_hours: np.ndarray
    patient_hours: np.ndarray
    carer_hours: np.ndarray
    unmet_hours: np.ndarray
    plan_done: np.ndarray
    patient_share: np.ndarray
    raw_share: np.ndarray

    @property
    def name(self) -> str:
        return self.params.name


def simulate(params: CapacityParams) -> CapacityRun:
    """Follow the balance of workload and capacity week by week (see the module docstring).

    Examples
    --------
    Below capacity nothing is left undone and capacity stays where it was:

    >>> run = simulate(CapacityParams(workload_hours=6, capacity_hours=10, professional_hours=2, weeks=2))
    >>> run.unmet_hours.tolist(), run.capacity_hours.tolist(), run.patient_share.tolist()
    ([0.0, 0.0], [10.0, 10.0], [0.75, 0.75])
    """
    if not isinstance(params, CapacityParams):
        raise TypeError(f"'params' must be a CapacityParams. Got {type(params).__name__} instead.")
    n = params.weeks
    workload, start, carer = params.workload_hours, params.capacity_hours, params.carer_hours
    capacity = np.empty(n)
    own = start
    for week in range(n):
        capacity[week] = own
        undone = max(workload - (own + carer), 0.0)
        own = max(own - params.feedback * undone, 0.0)
    patient = np.minimum(workload, capacity)
    helped = np.minimum(workload - patient, carer)
    unmet = np.maximum(workload - patient - helped, 0.0)
    done = patient + helped
    plan_done = done / workload if workload > 0 else np.ones(n)
    raw = done / (done + params.professional_hours)
    share = np.clip(raw, SHARE_FLOOR, SHARE_CEILING)
    arrays = (np.arange(1, n + 1), capacity, patient, helped, unmet, plan_done, share, raw)
    for a in arrays:
        a.setflags(write=False)
    return CapacityRun(params, *arrays)


@dataclass(frozen=True)
class CapacitySummary:
    """What a run shows, in words a lesson can use.

    Attributes
    ----------
    first_overloaded_week : the first week with unmet work (None if there is none).
    overloaded_weeks : how many weeks had unmet work.
    total_unmet_hours : treatment hours left undone over the whole run.
    total_carer_hours : hours the carer did over the whole run.
    final_capacity_hours : the patient's own capacity in the last week.
    capacity_exhausted_week : the first week the patient's own capacity was 0 (None if never).
    first_plan_done, final_plan_done : share of the plan done in the first and last week.
    first_share, final_share : the patient's share of agency in the first and last week.
    floor_weeks, ceiling_weeks : weeks in which the share was held at SHARE_FLOOR or SHARE_CEILING.
    """

    first_overloaded_week: int | None
    overloaded_weeks: int
    total_unmet_hours: float
    total_carer_hours: float
    final_capacity_hours: float
    capacity_exhausted_week: int | None
    first_plan_done: float
    final_plan_done: float
    first_share: float
    final_share: float
    floor_weeks: int
    ceiling_weeks: int

    @property
    def limits(self) -> tuple:
        """Plain sentences naming each limit of the model that this run reached (empty if none)."""
        notes = []
        if self.capacity_exhausted_week is not None:
            notes.append(f"The patient's own capacity reached 0 in week {self.capacity_exhausted_week}: "
                         "the model never lets it go below 0.")
        if self.floor_weeks:
            notes.append(f"In {self.floor_weeks} week{'s' if self.floor_weeks != 1 else ''} the patient's share of "
                         f"agency was held at its floor of {SHARE_FLOOR:.0%}: both agencies are always present.")
        if self.ceiling_weeks:
            notes.append(f"In {self.ceiling_weeks} week{'s' if self.ceiling_weeks != 1 else ''} the patient's share "
                         f"was held at its ceiling of {SHARE_CEILING:.0%}: professionals always keep some agency.")
        return tuple(notes)


def _first(mask: np.ndarray):
    hits = np.flatnonzero(mask)
    return int(hits[0]) + 1 if hits.size else None


def summarize(run) -> CapacitySummary:
    """Summary of a run (a :class:`CapacityRun`, or :class:`CapacityParams` to simulate first).

    Examples
    --------
    >>> s = summarize(CapacityParams(workload_hours=10, capacity_hours=8, feedback=0.5,
    ...                              professional_hours=2, weeks=3))
    >>> s.first_overloaded_week, s.total_unmet_hours, s.final_capacity_hours, round(s.final_share, 4)
    (1, 9.5, 5.5, 0.7333)
    """
    if isinstance(run, CapacityParams):
        run = simulate(run)
    if not isinstance(run, CapacityRun):
        raise TypeError(f"'run' must be a CapacityRun or CapacityParams. Got {type(run).__name__} instead.")
    overloaded = run.unmet_hours > 1e-9
    return CapacitySummary(
        first_overloaded_week=_first(overloaded),
        overloaded_weeks=int(overloaded.sum()),
        total_unmet_hours=float(run.unmet_hours.sum()),
        total_carer_hours=float(run.carer_hours.sum()),
        final_capacity_hours=float(run.capacity_hours[-1]),
        capacity_exhausted_week=_first(run.capacity_hours <= 1e-9),
        first_plan_done=float(run.plan_done[0]),
        final_plan_done=float(run.plan_done[-1]),
        first_share=float(run.patient_share[0]),
        final_share=float(run.patient_share[-1]),
        floor_weeks=int((run.raw_share < SHARE_FLOOR).sum()),
        ceiling_weeks=int((run.raw_share > SHARE_CEILING).sum()),
    )


#: Named cases for the lesson.  The numbers are illustrations chosen to show the
#: mechanism the sources describe, not measurements of real patients.
PRESETS: Mapping[str, CapacityParams] = MappingProxyType({
    p.name: p
    for p in (
        CapacityParams(
            name="One condition, plan fits", workload_hours=6, capacity_hours=10, professional_hours=1,
            feedback=0.2, weeks=52,
            description="A single long-term condition whose plan asks 6 hours a week of a person who can "
                        "give 10: nothing is left undone and capacity stays put.",
        ),
        CapacityParams(
            name="Several conditions, plan does not fit", workload_hours=14, capacity_hours=12,
            professional_hours=2, feedback=0.05, weeks=52,
            description="Several conditions, each with its own plan, add up to 14 hours a week for a person "
                        "who can give 12. Small overloads wear capacity down, and the gap widens week by week "
                        "(cumulative complexity).",
        ),
        CapacityParams(
            name="Older person with a carer", workload_hours=14, capacity_hours=8, carer_hours=5,
            professional_hours=2, feedback=0.1, weeks=52,
            description="A frail older person can give 8 hours a week; a partner gives 5 more. The plan "
                        "asks 14. The carer holds much of the work, and what is left still wears the "
                        "patient down.",
        ),
    )
})
