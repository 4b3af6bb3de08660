"""Read a learner's answer cells as data, without running them.

An answer cell holds one line per answer, ``name = value``, where the value is in
one of these forms:

* a label or letter between quotes: ``q1 = "pure service"``, ``q2 = "B"``;
* a number, possibly with simple arithmetic: ``q3 = 27.5``, ``q3 = 55 / 2``;
* a short list: ``q4 = ["C", "A", "B"]``;
* ``True`` or ``False``;
* the name of an earlier answer, or arithmetic on earlier answers: ``q5 = q3a / q3b``;
* an explorer's state, exactly as its "Use this as my answer" button writes it:
  ``my_stripe = AgencyParams(baseline=0.8, trend_per_year=0.0, ...)``.

``None`` means "not answered yet".  Comments and blank lines are ignored.  A cell
holding anything else (a ``def``, a loop, an import, a call of anything but the
explorer forms) is code, not an answer: none of its answers is read, and the
reason says so.  Nothing in a cell is ever executed: the values are computed
from the parsed syntax tree, so reading a hostile cell is as safe as reading a
number.

Examples
--------
>>> read_cell('q1 = "pure service"  # my answer\\nq2 = 55 / 2')
AnswerCell(values={'q1': 'pure service', 'q2': 27.5}, problem='', notes=())
>>> read_cell("import os").problem
'holds code (import), not an answer, so it was not run'
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Mapping

from course.agency import AgencyParams, Episode
from course.improvement import Ward
from course.capacity import CapacityParams
from course.services import ServiceProfile
from course.value_stream import Step, ValueStreamMap

__all__ = ["AnswerCell", "read_cell", "read_cells", "ANSWER_FORMS", "UNANSWERED", "format_answer"]

#: The explorer forms an answer may use, by the name a learner sees.
ANSWER_FORMS = {
    "AgencyParams": AgencyParams,
    "Episode": Episode,
    "ServiceProfile": ServiceProfile,
    "Step": Step,
    "ValueStreamMap": ValueStreamMap,
    "CapacityParams": CapacityParams,
    "Ward": Ward,
}
#: What an answer line holds before the learner answers.
UNANSWERED = None

MAX_SOURCE_CHARS = 20_000
MAX_NODES = 3_000
MAX_ITEMS = 200
MAX_STRING = 2_000
MAX_MAGNITUDE = 1e15


class _NotData(Exception):
    """Raised inside the reader: the cell is not in an allowed answer form."""


class _Invalid(Exception):
    """Raised inside the reader: an explorer form with values its model refuses."""


@dataclass(frozen=True)
class AnswerCell:
    """What one answer cell says.

    ``values`` maps each answer name to its value (``None`` when unanswered);
    ``problem`` is empty when the cell could be read, otherwise the reason it was not
    (then ``values`` is empty and ``names`` lists the answers it tried to give);
    ``notes`` are gentle remarks about how a value was read.
    """

    values: dict
    problem: str = ""
    notes: tuple = ()
    names: tuple = field(default=(), compare=False, repr=False)


def _kind(node) -> str:
    return {ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def",
            ast.AsyncFunctionDef: "def", ast.ClassDef: "class", ast.For: "loop",
            ast.While: "loop", ast.If: "if", ast.With: "with", ast.Try: "try",
            ast.Lambda: "lambda", ast.Call: "a call", ast.Attribute: "an attribute",
            ast.Subscript: "indexing", ast.ListComp: "a comprehension", ast.BoolOp: "and/or",
            ast.Compare: "a comparison", ast.IfExp: "if/else", ast.NamedExpr: ":=", ast.Await: "await",
            ast.Dict: "a dictionary", ast.Set: "a set", ast.JoinedStr: "an f-string", ast.Starred: "*",
            ast.GeneratorExp: "a comprehension", ast.Pow: "**"}.get(type(node), type(node).__name__)


def _assigned_names(tree) -> tuple:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return tuple(dict.fromkeys(names))


def _number(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _NotData(f"{what} works on numbers only")
    if not math.isfinite(x) or abs(x) > MAX_MAGNITUDE:
        raise _NotData(f"{what} gave a number that is too large")
    return x


class _Reader:
    def __init__(self, known: Mapping):
        self.known = dict(known)
        self.notes = []

    def value(self, node):
        if isinstance(node, ast.Constant):
            v = node.value
            if v is None or isinstance(v, bool):
                return v
            if isinstance(v, (int, float)):
                return _number(v, "a number")
            if isinstance(v, str):
                if len(v) > MAX_STRING:
                    raise _NotData(f"a text longer than {MAX_STRING} characters")
                return v
            raise _NotData(f"a value of type {type(v).__name__}")
        if isinstance(node, (ast.List, ast.Tuple)):
            if len(node.elts) > MAX_ITEMS:
                raise _NotData(f"a list of more than {MAX_ITEMS} items")
            items = [self.value(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = _number(self.value(node.operand), "a minus sign")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            raise _NotData({ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//"}.get(type(node.op), "an operator"))
        if isinstance(node, ast.BinOp):
            a = _number(self.value(node.left), "arithmetic")
            b = _number(self.value(node.right), "arithmetic")
            if isinstance(node.op, ast.Div):
                if b == 0:
                    raise _NotData("a division by zero")
                return _number(a / b, "arithmetic")
            op = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b}[type(node.op)]
            return _number(op(), "arithmetic")
        if isinstance(node, ast.Name):
            if node.id in self.known:
                return self.known[node.id]
            # A bare word such as B or pure: read as the text it spells.
            self.notes.append(f"read {node.id} as the text \"{node.id}\" (put text between quotes)")
            return node.id
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in ANSWER_FORMS:
                raise _NotData(_kind(node))
            if node.args:
                raise _NotData(f"{node.func.id}(...) with values not named: paste the line the "
                               "explorer's \"Use this as my answer\" button gives")
            kwargs = {}
            for kw in node.keywords:
                if kw.arg is None:
                    raise _NotData("** in a call")
                kwargs[kw.arg] = self.value(kw.value)
            form = ANSWER_FORMS[node.func.id]
            if "episodes" in kwargs and isinstance(kwargs["episodes"], list):
                kwargs["episodes"] = tuple(kwargs["episodes"])
            if "steps" in kwargs and isinstance(kwargs["steps"], list):
                kwargs["steps"] = tuple(kwargs["steps"])
            try:
                return form(**kwargs)
            except (TypeError, ValueError) as exc:
                raise _Invalid(f"gives {node.func.id}(...) values it does not accept: {exc}") from None
        raise _NotData(_kind(node))


def read_cell(source: str, known: Mapping | None = None) -> AnswerCell:
    """Read one answer cell's ``source`` as data; ``known`` holds earlier answers by name.

    Never executes anything and never raises for any input text.
    """
    if not isinstance(source, str):
        return AnswerCell({}, "is not text")
    if len(source) > MAX_SOURCE_CHARS:
        return AnswerCell({}, f"is longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        line = exc.lineno or 1
        # the answers it meant to give, so that their checks say why rather than "not answered"
        meant = tuple(dict.fromkeys(re.findall(r"^[ \t]*([A-Za-z_]\w*)[ \t]*=(?!=)", source, re.M)))
        return AnswerCell({}, f"could not be read (line {line}): put text between quotes, "
                              "like q1 = \"pure service\", and write numbers without units or % signs",
                          names=meant)
    except (RecursionError, MemoryError, ValueError):
        return AnswerCell({}, "is too deeply nested to be an answer")
    try:
        n_nodes = sum(1 for _ in ast.walk(tree))
    except RecursionError:
        return AnswerCell({}, "is too deeply nested to be an answer")
    names = _assigned_names(tree)
    if n_nodes > MAX_NODES:
        return AnswerCell({}, "is too long to be a list of answers", names=names)
    reader = _Reader(known or {})
    values = {}
    try:
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
                    stmt.value.value, str):
                continue  # a stray note in quotes
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                inner = stmt.value if isinstance(stmt, ast.Expr) else stmt
                raise _NotData(_kind(inner))
            name = stmt.targets[0].id
            value = reader.value(stmt.value)
            values[name] = value
            reader.known[name] = value
    except _NotData as exc:
        return AnswerCell({}, f"holds code ({exc}), not an answer, so it was not run", names=names)
    except _Invalid as exc:
        return AnswerCell({}, str(exc), names=names)
    except RecursionError:
        return AnswerCell({}, "is too deeply nested to be an answer", names=names)
    return AnswerCell(values, "", tuple(reader.notes), names=tuple(values))


def read_cells(sources) -> tuple:
    """Read answer cells in order; later cells may name earlier answers.

    Returns ``(values, problems)``: every answer read, and for each answer name that a
    cell holding code tried to give, the reason it was not read.
    """
    values, problems = {}, {}
    for source in sources:
        cell = read_cell(source, values)
        if cell.problem:
            for name in cell.names:
                problems[name] = cell.problem
                values.pop(name, None)
        else:
            values.update(cell.values)
            for name in cell.values:
                problems.pop(name, None)
    return values, problems


def _fmt(value) -> str:
    if isinstance(value, float):
        short = round(value, 6)
        return repr(short if short == value else value)
    if isinstance(value, tuple):
        inner = ", ".join(_fmt(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if hasattr(value, "__dataclass_fields__") and type(value).__name__ in ANSWER_FORMS:
        from dataclasses import fields
        parts = []
        for f in fields(value):
            if not f.compare and f.name != "label":
                continue
            v = getattr(value, f.name)
            if f.name in ("name", "source") and v == "":
                continue
            parts.append(f"{f.name}={_fmt(v)}")
        return f"{type(value).__name__}({', '.join(parts)})"
    return repr(value)


def format_answer(name: str, value) -> str:
    """The one answer line that gives ``name`` the ``value`` (what the explorers write).

    >>> format_answer("my_stripe", AgencyParams(baseline=0.7))
    'my_stripe = AgencyParams(baseline=0.7, trend_per_year=0.0, episodes=(), horizon_days=365.0)'
    >>> read_cell(format_answer("my_stripe", AgencyParams(baseline=0.7))).values["my_stripe"].baseline
    0.7
    """
    if not name.isidentifier():
        raise ValueError(f"'name' of format_answer must be a Python name such as my_stripe. Got {name!r} instead.")
    return f"{name} = {_fmt(value)}"
