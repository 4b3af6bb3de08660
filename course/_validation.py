"""Shared checks that word errors the same way everywhere.

Every message names the parameter, what is allowed and what was received, e.g.
``'recovery_days' of Episode must be a float in (0, inf). Got -2.0 instead.``
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = []  # private helpers


def _where(owner: str) -> str:
    return f" of {owner}" if owner else ""


def check_real(value, name: str, owner: str = "", *, low=None, high=None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float after checking its type and range."""
    lo = "-inf" if low is None else repr(float(low))
    hi = "inf" if high is None else repr(float(high))
    interval = f"{'(' if low is None or low_open else '['}{lo}, {hi}{')' if high is None or high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"'{name}'{_where(owner)} must be a float in {interval}. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    x = float(value)
    bad = math.isnan(x)
    if low is not None:
        bad |= x <= low if low_open else x < low
    if high is not None:
        bad |= x >= high if high_open else x > high
    if low is None and high is None:
        bad |= math.isinf(x)
    if bad:
        raise ValueError(f"'{name}'{_where(owner)} must be a float in {interval}. Got {value!r} instead.")
    return x


def check_bool(value, name: str, owner: str = "") -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"'{name}'{_where(owner)} must be True or False. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    return value


def check_str(value, name: str, owner: str = "", *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"'{name}'{_where(owner)} must be a str. Got {value!r} of type {type(value).__name__} instead."
        )
    if not allow_empty and not value.strip():
        raise ValueError(f"'{name}'{_where(owner)} must be a non-empty str. Got {value!r} instead.")
    return value


def check_choice(value, name: str, choices, owner: str = ""):
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"'{name}'{_where(owner)} must be one of {allowed}. Got {value!r} instead.")
    return value
