"""Named rules that exercise items use to judge answers (pure: no widgets, no IPython).

Two kinds, both public because they say *how* an answer is judged, not what it is:

* :data:`CARRY_RULES` compute what a question's answer should be **given the
  learner's own earlier answers** (error carried forward), or which judgement is
  consistent with the reasons the learner gave.  ``rule(*earlier_answers, **args)``.
* :data:`STATE_RULES` test one property of an explorer state a learner gave as an
  answer.  ``rule(state, **args) -> bool``.

Examples
--------
>>> CARRY_RULES["percent_of"](30, 1200)
2.5
>>> from course.agency import AgencyParams
>>> STATE_RULES["share_at_least"](AgencyParams(baseline=0.7), day=10, minimum=0.6)
True
"""
from __future__ import annotations

from course.agency import AgencyParams, agency_profile, patient_share_at, summarize
from course.capacity import summarize as summarize_capacity
from course.services import LABELS, ServiceProfile, classify

__all__ = ["CARRY_RULES", "STATE_RULES"]


def _num(x) -> float:
    if isinstance(x, bool):
        raise TypeError("a number was expected")
    if isinstance(x, str):
        x = x.strip().replace(",", "").rstrip("%")
    return float(x)


def _label(x) -> str:
    from course.assessment import normalise_label
    return normalise_label(x)


def percent_of(part, whole) -> float:
    """``part`` as a percentage of ``whole``."""
    return 100.0 * _num(part) / _num(whole)


def ratio(a, b) -> float:
    """``a / b``."""
    return _num(a) / _num(b)


def difference(a, b) -> float:
    """``a - b``."""
    return _num(a) - _num(b)


def product(a, b) -> float:
    """``a * b``."""
    return _num(a) * _num(b)


def total(*values) -> float:
    """The sum of the earlier answers."""
    return sum(_num(v) for v in values)


def same(value):
    """The earlier answer itself (a later part must agree with it)."""
    return value


def pick(value, mapping):
    """What ``mapping`` gives for the earlier answer (a label or letter), e.g. the approach that fits a label."""
    norm = {_label(k): v for k, v in mapping.items()}
    return norm.get(_label(value))


def label_for_features(episode_days, professional_share, concrete_procedure=False, physical_item=False):
    """The label the lesson's classifier gives an episode with the features the learner named.

    The learner's features may be a number of days, a share in [0, 1] (or a percentage),
    and yes/no answers (``"yes"``/``"no"``, ``True``/``False``).
    """
    def yes(v):
        if isinstance(v, bool):
            return v
        return _label(v) in ("yes", "y", "true")

    share = _num(professional_share)
    share = share / 100 if share > 1 else share
    return classify(ServiceProfile("learner's episode", episode_days=_num(episode_days), professional_share=share,
                                   concrete_procedure=yes(concrete_procedure), physical_item=yes(physical_item))).label


def label_of(service):
    """The label the lesson's classifier gives a service the learner gave as an explorer state.

    For a label question that follows a ``ServiceProfile`` answer: the learner's label is
    also right when it is the label of the service they described themselves (for example
    after ticking "A concrete procedure dominates", which the lesson's own profile leaves out).
    """
    if not isinstance(service, ServiceProfile):
        raise TypeError(f"'service' must be a ServiceProfile. Got {type(service).__name__} instead.")
    return classify(service).label


def bottleneck(minutes_per_patient_by_step, names):
    """The step (from ``names``, in order) with the most minutes per patient, given the learner's minutes."""
    values = [_num(v) for v in minutes_per_patient_by_step]
    return names[max(range(len(values)), key=values.__getitem__)]


def keeps_up(occupied_minutes, takt_minutes, servers=1):
    """``"yes"`` when a step keeps pace with demand, else ``"no"``, given the learner's numbers.

    A step keeps up when the minutes each patient occupies one of its places (bed, chair,
    trolley), divided by how many places there are, are at most the takt time.

    >>> keeps_up(150, 48, servers=3), keeps_up(120, 48, servers=3)
    ('no', 'yes')
    """
    return "yes" if _num(occupied_minutes) / _num(servers) <= _num(takt_minutes) + 1e-9 else "no"


def exceeds(value, threshold):
    """``"yes"`` when the learner's number is more than ``threshold``, else ``"no"``.

    For a yes/no part that follows from a number read earlier, such as "do professionals
    hold more than half here?" after the learner read their share off a figure.

    >>> exceeds(80, 50), exceeds(20, 50)
    ('yes', 'no')
    """
    return "yes" if _num(value) > _num(threshold) else "no"


def beds_at_occupancy(occupied_beds, target_occupancy):
    """The fewest whole beds that keep ``occupied_beds`` (the learner's Little's-law number) at or below the target.

    >>> beds_at_occupancy(21, 0.85), beds_at_occupancy(13.6, 0.85)
    (25, 16)
    """
    import math
    return max(1, math.ceil(_num(occupied_beds) / _num(target_occupancy) - 1e-9))


CARRY_RULES = {f.__name__: f for f in (percent_of, ratio, difference, product, total, same, pick,
                                        label_for_features, label_of, bottleneck, keeps_up, exceeds,
                                        beds_at_occupancy)}


# ------------------------------------------------------------------ explorer states
def share_at_least(state: AgencyParams, *, day, minimum) -> bool:
    """The patient's share on ``day`` is at least ``minimum``."""
    return patient_share_at(state, day) >= minimum - 1e-9


def share_at_most(state: AgencyParams, *, day, maximum) -> bool:
    """The patient's share on ``day`` is at most ``maximum``."""
    return patient_share_at(state, day) <= maximum + 1e-9


def episodes_at_least(state: AgencyParams, *, count=1) -> bool:
    """The stripe has at least ``count`` episodes."""
    return len(state.episodes) >= count


def mean_professional_between(state: AgencyParams, *, low=0.0, high=1.0) -> bool:
    """Professionals' time-averaged share of agency lies in [low, high]."""
    m = summarize(agency_profile(state)).mean_professional
    return low - 1e-9 <= m <= high + 1e-9


def field_between(state, *, field, low=float("-inf"), high=float("inf")) -> bool:
    """A numeric field of the state (such as ``baseline`` or ``horizon_days``) lies in [low, high]."""
    return low - 1e-9 <= float(getattr(state, field)) <= high + 1e-9


def field_equals(state, *, field, value) -> bool:
    """A field of the state equals ``value``."""
    return getattr(state, field) == value


def classified_as(state: ServiceProfile, *, label) -> bool:
    """The classifier gives the service this label."""
    if label not in LABELS:
        raise ValueError(f"'label' must be one of {LABELS}. Got {label!r} instead.")
    return classify(state).label == label


def pce_between(state, *, low=0.0, high=1.0) -> bool:
    """The map's process cycle efficiency lies in [low, high] (fractions, not percentages)."""
    return low - 1e-12 <= state.process_cycle_efficiency <= high + 1e-12


def meets_takt(state, *, available_minutes, demand) -> bool:
    """Every step of the map keeps up with demand."""
    return bool(state.meets_takt(available_minutes=available_minutes, demand=demand))


def unmet_hours_at_most(state, *, maximum) -> bool:
    """Over the weeks a capacity state follows, at most ``maximum`` hours of treatment work are left undone."""
    return summarize_capacity(state).total_unmet_hours <= maximum + 1e-9


STATE_RULES = {f.__name__: f for f in (share_at_least, share_at_most, episodes_at_least,
                                        mean_professional_between, field_between, field_equals,
                                        classified_as, pce_between, meets_takt, unmet_hours_at_most)}
