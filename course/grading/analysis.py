"""Item analysis: how each automatically marked question behaved across a class.

For each question (a check cell):

* **difficulty**: the mean fraction of its points the class earned (1 = everyone right);
* **discrimination**: the correlation between the fraction a student earned on this question and
  the rest of that student's automatic score (the question left out, so it is not correlated with
  itself; the point-biserial correlation when the question is right-or-wrong). Near 0: the question
  does not separate stronger from weaker students; below 0: stronger students do *worse*, which
  usually means a wrong key or a misleading question;
* **common wrong answers**: for answers read as data, the answers given by those who did not get
  full marks, most frequent first.

A question is flagged when its discrimination is negative, or when most of the wrong answers are
one and the same answer given by a large part of the class (a likely key error: is that answer
actually right?).

Examples
--------
>>> rows = [{"status": "graded", "grades": {"nb": {"grades": {
...     "check_q1": {"auto_score": s1, "max_score": 1, "needs_manual_grade": False, "cell_type": "code"},
...     "check_q2": {"auto_score": s2, "max_score": 1, "needs_manual_grade": False, "cell_type": "code"}},
...     "answers": {"q1": a1, "q2": "A"}}}} for s1, s2, a1 in [(1, 1, "B"), (0, 1, "C"), (1, 0, "B"), (0, 0, "C")]]
>>> stats = {s.question: s for s in item_analysis(rows)}
>>> stats["q1"].difficulty, stats["q1"].wrong_answers
(0.5, (('C', 2),))
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

__all__ = ["ItemStats", "item_analysis", "MIN_CLASS"]

#: Below this many graded students, discrimination is not computed (too few to mean anything).
MIN_CLASS = 5
#: A wrong answer "clusters" when at least this share of the wrong answers, and of the class, is that one answer.
CLUSTER_OF_WRONG, CLUSTER_OF_CLASS = 0.6, 0.3


@dataclass(frozen=True)
class ItemStats:
    """How one question behaved (see the module docstring)."""

    question: str
    max_points: float
    n: int
    difficulty: float
    discrimination: float | None
    wrong_answers: tuple
    flags: tuple


def _pearson(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def _auto_cells(row):
    """``{question: (score, max, answer or None)}`` of a graded row's automatically marked cells."""
    out = {}
    for data in (row.get("grades") or {}).values():
        answers = data.get("answers") or {}
        for gid, g in (data.get("grades") or {}).items():
            if g.get("cell_type") != "code" or not g.get("max_score") or g.get("needs_manual_grade"):
                continue
            q = gid[len("check_"):] if gid.startswith("check_") else gid
            out[q] = (float(g.get("auto_score") or 0.0), float(g["max_score"]), answers.get(q))
    return out


def item_analysis(rows) -> list:
    """One :class:`ItemStats` per automatically marked question, in the order first seen."""
    graded = [_auto_cells(r) for r in rows if r.get("status") == "graded"]
    questions = list(dict.fromkeys(q for cells in graded for q in cells))
    totals = [sum(s for s, _, _ in cells.values()) for cells in graded]
    stats = []
    for q in questions:
        present = [(cells[q], total) for cells, total in zip(graded, totals) if q in cells]
        fractions = [s / m for (s, m, _), _ in present]
        rest = [total - s for (s, _, _), total in present]
        n = len(present)
        difficulty = sum(fractions) / n
        discrimination = _pearson(fractions, rest) if n >= MIN_CLASS else None
        wrong = Counter(a for (s, m, a), _ in present if s < m and a is not None)
        common = tuple(wrong.most_common(3))
        flags = []
        if discrimination is not None and discrimination < 0:
            flags.append(f"negative discrimination ({discrimination:+.2f}): students with higher scores on "
                         "the rest did worse here; check the key and the wording")
        if common and n >= MIN_CLASS:
            answer, count = common[0]
            if (count >= CLUSTER_OF_WRONG * sum(wrong.values()) and count >= CLUSTER_OF_CLASS * n
                    and not answer.startswith("(")):
                flags.append(f"{count} of {n} students gave the same wrong answer '{answer}': is it right?")
        stats.append(ItemStats(q, present[0][0][1], n, difficulty, discrimination, common, tuple(flags)))
    return stats
