"""Does the course write every quantity the same way, in units that fit?"""

import pytest

from course.formatting import (format_duration, format_fixed, format_minutes, format_number, format_percent,
                               format_period, format_signed, format_weeks, round_half_up)


@pytest.mark.parametrize("days, text", [
    (30 / 1440, "30 minutes"),        # never "0.0209 days"
    (0.0, "0 minutes"),
    (1 / 1440, "1 minute"),
    (2.5 / 1440, "2.5 minutes"),
    (59.96 / 1440, "1 hour"),         # rounds up into the next unit, never "60 minutes"
    (1.5 / 24, "1.5 hours"),
    (23.99 / 24, "1 day"),
    (1.0, "1 day"),
    (1.995, "2 days"),
    (120.1, "120.1 days"),
    (365.0, "365 days"),
])
def test_durations_use_minutes_hours_or_days(days, text):
    assert format_duration(days) == text


def test_minutes_and_days_read_the_same():
    """Is a duration the same text whether it was given in minutes or in days?"""
    for minutes in (0, 10, 30, 45, 90, 240, 1440, 2880, 60480):
        assert format_minutes(minutes) == format_duration(minutes / 1440)


@pytest.mark.parametrize("share, text", [(0.925, "93%"), (0.955, "96%"), (0.945, "95%"), (0.005, "1%"),
                                         (0.0, "0%"), (1.0, "100%"), (0.29999999999999993, "30%")])
def test_percentages_round_half_up_from_the_value(share, text):
    """A share exactly halfway rounds up, whatever float noise says (0.955 is stored as 0.95499...)."""
    assert format_percent(share) == text


def test_the_same_share_reads_alike_as_percent_and_as_fraction():
    """0.955 never shows as 0.95 in one place and 96% in another."""
    for share in (0.945, 0.955, 0.965, 0.125, 0.635):
        assert format_percent(share) == f"{format_number(share * 100, 0)}%"
        assert float(format_fixed(share, 2)) * 100 == pytest.approx(float(format_percent(share).rstrip("%")))


@pytest.mark.parametrize("x, text", [(29.999999999999996, "30"), (2.0, "2"), (2.25, "2.3"), (-0.04, "0"),
                                     (0.0209, "0")])
def test_numbers_drop_noise_and_trailing_zeros(x, text):
    assert format_number(x) == text


def test_signed_changes_and_periods():
    assert [format_signed(x) for x in (0.2, -0.05, 0.0)] == ["+0.20", "-0.05", "0.00"]
    assert [format_period(d) for d in (30, 90, 365, 730, 1460)] == ["30 days", "3 months", "1 year", "2 years",
                                                                    "4 years"]
    assert round_half_up(2.675, 2) == 2.68  # Python's round gives 2.67


@pytest.mark.parametrize("call", [lambda: format_duration(-1), lambda: format_minutes(float("nan"))])
def test_impossible_durations_are_refused(call):
    with pytest.raises(ValueError, match="must be a float in"):
        call()


@pytest.mark.parametrize("days, text", [
    (30 / 1440, "30 minutes"),        # never "0 days"
    (0.5, "12 hours"),
    (2.0, "2 days"),
    (59.9, "59.9 days"),
    (75, "2.5 months"),
    (365.0, "1 year"),
    (1000, "2.7 years"),
    (3650, "10 years"),
    (10 ** 3.6, "10.9 years"),        # the service explorer's longest episode, never "11 years" nor "3981.1 days"
])
def test_lengths_from_minutes_to_years_read_in_one_unit_that_fits(days, text):
    """Does a length that may run from minutes to years (an episode, a stripe) read in the unit that fits it?"""
    assert format_period(days) == text


def test_short_periods_read_as_durations():
    """Is a period under two months written exactly as a duration, so a readout and a sentence agree?"""
    for days in (0.003, 30 / 1440, 0.2, 1.0, 1.5, 7.25, 45.0, 59.9):
        assert format_period(days) == format_duration(days)


def test_weeks_are_counted_from_one_as_a_chart_reads():
    """Is the first point of a weekly series week 1 (the models give positions from 0)?"""
    from course.improvement import run_chart, xmr_limits

    values = [38, 41, 36, 44, 40, 39, 42, 37, 43, 40, 46, 49, 44, 51, 48, 50, 47, 52, 49, 53]
    assert format_weeks(run_chart(values).on_median) == "weeks 4 and 13"          # 44 lies in weeks 4 and 13
    assert format_weeks(xmr_limits(values[:10]).outside(values)) == "weeks 18 and 20"  # 52 and 53
    assert [format_weeks(p) for p in ((), (0,), (0, 1, 2))] == ["none", "week 1", "weeks 1, 2 and 3"]


@pytest.mark.parametrize("bad", [(-1,), (1.0,), ("3",), (True,)])
def test_weeks_refuse_what_is_not_a_position(bad):
    with pytest.raises(ValueError, match="'positions' of format_weeks must hold whole numbers from 0. Got"):
        format_weeks(bad)
