"""The checks a learner runs inside an exercise notebook.

``check("q2", key)`` sits in the cell after each answer cell; ``self_check([...])``
is the exercise's last cell.  Both read answers exactly as the grader does: from
the *text* of the answer cells the learner ran (IPython's input history), with
:func:`course.answers.read_cell`.  So a cell that holds code is reported as "not
read" here just as it will be when graded, and nothing a learner's code does to
variables changes what a check sees.

A check never raises: a wrong or missing answer is shown in one to four plain
sentences, and Run All goes through the whole exercise.  The grade itself comes
only from the grader.
"""
from __future__ import annotations

import ast
import html
from typing import Mapping

from course.answers import read_cell
from course.assessment import Item, Outcome, evaluate, lesson_link, unseal

__all__ = ["check", "self_check", "answers_from_history"]

_COLOURS = {"right": "#1b5e20", "partly": "#7a4f00", "wrong": "#8b0000", "unanswered": "#37474f",
            "not read": "#8b0000", "not checked": "#37474f"}


def _history() -> list:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - outside Jupyter
        return []
    ip = get_ipython()
    if ip is None:
        return []
    return [s for s in ip.user_ns.get("_ih", []) if isinstance(s, str)]


def answers_from_history(names, history=None) -> tuple:
    """``(values, problems)`` for the answer ``names``, from the cells run so far (latest wins)."""
    names = set(names)
    values, problems = {}, {}
    for source in (_history() if history is None else history):
        if not any(n in source for n in names):
            continue
        cell = read_cell(source, values)
        given = set(cell.names if cell.problem else cell.values) & names
        if not given:
            continue
        if cell.problem:
            for n in given:
                problems[n] = cell.problem
                values.pop(n, None)
        else:
            for n in given:
                values[n] = cell.values[n]
                problems.pop(n, None)
    return values, problems


def _item_and_key(qid, key):
    if isinstance(key, str):
        item, sealed = unseal(key)
        return item, sealed
    if isinstance(key, Mapping):
        return Item.from_spec(qid, dict(key, points=key.get("points", 1))), None
    raise TypeError(f"'key' of check must be the text the exercise gives. Got {type(key).__name__} instead.")


def _names(item) -> set:
    names = {item.name}
    for c in item.carry:
        names.update(c["from"])
    return names


def _outcome(qid, key, history=None) -> Outcome:
    item, sealed = _item_and_key(qid, key)
    values, problems = answers_from_history(_names(item), history)
    return evaluate(item, values, problems, key=sealed)


class _Shown:
    """Shows one or more outcomes as a short coloured note (HTML) with a plain-text twin."""

    def __init__(self, outcomes, footer=""):
        self.outcomes = list(outcomes)
        self.footer = footer

    def _repr_html_(self):
        parts = []
        for o in self.outcomes:
            colour = _COLOURS.get(o.status, "#37474f")
            text = "<br>".join(html.escape(line) for line in o.lines)
            section = o.section
            if section and o.status not in ("right",):
                words, link = lesson_link(section)
                text += f' <a href="{html.escape(link)}" target="_blank">Open {html.escape(words)}</a>'
            parts.append(f'<div role="status" style="border-left:4px solid {colour};padding:2px 8px;'
                         f'margin:2px 0;color:{colour}">{text}</div>')
        if self.footer:
            parts.append(f"<p>{html.escape(self.footer)}</p>")
        return "".join(parts)

    def __repr__(self):
        lines = [o.text for o in self.outcomes]
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)


def _display(obj):
    try:
        from IPython.display import display
        display(obj)
    except ImportError:  # pragma: no cover
        print(repr(obj))


def check(qid: str, key, *, history=None) -> None:
    """Check the answer to question ``qid`` and show what is right or what to change.

    ``key`` is the text the exercise gives (a sealed key). Never raises for any answer.
    """
    try:
        outcome = _outcome(qid, key, history)
    except Exception as exc:  # a broken key is an authoring error; say so without a traceback
        outcome = Outcome(qid, qid, "wrong", 0, 0, (f"This check could not run ({type(exc).__name__}: {exc}). "
                                                    "Tell your tutor.",))
    _display(_Shown([outcome]))


def _checks_run(history) -> dict:
    """Every ``check("qid", "...")`` call in the cells run so far: ``{qid: key}`` (latest wins)."""
    found = {}
    for source in history:
        if "check(" not in source:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                    and len(node.args) == 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                    for a in node.args)):
                found[node.args[0].value] = node.args[1].value
    return found


def self_check(questions, *, tutor_points=0, history=None) -> list:
    """List every automatically marked question as right, partly right, wrong or unanswered, with points.

    ``questions`` maps each question id to its points (the exercise fills it in).
    Returns the outcomes (also shown).
    """
    history = _history() if history is None else history
    keys = _checks_run(history)
    outcomes = []
    for qid, pts in dict(questions).items():
        if qid not in keys:
            outcomes.append(Outcome(qid, f"Question {qid[1:]}", "not checked", 0, pts, (
                f"… Question {qid[1:]} has not been checked yet: choose Run → Run All Cells, "
                "or run its check cell.",)))
            continue
        try:
            o = _outcome(qid, keys[qid], history)
        except Exception as exc:
            o = Outcome(qid, qid, "wrong", 0, pts, (f"This check could not run ({exc}). Tell your tutor.",))
        outcomes.append(o)
    got = sum(o.points for o in outcomes)
    total = sum(float(p) for p in dict(questions).values())
    footer = f"Automatically marked: {got:g} of {total:g} points."
    if tutor_points:
        footer += f" Your tutor marks the written answers ({tutor_points:g} points)."
    _display(_Shown(outcomes, footer))
    return outcomes
