"""Can a submission read the hidden tests through its own feedback page, in disguise?

A real ``coproduction-course grade`` run of the code-based fixture assignment (``ps1``): an honest and a
blank submission beside an attacker whose first answer registers an IPython ``pre_run_cell`` hook
that keeps the source of every cell the grader runs (hidden tests included), and whose last answer
prints what it kept, base64-encoded and with non-breaking spaces. The honest grade must not change,
the attacker's feedback page must hold none of the hidden lines in any of those forms, and the run
must complete.
"""
import base64
import html
import os
import re
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

from course.grading.scrub import hidden_test_lines  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

CAPTURE = ("import builtins\n"
           "builtins._seen = []\n"
           "get_ipython().events.register('pre_run_cell', lambda info: builtins._seen.append(info.raw_cell))\n"
           + B.RIGHT["squares"])

LEAK = ("import base64, builtins\n"
        "for src in builtins._seen:\n"
        "    for line in src.splitlines():\n"
        "        print('B64', base64.b64encode(line.encode()).decode())\n"
        "        print('NBSP', line.replace(' ', '\\u00a0'))\n"
        + B.RIGHT["count_words"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("leak")
    course = B.make_course(str(base / "course"))
    subs, out = str(base / "subs"), str(base / "out")
    B.write_nbgrader_layout(subs, {
        "honest": {"ps1.ipynb": B.notebook()},
        "blank": {"ps1.ipynb": B.notebook({"squares": "", "mean": "", "count_words": ""})},
        "leaker": {"ps1.ipynb": B.notebook({"squares": CAPTURE, "count_words": LEAK})},
    })
    proc = B.run_grade(course, subs, out, "--jobs", "2", "--timeout", "20")
    with open(os.path.join(course, "solutions", "ps1", "ps1.ipynb"), encoding="utf-8") as fh:
        hidden = hidden_test_lines([nbformat.reads(fh.read(), as_version=4)])
    return {"course": course, "out": out, "proc": proc, "rows": B.read_csv(out), "hidden": hidden}


def _feedback(run, sid):
    with open(os.path.join(run["out"], "feedback", sid + ".html"), encoding="utf-8") as fh:
        return fh.read()


def _shown(page):
    """The page's text without its tags (highlighting splits code into many elements)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _forms(line):
    """The hidden line as the attacker printed it, and as the page would show it."""
    b64 = base64.b64encode(line.encode()).decode()
    nbsp = line.replace(" ", "\u00a0")
    return [line, html.escape(line), b64, nbsp, html.escape(nbsp), html.escape(nbsp).replace("\u00a0", "&nbsp;")]


def test_the_run_completes_and_grades_honest_blank_and_attacker(run):
    """Does the run finish with the honest student's full marks, the blank one's none, and a row for the attacker?"""
    assert run["proc"].returncode == 0
    rows = run["rows"]
    assert float(rows["honest"]["score"]) == 6.0 and rows["honest"]["status"] == "graded"
    assert float(rows["blank"]["score"]) == 0.0
    assert rows["leaker"]["status"] == "graded"


def test_the_attack_did_capture_and_print_the_hidden_tests(run):
    """Control: did the attacker's code really print the hidden lines (so the page had them to remove)?"""
    path = os.path.join(run["course"], "autograded", "leaker", "ps1", "ps1.ipynb")
    with open(path, encoding="utf-8") as fh:
        printed = fh.read()
    assert run["hidden"]
    assert any(base64.b64encode(line.encode()).decode() in printed for line in run["hidden"])


def test_the_attackers_feedback_holds_no_hidden_line_in_any_form(run):
    """Is every hidden line absent from the attacker's page, as written, base64 and with NBSPs,
    while the page still shows the attacker's own answers and the placeholder?"""
    page = _feedback(run, "leaker")
    for line in run["hidden"]:
        for form in _forms(line):
            assert form not in page, form
    assert "HIDDEN-MARKER" not in page
    assert "[hidden test text removed]" in page
    assert "for src in builtins._seen:" in _shown(page)  # the attacker's own code is still shown


def test_the_honest_feedback_shows_the_honest_answers(run):
    """Does the honest student's page show their answers and no placeholder (nothing was taken out)?"""
    page = _feedback(run, "honest")
    assert "[hidden test text removed]" not in page
    assert "return [i * i for i in range(1, n + 1)]" in _shown(page)
