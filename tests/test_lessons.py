"""Structure tests for the lesson notebooks in notebooks/.

The lessons' *outputs* are tested by nbval on a fresh kernel, run by the
course's test command:

    pytest --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/

Under ``--nbval-lax`` only cells marked ``# NBVAL_CHECK_OUTPUT`` are compared,
so every lesson must have at least one such cell that prints numbers from the
models (checked here).  The tests below check what nbval cannot: that each
lesson has the parts a learner relies on, that its code cells stay short and
free of logic, and that it is committed executed.
"""

from __future__ import annotations

import configparser
import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: Each lesson and the exercise it must link to (relative to notebooks/).
LESSONS = {
    "00_start_here.ipynb": None,
    "01_products_and_services.ipynb": "../exercises/ex01_products_and_services/ex01_products_and_services.ipynb",
    "02_agency_over_time.ipynb": "../exercises/ex02_agency_over_time/ex02_agency_over_time.ipynb",
    "03_product_like_or_pure_service.ipynb": "../exercises/ex03_product_like_or_pure/ex03_product_like_or_pure.ipynb",
    "04_value_stream_mapping.ipynb": "../exercises/ex04_value_stream_mapping/ex04_value_stream_mapping.ipynb",
    "05_synthesis.ipynb": "../exercises/ex05_capstone/ex05_capstone.ipynb",
    "06_limits_of_coproduction.ipynb": "../exercises/ex06_limits_of_coproduction/ex06_limits_of_coproduction.ipynb",
    "07_measuring_and_improving.ipynb": "../exercises/ex07_measuring_and_improving/ex07_measuring_and_improving.ipynb",
}
MAX_CODE_LINES = 15
FORBIDDEN_KEYWORDS = {"def", "class", "lambda"}


def _load(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(str(out["data"].get("text/plain", "")))
            parts.append(str(out["data"].get("text/html", "")))
    return "\n".join(parts)


def _keywords(source: str) -> set:
    """Python keywords used as code (not inside strings or comments)."""
    found = set()
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
        if tok.type == tokenize.NAME and tok.string in FORBIDDEN_KEYWORDS:
            found.add(tok.string)
    return found


lessons = pytest.mark.parametrize("name", list(LESSONS))


def test_every_lesson_is_present():
    """Are all six lessons in notebooks/, and nothing we do not know about?"""
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(LESSONS)


@lessons
def test_top_has_title_objectives_and_time(name):
    """Does the lesson open with a title, learning objectives and an estimated time?"""
    nb = _load(name)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    top = "\n".join(c.source for c in nb.cells[:2] if c.cell_type == "markdown")
    assert re.search(r"^## Learning objectives", top, re.M)
    assert re.search(r"^\d\. ", top, re.M), "objectives should be a numbered list"
    assert re.search(r"\*\*Estimated time:\*\* \d+ minutes", top)


@lessons
def test_end_has_recap_questions_exercise_and_references(name):
    """Does the lesson end with a recap, check-your-understanding answers, its exercise and references?"""
    nb = _load(name)
    text = _markdown(nb)
    assert re.search(r"^## Recap", text, re.M)
    assert re.search(r"^## Check your understanding", text, re.M)
    assert text.count("<details>") >= 3 and text.count("<details>") == text.count("</details>")
    assert "<summary>" in text
    assert re.search(r"^## References", text, re.M)
    refs = text[text.index("## References"):]
    assert len(re.findall(r"^\d+\. ", refs, re.M)) >= 1
    exercise = LESSONS[name]
    if exercise:
        assert f"]({exercise})" in text, f"{name} must link to {exercise}"


def test_start_here_links_to_every_lesson_and_exercise():
    """Does the start page link to every lesson and every exercise?"""
    text = _markdown(_load("00_start_here.ipynb"))
    for lesson, exercise in LESSONS.items():
        if lesson != "00_start_here.ipynb":
            assert f"]({lesson})" in text
            assert f"]({exercise})" in text
    for words in ("Shift + Enter", "self-check", "jupyter labextension list",
                  "@jupyter-widgets/jupyterlab-manager", "Restart Kernel", "Trust"):
        assert words in text, words


@lessons
def test_code_cells_are_short_and_define_nothing(name):
    """Are code cells short, and free of def, class and lambda (logic lives in the course package)?"""
    for i, cell in enumerate(_code_cells(_load(name))):
        n_lines = len(cell.source.splitlines())
        assert n_lines <= MAX_CODE_LINES, f"code cell {i} has {n_lines} lines"
        assert not _keywords(cell.source), f"code cell {i} uses {_keywords(cell.source)}"


def test_keyword_scan_ignores_strings_and_comments():
    """Does the def/class/lambda scan ignore the words inside text and comments?"""
    assert _keywords('print("a class of services")  # def not code') == set()
    assert _keywords("f = lambda x: x") == {"lambda"}


@lessons
def test_lesson_is_committed_executed_in_order(name):
    """Is every code cell executed, in order from a fresh kernel, with no errors stored?"""
    cells = _code_cells(_load(name))
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), counts
    for i, cell in enumerate(cells):
        assert not any(o.output_type == "error" for o in cell.outputs), f"code cell {i} stored an error"
        assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs), \
            f"code cell {i} stored a warning or error on stderr"


@lessons
def test_lesson_checks_model_output_with_nbval(name):
    """Does the lesson mark at least one cell whose printed model numbers nbval must reproduce?"""
    checked = [c for c in _code_cells(_load(name)) if "# NBVAL_CHECK_OUTPUT" in c.source]
    assert checked
    for cell in checked:
        text = _output_text(cell)
        assert text.strip(), "a checked cell must print something"
        assert re.search(r"\d", text), "a checked cell must print numbers from the models"
        assert "from course" in cell.source or any("from course" in c.source for c in _code_cells(_load(name)))


@lessons
def test_every_figure_has_a_text_description(name):
    """Does every figure (a plot or an explorer) have a written description in its cell or the next one?"""
    cells = _load(name).cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        has_image = any("image/png" in o.get("data", {}) for o in cell.outputs)
        is_explorer = re.search(r"\b\w+Explorer\(", cell.source) is not None
        if not (has_image or is_explorer):
            continue
        here = _output_text(cell)
        neighbours = [cells[j].source for j in (i - 1, i + 1) if 0 <= j < len(cells)
                      and cells[j].cell_type == "markdown"]
        described = "Figure description" in here or any("Figure description" in s for s in neighbours)
        assert described, f"cell {i} shows a figure without a text description beside it"


@lessons
def test_lessons_import_from_the_course_package(name):
    """Do the lessons use the course package rather than their own logic?"""
    sources = "\n".join(c.source for c in _code_cells(_load(name)))
    assert "from course" in sources


@lessons
def test_no_machine_paths_in_lessons(name):
    """Are the lessons free of paths from the machine they were built on?"""
    raw = (NOTEBOOKS / name).read_text(encoding="utf-8")
    assert not re.search(r"(/tmp/|/home/|/root/|/Users/|C:\\\\Users)", raw)


def test_ibd_correction_is_taught():
    """Does Lesson 2 correct 'irritable bowel syndrome' to inflammatory bowel disease, with the reason?"""
    text = _markdown(_load("02_agency_over_time.ipynb"))
    assert "inflammatory bowel disease" in text and "ImproveCareNow" in text
    assert "irritable bowel syndrome" in text.lower()


def test_three_features_are_attributed_to_the_blog_quotation():
    """Does Lesson 1 present the three features as the blog's quotation of Batalden et al. citing Osborne et al.?"""
    text = _markdown(_load("01_products_and_services.ipynb"))
    assert "blog" in text and "Osborne" in text and "quotes" in text


def test_sanitize_file_is_valid():
    """Is the nbval sanitize file parseable, with a regex and a replacement in every section?"""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg")
    assert cfg.sections()
    for section in cfg.sections():
        re.compile(cfg[section]["regex"])
        assert "replace" in cfg[section]
    assert re.sub(cfg["memory_addresses"]["regex"], "", "<Foo at 0x7f3a2b>") == "<Foo at >"
