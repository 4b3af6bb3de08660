"""Self-check questions and a sorting activity for the lessons.

Two small activities let learners test themselves without writing code:

* a multiple-choice question (:class:`Question`) checked by
  :func:`check_answer`, with a thin widget view, :class:`MultipleChoice`;
* a sorting activity: the learner labels catalogue services as
  "product-like", "mixed" or "pure service", and :func:`compare_sorting`
  sets each guess beside the course's label and the classifier's score.

The logic is pure (no ipywidgets); only :class:`MultipleChoice` imports
ipywidgets, and only when it is built.

Examples
--------
>>> from course.quiz import Question, check_answer
>>> q = Question("Which feature of services do users share in?",
...              options=("None", "The outcome"), answer=1,
...              explanation="Users are coproducers of the outcome.")
>>> fb = check_answer(q, "The outcome")
>>> fb.correct
True
>>> print(fb.message)
Correct. Users are coproducers of the outcome.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from importlib import resources
from numbers import Integral
from typing import Mapping, Optional

from course.services import LABELS, classify, load_catalogue

__all__ = [
    "Question",
    "Feedback",
    "check_answer",
    "question_from_bank",
    "SortingRow",
    "compare_sorting",
    "format_sorting",
    "MultipleChoice",
]


@dataclass(frozen=True)
class Question:
    """A multiple-choice question with one right answer.

    Parameters
    ----------
    prompt : str
        The question, in plain words (non-empty).
    options : sequence of str
        At least two distinct, non-empty answers.
    answer : int
        Index of the right answer in ``options``.
    explanation : str
        Shown after any attempt: why the right answer is right.

    Examples
    --------
    >>> Question("Is waiting always waste?", options=("Yes", "No"), answer=1).options
    ('Yes', 'No')
    >>> Question("Pick one", options=("Yes", "No"), answer=2)
    Traceback (most recent call last):
    ...
    ValueError: 'answer' of Question must be an int in [0, 1]. Got 2 instead.
    """

    prompt: str
    options: tuple
    answer: int
    explanation: str = ""

    def __post_init__(self):
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError(f"'prompt' of Question must be a non-empty str. Got {self.prompt!r} instead.")
        options = self.options
        if isinstance(options, (str, bytes)):
            raise TypeError(
                f"'options' of Question must be a sequence of str. Got {options!r} of type str instead."
            )
        try:
            options = tuple(options)
        except TypeError:
            raise TypeError(
                f"'options' of Question must be a sequence of str. "
                f"Got {options!r} of type {type(options).__name__} instead."
            ) from None
        if len(options) < 2:
            raise ValueError(
                f"'options' of Question must hold at least 2 answers. Got {len(options)} instead."
            )
        for i, opt in enumerate(options):
            if not isinstance(opt, str) or not opt.strip():
                raise ValueError(f"'options[{i}]' of Question must be a non-empty str. Got {opt!r} instead.")
        if len(set(options)) != len(options):
            raise ValueError(f"'options' of Question must be distinct. Got {options!r} instead.")
        object.__setattr__(self, "options", options)
        if isinstance(self.answer, bool) or not isinstance(self.answer, Integral) \
                or not 0 <= self.answer < len(options):
            raise ValueError(
                f"'answer' of Question must be an int in [0, {len(options) - 1}]. Got {self.answer!r} instead."
            )
        object.__setattr__(self, "answer", int(self.answer))
        if not isinstance(self.explanation, str):
            raise TypeError(
                f"'explanation' of Question must be a str. "
                f"Got {self.explanation!r} of type {type(self.explanation).__name__} instead."
            )

    @property
    def right_option(self) -> str:
        """The text of the right answer."""
        return self.options[self.answer]


@dataclass(frozen=True)
class Feedback:
    """The result of :func:`check_answer`: right or not, and what to tell the learner."""

    correct: bool
    message: str


def check_answer(question: Question, choice) -> Feedback:
    """Check a learner's choice against the question's answer.

    Parameters
    ----------
    question : Question
    choice : int, str or None
        The index of the chosen option, or its text.  ``None`` means nothing
        was chosen yet.

    Returns
    -------
    Feedback
        The message says "Correct." or "Not quite." in words (never colour
        alone), then the explanation.

    Examples
    --------
    >>> q = Question("2 + 2?", options=("3", "4"), answer=1, explanation="Count them.")
    >>> check_answer(q, 0)
    Feedback(correct=False, message='Not quite. The answer is "4". Count them.')
    >>> check_answer(q, None).message
    'Choose an answer first.'
    >>> check_answer(q, "5")
    Traceback (most recent call last):
    ...
    ValueError: 'choice' must be one of '3', '4' or an int in [0, 1]. Got '5' instead.
    """
    if not isinstance(question, Question):
        raise TypeError(f"'question' must be a Question. Got {type(question).__name__} instead.")
    if choice is None:
        return Feedback(False, "Choose an answer first.")
    n = len(question.options)
    if isinstance(choice, str) and choice in question.options:
        index = question.options.index(choice)
    elif not isinstance(choice, bool) and isinstance(choice, Integral) and 0 <= choice < n:
        index = int(choice)
    else:
        allowed = ", ".join(repr(o) for o in question.options)
        raise ValueError(f"'choice' must be one of {allowed} or an int in [0, {n - 1}]. Got {choice!r} instead.")
    tail = f" {question.explanation}" if question.explanation else ""
    if index == question.answer:
        return Feedback(True, f"Correct.{tail}")
    return Feedback(False, f'Not quite. The answer is "{question.right_option}".{tail}')


def _bank() -> dict:
    text = resources.files("course").joinpath("data/self_checks.json").read_text(encoding="utf-8")
    return json.loads(text)["questions"]


def question_from_bank(key: str) -> Question:
    """A lesson's self-check question, read from ``course/data/self_checks.json``.

    The bank keeps the right answer (as the text of the right option) out of
    the lesson's code, where ``answer=1`` would show it, and be read as "the
    first option" by someone who does not count from 0.

    Examples
    --------
    >>> q = question_from_bank("start_here_run_a_cell")
    >>> q.options
    ('Enter', 'Shift + Enter', 'Ctrl + S')
    >>> check_answer(q, "Shift + Enter").correct
    True
    >>> question_from_bank("lesson9")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'key' must be one of 'start_here_run_a_cell', 'lesson1_lab_test', ... Got 'lesson9' instead.
    """
    bank = _bank()
    if not isinstance(key, str) or key not in bank:
        allowed = ", ".join(repr(k) for k in bank)
        raise ValueError(f"'key' must be one of {allowed}. Got {key!r} instead.")
    entry = bank[key]
    options = tuple(entry["options"])
    if entry["answer"] not in options:
        raise ValueError(f"'answer' of self-check {key!r} must be one of its options. Got {entry['answer']!r} instead.")
    return Question(entry["prompt"], options=options, answer=options.index(entry["answer"]),
                    explanation=entry.get("explanation", ""))


@dataclass(frozen=True)
class SortingRow:
    """One service in the sorting activity: the learner's label beside the course's."""

    service: str
    your_label: str
    course_label: str
    score: float
    agrees: bool
    disputed: bool
    dispute: str


def _normalise_label(label, service: str, where: str = "guesses") -> str:
    if isinstance(label, str):
        key = label.strip().lower().replace("-", " ")
        for allowed in LABELS:
            if key == allowed.replace("-", " "):
                return allowed
    allowed = ", ".join(repr(x) for x in LABELS)
    raise ValueError(f"The label for {service!r} in {where} must be one of {allowed}. Got {label!r} instead.")


def _callers_name(value, default: str, depth: int = 2) -> str:
    """The name a caller's code gives ``value`` (``my_guesses`` in a lesson), else ``default``.

    Only used to word error messages: a learner should read the name they typed.
    """
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover - no such frame
        return default
    for scope in (frame.f_locals, frame.f_globals):
        for name, bound in scope.items():
            if bound is value and not name.startswith("_"):
                return name
    return default


def compare_sorting(guesses: Mapping[str, str], catalogue: Optional[tuple] = None, *,
                    name: Optional[str] = None) -> tuple:
    """Set the learner's labels beside the course's labels and the classifier's scores.

    Parameters
    ----------
    guesses : mapping of str to str
        Service name (as in the catalogue, any letter case) to a label:
        "product-like", "mixed" or "pure service".
    catalogue : tuple of CatalogueEntry, optional
        Defaults to :func:`course.services.load_catalogue`.
    name : str, optional
        What error messages call ``guesses``.  By default, the name the
        calling code gives it (``my_guesses`` in Lesson 1), so a learner
        reads the name they typed.

    Returns
    -------
    tuple of SortingRow
        In the order of ``guesses``.

    Examples
    --------
    >>> rows = compare_sorting({"Cataract surgery": "product-like", "Asthma self-management": "mixed"})
    >>> [(r.course_label, r.agrees) for r in rows]
    [('product-like', True), ('pure service', False)]
    >>> my_guesses = {"Knitting": "mixed"}
    >>> compare_sorting(my_guesses)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'my_guesses' must name services in the catalogue: 'Hip or knee replacement ...'. Got 'Knitting' instead.
    """
    where = name if name is not None else _callers_name(guesses, "guesses")
    if not isinstance(guesses, Mapping):
        raise TypeError(
            f"'{where}' must be a dict of service name to label. Got {type(guesses).__name__} instead."
        )
    entries = load_catalogue() if catalogue is None else tuple(catalogue)
    by_name = {e.name.lower(): e for e in entries}
    rows = []
    for service, label in guesses.items():
        entry = by_name.get(service.strip().lower()) if isinstance(service, str) else None
        if entry is None:
            allowed = ", ".join(repr(e.name) for e in entries)
            raise ValueError(f"'{where}' must name services in the catalogue: {allowed}. Got {service!r} instead.")
        yours = _normalise_label(label, entry.name, where)
        rows.append(SortingRow(
            service=entry.name,
            your_label=yours,
            course_label=entry.expected_label,
            score=classify(entry.profile).score,
            agrees=yours == entry.expected_label,
            disputed=entry.disputed,
            dispute=entry.dispute,
        ))
    return tuple(rows)


def format_sorting(rows) -> str:
    """A plain-text table of :func:`compare_sorting` rows, with a one-line tally.

    Agreement is written as a word ("same" / "differs"), not a colour, and
    disputed services are flagged so a "wrong" answer there is read as a
    position to argue, not an error.

    Examples
    --------
    >>> print(format_sorting(compare_sorting({"Cataract surgery": "product-like"})))
    Service           | Your label   | Course label | Score | Yours vs course
    ------------------+--------------+--------------+-------+----------------
    Cataract surgery  | product-like | product-like |  0.91 | same
    <BLANKLINE>
    You agree with the course on 1 of 1 services; 0 of the 1 are disputed by experts.
    """
    rows = tuple(rows)
    if not all(isinstance(r, SortingRow) for r in rows):
        raise TypeError("'rows' must be SortingRow objects from compare_sorting. Got something else instead.")
    header = ("Service", "Your label", "Course label", "Score", "Yours vs course")
    body = [
        (r.service + (" *" if r.disputed else ""), r.your_label, r.course_label, f"{r.score:.2f}",
         "same" if r.agrees else "differs")
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    widths[0] += 1

    def line(cells):
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths)):
            out.append(cell.rjust(w) if i == 3 else cell.ljust(w))
        return " | ".join(out).rstrip()

    lines = [line(header), "-+-".join("-" * w for w in widths)]
    lines += [line(b) for b in body]
    agree = sum(r.agrees for r in rows)
    disputed = sum(r.disputed for r in rows)
    lines.append("")
    lines.append(
        f"You agree with the course on {agree} of {len(rows)} services; "
        f"{disputed} of the {len(rows)} are disputed by experts."
    )
    if disputed:
        lines.append("* disputed: experts would argue about this label; read the reasons, then decide.")
    return "\n".join(lines)


class MultipleChoice:
    """A thin widget around :class:`Question`: radio buttons, a Check button, feedback in words.

    It displays itself when it is the last expression of a cell.

    Examples
    --------
    >>> q = Question("Who coproduces a service?", options=("Staff only", "Staff and users"), answer=1)
    >>> mc = MultipleChoice(q)
    >>> mc.choices.value = "Staff and users"
    >>> mc.check().correct
    True
    >>> "Correct." in mc.feedback.value
    True
    """

    def __init__(self, question: Question):
        import html

        import ipywidgets as W

        if not isinstance(question, Question):
            raise TypeError(f"'question' must be a Question. Got {type(question).__name__} instead.")
        self._escape = html.escape
        self.question = question
        self.prompt = W.HTML(f"<b>{html.escape(question.prompt)}</b>")
        self.choices = W.RadioButtons(options=list(question.options), value=None,
                                      layout=W.Layout(width="auto"))
        self.button = W.Button(description="Check my answer", tooltip="Check the chosen answer")
        self.feedback = W.HTML()
        self.button.on_click(lambda _button: self.check())
        self.ui = W.VBox([self.prompt, self.choices, self.button, self.feedback])
        self.ui.add_class("course-self-check")

    @classmethod
    def from_bank(cls, key: str) -> "MultipleChoice":
        """The self-check panel for a lesson's question ``key``; see :func:`question_from_bank`.

        Examples
        --------
        >>> MultipleChoice.from_bank("lesson4_lab_pce").question.options
        ('It doubled', 'It stayed the same', 'It halved')
        """
        return cls(question_from_bank(key))

    def check(self) -> Feedback:
        """Check the chosen option and show the feedback under the question."""
        fb = check_answer(self.question, self.choices.value)
        mark = "&#10004; " if fb.correct else "&#10008; " if self.choices.value is not None else ""
        self.feedback.value = f'<p role="status">{mark}{self._escape(fb.message)}</p>'
        return fb

    def static_html(self) -> str:
        """What a saved notebook shows before this cell has run: the question, its options, what to do."""
        e = self._escape
        options = "".join(f"<li>{e(o)}</li>" for o in self.question.options)
        return (f'<div class="course-self-check-static"><p><b>{e(self.question.prompt)}</b></p><ol type="A">'
                f"{options}</ol><p><i>Run this cell (Shift+Enter) to choose an answer and check it.</i></p></div>")

    def _ipython_display_(self):
        from IPython.display import display

        # the live panel where widgets run; elsewhere the question as text, not a "VBox(...)"
        bundle = dict(self.ui._repr_mimebundle_())
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = f"{self.question.prompt} (Run this cell to choose an answer and check it.)"
        display(bundle, raw=True)
