"""Agency over time: known results, properties and error messages."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course.agency import (
    PRESETS, AgencyParams, Episode, agency_profile, patient_share, summarize,
)


def test_shares_at_chosen_times_match_hand_calculation():
    """Are the patient's shares before, during and after an episode what the formula gives by hand?"""
    ep = Episode(start_days=10, duration_days=2, depth=0.5, recovery_days=4)
    params = AgencyParams(baseline=0.8, episodes=(ep,))
    got = patient_share(params, [0, 9.999, 10, 11, 12, 16, 20])
    # during: 0.8 * (1 - 0.5); 4 days after: half of the drop is back; 8 days: three quarters
    want = [0.8, 0.8, 0.4, 0.4, 0.4, 0.8 * (1 - 0.25), 0.8 * (1 - 0.125)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_trend_is_clipped_to_the_unit_interval():
    """Does a strong trend stop at 0 and 1 instead of leaving the interval?"""
    up = AgencyParams(baseline=0.9, trend_per_year=1.0, horizon_days=730)
    down = AgencyParams(baseline=0.1, trend_per_year=-1.0, horizon_days=730)
    assert patient_share(up, [365.25])[0] == 1.0
    assert patient_share(down, [365.25])[0] == 0.0


def test_overlapping_episodes_compound():
    """Do two overlapping episodes multiply their effects?"""
    a = Episode(5, 10, depth=0.5, recovery_days=1)
    b = Episode(8, 2, depth=0.5, recovery_days=1)
    p = AgencyParams(baseline=1.0, episodes=(a, b))
    assert patient_share(p, [9])[0] == pytest.approx(0.25)


def test_flat_profile_summary_is_exact():
    """Is the summary of a stripe without episodes its constant share, with zero concentration?"""
    s = summarize(agency_profile(AgencyParams(baseline=0.3)))
    assert s.mean_professional == pytest.approx(0.7)
    assert s.peak_professional == pytest.approx(0.7)
    assert s.professional_dominant_fraction == pytest.approx(1.0)
    assert s.concentration == pytest.approx(0.0, abs=1e-12)


def test_dominant_fraction_of_a_square_episode():
    """Do professionals dominate for exactly the episode's share of time when the drop is deep and recovery fast?"""
    ep = Episode(100, 36.5, depth=1.0, recovery_days=1e-6)
    s = summarize(agency_profile(AgencyParams(baseline=1.0, episodes=(ep,), horizon_days=365)))
    assert s.professional_dominant_fraction == pytest.approx(0.1, abs=2e-3)
    assert s.mean_professional == pytest.approx(0.1, abs=2e-3)
    assert s.peak_professional == 1.0


def test_short_episodes_are_resolved_in_long_stripes():
    """Does a 30-minute operation in a year-long stripe still show its full depth?"""
    prof = agency_profile(PRESETS["Cataract surgery"].replace(horizon_days=3650))
    assert prof.professional.max() == pytest.approx(1 - 0.9 * 0.05)


def test_concentration_ranks_episodic_above_steady_care():
    """Is professional agency more concentrated for an operation than for diabetes care?"""
    cat = summarize(agency_profile(PRESETS["Cataract surgery"]))
    dm = summarize(agency_profile(PRESETS["Adult type 2 diabetes"]))
    assert cat.concentration > dm.concentration
    assert cat.peak_professional > 0.9 > dm.peak_professional


def test_presets_cover_the_cases_in_the_course():
    """Does every case the blog names have a preset, with a description?"""
    names = set(PRESETS)
    for needed in ("Self-managing patient with occasional acute events", "Adult type 2 diabetes",
                   "Paediatric inflammatory bowel disease", "Hip or knee replacement", "Cataract surgery",
                   "Ear tubes in a child", "Emergency surgery episode"):
        assert needed in names
        assert PRESETS[needed].description
    assert "irritable bowel syndrome" in PRESETS["Paediatric inflammatory bowel disease"].description


def test_params_are_frozen_and_arrays_read_only():
    """Can a callback mutate a model value in place? (It must not.)"""
    p = AgencyParams(baseline=0.5)
    with pytest.raises(Exception):
        p.baseline = 0.2
    prof = agency_profile(p)
    with pytest.raises(ValueError):
        prof.patient[0] = 0.0


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(baseline=1.5), "'baseline' of AgencyParams must be a float in [0.0, 1.0]. Got 1.5 instead."),
    (dict(baseline=float("nan")), "'baseline' of AgencyParams must be a float in [0.0, 1.0]. Got nan instead."),
    (dict(baseline="high"), "'baseline' of AgencyParams must be a float in [0.0, 1.0]. Got 'high' of type str"),
    (dict(baseline=True), "Got True of type bool"),
    (dict(baseline=0.5, trend_per_year=2), "'trend_per_year' of AgencyParams must be a float in [-1.0, 1.0]"),
    (dict(baseline=0.5, horizon_days=0), "'horizon_days' of AgencyParams must be a float in (0.0,"),
    (dict(baseline=0.5, episodes=[1]), "'episodes[0]' of AgencyParams must be an Episode"),
])
def test_bad_params_are_named_with_range_and_value(kwargs, fragment):
    """Does invalid input name the parameter, the allowed range and the value received?"""
    with pytest.raises((ValueError, TypeError)) as err:
        AgencyParams(**kwargs)
    assert fragment in str(err.value)


def test_bad_episode_message():
    with pytest.raises(ValueError, match=r"'recovery_days' of Episode must be a float in \(0.0, inf\). Got -2.0 instead."):
        Episode(1, 1, 0.5, -2.0)


episodes = st.builds(
    Episode,
    start_days=st.floats(0, 800, allow_nan=False),
    duration_days=st.floats(1e-3, 200, allow_nan=False),
    depth=st.floats(0, 1),
    recovery_days=st.floats(1e-3, 300, allow_nan=False),
)
params = st.builds(
    AgencyParams,
    baseline=st.floats(0, 1),
    trend_per_year=st.floats(-1, 1),
    episodes=st.lists(episodes, max_size=4).map(tuple),
    horizon_days=st.floats(1, 1500, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(params)
def test_shares_stay_in_unit_interval_and_sum_to_one(p):
    """For any valid parameters, are both shares in [0, 1] and do they sum to 1?"""
    prof = agency_profile(p)
    assert np.all((prof.patient >= 0) & (prof.patient <= 1))
    assert np.all((prof.professional >= 0) & (prof.professional <= 1))
    np.testing.assert_allclose(prof.patient + prof.professional, 1.0, atol=1e-12)
    s = summarize(prof)
    for v in (s.mean_professional, s.peak_professional, s.professional_dominant_fraction, s.concentration):
        assert 0.0 <= v <= 1.0 and math.isfinite(v)
    assert s.mean_professional <= s.peak_professional + 1e-12


@settings(max_examples=80, deadline=None)
@given(params, st.floats(0, 1))
def test_deeper_episode_never_raises_patient_share(p, extra):
    """Does making every episode deeper ever give the patient more agency? (It must not.)"""
    deeper = p.replace(episodes=tuple(
        Episode(e.start_days, e.duration_days, min(1.0, e.depth + extra * (1 - e.depth)), e.recovery_days)
        for e in p.episodes))
    t = np.linspace(0, p.horizon_days, 200)
    assert np.all(patient_share(deeper, t) <= patient_share(p, t) + 1e-12)


def test_summarize_accepts_params_and_share_at_one_day_is_a_float():
    p = PRESETS["Cataract surgery"]
    assert summarize(p) == summarize(agency_profile(p))
    from course.agency import patient_share_at
    v = patient_share_at(p, 30.001)
    assert type(v) is float and v == pytest.approx(0.9 * 0.05)
    with pytest.raises(TypeError, match="'profile' must be an AgencyProfile or AgencyParams. Got str"):
        summarize("cataract")
