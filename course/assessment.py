"""Exercise items: what a question accepts, how an answer is checked, what the learner is told.

An *item* is one automatically marked question.  Its specification is a plain
dictionary that lives in the hidden part of the question's check cell in
``solutions/`` (nbgrader keeps it in the gradebook and removes it from the
student version).  This module turns a specification into an :class:`Item`,
checks a learner's answers (read as data by :mod:`course.answers`) against it
and words the result as one to four plain sentences.

Kinds of item (``kind``):

``choice``  one letter from ``options`` (``{"A": "text", ...}``); ``answer`` is the right
            letter (or a list of letters that are all right); every wrong letter has its
            own explanation in ``feedback``.
``label``   one label from ``options`` (``{"pure service": ["pure", ...synonyms]}``); case,
            spaces, hyphens and the listed wordings do not matter.
``number``  a number; ``answer``, ``tolerance`` (same unit) and ``unit``; ``mistakes`` lists
            ``[value, explanation]`` pairs for the wrong numbers a misconception gives.
``list``    a list in a stated order, each entry a letter or label from ``options``;
            points in proportion to the positions that are right.
``set``     "choose all that apply": points for right picks minus wrong picks.
``state``   an explorer state (``form``: ``"AgencyParams"``, ...); ``criteria`` lists
            ``{"rule", "args", "message"}``, each worth an equal share of the points.

Any item may have ``carry``: a list of ``{"rule", "from", "args"}``. An answer that
matches what the named rule gives for the learner's *own* earlier answers (``from``)
is also right (error carried forward); a contestable judgement is graded this way,
as consistent with the learner's own reasons, and may then leave out ``answer``.

The check a learner runs in their notebook uses a *sealed* copy of the item
(:func:`seal`): the public parts in plain text, and for the key only salted,
slow (PBKDF2) digests of the right answers and the explanations encrypted under
the answer they explain.  Reading the notebook therefore tells nothing that
trying answers in the check would not, and the grade never comes from it: the
grader checks the answers against the specification in the gradebook.

Examples
--------
>>> item = Item.from_spec("q1", {"kind": "label", "points": 1, "title": "Question 1",
...     "section": ["03_product_like_or_pure_service", "Two kinds of service"],
...     "options": {"product-like": [], "mixed": [], "pure service": ["pure"]},
...     "answer": "pure service", "feedback": {"product-like": "Long care is not a product.",
...     "mixed": "Which feature decides it?"}})
>>> evaluate(item, {"q1": "Pure-Service"}).status
'right'
>>> print(evaluate(item, {"q1": "mixed"}).text)
✗ Question 1: not right (0 of 1 point). Which feature decides it?
Revisit Lesson 3, section “Two kinds of service”.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from course import rules as _rules
from course.answers import ANSWER_FORMS

__all__ = ["Item", "Outcome", "evaluate", "seal", "unseal", "normalise_label", "normalise_letter",
           "lesson_link", "KINDS", "ItemSpecError"]

KINDS = ("choice", "label", "number", "list", "set", "state")
#: PBKDF2 iterations per digest: about 8 ms on a laptop core, so trying every
#: answer offline costs as much as trying them in the notebook's own check.
ITERATIONS = 20_000
_SPEC_KEYS = {"kind", "points", "title", "name", "section", "options", "answer", "feedback",
              "mistakes", "tolerance", "unit", "why", "carry", "criteria", "form", "objectives"}


class ItemSpecError(ValueError):
    """An item specification in ``solutions/`` is malformed (an authoring error)."""


def normalise_label(text) -> str:
    """Lower case, hyphens and underscores as spaces, single spaces, no surrounding punctuation.

    >>> normalise_label("  Pure-Service. ")
    'pure service'
    """
    s = str(text).lower().replace("\u2011", "-")
    s = re.sub(r"[-_/]+", " ", s)
    s = re.sub(r"[\"'“”‘’.,;:!?()\[\]]", "", s)
    return re.sub(r"\s+", " ", s).strip()


def normalise_letter(text) -> str:
    """``" b "``, ``"(B)"``, ``"b."`` all become ``"B"``."""
    return re.sub(r"[\s().\[\]\"':]", "", str(text)).upper()


def _points(x) -> str:
    x = float(x)
    s = f"{x:g}"
    return f"{s} point" + ("" if x == 1 else "s")


def lesson_link(section) -> tuple:
    """``(words, link)`` for a ``[lesson stem, heading]`` pair, the link relative to an exercise folder.

    >>> lesson_link(["02_agency_over_time", "Two agencies"])
    ('Lesson 2, section “Two agencies”', '../../notebooks/02_agency_over_time.ipynb#Two-agencies')
    """
    stem, heading = section
    number = int(stem.split("_", 1)[0])
    anchor = re.sub(r"\s+", "-", heading.strip())
    return (f"Lesson {number}, section “{heading}”", f"../../notebooks/{stem}.ipynb#{anchor}")


# --------------------------------------------------------------------------- items
@dataclass(frozen=True)
class Item:
    """One automatically marked question (see the module docstring for the fields)."""

    qid: str
    kind: str
    points: float
    title: str
    section: tuple
    name: str = ""
    options: Mapping = field(default_factory=dict)
    answer: Any = None
    feedback: Mapping = field(default_factory=dict)
    mistakes: tuple = ()
    tolerance: float = 0.0
    unit: str = ""
    why: str = ""
    carry: tuple = ()
    criteria: tuple = ()
    form: str = ""
    objectives: tuple = ()

    @classmethod
    def from_spec(cls, qid: str, spec: Mapping) -> "Item":
        """Build and validate an item; errors name the question and what is allowed."""
        def bad(msg):
            raise ItemSpecError(f"Item {qid!r}: {msg}")

        if not isinstance(spec, Mapping):
            bad(f"the specification must be a dict. Got {type(spec).__name__} instead.")
        unknown = set(spec) - _SPEC_KEYS
        if unknown:
            bad(f"unknown keys {sorted(unknown)}; allowed are {sorted(_SPEC_KEYS)}.")
        kind = spec.get("kind")
        if kind not in KINDS:
            bad(f"'kind' must be one of {KINDS}. Got {kind!r} instead.")
        pts = spec.get("points")
        if isinstance(pts, bool) or not isinstance(pts, (int, float)) or pts <= 0:
            bad(f"'points' must be a number > 0. Got {pts!r} instead.")
        section = spec.get("section")
        if not (isinstance(section, (list, tuple)) and len(section) == 2
                and re.match(r"^\d\d_\w+$", str(section[0])) and str(section[1]).strip()):
            bad(f"'section' must be [lesson stem such as '02_agency_over_time', heading]. Got {section!r} instead.")
        options = spec.get("options", {})
        answer = spec.get("answer")
        carry = tuple(dict(c) for c in spec.get("carry", ()))
        for c in carry:
            if c.get("rule") not in _rules.CARRY_RULES or not isinstance(c.get("from"), (list, tuple)):
                bad(f"each 'carry' entry needs 'rule' (one of {sorted(_rules.CARRY_RULES)}) and 'from' "
                    f"(a list of answer names). Got {c!r} instead.")
            c["from"] = tuple(c["from"])
        if kind in ("choice", "list", "set", "label") and not (isinstance(options, Mapping) and len(options) >= 2):
            bad("'options' must hold at least two options.")
        if kind == "label":
            # the author's wording is shown; every normalised wording (its own included) matches
            options = {str(k): tuple(dict.fromkeys([normalise_label(k)] + [normalise_label(s) for s in v]))
                       for k, v in options.items()}
        if kind in ("choice", "list", "set") and all(len(k) == 1 for k in options):
            options = {normalise_letter(k): v for k, v in options.items()}
        elif kind in ("list", "set"):
            options = {normalise_label(k): v for k, v in options.items()}
        if kind == "label":
            def norm(v):
                n = normalise_label(v)
                return next((k for k, syn in options.items() if n in syn), n)
        elif kind in ("list", "set") and not all(len(k) == 1 for k in options):
            norm = normalise_label
        else:
            norm = normalise_letter
        if kind in ("choice", "label"):
            accepted = answer if isinstance(answer, (list, tuple)) else ([] if answer is None else [answer])
            accepted = tuple(norm(a) for a in accepted)
            if not accepted and not carry:
                bad("'answer' is needed unless 'carry' says how to judge the answer.")
            for a in accepted:
                if a not in options:
                    bad(f"answer {a!r} is not one of the options {sorted(options)}.")
            feedback = {norm(k): v for k, v in spec.get("feedback", {}).items()}
            missing = [o for o in options if o not in accepted and o not in feedback]
            if missing and not carry:
                bad(f"every wrong option needs its own explanation in 'feedback'; missing: {missing}.")
            answer = accepted
        elif kind in ("list", "set"):
            if not isinstance(answer, (list, tuple)) or not answer:
                bad(f"'answer' must be a non-empty list. Got {answer!r} instead.")
            answer = tuple(norm(a) for a in answer)
            for a in answer:
                if a not in options:
                    bad(f"answer entry {a!r} is not one of the options {sorted(options)}.")
            feedback = {norm(k): v for k, v in spec.get("feedback", {}).items()}
            if kind == "set":
                missing = [o for o in options if o not in answer and o not in feedback]
                if missing:
                    bad(f"every wrong option needs its own explanation in 'feedback'; missing: {missing}.")
        elif kind == "number":
            tol = spec.get("tolerance")
            if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
                bad(f"'tolerance' must be a number > 0 (in the answer's unit). Got {tol!r} instead.")
            if answer is not None and (isinstance(answer, bool) or not isinstance(answer, (int, float))):
                bad(f"'answer' must be a number. Got {answer!r} instead.")
            if answer is None and not carry:
                bad("'answer' is needed unless 'carry' says how to judge the answer.")
            if not isinstance(spec.get("unit"), str):
                bad("'unit' must be given (a word such as 'days', or '' for a pure number).")
            feedback = {}
        else:  # state
            if spec.get("form") not in ANSWER_FORMS:
                bad(f"'form' must be one of {sorted(ANSWER_FORMS)}. Got {spec.get('form')!r} instead.")
            crit = spec.get("criteria")
            if not crit:
                bad("'criteria' must list at least one {'rule', 'args', 'message'}.")
            for c in crit:
                if c.get("rule") not in _rules.STATE_RULES or not c.get("message"):
                    bad(f"each criterion needs 'rule' (one of {sorted(_rules.STATE_RULES)}) and 'message'. "
                        f"Got {c!r} instead.")
            feedback = {}
        mistakes = tuple((float(v), str(m)) for v, m in spec.get("mistakes", ()))
        return cls(qid=qid, kind=kind, points=float(pts), title=spec.get("title") or f"Question {qid[1:]}",
                   section=tuple(section), name=spec.get("name") or qid, options=dict(options),
                   answer=answer, feedback=feedback, mistakes=mistakes,
                   tolerance=float(spec.get("tolerance") or 0.0), unit=spec.get("unit", ""),
                   why=spec.get("why", ""), carry=carry,
                   criteria=tuple(dict(c) for c in spec.get("criteria", ())), form=spec.get("form", ""),
                   objectives=tuple(spec.get("objectives", ())))

    # the learner's answer as comparable tokens ------------------------------------
    @property
    def _letters(self) -> bool:
        return all(len(k) == 1 for k in self.options)

    def _norm(self, value) -> str:
        if self.kind == "label":
            n = normalise_label(value)
            return next((k for k, syn in self.options.items() if n in syn), n)
        if not self._letters:
            return normalise_label(value)
        return normalise_letter(value)

    @property
    def grid(self) -> float:
        return self.tolerance / 2

    def grid_tokens(self, centre: float, tolerance: float | None = None) -> list:
        """Every grid point within the tolerance of ``centre`` (what a number answer may round to)."""
        tol = self.tolerance if tolerance is None else tolerance
        g = self.grid
        lo, hi = math.floor((centre - tol) / g) - 1, math.ceil((centre + tol) / g) + 1
        return [str(k) for k in range(lo, hi + 1) if abs(k * g - centre) <= tol * (1 + 1e-9)]

    def number_token(self, x: float) -> str:
        return str(math.floor(x / self.grid + 0.5))

    def how_to_answer(self) -> str:
        if self.kind == "choice":
            return "one letter in quotes, such as \"" + next(iter(self.options)) + "\""
        if self.kind == "label":
            return "one of " + ", ".join(f"\"{o}\"" for o in self.options)
        if self.kind == "number":
            return f"a number{' in ' + self.unit if self.unit else ''}, such as 12.5"
        if self.kind in ("list", "set"):
            return "a list in square brackets, such as [\"" + "\", \"".join(list(self.options)[:2]) + "\"]"
        return f"the line the explorer's \"Use this as my answer\" button writes ({self.form}(...))"


@dataclass(frozen=True)
class Outcome:
    """The result of checking one item."""

    qid: str
    title: str
    status: str  # right, partly, wrong, unanswered, not read
    points: float
    max_points: float
    lines: tuple
    section: tuple = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# --------------------------------------------------------------------------- keys
class _PlainKey:
    """The key as the instructor wrote it (used by the grader)."""

    def __init__(self, item: Item):
        self.item = item
        self.tokens = {}
        if item.kind in ("choice", "label"):
            for o in item.options:
                right = o in item.answer
                self.tokens[o] = (right, item.why if right else item.feedback.get(o, ""))
        elif item.kind == "number":
            for v, msg in item.mistakes:
                for t in item.grid_tokens(v):
                    self.tokens[t] = (False, msg)
            if item.answer is not None:
                for t in item.grid_tokens(float(item.answer)):
                    self.tokens[t] = (True, item.why)
        elif item.kind == "list":
            for i, a in enumerate(item.answer):
                self.tokens[f"{i}:{a}"] = (True, "")
            self.tokens["all:" + "|".join(item.answer)] = (True, item.why)
        elif item.kind == "set":
            for o in item.options:
                right = o in item.answer
                self.tokens[o] = (right, item.why if right else item.feedback.get(o, ""))

    def match(self, token: str) -> tuple:
        return self.tokens.get(token, (False, ""))


def _derive(token: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", token.encode("utf-8"), salt, iterations, dklen=48)


def _stream(key: bytes, n: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(key + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:n]


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, _stream(key, len(data))))


class _SealedKey:
    """The key as the student version holds it: digests and encrypted explanations."""

    def __init__(self, sealed: Mapping):
        self.salt = bytes.fromhex(sealed["salt"])
        self.iterations = int(sealed["iterations"])
        self.right = set(sealed["right"])
        self.notes = sealed["notes"]
        self._cache = {}

    def match(self, token: str) -> tuple:
        if token not in self._cache:
            dk = _derive(token, self.salt, self.iterations)
            ident, key = dk[:16].hex(), dk[16:]
            note = self.notes.get(ident)
            msg = _xor(base64.b64decode(note), key).decode("utf-8", "replace") if note else ""
            self._cache[token] = (ident in self.right, msg)
        return self._cache[token]


def seal(item: Item, context: str, iterations: int = ITERATIONS) -> str:
    """The sealed form of ``item`` for the student version (deterministic for the same input)."""
    plain = _PlainKey(item)
    salt = hashlib.sha256(f"{context}|{item.qid}|{_public_json(item)}".encode()).digest()[:16]
    right, notes = [], {}
    for token, (is_right, msg) in sorted(plain.tokens.items()):
        dk = _derive(token, salt, iterations)
        ident, key = dk[:16].hex(), dk[16:]
        if is_right:
            right.append(ident)
        if msg or is_right:
            notes[ident] = base64.b64encode(_xor((msg or " ").encode("utf-8"), key)).decode()
    blob = {"v": 1, "item": _public(item), "salt": salt.hex(), "iterations": iterations,
            "right": sorted(right), "notes": dict(sorted(notes.items()))}
    return base64.b64encode(json.dumps(blob, ensure_ascii=False).encode("utf-8")).decode()


def _public(item: Item) -> dict:
    d = {"qid": item.qid, "kind": item.kind, "points": item.points, "title": item.title,
         "section": list(item.section), "name": item.name, "options": item.options,
         "tolerance": item.tolerance, "unit": item.unit, "carry": list(item.carry),
         "criteria": list(item.criteria), "form": item.form}
    if item.kind in ("list", "set"):
        d["length"] = len(item.answer)
    return d


def _public_json(item: Item) -> str:
    return json.dumps(_public(item), sort_keys=True, default=list)


def unseal(blob: str) -> tuple:
    """``(item, key)`` from a sealed blob: the item has no answer, the key only digests."""
    data = json.loads(base64.b64decode(blob))
    p = data["item"]
    item = Item(qid=p["qid"], kind=p["kind"], points=p["points"], title=p["title"],
                section=tuple(p["section"]), name=p["name"], options=p["options"],
                answer=("?",) * p.get("length", 0) if p.get("length") else None,
                tolerance=p["tolerance"], unit=p["unit"], carry=tuple(p["carry"]),
                criteria=tuple(p["criteria"]), form=p["form"])
    return item, _SealedKey(data)


# --------------------------------------------------------------------------- checking
def _as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        s = value.strip().replace(",", "").rstrip("%").strip()
        try:
            x = float(s)
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def _carried(item: Item, answers: Mapping):
    """Values the carry rules give for the learner's own earlier answers, with what they came from."""
    out = []
    for c in item.carry:
        if not all(n in answers and answers[n] is not None for n in c["from"]):
            continue
        try:
            v = _rules.CARRY_RULES[c["rule"]](*[answers[n] for n in c["from"]], **c.get("args", {}))
        except Exception:  # an earlier answer that makes no sense gives no carried value
            continue
        if v is not None:
            out.append((v, c["from"]))
    return out


def evaluate(item: Item, answers: Mapping, problems: Mapping | None = None, key=None) -> Outcome:
    """Check ``answers[item.name]`` (and earlier answers it depends on) against the item.

    ``problems`` maps answer names to why their cell was not read; ``key`` is the sealed
    key in a student's notebook (default: the item's own answer, as the grader uses).
    """
    key = key or _PlainKey(item)
    problems = problems or {}
    words, _ = lesson_link(item.section)
    revisit = f"Revisit {words}."
    mx = item.points

    def out(status, pts, *lines):
        lines = [ln for ln in lines if ln]
        return Outcome(item.qid, item.title, status, round(pts, 4), mx, tuple(lines[:4]), tuple(item.section))

    if item.name in problems:
        return out("not read", 0, f"✗ {item.title} was not graded (0 of {_points(mx)}): its answer cell "
                   f"{problems[item.name]}.", f"Type only the answer line: {item.name} = {item.how_to_answer()}.")
    value = answers.get(item.name)
    if value is None:
        return out("unanswered", 0, f"… {item.title} is not answered yet (0 of {_points(mx)}). In its answer "
                   f"cell, replace None with {item.how_to_answer()}, run that cell, then run this one.")
    wrong_head = f"✗ {item.title}: not right (0 of {_points(mx)})."

    if item.kind in ("choice", "label"):
        if not isinstance(value, str):
            return out("wrong", 0, f"{wrong_head} The answer must be {item.how_to_answer()}.")
        token = item._norm(value)
        if token not in item.options:
            allowed = ", ".join(f"\"{o}\"" for o in item.options)
            return out("wrong", 0, f"{wrong_head} \"{value}\" is not one of {allowed}.")
        right, msg = key.match(token)
        if right:
            return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}).", msg.strip())
        for v, origin in _carried(item, answers):
            if item._norm(v) == token:
                return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}), "
                           f"consistent with your answer to {', '.join(origin)}.")
        return out("wrong", 0, f"{wrong_head} {msg.strip()}".strip(), revisit)

    if item.kind == "number":
        x = _as_number(value)
        if x is None:
            return out("wrong", 0, f"{wrong_head} The answer must be a number, such as 12.5"
                       f"{' (in ' + item.unit + ')' if item.unit else ''}, without quotes.")
        token = item.number_token(x)
        right, msg = key.match(token)
        if right:
            return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}).", msg.strip())
        for v, origin in _carried(item, answers):
            cx = _as_number(v)
            if cx is not None and token in item.grid_tokens(cx):
                return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}), "
                           f"given your answer to {', '.join(origin)}.")
        return out("wrong", 0, f"{wrong_head} {msg.strip()}".strip(), revisit)

    if item.kind in ("list", "set"):
        entries = value if isinstance(value, (list, tuple)) else [value]
        tokens = [item._norm(v) if isinstance(v, str) else str(v) for v in entries]
        bad = [t for t in tokens if t not in item.options]
        if bad:
            allowed = ", ".join(f"\"{o}\"" for o in item.options)
            return out("wrong", 0, f"{wrong_head} {', '.join(repr(b) for b in bad)} "
                       f"{'is' if len(bad) == 1 else 'are'} not among {allowed}.")
        n = len(item.answer)
        if item.kind == "list":
            if key.match("all:" + "|".join(tokens))[0]:
                return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}).",
                           key.match("all:" + "|".join(tokens))[1].strip())
            hits = sum(1 for i, t in enumerate(tokens[:n]) if key.match(f"{i}:{t}")[0])
            pts = mx * hits / n
            if len(tokens) != n:
                note = f"The list should have {n} entries; yours has {len(tokens)}."
            else:
                note = f"{hits} of {n} entries are in the right place."
        else:
            uniq = list(dict.fromkeys(tokens))
            hits = [t for t in uniq if key.match(t)[0]]
            misses = [t for t in uniq if not key.match(t)[0]]
            pts = mx * max(0, len(hits) - len(misses)) / n
            if not misses and len(hits) == n:
                return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}).",
                           key.match(hits[0])[1].strip())
            note = " ".join(key.match(t)[1].strip() for t in misses[:2]) or (
                f"You found {len(hits)} of the {n} that apply.")
        status = "partly" if pts > 0 else "wrong"
        head = f"◐ {item.title}: partly right ({pts:.3g} of {_points(mx)})." if pts > 0 else wrong_head
        return out(status, pts, f"{head} {note}".strip(), revisit)

    # state
    form = ANSWER_FORMS[item.form]
    if not isinstance(value, form):
        return out("wrong", 0, f"{wrong_head} The answer must be {item.how_to_answer()}.")
    failed = []
    for c in item.criteria:
        try:
            ok = bool(_rules.STATE_RULES[c["rule"]](value, **c.get("args", {})))
        except Exception:
            ok = False
        if not ok:
            failed.append(c["message"])
    n = len(item.criteria)
    pts = mx * (n - len(failed)) / n
    if not failed:
        return out("right", mx, f"✓ {item.title}: right ({mx:g} of {_points(mx)}).")
    head = f"◐ {item.title}: partly right ({pts:.3g} of {_points(mx)})." if pts > 0 else wrong_head
    return out("partly" if pts > 0 else "wrong", pts, f"{head} {failed[0]}", failed[1] if len(failed) > 1 else "",
               revisit)
