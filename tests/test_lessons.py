"""Structure tests for the lesson notebooks in notebooks/.

The lessons' *outputs* are tested by nbval on a fresh kernel, run by the
course's test command:

    pytest --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/

Under ``--nbval-lax`` only cells marked ``# NBVAL_CHECK_OUTPUT`` are compared,
so every lesson must have at least one such cell that prints numbers from the
models (checked here).  The tests below check what nbval cannot: that each
lesson has the parts a learner relies on, that its code cells stay short and
free of logic, and that it is committed executed, that every link between
lessons and exercises leads somewhere, and that the code a learner reads uses
names rather than positions.

A lesson is executed, then the answers of its guess-first activities (cells
tagged ``reveal``) are removed, from notebooks/:

    jupyter nbconvert --to notebook --execute --inplace X.ipynb
    jupyter nbconvert --to notebook --inplace --TagRemovePreprocessor.enabled=True \
        --TagRemovePreprocessor.remove_all_outputs_tags=reveal X.ipynb
"""

from __future__ import annotations

import ast
import configparser
import io
import re
import tokenize
from pathlib import Path
from urllib.parse import unquote

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
#: Tag of a cell that shows the answers of a guess-first activity: saved without its outputs.
REVEAL_TAG = "reveal"
#: Exercise time on the start page, in minutes (each exercise states the same in its first cell).
EXERCISE_MINUTES = {"ex01_products_and_services": 35, "ex02_agency_over_time": 35, "ex03_product_like_or_pure": 30,
                    "ex04_value_stream_mapping": 45, "ex05_capstone": 60, "ex06_limits_of_coproduction": 40,
                    "ex07_measuring_and_improving": 40}


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
    """Are the start page and all seven lessons in notebooks/, and nothing we do not know about?"""
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
                  "@jupyter-widgets/jupyterlab-manager", "Restart Kernel", "Trust",
                  # where the learner's work lives, how to update, how to stop kernels
                  "## How to save your work and update the course", "`my-work`", "`git pull`",
                  "File → Close and Shut Down Notebook", "Running Terminals and Kernels"):
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


def _is_reveal(cell) -> bool:
    return REVEAL_TAG in cell.get("metadata", {}).get("tags", [])


@lessons
def test_lesson_is_committed_executed_in_order(name):
    """Is every code cell executed, in order from a fresh kernel, with no errors stored?

    A cell tagged ``reveal`` (the answers to an activity that asks for a guess
    first) is saved with its outputs removed, as the two commands in the
    module docstring leave it: no outputs and no execution count.
    """
    cells = _code_cells(_load(name))
    counts = [c.execution_count for c in cells]
    expected = [None if _is_reveal(c) else k + 1 for k, c in enumerate(cells)]
    assert counts == expected, counts
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


# ------------------------------------------------------------------ the path through the course
ORDER = list(LESSONS)
EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _links(text):
    return [(m.group(1), m.group(2)) for m in LINK.finditer(text)]


def _nav(cell_source):
    """{"previous": target, "next": target, "exercise": target} of a navigation line."""
    found = {}
    for label, target in _links(cell_source):
        if label.startswith("← Previous:"):
            found["previous"] = target
        elif label.startswith("Next:") and label.endswith("→"):
            found["next"] = target
        elif target.startswith("../exercises/"):
            found["exercise"] = target
    return found


@lessons
def test_lesson_links_previous_next_and_its_exercise_at_top_and_bottom(name):
    """Does each lesson open and end with links to the previous and next lesson (07 back to 00) and its exercise?"""
    cells = _load(name).cells
    i = ORDER.index(name)
    expected = {"next": ORDER[(i + 1) % len(ORDER)]}
    if i > 0:
        expected["previous"] = ORDER[i - 1]
    if LESSONS[name]:
        expected["exercise"] = LESSONS[name]
    top = cells[0].source.split("\n## ")[0]  # the title and what comes before the first section
    bottom = cells[-1]
    assert bottom.cell_type == "markdown"
    assert _nav(top) == expected, f"top of {name}: {_nav(top)}"
    assert _nav(bottom.source) == expected, f"bottom of {name}: {_nav(bottom.source)}"


def test_navigation_reader_finds_the_links_and_notices_a_missing_one():
    """Does the navigation check read a line as intended, and miss nothing that is absent?"""
    line = "*[← Previous: Lesson 1](01_a.ipynb) · [Exercise 2](../exercises/e/e.ipynb) · [Next: Lesson 3 →](03_c.ipynb)*"
    assert _nav(line) == {"previous": "01_a.ipynb", "exercise": "../exercises/e/e.ipynb", "next": "03_c.ipynb"}
    assert "next" not in _nav("[Lesson 3](03_c.ipynb)")


def _headings(path: Path) -> set:
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    return {m.group(1).strip() for m in re.finditer(r"^#{1,6} +(.+?) *$", text, re.M)}


def _anchor_matches(anchor: str, headings: set) -> bool:
    """JupyterLab's anchors keep a heading's words and case with '-' for spaces; GitHub's are lower-case slugs."""
    for h in headings:
        if anchor == h.replace(" ", "-"):
            return True
        if anchor == re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-"):
            return True
    return False


def _broken_links(path: Path) -> list:
    broken = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for label, target in _links(cell.source):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / unquote(file_part)).resolve() if file_part else path
            if not dest.is_file():
                broken.append(f"{label!r} -> {target} (no such file)")
            elif anchor and not _anchor_matches(unquote(anchor), _headings(dest)):
                broken.append(f"{label!r} -> {target} (no such heading)")
    return broken


@pytest.mark.parametrize("path", [NOTEBOOKS / n for n in LESSONS] + EXERCISES + SOLUTIONS,
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    """Does every relative link in a lesson or exercise lead to an existing file (and heading, for #anchors)?"""
    assert _broken_links(path) == []


def test_link_check_reports_a_missing_file_and_a_missing_heading(tmp_path):
    """Does the link check fail on a link to a file that does not exist, or to a heading that is not there?"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# Page\n\n## How to run a cell\n\n[ok](#How-to-run-a-cell) [ok too](#how-to-run-a-cell) "
        "[gone](missing.ipynb) [no heading](#Nowhere) [web](https://example.org/x)")]
    page = tmp_path / "page.ipynb"
    nbformat.write(nb, page)
    assert _broken_links(page) == ["'gone' -> missing.ipynb (no such file)", "'no heading' -> #Nowhere (no such heading)"]


def test_start_page_gives_every_exercise_the_time_the_exercise_states():
    """Does the start page list each exercise with the same time as the exercise's own first cell?"""
    text = _markdown(_load("00_start_here.ipynb"))
    for exercise, minutes in EXERCISE_MINUTES.items():
        row = next(line for line in text.splitlines() if f"../exercises/{exercise}/" in line and line.startswith("|"))
        assert row.rstrip().endswith(f"| {minutes} min |"), row
        first = nbformat.read(ROOT / "exercises" / exercise / f"{exercise}.ipynb", as_version=4).cells[0].source
        assert f"**Estimated time:** about {minutes} minutes." in first
    # the totals at the top add up: 250 lesson minutes (about 4 hours), 285 exercise minutes (about 5 hours)
    lesson_minutes = [int(m) for m in re.findall(r"^\| \[\d\..*?\| (\d+) min \| \[", text, re.M)]
    assert sum(lesson_minutes) == 250 and sum(EXERCISE_MINUTES.values()) == 285
    assert "about 4 hours for the seven lessons, and about 5 hours for their exercises" in text


# ------------------------------------------------------------------ code that names things
NAMED_CALLS = {"Step", "ServiceProfile", "takt_time_minutes", "Question", "CapacityParams", "Ward", "AgencyParams"}


def _positional_numbers(source: str) -> list:
    """Calls in a cell that pass a number by position, and replace_step given a position."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        numbers = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, (int, float))
                   or isinstance(a, ast.BinOp)]
        if func in NAMED_CALLS and numbers:
            found.append(f"{func}(...) with a number by position")
        if func == "replace_step" and node.args and not (isinstance(node.args[0], ast.Constant)
                                                         and isinstance(node.args[0].value, str)):
            found.append("replace_step by position instead of the step's name")
        for kw in node.keywords:
            if kw.arg == "answer" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, int):
                found.append(f"answer={kw.value.value} shows the answer as a position")
    for node in ast.walk(ast.parse(source)):
        # items[0], items[-1], items[:10]: an item by its position counted from 0, or a slice of positions
        if isinstance(node, ast.Subscript) and (
                isinstance(node.slice, ast.Slice)
                or isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)
                or isinstance(node.slice, ast.UnaryOp) and isinstance(node.slice.operand, ast.Constant)):
            found.append(f"{ast.unparse(node)} picks by position")
        # [i + 1 for i in ...]: positions from 0 turned into counts from 1 by hand
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            for sub in ast.walk(node.elt):
                if (isinstance(sub, ast.BinOp) and isinstance(sub.op, (ast.Add, ast.Sub))
                        and isinstance(sub.left, ast.Name) and sub.left.id in targets
                        and isinstance(sub.right, ast.Constant) and sub.right.value == 1):
                    found.append(f"{ast.unparse(sub)} counts positions by hand")
    if re.search(r"\b1440\b", source):
        found.append("1440 written out (use days(...) or MINUTES_PER_DAY)")
    return found


@lessons
def test_lesson_code_uses_names_not_positions(name):
    """Does lesson code avoid numbers by position, items and steps by index, slices, visible answer indices,
    counting from 0 plus 1 and 7 * 1440?"""
    for i, cell in enumerate(_code_cells(_load(name))):
        assert _positional_numbers(cell.source) == [], f"code cell {i}: {_positional_numbers(cell.source)}"


def test_position_scan_catches_what_the_issue_found():
    """Does the scan flag replace_step(3, ...), answer=1, ServiceProfile("x", 0.5, 0.9) and 7 * 1440?"""
    assert _positional_numbers("m.replace_step(3, wait_minutes=14 * 1440)") == [
        "replace_step by position instead of the step's name", "1440 written out (use days(...) or MINUTES_PER_DAY)"]
    assert _positional_numbers('Question("q", options=("a", "b"), answer=1)') == [
        "answer=1 shows the answer as a position"]
    assert _positional_numbers('ServiceProfile("x", 0.5, 0.9)') == ["ServiceProfile(...) with a number by position"]
    assert _positional_numbers('m.replace_step("Infusion", wait_minutes=days(7))') == []


def test_position_scan_catches_indices_slices_and_counting_by_hand():
    """Does the scan flag care_plans[:10], reasons[0] and [i + 1 for i in chart.on_median], and pass names?"""
    assert _positional_numbers("limits = xmr_limits(care_plans[:10])") == ["care_plans[:10] picks by position"]
    assert _positional_numbers("print(c.reasons[0], steps[-1])") == ["c.reasons[0] picks by position",
                                                                     "steps[-1] picks by position"]
    assert _positional_numbers("print([i + 1 for i in chart.on_median])") == ["i + 1 counts positions by hand"]
    assert _positional_numbers('print(catalogue[name].profile, PRESETS["Hip"], [w for w in weeks])') == []


def test_sorting_answers_are_revealed_only_after_the_guess():
    """Is Lesson 1 saved without the course's labels, shown only by cells run after my_guesses is set?"""
    cells = _code_cells(_load("01_products_and_services.ipynb"))
    guess = next(k for k, c in enumerate(cells) if "my_guesses = {" in c.source)
    reveals = [k for k, c in enumerate(cells) if _is_reveal(c)]
    assert len(reveals) == 2 and min(reveals) == guess + 1
    assert "compare_sorting(my_guesses)" in cells[guess + 1].source
    assert "classify" not in cells[guess].source and "compare_sorting" not in cells[guess].source
    shown = "\n".join(_output_text(c) for c in cells)
    for label_line in ("Cataract surgery  | mixed", "product-like 0.91"):
        assert label_line not in shown
    assert "Cataract surgery" not in _output_text(cells[guess])


@lessons
def test_reveal_cells_are_saved_without_outputs(name):
    """Is every cell tagged 'reveal' saved with no outputs, so a learner guesses before seeing the answer?"""
    for i, cell in enumerate(_code_cells(_load(name))):
        if _is_reveal(cell):
            assert cell.outputs == [] and cell.execution_count is None, \
                f"code cell {i} shows its answers: clear it as the module docstring says"
            assert "# NBVAL_CHECK_OUTPUT" not in cell.source
