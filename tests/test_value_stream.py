"""Value-stream maps: hand-computed measures, example maps and coverage."""

from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from course.agency import PRESETS, AgencyParams, Episode, agency_profile
from course.value_stream import Step, ValueStreamMap, days, hours, load_example_maps, takt_time_minutes


def small_map():
    return ValueStreamMap([
        Step("Referral", process_minutes=10, wait_minutes=0, value_added=False),
        Step("Consultation", process_minutes=20, wait_minutes=30240, value_added=True),
        Step("Blood test", process_minutes=5, wait_minutes=60, value_added=True),
    ])


def test_measures_computed_by_hand():
    """Do lead time, process time, value-added time and PCE match a hand calculation?"""
    m = small_map()
    assert m.lead_time_minutes == 10 + 20 + 30240 + 5 + 60
    assert m.process_minutes == 35
    assert m.value_added_minutes == 25
    assert m.process_cycle_efficiency == pytest.approx(25 / 30335)
    assert m.activity_ratio == pytest.approx(35 / 30335)
    assert m.bottleneck.name == "Consultation"


def test_sugianto_lab_example():
    """Does the map reproduce the published lab figures (507 min, 358 NVA, PCE 29%)?"""
    m = ValueStreamMap([Step("Value-added work", 149, 0, True), Step("Non-value-added", 358, 0, False)])
    assert m.lead_time_minutes == 507
    assert round(m.process_cycle_efficiency * 100) == 29


def test_takt_time():
    assert takt_time_minutes(480, 32) == 15.0
    m = small_map()
    assert m.takt_time_minutes(demand=24, available_minutes=480) == 20.0
    assert m.meets_takt(demand=24, available_minutes=480)
    assert not m.meets_takt(demand=25, available_minutes=480)
    with pytest.raises(ValueError, match="'demand' of takt_time_minutes must be a float in"):
        takt_time_minutes(480, 0)


def test_a_longer_wait_lowers_pce():
    """Does a longer wait lower the process cycle efficiency?"""
    m = small_map()
    longer = m.replace_step(1, wait_minutes=60000)
    assert longer.process_cycle_efficiency < m.process_cycle_efficiency
    assert m.steps[1].wait_minutes == 30240  # the original is unchanged


def test_example_maps_are_cited_and_plausible():
    maps = load_example_maps()
    hip = maps["Hip replacement pathway"]
    dm = maps["A year of adult type 2 diabetes care"]
    assert "Gayed" in hip.source
    assert hip.agency_preset in PRESETS and dm.agency_preset in PRESETS
    assert dm.lead_time_days == pytest.approx(365, abs=0.5)
    assert 100 < hip.lead_time_days < 200
    for m in (hip, dm):
        assert all(s.source for s in m.steps)


def test_time_in_steps_is_process_time_over_stripe_length_whoever_holds_the_agency():
    """Does the share of time inside the steps ignore who holds the agency (so it cannot tell journeys apart)?"""
    dm = load_example_maps()["A year of adult type 2 diabetes care"]
    for stripe in (PRESETS["Adult type 2 diabetes"], AgencyParams(baseline=0.1), AgencyParams(baseline=0.9)):
        cov = dm.coverage(stripe)
        assert cov.step_time_fraction == pytest.approx(dm.process_minutes / (365 * 1440), rel=1e-9)


def test_where_the_patients_work_falls_tells_hip_from_diabetes():
    """Does the diabetes map book almost all the patient's work as waiting, while the hip map leaves most after it ends?"""
    maps = load_example_maps()
    dm, hip = maps["A year of adult type 2 diabetes care"], maps["Hip replacement pathway"]
    d = dm.coverage(PRESETS["Adult type 2 diabetes"])
    h = hip.coverage(PRESETS["Hip or knee replacement"])
    assert d.patient_in_waits_fraction > 0.999 and d.patient_outside_map_fraction < 1e-9
    assert d.patient_seen_fraction < 0.001
    # the hip map ends about 165.6 days in; after it, 199.4 days at a 0.75 share, less what
    # is still recovering from surgery (half-life 14 days): about 148 days' worth
    assert h.patient_days_after_map == pytest.approx(147.9, abs=0.2)
    assert 0.5 < h.patient_outside_map_fraction < 0.6
    assert 0.4 < h.patient_in_waits_fraction < 0.5


def test_coverage_known_results():
    """Do the days' worth of work match a hand calculation on a flat stripe?"""
    stripe = AgencyParams(baseline=0.75, horizon_days=10)
    half = ValueStreamMap([Step("Second half", process_minutes=5 * 1440, wait_minutes=5 * 1440)])
    c = half.coverage(stripe)
    assert c.patient_days == pytest.approx(7.5)
    assert c.patient_days_in_steps == pytest.approx(3.75)
    assert c.professional_days_in_steps == pytest.approx(1.25)
    assert c.patient_days_in_waits == pytest.approx(3.75)
    assert c.step_time_fraction == pytest.approx(0.5)
    assert c.patient_seen_fraction == pytest.approx(0.5)
    assert c.professional_seen_fraction == pytest.approx(0.5)
    assert c.patient_in_waits_fraction == pytest.approx(0.5)
    assert c.patient_outside_map_fraction == pytest.approx(0.0, abs=1e-9)
    first_day = ValueStreamMap([Step("Day one", process_minutes=1440)])
    c = first_day.coverage(agency_profile(stripe))
    assert c.patient_days_after_map == pytest.approx(6.75)
    assert c.patient_outside_map_fraction == pytest.approx(0.9)
    late = first_day.coverage(stripe, start_days=4)
    assert late.patient_days_before_map == pytest.approx(3.0)
    assert late.patient_days_after_map == pytest.approx(3.75)


def test_coverage_counts_a_held_bed_as_neither_seen_nor_waiting():
    """Is the patient's agency during a stay beyond the touch time inside the step but not seen?"""
    stripe = AgencyParams(baseline=0.75, horizon_days=10)
    stay = ValueStreamMap([Step("Stay", process_minutes=1440, wait_minutes=5 * 1440, occupied_minutes=5 * 1440)])
    c = stay.coverage(stripe)
    assert c.step_time_fraction == pytest.approx(0.1)
    assert c.patient_in_waits_fraction == pytest.approx(0.5)
    assert c.patient_in_occupancy_fraction == pytest.approx(0.4)
    assert c.patient_outside_map_fraction == pytest.approx(0.0, abs=1e-9)


def test_coverage_sees_an_episode_mapped_exactly():
    """When a step covers exactly a deep episode, does the map see mostly professional work?"""
    stripe = AgencyParams(baseline=1.0, horizon_days=100,
                          episodes=(Episode(50, 1, depth=1.0, recovery_days=1e-6),))
    m = ValueStreamMap([Step("Operation", process_minutes=1440, wait_minutes=50 * 1440)])
    c = m.coverage(stripe)
    assert c.professional_seen_fraction == pytest.approx(1.0, abs=1e-3)
    assert c.patient_seen_fraction == pytest.approx(0.0, abs=1e-3)


def test_step_starts_computed_by_hand():
    m = small_map()  # 10 min, then a 21-day wait and 20 min, then a 60-min wait and 5 min
    starts = m.step_starts_days()
    assert starts[0] == 0.0
    assert starts[1] == pytest.approx((10 + 30240) / 1440)
    assert starts[2] == pytest.approx((10 + 30240 + 20 + 60) / 1440)


def test_a_shorter_wait_brings_the_stripes_operation_with_the_maps():
    """Cut the pre-operative wait to 0: do the map's operation and the stripe's move together?"""
    hip = load_example_maps()["Hip replacement pathway"]
    stripe = PRESETS["Hip or knee replacement"]
    shorter = hip.replace_step(3, wait_minutes=0)
    moved = shorter.fit_stripe(stripe, hip)
    op_then, op_now = hip.step_starts_days()[4], shorter.step_starts_days()[4]
    assert op_now == pytest.approx(op_then - 42)
    assert moved.episodes[0].start_days == pytest.approx(stripe.episodes[0].start_days - 42)
    assert moved.episodes[0].start_days - op_now == pytest.approx(stripe.episodes[0].start_days - op_then)
    assert moved.horizon_days == pytest.approx(stripe.horizon_days - 42)
    # nothing after the operation changed, so neither did the patient's work after the map
    before, after = hip.coverage(stripe), shorter.coverage(moved)
    assert after.patient_days_after_map == pytest.approx(before.patient_days_after_map, rel=1e-3)
    assert after.patient_days_in_waits == pytest.approx(before.patient_days_in_waits - 42 * 0.75, rel=1e-3)


def test_fit_stripe_leaves_an_unchanged_map_alone_and_stretches_for_a_longer_one():
    hip = load_example_maps()["Hip replacement pathway"]
    stripe = PRESETS["Hip or knee replacement"]
    assert hip.fit_stripe(stripe, hip) == stripe
    later = hip.replace_step(8, wait_minutes=300 * 1440)  # after the operation: the stripe does not move
    moved = later.fit_stripe(stripe, hip)
    assert moved.episodes == stripe.episodes
    assert moved.horizon_days == pytest.approx(later.lead_time_days)
    with pytest.raises(ValueError, match="'drawn_for' of fit_stripe must have as many steps as this map"):
        small_map().fit_stripe(stripe, hip)


@pytest.mark.parametrize("make, message", [
    (lambda: Step("x", -1), "'process_minutes' of Step must be a float in [0.0, 1000000000.0]. Got -1 instead."),
    (lambda: Step("x", 1, wait_minutes="soon"), "'wait_minutes' of Step must be a float"),
    (lambda: Step("", 1), "'name' of Step must be a non-empty str"),
    (lambda: ValueStreamMap([]), "'steps' of ValueStreamMap must hold at least one Step"),
    (lambda: ValueStreamMap([("a", 1)]), "'steps[0]' of ValueStreamMap must be a Step"),
    (lambda: small_map().replace_step(7, wait_minutes=0), "'index' of replace_step must be an int in [0, 2]"),
])
def test_bad_input_is_named(make, message):
    with pytest.raises((ValueError, TypeError, IndexError)) as err:
        make()
    assert message in str(err.value)


steps = st.builds(Step, name=st.just("s"), process_minutes=st.floats(0, 1e4), wait_minutes=st.floats(0, 1e6),
                  value_added=st.booleans())


@st.composite
def held_steps(draw):
    """Steps whose server may be held longer than the touch time."""
    s = draw(steps)
    return replace(s, occupied_minutes=s.process_minutes + draw(st.floats(0, 1e4)),
                   servers=draw(st.integers(1, 20)))


@settings(max_examples=150, deadline=None)
@given(st.lists(steps, min_size=1, max_size=8))
def test_pce_is_a_fraction_and_va_never_exceeds_process(ss):
    m = ValueStreamMap(ss)
    assert 0.0 <= m.process_cycle_efficiency <= 1.0
    assert m.value_added_minutes <= m.process_minutes <= m.lead_time_minutes + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.lists(held_steps(), min_size=1, max_size=8))
def test_holding_a_server_longer_never_raises_pce_or_capacity(ss):
    """Does occupied time lengthen the lead time and the minutes per patient, never the touch time?"""
    m = ValueStreamMap(ss)
    touch_only = ValueStreamMap([replace(s, occupied_minutes=s.process_minutes) for s in ss])
    assert 0.0 <= m.process_cycle_efficiency <= touch_only.process_cycle_efficiency + 1e-12
    assert m.process_minutes == touch_only.process_minutes
    assert m.lead_time_minutes >= touch_only.lead_time_minutes
    assert m.bottleneck.minutes_per_patient >= touch_only.bottleneck.minutes_per_patient


@settings(max_examples=60, deadline=None)
@given(st.lists(steps, min_size=1, max_size=6), st.sampled_from(sorted(PRESETS)))
def test_coverage_fractions_are_fractions(ss, preset):
    c = ValueStreamMap(ss).coverage(PRESETS[preset])
    for v in (c.step_time_fraction, c.patient_seen_fraction, c.professional_seen_fraction,
              c.patient_in_waits_fraction, c.patient_outside_map_fraction, c.patient_in_occupancy_fraction):
        assert 0.0 <= v <= 1.0
    parts = (c.patient_days_in_steps + c.patient_days_in_occupancy + c.patient_days_in_waits
             + c.patient_days_before_map + c.patient_days_after_map)
    assert parts == pytest.approx(c.patient_days, rel=1e-6, abs=1e-6)


def test_parallel_servers_move_the_bottleneck():
    """Does a step that works on many patients at once stop being the bottleneck?"""
    one = ValueStreamMap([Step("Operation", 90), Step("Group education", 240)])
    many = ValueStreamMap([Step("Operation", 90), Step("Group education", 240, servers=12)])
    assert one.bottleneck.name == "Group education"
    assert many.bottleneck.name == "Operation"
    assert many.steps[1].minutes_per_patient == 20.0
    # takt for 4 patients in 480 minutes is 120: one theatre at 90 minutes keeps up
    assert many.meets_takt(available_minutes=480, demand=4)
    assert not one.meets_takt(available_minutes=480, demand=4)
    # servers change capacity, not the patient's journey
    assert many.lead_time_minutes == one.lead_time_minutes


def test_a_ward_is_limited_by_bed_occupancy_not_touch_time():
    """Can a 12-bed ward with a 3.4-day stay keep up with 4 admissions a day (takt 360 minutes)?"""
    stay = 3.4 * 1440  # 4896 minutes: a bed is held for the whole stay
    ward = Step("Ward care", process_minutes=240, servers=12, occupied_minutes=stay)
    assert ward.minutes_per_patient == pytest.approx(4896 / 12)  # 408 minutes
    m = ValueStreamMap([Step("Operation", 90), ward])
    assert m.takt_time_minutes(available_minutes=1440, demand=4) == 360.0
    assert m.bottleneck.name == "Ward care"
    assert not m.meets_takt(available_minutes=1440, demand=4)
    # Little's law: beds in use = admissions a day x days each patient holds a bed
    assert 4 * stay / 1440 == pytest.approx(13.6)
    # by touch time alone the ward would wrongly look 20 times faster
    assert Step("Ward care", 240, servers=12).minutes_per_patient == 20.0
    # enough beds (14 x 1440 / 4896 = 4.1 patients a day) and the ward keeps up
    assert ValueStreamMap([replace(ward, servers=14)]).meets_takt(available_minutes=1440, demand=4)


def test_an_infusion_chair_is_held_during_observation():
    """Does the 30-minute observation after a 120-minute infusion count for capacity but not for PCE?"""
    chair = Step("Infusion", process_minutes=120, wait_minutes=30, occupied_minutes=120 + 30)
    m = ValueStreamMap([chair])
    assert chair.minutes_per_patient == 150.0
    assert m.lead_time_minutes == 30 + 150
    assert m.process_minutes == m.value_added_minutes == 120
    assert m.process_cycle_efficiency == pytest.approx(120 / 180)
    # 4 patients in 480 minutes: takt 120. Infusions alone would just fit; with observation they do not.
    assert not m.meets_takt(available_minutes=480, demand=4)
    assert ValueStreamMap([Step("Infusion", 120)]).meets_takt(available_minutes=480, demand=4)
    # two chairs: 75 minutes per patient
    assert ValueStreamMap([replace(chair, servers=2)]).meets_takt(available_minutes=480, demand=6)


def test_occupied_time_shows_as_its_own_interval():
    """Is the time a bed is held beyond the touch time neither process nor wait?"""
    m = ValueStreamMap([Step("Infusion", 120, wait_minutes=30, occupied_minutes=150)])
    kinds = [(k, round(a * 1440), round(b * 1440)) for k, _s, a, b in m.intervals_days()]
    assert kinds == [("wait", 0, 30), ("process", 30, 150), ("occupied", 150, 180)]


def test_occupied_time_defaults_to_process_time():
    s = Step("Consultation", 20, wait_minutes=60)
    assert s.occupied_minutes == 20.0
    assert s == Step("Consultation", 20, wait_minutes=60, occupied_minutes=20)
    assert small_map().lead_time_minutes == 10 + 20 + 30240 + 5 + 60


def test_replace_step_keeps_occupancy_consistent():
    """Does changing the touch time keep a ward's stay, and move a step occupied only while worked on?"""
    m = ValueStreamMap([Step("Clinic", 20), Step("Ward", 240, servers=12, occupied_minutes=4776)])
    assert m.replace_step(0, process_minutes=30).steps[0].occupied_minutes == 30
    assert m.replace_step(1, process_minutes=300).steps[1].occupied_minutes == 4776
    assert m.replace_step(1, process_minutes=300).lead_time_minutes == m.lead_time_minutes
    assert m.replace_step(1, process_minutes=5000).steps[1].occupied_minutes == 5000
    assert m.replace_step(1, occupied_minutes=3000).steps[1].occupied_minutes == 3000


@pytest.mark.parametrize("make, error, message", [
    (lambda: Step("Ward", 240, occupied_minutes=100), ValueError,
     "'occupied_minutes' of Step must be a float in [240.0, 1000000000.0] (at least process_minutes). "
     "Got 100 instead."),
    (lambda: Step("Ward", 240, occupied_minutes=-1), ValueError, "'occupied_minutes' of Step must be a float"),
    (lambda: Step("Ward", 240, occupied_minutes="3 days"), TypeError,
     "'occupied_minutes' of Step must be a float in [0.0, 1000000000.0]. Got '3 days' of type str instead."),
    (lambda: Step("Ward", 240, occupied_minutes=True), TypeError, "'occupied_minutes' of Step must be a float"),
])
def test_bad_occupied_minutes_are_named(make, error, message):
    with pytest.raises(error) as err:
        make()
    assert message in str(err.value)


def test_example_hip_map_bottleneck_is_the_ward():
    """Which step limits the hip pathway once a bed is held for the whole stay?"""
    hip = load_example_maps()["Hip replacement pathway"]
    ward = hip.bottleneck
    assert ward.name == "Ward care and mobilisation"
    assert ward.servers == 12
    assert ward.minutes_per_patient == pytest.approx(4776 / 12)  # 398 minutes
    # operation, ward and discharge together are Gayed et al.'s mean stay of 3.4 days; none of it is a wait
    hospital = [s for s in hip.steps if s.name in ("Joint replacement operation", ward.name, "Discharge")]
    assert sum(s.occupied_minutes for s in hospital) == pytest.approx(3.4 * 1440)
    assert hospital[1].wait_minutes == hospital[2].wait_minutes == 0
    # beds run round the clock: takt for 4 admissions a day is 360 minutes, and 12 beds do not keep up
    assert not hip.meets_takt(available_minutes=1440, demand=4)
    assert 4 * ward.occupied_minutes / 1440 == pytest.approx(13.27, abs=0.01)  # beds in use (Little's law)
    assert hip.meets_takt(available_minutes=1440, demand=3)
    # touch time still decides PCE: lead time and PCE are what they were with the stay booked as a wait
    assert hip.lead_time_minutes == 238401
    assert hip.process_minutes == 525 and hip.value_added_minutes == 435
    assert hip.process_cycle_efficiency == pytest.approx(435 / 238401)


@pytest.mark.parametrize("servers", [0, -1, 1.5, True])
def test_servers_must_be_a_positive_int(servers):
    with pytest.raises(ValueError, match=r"'servers' of Step must be an int in \[1, inf\)"):
        Step("x", 10, servers=servers)


def test_a_step_is_changed_by_its_name_as_by_its_position():
    """Does replace_step("Pre-operative assessment", ...) change that step, the same as the old position 3?"""
    hip = load_example_maps()["Hip replacement pathway"]
    by_name = hip.replace_step("Pre-operative assessment", wait_minutes=days(14))
    assert by_name == hip.replace_step(3, wait_minutes=14 * 1440)
    assert by_name.steps[3].name == "Pre-operative assessment" and by_name.steps[3].wait_minutes == 20160
    # six weeks (60480 min) cut to two: the lead time falls by exactly 28 days
    assert hip.lead_time_days - by_name.lead_time_days == pytest.approx(28.0)
    # letter case and stray spaces in the name do not matter
    assert hip.replace_step("  pre-operative ASSESSMENT", wait_minutes=0) == hip.replace_step(3, wait_minutes=0)


def test_a_wrong_or_shared_step_name_is_explained():
    """Does a misspelt name list the map's steps, and a name shared by several steps give their positions?"""
    hip = load_example_maps()["Hip replacement pathway"]
    with pytest.raises(ValueError) as err:
        hip.replace_step("Wait for surgery", wait_minutes=0)
    assert "'step' must be the name of a step of this map: 'GP appointment and referral'" in str(err.value)
    assert str(err.value).endswith("Got 'Wait for surgery' instead.")
    diabetes = load_example_maps()["A year of adult type 2 diabetes care"]
    with pytest.raises(ValueError, match=r"3 steps are called 'Nurse review' \(positions \[3, 4, 5\], counting from 0\)"):
        diabetes.replace_step("Nurse review", wait_minutes=0)
    assert diabetes.replace_step(4, wait_minutes=0).steps[4].wait_minutes == 0  # the position still works


def test_days_and_hours_give_minutes():
    """Are days(7) and hours(2) the minutes a Step expects (10080 and 120)?"""
    assert days(7) == 10080.0 and days(0.5) == 720.0 and hours(2) == 120.0
    with pytest.raises(ValueError, match=r"'n' of days must be a float in \[0"):
        days(-1)
    with pytest.raises(TypeError, match="Got '7' of type str instead"):
        days("7")
