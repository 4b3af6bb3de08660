"""Products, services, and the line between product-like and pure services.

Batalden et al. (2016), citing Osborne, Radnor & Nasi (2013), give three
features that set services apart from products.  This module names them and
offers a transparent classifier: a score from 0 (pure service) to 1 (most
product-like) built from a handful of features a learner can see and argue
with, and reasons in words for every label.

Examples
--------
>>> from course.services import ServiceProfile, classify
>>> p = ServiceProfile(name="Cataract surgery", episode_days=0.02, professional_share=0.9,
...                    concrete_procedure=True, physical_item=True, simultaneous=True)
>>> c = classify(p)
>>> c.label, round(c.score, 2)
('product-like', 0.91)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

from course._validation import check_bool, check_choice, check_real, check_str
from course.formatting import format_fixed, format_percent, format_period

__all__ = [
    "SERVICE_FEATURES",
    "LABELS",
    "WEIGHTS",
    "ServiceProfile",
    "Classification",
    "CatalogueEntry",
    "classify",
    "load_catalogue",
    "boundary_notes",
]

#: The three features of services, worded as the 2016 blog post quotes them from
#: Batalden et al. (2016), who cite Osborne, Radnor & Nasi (2013) for them.
SERVICE_FEATURES = (
    ("intangible process", "A product is invariably concrete, while a service is an intangible process."),
    ("produced and consumed at once", "Unlike goods, services are produced and consumed simultaneously."),
    ("user as obligate coproducer", "In services, users are obligate coproducers of service outcomes."),
)

LABELS = ("product-like", "mixed", "pure service")

#: How much each feature can add to the product-like score (they sum to 1).
WEIGHTS = {
    "professional_share": 0.40,
    "short_episode": 0.25,
    "concrete_procedure": 0.20,
    "physical_item": 0.10,
    "decoupled": 0.05,
}
#: Scores at or above this are product-like; at or below PURE_AT, pure service.
PRODUCT_LIKE_AT = 0.65
PURE_AT = 0.40
#: An episode of a day or less counts as fully short; ten years or more as not short at all.
SHORT_DAYS, LONG_DAYS = 1.0, 3652.5


@dataclass(frozen=True)
class ServiceProfile:
    """The features of one health-care service (or one episode of it).

    Parameters
    ----------
    name : str
    episode_days : float
        How long the episode of care lasts, in days (> 0).  A 30-minute
        operation is about 0.02; lifelong care can be given as 3650.
    professional_share : float
        The professionals' average share of agency during the episode, in [0, 1].
    concrete_procedure : bool
        Is the episode dominated by a concrete, repeatable procedure?
    physical_item : bool
        Is a specific physical item handed over or given to the patient (an
        implant, a lens, a tube, a vaccine, a medicine)?  A specimen taken for
        a laboratory does not count: nothing is handed over.
    simultaneous : bool
        Are production and consumption simultaneous (True for almost all care;
        False for work done away from the patient, such as a lab analysis)?
    notes : str
        Free text, not used by the classifier.
    """

    name: str
    episode_days: float
    professional_share: float
    concrete_procedure: bool = False
    physical_item: bool = False
    simultaneous: bool = True
    notes: str = field(default="", compare=False)

    def __post_init__(self):
        owner = "ServiceProfile"
        check_str(self.name, "name", owner, allow_empty=False)
        object.__setattr__(
            self, "episode_days", check_real(self.episode_days, "episode_days", owner, low=0, low_open=True)
        )
        if math.isinf(self.episode_days):
            raise ValueError(
                f"'episode_days' of ServiceProfile must be a float in (0.0, inf). Got {self.episode_days!r} instead."
            )
        object.__setattr__(
            self, "professional_share",
            check_real(self.professional_share, "professional_share", owner, low=0, high=1),
        )
        for name in ("concrete_procedure", "physical_item", "simultaneous"):
            check_bool(getattr(self, name), name, owner)
        check_str(self.notes, "notes", owner)

    @classmethod
    def from_agency(cls, profile, name: Optional[str] = None, *, start_days: Optional[float] = None,
                    end_days: Optional[float] = None, concrete_procedure: bool = False,
                    physical_item: bool = False, simultaneous: bool = True) -> "ServiceProfile":
        """Describe a window of an agency stripe as a service.

        ``episode_days`` is the window's length and ``professional_share`` the
        professionals' mean share within it.  The window defaults to the whole
        stripe; choose it to look at one episode (labels fit episodes, not
        diseases).

        Examples
        --------
        >>> from course.agency import PRESETS, agency_profile
        >>> hip = agency_profile(PRESETS["Hip or knee replacement"])
        >>> whole_year = ServiceProfile.from_agency(hip)
        >>> operation = ServiceProfile.from_agency(hip, start_days=120, end_days=123.4,
        ...     concrete_procedure=True, physical_item=True)
        >>> classify(whole_year).label, classify(operation).label
        ('pure service', 'product-like')
        """
        import numpy as np

        from course.agency import AgencyProfile, patient_share

        if not isinstance(profile, AgencyProfile):
            raise TypeError(f"'profile' must be an AgencyProfile. Got {type(profile).__name__} instead.")
        horizon = profile.params.horizon_days
        start = 0.0 if start_days is None else check_real(start_days, "start_days", "from_agency", low=0, high=horizon)
        end = horizon if end_days is None else check_real(end_days, "end_days", "from_agency", low=0, high=horizon)
        if end <= start:
            raise ValueError(
                f"'end_days' of from_agency must be greater than start_days={start!r}. Got {end!r} instead."
            )
        t = np.linspace(start, end, 2001)
        mean_prof = float(np.mean(1.0 - patient_share(profile.params, t)))
        return cls(
            name=name or profile.params.name or "service",
            episode_days=round(end - start, 9),  # no float noise such as 3.4000000000000057
            professional_share=min(max(mean_prof, 0.0), 1.0),
            concrete_procedure=concrete_procedure,
            physical_item=physical_item,
            simultaneous=simultaneous,
        )


@dataclass(frozen=True)
class Classification:
    """The result of :func:`classify`."""

    label: str
    score: float
    reasons: list
    contributions: dict = field(default_factory=dict, compare=False)

    @property
    def summary(self) -> str:
        """The reasons in one sentence: the label, the score, the agency and the episode's length.

        Examples
        --------
        >>> print(classify(ServiceProfile("Clinic visit", episode_days=1 / 24, professional_share=0.6)).summary)
        Mixed (score 0.49): professionals hold most of the agency (60%) and the episode is short (1 hour).
        """
        return self.reasons[0]


def _shortness(episode_days: float) -> float:
    """1 for a day or less, 0 for ten years or more, log-linear between."""
    x = (math.log10(episode_days) - math.log10(SHORT_DAYS)) / (math.log10(LONG_DAYS) - math.log10(SHORT_DAYS))
    return min(max(1.0 - x, 0.0), 1.0)


def classify(profile: ServiceProfile) -> Classification:
    """Place a service between product-like (score 1) and pure service (score 0).

    The score adds up features that make an episode of care behave like a
    product: professionals hold most of the agency, the episode is short, a
    concrete procedure dominates, a physical item is handed over, and
    production can be separated from consumption.  Scores of at least 0.65
    are "product-like", at most 0.40 "pure service", and "mixed" between.

    Examples
    --------
    >>> diabetes = ServiceProfile("Adult type 2 diabetes", episode_days=3650, professional_share=0.15,
    ...                           physical_item=True)
    >>> c = classify(diabetes)
    >>> c.label
    'pure service'
    >>> print(c.reasons[0])
    Pure service (score 0.16): patients hold most of the agency (85%) and the episode is long (10 years).
    """
    if not isinstance(profile, ServiceProfile):
        raise TypeError(f"'profile' must be a ServiceProfile. Got {type(profile).__name__} instead.")
    share = profile.professional_share
    short = _shortness(profile.episode_days)
    parts = {
        "professional_share": WEIGHTS["professional_share"] * share,
        "short_episode": WEIGHTS["short_episode"] * short,
        "concrete_procedure": WEIGHTS["concrete_procedure"] * profile.concrete_procedure,
        "physical_item": WEIGHTS["physical_item"] * profile.physical_item,
        "decoupled": WEIGHTS["decoupled"] * (not profile.simultaneous),
    }
    score = min(max(sum(parts.values()), 0.0), 1.0)
    if score >= PRODUCT_LIKE_AT:
        label = "product-like"
    elif score <= PURE_AT:
        label = "pure service"
    else:
        label = "mixed"

    # the same functions as the explorer's readouts, so a length or share reads alike everywhere
    duration = format_period(profile.episode_days)
    agency_words = (
        f"professionals hold most of the agency ({format_percent(share)})" if share > 0.5
        else f"patients hold most of the agency ({format_percent(1 - share)})" if share < 0.5
        else "patients and professionals hold equal agency"
    )
    length_words = (
        f"the episode is short ({duration})" if short >= 0.6
        else f"the episode is long ({duration})" if short <= 0.3
        else f"the episode is of middling length ({duration})"
    )
    lead = f"{label.capitalize()} (score {format_fixed(score, 2)}): {agency_words} and {length_words}."
    reasons = [lead]
    reasons.append(
        f"Agency: professionals' share {format_percent(share)} adds {format_fixed(parts['professional_share'], 2)} "
        f"of a possible {format_fixed(WEIGHTS['professional_share'], 2)}."
    )
    reasons.append(
        f"Duration: {duration} adds {format_fixed(parts['short_episode'], 2)} of a possible "
        f"{format_fixed(WEIGHTS['short_episode'], 2)}."
    )
    reasons.append(
        "A concrete procedure dominates the episode (+0.20)." if profile.concrete_procedure
        else "No single concrete procedure dominates: the work is an intangible process (+0.00)."
    )
    reasons.append(
        "A specific physical item is handed over, such as an implant, a tube or a medicine (+0.10)."
        if profile.physical_item else "No specific physical item is handed over (+0.00)."
    )
    reasons.append(
        "Production happens away from the patient and can be separated from use (+0.05)."
        if not profile.simultaneous
        else "It is produced and consumed at once, with the patient as coproducer (+0.00)."
    )
    if label == "mixed":
        reasons.append(
            f"The score lies between {format_fixed(PURE_AT, 2)} and {format_fixed(PRODUCT_LIKE_AT, 2)}, so the episode has "
            "product-like and service-like parts: look at them separately."
        )
    return Classification(label=label, score=score, reasons=reasons, contributions=parts)


def boundary_notes(profile: ServiceProfile) -> tuple:
    """Plain-language notes for settings the classifier treats specially (empty when there are none).

    Episodes of a day or less all count as fully short, and of ten years or
    more as not short at all, so moving the length further changes nothing;
    a professionals' share of 0% or 100% leaves one side with no agency,
    which the lessons say never happens in a coproduced service.

    Examples
    --------
    >>> boundary_notes(ServiceProfile("Clinic", episode_days=30, professional_share=0.5))
    ()
    >>> print(boundary_notes(ServiceProfile("Injection", episode_days=0.01, professional_share=0.5))[0])
    Any episode of a day or less counts as fully short: a shorter one does not raise the score.
    """
    if not isinstance(profile, ServiceProfile):
        raise TypeError(f"'profile' must be a ServiceProfile. Got {type(profile).__name__} instead.")
    notes = []
    if profile.episode_days <= SHORT_DAYS:
        notes.append("Any episode of a day or less counts as fully short: a shorter one does not raise the score.")
    elif profile.episode_days >= LONG_DAYS:
        notes.append("Any episode of ten years or more counts as not short at all: a longer one does not lower "
                     "the score.")
    if profile.professional_share in (0.0, 1.0):
        side = "the patient" if profile.professional_share == 1.0 else "the professionals"
        notes.append(f"At {format_percent(profile.professional_share)} {side} hold no agency at all, which the lessons say "
                     "never happens in a service: users are always coproducers.")
    return tuple(notes)


@dataclass(frozen=True)
class CatalogueEntry:
    """One service in the course catalogue, with its expected label and source."""

    profile: ServiceProfile
    expected_label: str
    disputed: bool
    dispute: str
    source: str

    def __post_init__(self):
        check_choice(self.expected_label, "expected_label", LABELS, "CatalogueEntry")
        check_bool(self.disputed, "disputed", "CatalogueEntry")

    @property
    def name(self) -> str:
        return self.profile.name


def load_catalogue() -> tuple:
    """The catalogue of services shipped with the course (``course/data/services.json``).

    Examples
    --------
    >>> cat = load_catalogue()
    >>> len(cat) >= 16, cat[0].name
    (True, 'Hip or knee replacement (operation and stay)')
    """
    text = resources.files("course").joinpath("data/services.json").read_text(encoding="utf-8")
    rows = json.loads(text)["services"]
    entries = []
    for i, row in enumerate(rows):
        try:
            profile = ServiceProfile(
                name=row["name"],
                episode_days=row["episode_days"],
                professional_share=row["professional_share"],
                concrete_procedure=row["concrete_procedure"],
                physical_item=row["physical_item"],
                simultaneous=row["simultaneous"],
                notes=row.get("notes", ""),
            )
            entries.append(CatalogueEntry(
                profile=profile,
                expected_label=row["expected_label"],
                disputed=row["disputed"],
                dispute=row.get("dispute", ""),
                source=row["source"],
            ))
        except KeyError as exc:
            raise ValueError(f"services.json entry {i} ({row.get('name', '?')!r}) lacks the field {exc}.") from None
    return tuple(entries)
