"""How the course writes numbers for people: one function per kind of quantity.

Every explorer readout, slider value, figure label and figure description
formats its numbers here, so the same quantity always reads the same way:

* durations in minutes, hours or days, whichever fits (30 minutes is
  "30 minutes", never "0.0209 days"); lengths that may run to years (an
  episode of care, a stripe, a pathway) in minutes to years
  (:func:`format_period`), the same function wherever that length is shown;
* shares and percentages rounded half up, once, from the value itself (a
  share of 0.955 is "96%" everywhere, never "95%" in one place and "96%" in
  another, nor "0.95" beside "96%").

Pure: no numpy, matplotlib or widgets.

Examples
--------
>>> format_duration(30 / 1440)
'30 minutes'
>>> format_duration(1.5 / 24)
'1.5 hours'
>>> format_duration(120.1)
'120.1 days'
>>> format_percent(0.955)
'96%'
>>> format_number(2.0), format_number(0.0209, 3)
('2', '0.021')
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from course._validation import check_real

__all__ = [
    "MINUTES_PER_HOUR",
    "MINUTES_PER_DAY",
    "round_half_up",
    "format_number",
    "format_percent",
    "format_signed",
    "format_fixed",
    "format_duration",
    "format_minutes",
    "format_period",
    "format_weeks",
]

MINUTES_PER_HOUR = 60.0
MINUTES_PER_DAY = 1440.0


def round_half_up(x: float, digits: int = 0) -> float:
    """``x`` rounded to ``digits`` decimals, halves away from zero, as people round.

    The value is first taken to 9 significant decimals, so that float noise
    (0.955 is stored as 0.95499999999999996) does not decide the rounding.

    Examples
    --------
    >>> round_half_up(0.955, 2), round_half_up(2.5), round_half_up(-2.5), round(2.5)
    (0.96, 3.0, -3.0, 2)
    """
    x = check_real(x, "x", "round_half_up")
    if math.isinf(x):
        return x
    cleaned = Decimal(repr(x)).quantize(Decimal(1).scaleb(-9), rounding=ROUND_HALF_UP) if abs(x) < 1e15 \
        else Decimal(repr(x))
    return float(cleaned.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def format_number(x: float, digits: int = 1) -> str:
    """``x`` with at most ``digits`` decimals, trailing zeros dropped ("2", "2.5", "-0.1").

    Examples
    --------
    >>> format_number(29.999999999999996), format_number(0.25, 2), format_number(-0.04)
    ('30', '0.25', '0')
    """
    r = round_half_up(x, digits)
    text = f"{r:.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_percent(share: float, digits: int = 0) -> str:
    """A share (0.93) as a percentage ("93%"), rounded half up.

    Examples
    --------
    >>> format_percent(0.925), format_percent(0.0004, 1), format_percent(1.0)
    ('93%', '0%', '100%')
    """
    share = check_real(share, "share", "format_percent")
    return f"{format_number(share * 100, digits)}%"


def format_signed(x: float, digits: int = 2) -> str:
    """A change with its sign, to ``digits`` decimals ("+0.20", "-0.05", "0.00").

    Examples
    --------
    >>> format_signed(0.2), format_signed(-0.05), format_signed(0.001)
    ('+0.20', '-0.05', '0.00')
    """
    r = round_half_up(x, digits)
    if r == 0:
        return f"{0:.{digits}f}"
    return f"{r:+.{digits}f}"


def format_fixed(x: float, digits: int = 2) -> str:
    """``x`` with exactly ``digits`` decimals, rounded half up (a score: "0.65", "0.90").

    Examples
    --------
    >>> format_fixed(0.655), format_fixed(0.9), format_fixed(0.125, 2)
    ('0.66', '0.90', '0.13')
    """
    return f"{round_half_up(x, digits):.{digits}f}"


def _unit(value: str, singular: str) -> str:
    return f"{value} {singular}" if value == "1" else f"{value} {singular}s"


def format_duration(days: float) -> str:
    """A duration given in days, in minutes, hours or days, whichever reads best.

    Under an hour: whole minutes (one decimal under 10 minutes); under a day:
    hours to one decimal; otherwise days to one decimal.  Trailing ".0" is
    dropped and "1" takes the singular.

    Examples
    --------
    >>> [format_duration(d) for d in (0, 2.5 / 1440, 15 / 1440, 1 / 24, 0.5, 1, 2.0, 365)]
    ['0 minutes', '2.5 minutes', '15 minutes', '1 hour', '12 hours', '1 day', '2 days', '365 days']
    """
    days = check_real(days, "days", "format_duration", low=0)
    minutes = days * MINUTES_PER_DAY
    if round_half_up(minutes, 1) < MINUTES_PER_HOUR:
        return _unit(format_number(minutes, 1 if minutes < 10 else 0), "minute")
    if round_half_up(minutes / MINUTES_PER_HOUR, 1) < 24:
        return _unit(format_number(minutes / MINUTES_PER_HOUR, 1), "hour")
    return _unit(format_number(days, 1), "day")


def format_minutes(minutes: float) -> str:
    """A duration given in minutes, as :func:`format_duration` writes it.

    Examples
    --------
    >>> format_minutes(30), format_minutes(90), format_minutes(2880)
    ('30 minutes', '1.5 hours', '2 days')
    """
    minutes = check_real(minutes, "minutes", "format_minutes", low=0)
    return format_duration(minutes / MINUTES_PER_DAY)


def format_period(days: float) -> str:
    """A length of time that may run from minutes to years (an episode, a stripe, a pathway).

    Under 60 days as :func:`format_duration` writes it (minutes, hours or
    days); then months to one decimal; from about a year on, years to one
    decimal (whole years when within 0.05 of one).  A readout beside a slider
    and any sentence about the same length use this one function, so a
    length never reads "3981.1 days" in one place and "11 years" in another.

    Examples
    --------
    >>> [format_period(d) for d in (30 / 1440, 1.5, 45, 75, 90, 365, 730, 1000, 3981.07)]
    ['30 minutes', '1.5 days', '45 days', '2.5 months', '3 months', '1 year', '2 years', '2.7 years', '10.9 years']
    """
    days = check_real(days, "days", "format_period", low=0)
    if days < 60:
        return format_duration(days)
    years = days / 365.25
    if days >= 360 and abs(years - round(years)) < 0.05:
        return _unit(str(round(years)), "year")
    if days >= 730:
        return _unit(format_number(years, 1), "year")
    return _unit(format_number(days / 30.44, 1), "month")


def format_weeks(positions) -> str:
    """Points of a weekly series, given by position from 0 (as the run-chart and XmR models give them), as weeks.

    A chart's first point is week 1, so position 3 is "week 4".  No points
    read "none".

    Examples
    --------
    >>> format_weeks((3, 12)), format_weeks([0]), format_weeks((1, 4, 9)), format_weeks(())
    ('weeks 4 and 13', 'week 1', 'weeks 2, 5 and 10', 'none')
    """
    weeks = []
    for p in positions:
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ValueError(f"'positions' of format_weeks must hold whole numbers from 0. Got {p!r} instead.")
        weeks.append(str(p + 1))
    if not weeks:
        return "none"
    if len(weeks) == 1:
        return f"week {weeks[0]}"
    return f"weeks {', '.join(weeks[:-1])} and {weeks[-1]}"
