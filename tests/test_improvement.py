"""Lesson 7's models against values computed by hand, and its explorers without a browser."""

import subprocess
import sys

import numpy as np
import pytest

from course.improvement import (OXFORD_HIP_MAX, Ward, average_occupancy, beds_needed, oxford_hip_score, run_chart,
                                simulated_series, xmr_limits)


# ------------------------------------------------------------------ Little's law
def test_littles_law_matches_the_hand_calculation():
    """Do 4 admissions a day staying 5.3 and 3.4 days occupy 21.2 and 13.6 beds on average (4 x W)?"""
    assert average_occupancy(4, 5.3) == pytest.approx(21.2)
    assert average_occupancy(4, 3.4) == pytest.approx(13.6)
    assert average_occupancy(5, 4.2) == pytest.approx(21.0)
    assert average_occupancy(0, 7) == 0


def test_beds_needed_rounds_up_to_whole_beds_at_the_target():
    """At 85%: 13.6 / 0.85 = 16 exactly, 21 / 0.85 = 24.7 -> 25, 21.2 / 0.85 = 24.9 -> 25; at 100%: 13.6 -> 14."""
    assert beds_needed(4, 3.4, 0.85) == 16
    assert beds_needed(5, 4.2, 0.85) == 25
    assert beds_needed(4, 5.3, 0.85) == 25
    assert beds_needed(4, 3.4, 1.0) == 14


def test_ward_occupancy_and_the_point_where_it_stops_keeping_up():
    """Is 13.6 of 16 beds 85%, and does a ward with more demand than beds say it does not keep up?"""
    ward = Ward(beds=16, arrivals_per_day=4, length_of_stay_days=3.4)
    assert ward.occupancy == pytest.approx(0.85)
    assert ward.keeps_up
    assert ward.longest_stay_days(0.85) == pytest.approx(3.4)  # 16 x 0.85 / 4
    full = Ward(beds=12, arrivals_per_day=4, length_of_stay_days=3.0)  # 12 of 12 beds: no slack at all
    assert full.occupancy == pytest.approx(1.0) and not full.keeps_up
    assert not Ward(beds=12, arrivals_per_day=4, length_of_stay_days=5.3).keeps_up


@pytest.mark.parametrize("kwargs, message", [
    (dict(beds=0, arrivals_per_day=4, length_of_stay_days=3), r"'beds' of Ward must be a whole number in \[1, 10000\]\. Got 0"),
    (dict(beds=12.5, arrivals_per_day=4, length_of_stay_days=3), r"'beds' of Ward must be a whole number"),
    (dict(beds=12, arrivals_per_day=-1, length_of_stay_days=3), r"'arrivals_per_day' of Ward must be a float in \[0\.0, 1000\.0\]\. Got -1"),
    (dict(beds=12, arrivals_per_day=4, length_of_stay_days=float("nan")), r"'length_of_stay_days' of Ward"),
])
def test_ward_rejects_bad_values_naming_them(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Ward(**kwargs)


def test_beds_needed_rejects_an_impossible_target():
    with pytest.raises(ValueError, match=r"'target_occupancy' of beds_needed must be a float in \(0\.0, 1\.0\]\. Got 1\.2"):
        beds_needed(4, 3.4, 1.2)
    with pytest.raises(ValueError, match=r"Got 0 instead"):
        beds_needed(4, 3.4, 0)


# ------------------------------------------------------------------ run charts
#: 19 weeks; the median is 45, the 10th value in order.  Weeks 1-10 sit below it except week 5 (47), so
#: their longest run below is 5 points.  Weeks 11-19 sit above it except week 14, which is exactly 45: it
#: neither counts nor breaks, so the shift runs weeks 11-19 with 8 points.  (Exercise 7 uses this series.)
WITH_SHIFT = [42, 44, 40, 43, 47, 41, 44, 42, 44, 41, 52, 50, 55, 45, 53, 49, 56, 54, 51]


def test_a_series_with_a_real_shift_is_flagged_from_the_right_week():
    chart = run_chart(WITH_SHIFT)
    assert chart.median == 45
    assert chart.on_median == (13,)
    assert [(s.direction, s.first_point, s.last_point, s.points) for s in chart.shifts] == [("above", 11, 19, 8)]
    assert chart.trends == ()
    assert chart.signal


def test_reading_the_median_point_as_a_break_would_miss_the_shift():
    """Split at week 14, the runs above would be 3 and 5 points: no shift. Skipping it gives 8."""
    broken = WITH_SHIFT[:13] + [30] + WITH_SHIFT[14:]  # week 14 moved below the median
    assert not [s for s in run_chart(broken).shifts if s.direction == "above"]


def test_a_point_on_the_median_neither_counts_nor_breaks_a_shift():
    """Five points above, one on the median, then one above: six counted points, so one shift."""
    values = [1, 1, 1, 1, 1, 1, 5, 9, 9, 9, 9, 9, 5, 9]
    chart = run_chart(values)
    assert chart.median == 5
    (shift_above,) = [s for s in chart.shifts if s.direction == "above"]
    assert (shift_above.first_point, shift_above.last_point, shift_above.points) == (8, 14, 6)
    # with the median point removed from the middle of a 5-point run, there is no shift above
    assert not [s for s in run_chart([1, 1, 1, 1, 1, 1, 5, 9, 9, 9, 5, 9, 9]).shifts if s.direction == "above"]


def test_a_noisy_series_without_a_change_gives_no_signal():
    values = [44, 47, 41, 46, 43, 48, 42, 45, 44, 47, 40, 46, 43, 45, 48, 41]
    chart = run_chart(values)
    assert chart.median == 44.5
    assert chart.shifts == () and chart.trends == () and not chart.signal


def test_five_points_one_way_make_a_trend_and_four_do_not():
    assert [(t.direction, t.first_point, t.last_point) for t in run_chart([5, 4, 6, 7, 8, 9, 3]).trends] == \
        [("up", 2, 6)]
    assert run_chart([5, 4, 6, 7, 8, 3, 4]).trends == ()


def test_repeated_values_neither_make_nor_break_a_trend():
    """1, 2, 2, 3, 4, 5 counts 5 points going up (the second 2 is skipped); 1, 2, 2, 3, 1 is no trend."""
    (trend,) = run_chart([1, 2, 2, 3, 4, 5]).trends
    assert (trend.first_point, trend.last_point, trend.points) == (1, 6, 5)
    assert run_chart([1, 2, 2, 3, 1, 0]).trends == ()


def test_every_point_on_the_median_flags_nothing():
    chart = run_chart([40.0] * 12)
    assert chart.median == 40 and len(chart.on_median) == 12 and not chart.signal


def test_median_of_an_even_series_is_the_mean_of_the_middle_two():
    assert run_chart([3, 1, 4, 2]).median == 2.5


@pytest.mark.parametrize("values, error, message", [
    ([], ValueError, r"'values' of run_chart must hold at least 1 number\. Got 0 instead"),
    ("12, 15", TypeError, r"'values' of run_chart must be a sequence of numbers"),
    ([1, "2", 3], TypeError, r"'values\[1\]' of run_chart must be a number\. Got '2'"),
    ([1, float("nan")], ValueError, r"'values\[1\]' of run_chart must be a finite number"),
    ([1, True], TypeError, r"'values\[1\]' of run_chart must be a number"),
])
def test_run_chart_rejects_bad_series_naming_the_bad_value(values, error, message):
    with pytest.raises(error, match=message):
        run_chart(values)


def test_run_chart_rejects_a_bad_rule_length():
    with pytest.raises(ValueError, match=r"'shift_points' of run_chart must be a whole number in \[2, inf\]\. Got 1"):
        run_chart([1, 2, 3], shift_points=1)


# ------------------------------------------------------------------ XmR, Oxford Hip Score, the made-up series
def test_xmr_limits_by_hand():
    """Mean 11.6; moving ranges 2, 1, 2, 1 -> 1.5; limits 11.6 -/+ 2.66 x 1.5 = 7.61 and 15.59."""
    lim = xmr_limits([10, 12, 11, 13, 12])
    assert (lim.mean, lim.mean_moving_range) == pytest.approx((11.6, 1.5))
    assert (lim.lower, lim.upper) == pytest.approx((7.61, 15.59))
    assert lim.outside([10, 16, 7, 12]) == (1, 2)
    with pytest.raises(ValueError, match="at least 2 numbers"):
        xmr_limits([5])


def test_oxford_hip_score_sums_to_the_current_0_to_48_scale():
    assert oxford_hip_score([4] * 12) == OXFORD_HIP_MAX == 48
    assert oxford_hip_score([1, 2, 1, 0, 2, 1, 1, 2, 1, 1, 2, 1]) == 15
    with pytest.raises(ValueError, match=r"must hold 12 answers, one per question\. Got 11"):
        oxford_hip_score([4] * 11)
    with pytest.raises(ValueError, match=r"'answers\[3\]' of oxford_hip_score must be a whole number in \[0, 4\]\. Got 5"):
        oxford_hip_score([4, 4, 4, 5] + [4] * 8)


def test_simulated_series_is_reproducible_and_steps_at_the_change():
    a = simulated_series(seed=3)
    assert np.array_equal(a, simulated_series(seed=3)) and not np.array_equal(a, simulated_series(seed=4))
    flat = simulated_series(n_points=8, change_at=5, baseline=40, change=-10, noise=0)
    assert flat.tolist() == [40] * 4 + [30] * 4
    with pytest.raises(ValueError, match=r"'change_at' of simulated_series must be a whole number in \[1, 9\]"):
        simulated_series(n_points=8, change_at=10)


def test_the_model_imports_no_plotting_or_widgets():
    code = ("import sys, course.improvement\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ipywidgets', 'IPython', 'PIL')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# ------------------------------------------------------------------ the explorers
def test_run_chart_explorer_flags_the_real_shift_and_follows_the_sliders():
    from course.explorers.run_chart import RunChartExplorer, describe_run_chart

    ex = RunChartExplorer()
    expected = run_chart(simulated_series(n_points=24, change_at=13, baseline=40, change=15, noise=5, seed=2))
    assert ex.chart == expected
    assert [(s.direction, s.first_point) for s in ex.chart.shifts] == [("below", 1), ("above", 13)]
    np.testing.assert_allclose(ex.artists.series.get_ydata(), expected.values)
    assert "weeks 13–24, above the median" in ex.readout.value
    assert "caught the real change" in ex.note.value
    before, image = ex.readout.value, ex.image.value
    ex.change.value = 0  # no real change: this draw of noise flags nothing
    assert not ex.chart.signal
    assert ex.readout.value != before and ex.image.value != image
    np.testing.assert_allclose(ex.artists.series.get_ydata(), ex.chart.values)
    assert ex.artists.shift_marks.get_xdata().size == 0
    assert "Rightly quiet" in ex.note.value
    assert ex.description == describe_run_chart(ex.chart, None)
    ex.noise.value = 0  # the boundary: every point on the median
    assert "every point is on the median" in ex.note.value
    assert ex.last_error is None


def test_run_chart_explorer_shows_a_false_alarm_as_one():
    from course.explorers.run_chart import RunChartExplorer

    ex = RunChartExplorer(change=0, seed=9)
    assert ex.chart.signal
    assert "False alarm" in ex.note.value


def test_capacity_explorer_readout_follows_the_sliders():
    from course.explorers.capacity import CapacityExplorer, describe_capacity

    ex = CapacityExplorer(beds=12, arrivals_per_day=4, length_of_stay_days=5.3, answer="my_ward")
    assert "21.2" in ex.readout.value and "177% of 12 beds" in ex.readout.value
    assert "no steady state" in ex.note.value
    before = ex.readout.value
    ex.length_of_stay.value = 3.4
    ex.beds.value = 16
    assert ex.readout.value != before
    assert "13.6" in ex.readout.value and "85% of 16 beds" in ex.readout.value
    assert ex.artists.now.get_ydata()[0] == pytest.approx(13.6)
    np.testing.assert_allclose(ex.artists.demand.get_ydata(), [0, 4 * 15])
    assert ex.description == describe_capacity(Ward(16, 4, 3.4), 0.85)
    assert ex.answer_line() == "my_ward = Ward(beds=16, arrivals_per_day=4.0, length_of_stay_days=3.4)"
    assert ex.last_error is None
