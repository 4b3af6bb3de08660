"""Checks for exercise answers that explain themselves and cannot be tricked.

The test cells of the course's exercises call these helpers instead of a bare
``assert``.  Each helper raises :class:`AssertionError` with a message a
learner can act on: what was expected, what was received, and a hint.

The helpers look at the *exact* type of an answer (``type(value)``), never at
what the answer says about itself.  So an object whose ``__eq__`` always
returns True, a ``float`` subclass, ``True`` where a number is asked for, a
numpy array or a string do not pass as a number; and :func:`check_function`
calls a learner's function on the cases it is given, so a function that
returns a hard-coded value fails on inputs the learner could not anticipate.

:func:`self_check` runs the visible test cells of an exercise notebook and
prints which questions are right, for learners working without a tutor.

Examples
--------
>>> from course.checking import check_number
>>> check_number(15.0, 15, "takt")
>>> check_number(True, 1, "takt")
Traceback (most recent call last):
...
AssertionError: 'takt' must be a number (int or float). Got True of type bool instead. True and False are not numbers here.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "check_number",
    "check_label",
    "check_bool",
    "check_instance",
    "check_fields",
    "check_value",
    "check_function",
    "answer_digest",
    "check_secret",
    "self_check",
]

#: The numpy scalar types accepted as numbers (numpy's own classes only;
#: ``float(x)`` of a course result is always safe).
_NUMPY_SCALARS = (np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
                  np.uint64, np.uint32, np.uint16, np.uint8)
_HIDDEN_BEGIN, _HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _show(value: Any) -> str:
    """A short, safe description of ``value`` for a message (never raises)."""
    try:
        text = repr(value)
    except Exception:  # a trick object may break repr
        text = "<unprintable object>"
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} of type {type(value).__name__}"


def _fail(message: str, hint: str = "") -> None:
    raise AssertionError(f"{message} {hint}".strip())


def check_number(value: Any, expected: float, name: str, *, rel: float = 1e-6, abs_tol: float = 1e-9,
                 reveal: bool = True, hint: str = "") -> None:
    """Check that ``value`` is a real number close to ``expected``.

    Parameters
    ----------
    value : object
        The learner's answer.  Its exact type must be ``int`` or ``float``
        (numpy's own float and int scalars are accepted too).  ``bool``,
        strings, numpy arrays and subclasses of ``float`` are refused.
    expected : float
    name : str
        The name the learner used, shown in the message.
    rel, abs_tol : float
        Relative and absolute tolerance, as in :func:`math.isclose`.
    reveal : bool
        Whether a wrong answer's message shows the expected value.  Use False
        when the value *is* the question.
    hint : str
        Added to the message when the check fails.

    Raises
    ------
    AssertionError
        With a message that names the answer, what was expected and what was received.

    Examples
    --------
    >>> check_number(0.294, 149 / 507, "pce", rel=0.01)
    >>> check_number(0.5, 0.25, "share")
    Traceback (most recent call last):
    ...
    AssertionError: 'share' should be 0.25 (within 1e-06 relative). Got 0.5 instead.
    >>> import numpy as np
    >>> check_number(np.array([0.25]), 0.25, "share")
    Traceback (most recent call last):
    ...
    AssertionError: 'share' must be a number (int or float). Got a numpy array of shape (1,) instead. Take one element, e.g. float(x[0]).
    """
    x = _check_number_type(value, name, hint)
    if not math.isclose(x, float(expected), rel_tol=rel, abs_tol=abs_tol):
        if reveal:
            _fail(f"'{name}' should be {expected!r} (within {rel:g} relative). Got {x!r} instead.", hint)
        _fail(f"'{name}' is {x!r}, which is not the expected value yet.", hint)


def _check_number_type(value: Any, name: str, hint: str = "") -> float:
    """Return ``value`` as a float if its exact type is a real number type; else fail."""
    kind = type(value)
    if kind is bool:
        _fail(f"'{name}' must be a number (int or float). Got {_show(value)} instead. "
              "True and False are not numbers here.", hint)
    if kind is np.ndarray:
        _fail(f"'{name}' must be a number (int or float). Got a numpy array of shape {value.shape} instead. "
              "Take one element, e.g. float(x[0]).", hint)
    if kind is str:
        _fail(f"'{name}' must be a number (int or float). Got {_show(value)} instead. "
              "Remove the quotation marks.", hint)
    if kind not in (int, float) and kind not in _NUMPY_SCALARS:
        _fail(f"'{name}' must be a number (int or float). Got {_show(value)} instead.", hint)
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        _fail(f"'{name}' must be a finite number. Got {x!r} instead.", hint)
    return x


def check_bool(value: Any, expected: bool, name: str, *, hint: str = "") -> None:
    """Check that ``value`` is exactly ``True`` or ``False`` and equals ``expected``.

    Examples
    --------
    >>> check_bool(True, True, "simultaneous")
    >>> check_bool(1, True, "simultaneous")
    Traceback (most recent call last):
    ...
    AssertionError: 'simultaneous' must be True or False. Got 1 of type int instead.
    """
    if type(value) is not bool:
        _fail(f"'{name}' must be True or False. Got {_show(value)} instead.", hint)
    if value is not expected:
        _fail(f"'{name}' should be {expected!r}. Got {value!r} instead.", hint)


def check_label(value: Any, allowed: Sequence[str], expected: str, name: str, *, reveal: bool = True,
                hint: str = "") -> None:
    """Check that ``value`` is one of the ``allowed`` strings and equals ``expected``.

    Examples
    --------
    >>> LABELS = ("product-like", "mixed", "pure service")
    >>> check_label("mixed", LABELS, "mixed", "label")
    >>> check_label("Mixed", LABELS, "mixed", "label")
    Traceback (most recent call last):
    ...
    AssertionError: 'label' must be one of 'product-like', 'mixed', 'pure service'. Got 'Mixed' instead. Copy the spelling exactly.
    """
    choices = ", ".join(repr(a) for a in allowed)
    if type(value) is not str:
        _fail(f"'{name}' must be a str, one of {choices}. Got {_show(value)} instead.", hint)
    if value not in tuple(allowed):
        _fail(f"'{name}' must be one of {choices}. Got {value!r} instead. Copy the spelling exactly.", hint)
    if value != expected:
        if reveal:
            _fail(f"'{name}' should be {expected!r}. Got {value!r} instead.", hint)
        _fail(f"'{name}' is {value!r}, which is not the expected answer yet.", hint)


def check_instance(value: Any, cls: type, name: str, *, hint: str = "") -> None:
    """Check that ``type(value)`` is exactly ``cls`` (subclasses are refused).

    Examples
    --------
    >>> from course.value_stream import Step
    >>> check_instance(Step("Triage", 5), Step, "triage")
    >>> check_instance(("Triage", 5), Step, "triage")
    Traceback (most recent call last):
    ...
    AssertionError: 'triage' must be a Step. Got ('Triage', 5) of type tuple instead.
    """
    if type(value) is not cls:
        _fail(f"'{name}' must be a {cls.__name__}. Got {_show(value)} instead.", hint)


def check_value(value: Any, expected: Any, name: str, *, rel: float = 1e-6, reveal: bool = True,
                hint: str = "") -> None:
    """Check ``value`` against ``expected``, choosing the check by the type of ``expected``.

    Numbers use :func:`check_number`, booleans :func:`check_bool`, strings an
    exact comparison, and lists or tuples are checked element by element
    (their type must match too).

    Examples
    --------
    >>> check_value(["mixed", 0.5], ["mixed", 0.5], "result")
    >>> check_value(("mixed",), ["mixed"], "result")
    Traceback (most recent call last):
    ...
    AssertionError: 'result' must be a list. Got ('mixed',) of type tuple instead.
    """
    if type(expected) is bool:
        check_bool(value, expected, name, hint=hint)
    elif type(expected) in (int, float):
        check_number(value, expected, name, rel=rel, reveal=reveal, hint=hint)
    elif type(expected) is str:
        if type(value) is not str:
            _fail(f"'{name}' must be a str. Got {_show(value)} instead.", hint)
        if value != expected:
            if reveal:
                _fail(f"'{name}' should be {expected!r}. Got {value!r} instead.", hint)
            _fail(f"'{name}' is {value!r}, which is not the expected answer yet.", hint)
    elif type(expected) in (list, tuple):
        kind = type(expected)
        if type(value) is not kind:
            _fail(f"'{name}' must be a {kind.__name__}. Got {_show(value)} instead.", hint)
        if len(value) != len(expected):
            _fail(f"'{name}' should have {len(expected)} items. Got {len(value)} instead.", hint)
        for i, (v, e) in enumerate(zip(value, expected)):
            check_value(v, e, f"{name}[{i}]", rel=rel, reveal=reveal, hint=hint)
    else:
        raise TypeError(f"'expected' must be a bool, int, float, str, list or tuple. "
                        f"Got {type(expected).__name__} instead.")


def check_fields(value: Any, cls: type, expected: Mapping[str, Any], name: str, *, rel: float = 1e-6,
                 hint: str = "") -> None:
    """Check that ``value`` is exactly a ``cls`` whose fields have the ``expected`` values.

    Examples
    --------
    >>> from course.value_stream import Step
    >>> check_fields(Step("Triage", 5, 30), Step, {"process_minutes": 5, "wait_minutes": 30}, "triage")
    >>> check_fields(Step("Triage", 5, 20), Step, {"process_minutes": 5, "wait_minutes": 30}, "triage")
    Traceback (most recent call last):
    ...
    AssertionError: 'triage.wait_minutes' should be 30 (within 1e-06 relative). Got 20.0 instead.
    """
    check_instance(value, cls, name, hint=hint)
    for field_name, want in expected.items():
        check_value(getattr(value, field_name), want, f"{name}.{field_name}", rel=rel, hint=hint)


def _call_words(name: str, args: tuple, kwargs: Mapping) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{name}({text})"


def check_function(func: Any, cases: Iterable, name: str, *, rel: float = 1e-6, hint: str = "") -> None:
    """Call the learner's function on each case and check every result.

    Parameters
    ----------
    func : function
        The learner's function (a ``def`` or ``lambda``, not a class or a value).
    cases : iterable of (args, expected) or (args, kwargs, expected)
        ``args`` is a tuple of positional arguments.  Each result is compared
        with :func:`check_value`.
    name : str
        The function's name, shown in the message.

    Examples
    --------
    >>> def takt(available, demand):
    ...     return available / demand
    >>> check_function(takt, [((480, 32), 15.0), ((600, 40), 15.0)], "takt")
    >>> check_function(lambda a, d: 15.0, [((480, 32), 15.0), ((450, 10), 45.0)], "takt")
    Traceback (most recent call last):
    ...
    AssertionError: takt(450, 10) should give 45.0 (within 1e-06 relative). Got 15.0 instead.
    """
    import types

    if not isinstance(func, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        _fail(f"'{name}' must be a function you define with def. Got {_show(func)} instead.", hint)
    for case in cases:
        if len(case) == 2:
            (args, expected), kwargs = case, {}
        else:
            args, kwargs, expected = case
        call = _call_words(name, tuple(args), kwargs)
        try:
            result = func(*args, **kwargs)
        except NotImplementedError:
            _fail(f"{call} raised NotImplementedError: replace the line raise NotImplementedError() "
                  "with your code.", hint)
        except Exception as exc:  # the learner's code failed: explain where
            _fail(f"{call} raised {type(exc).__name__}: {exc}", hint)
        try:
            check_value(result, expected, "result", rel=rel)
        except AssertionError as exc:
            message = str(exc).replace("'result' should be", f"{call} should give", 1)
            message = message.replace("'result'", f"The result of {call}", 1)
            _fail(message, hint)


def _canonical(value: Any, digits: int | None) -> str:
    if digits is None:
        return str(value)
    return f"{round(float(value), digits):.{digits}f}"


def answer_digest(value: Any, name: str, *, digits: int | None = None) -> str:
    """A fingerprint of an answer, so that a visible test can check it without showing it.

    Numbers are rounded to ``digits`` decimal places first; strings are used
    as they are.  The answer's ``name`` is mixed in, so the same value gives
    different fingerprints for different questions.

    Examples
    --------
    >>> answer_digest("mixed", "label")
    'fc70047cc472a509'
    >>> answer_digest(0.18246, "pce_percent", digits=2) == answer_digest(0.1824, "pce_percent", digits=2)
    True
    """
    import hashlib

    text = f"{name}:{_canonical(value, digits)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_secret(value: Any, digest: str, name: str, *, allowed: Sequence[str] | None = None,
                 digits: int | None = None, hint: str = "") -> None:
    """Check an answer against its :func:`answer_digest` without revealing it.

    With ``digits`` the answer must be a number (see :func:`check_number`) and
    is compared after rounding to ``digits`` decimal places; otherwise it must
    be a str, one of ``allowed`` when given.

    Examples
    --------
    >>> LABELS = ("product-like", "mixed", "pure service")
    >>> check_secret("mixed", "fc70047cc472a509", "label", allowed=LABELS)
    >>> check_secret("pure service", "fc70047cc472a509", "label", allowed=LABELS)
    Traceback (most recent call last):
    ...
    AssertionError: 'label' is 'pure service', which is not the expected answer yet.
    """
    if digits is not None:
        _check_number_type(value, name, hint)
    elif allowed is not None:
        check_label(value, allowed, value if type(value) is str else "", name, hint=hint)
    elif type(value) is not str:
        _fail(f"'{name}' must be a str. Got {_show(value)} instead.", hint)
    if answer_digest(value, name, digits=digits) != digest:
        shown = _canonical(value, digits) if digits is not None else repr(value)
        _fail(f"'{name}' is {shown}, which is not the expected answer yet.", hint)


def _strip_hidden(source: str) -> str:
    out, hidden = [], False
    for line in source.splitlines():
        if _HIDDEN_BEGIN in line:
            hidden = True
        elif _HIDDEN_END in line:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def _question(grade_id: str) -> str:
    match = re.fullmatch(r"test_(\w+)", grade_id)
    return match.group(1) if match else grade_id


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def self_check(namespace: Mapping[str, Any], assignment: str, path: str | None = None) -> dict:
    """Run the visible tests of an exercise and print which questions are right.

    Hidden tests are never run: the grader runs them on other cases, so a
    question can still lose points there.  Written answers are marked by a tutor.

    Parameters
    ----------
    namespace : dict
        The notebook's variables: pass ``globals()``.
    assignment : str
        The exercise name, e.g. ``"ex01_products_and_services"``; the notebook
        ``<assignment>.ipynb`` is read from ``path`` or the current folder.
    path : str, optional
        The notebook file to read instead.

    Returns
    -------
    dict
        ``{question: True/False}`` for every automatically checked question.
    """
    import nbformat

    path = path or f"{assignment}.ipynb"
    if not os.path.exists(path):
        print(f"Cannot find {path!r}: run this cell inside the exercise notebook, "
              "without renaming it.")
        return {}
    nb = nbformat.read(path, as_version=4)
    results, got, total, manual = {}, 0.0, 0.0, []
    lines = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        points = float(meta.get("points", 0) or 0)
        if meta.get("task") or (meta.get("grade") and meta.get("solution")):
            manual.append((meta.get("grade_id", "?"), points))
            continue
        if not (meta.get("grade") and cell.cell_type == "code"):
            continue
        question = _question(meta.get("grade_id", "?"))
        total += points
        scope = dict(namespace)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(_strip_hidden(cell.source), f"<test of question {question}>", "exec"), scope)
        except Exception as exc:
            why = str(exc).strip() or type(exc).__name__
            if isinstance(exc, NameError):
                why = f"{why}. Run the cell with your answer first, and check the spelling of the name."
            elif not isinstance(exc, AssertionError):
                why = f"{type(exc).__name__}: {why}"
            lines.append(f"✗ Question {question} ({_points(points)}): {why}")
            results[question] = False
        else:
            lines.append(f"✓ Question {question} ({_points(points)}): right")
            results[question] = True
            got += points
    for line in lines:
        print(line)
    print(f"Visible tests passed: {got:g} of {total:g} automatically marked points.")
    print("The grader also runs hidden tests on other cases, so check that your functions work in general.")
    if manual:
        marked = sum(p for _, p in manual)
        print(f"Written answers ({marked:g} points) are marked by a tutor.")
    return results
