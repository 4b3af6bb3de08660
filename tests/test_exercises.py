"""The exercises: answers as data, linked to the lessons' objectives, graded by a real nbgrader round trip.

Layers:

1. structure, read from ``solutions/`` and ``course/data/objectives.json`` without nbgrader;
2. the student versions regenerate identically and leak no answer, key or mark scheme;
3. per assignment, one real ``coproduction-course grade`` run over five submissions built from
   the solution: the solution itself, the untouched student version, the right answers written
   differently (case, spaces, hyphens, rounding inside the tolerance), one early slip whose
   later parts follow from it (error carried forward), and answer cells holding code that would
   write a file if it ever ran;
4. the student version in a real kernel: Run All goes through, and every check agrees with the grader.
"""
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from course.answers import ANSWER_FORMS, read_cell
from course.assessment import normalise_label

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ["ex01_products_and_services", "ex02_agency_over_time", "ex03_product_like_or_pure",
               "ex04_value_stream_mapping", "ex05_capstone", "ex06_limits_of_coproduction", "ex07_measuring_and_improving"]
OBJECTIVES = json.loads((ROOT / "course" / "data" / "objectives.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ reading the notebooks
from answers_data import (answer_cells, expected_points, fill as _fill, items, nbg as _nbg, read as _read,  # noqa: E402
                          released, restyle as _restyle, slip as _slip_answers, solution, solution_answers,
                          with_code, write_submissions)


def tasks(a):
    return {_nbg(c)["grade_id"]: c for c in solution(a).cells if _nbg(c).get("task")}


# ------------------------------------------------------------------ 1. structure
def test_every_objective_is_assessed_and_every_item_has_an_objective():
    objectives = OBJECTIVES["objectives"]
    listed = OBJECTIVES["items"]
    assessed = {o for a in listed for ids in listed[a].values() for o in ids}
    assert sorted(set(objectives) - assessed) == [], "objectives with no exercise item"
    for a in ASSIGNMENTS:
        in_notebook = set(items(a)) | set(tasks(a))
        assert set(listed.get(a, {})) == in_notebook, f"{a}: objectives.json and the solutions disagree"
        for qid, ids in listed[a].items():
            assert ids and set(ids) <= set(objectives), f"{a}:{qid} names unknown objectives {ids}"


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_every_required_answer_is_one_line_of_data(a):
    """Is every answer in the solutions a single line in an allowed form (no def, loop, or constructor typed)?"""
    for cell in answer_cells(solution(a)):
        read = read_cell(cell.source)
        assert read.problem == "", f"{a}: {cell.source!r}: {read.problem}"
        region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
        assert region, f"{a}: an answer cell without a solution region: {cell.source!r}"
        for line in region.group(1).strip().splitlines():
            assert re.match(r"^\w+ = \S", line), f"{a}: not one answer per line: {line!r}"
            value = read_cell(line).values
            assert value, f"{a}: {line!r} is not a whole answer on one line"
            (v,) = value.values()
            if isinstance(v, tuple(ANSWER_FORMS.values())):
                # an explorer state: the explorer right above writes it for the learner
                name = line.split(" =")[0]
                assert f'answer="{name}"' in _text_before(solution(a), cell), \
                    f"{a}: {name} is an explorer state but no explorer offers 'Use this as my answer'"
        outside = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", cell.source, flags=re.S)
        for line in outside.strip().splitlines():
            assert line.startswith("#") or re.match(r"^\w+ = None$", line), \
                f"{a}: the learner's answer cell shows {line!r}"


def _text_before(nb, cell):
    i = nb.cells.index(cell)
    return "\n".join(c.source for c in nb.cells[max(0, i - 3):i])


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_every_item_links_a_real_lesson_section(a):
    for qid, item in items(a).items():
        stem, heading = item.section
        lesson = _read(ROOT / "notebooks" / f"{stem}.ipynb")
        headings = {m.group(1).strip() for c in lesson.cells if c.cell_type == "markdown"
                    for m in re.finditer(r"^#+ (.+)$", c.source, re.M)}
        assert heading in headings, f"{a}:{qid} links a section that lesson {stem} does not have: {heading!r}"


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_every_wrong_option_has_its_own_explanation(a):
    n_choices = 0
    for qid, item in items(a).items():
        if item.kind in ("choice", "label", "set") and item.answer:
            wrong = [o for o in item.options if o not in item.answer]
            texts = [item.feedback.get(o, "") for o in wrong]
            assert all(len(t) > 20 for t in texts), f"{a}:{qid}: a wrong option without an explanation"
            assert len(set(texts)) == len(texts), f"{a}:{qid}: wrong options share one explanation"
            n_choices += 1
    assert n_choices >= 2, f"{a}: expected several choice items"


#: "- **4** = ...", "- **2 points:** ...", "- **4–5:** ..." (a level descriptor's first line)
LEVEL = re.compile(r"(?im)^\s*[-*]?\s*\**\s*(?:level\s*)?(\d+)(?:\s*[–-]\s*\d+)?\s*(?:points?|marks?)?\s*\**\s*[:=]")


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_mark_schemes_have_level_descriptors_with_example_answers(a):
    for gid, cell in tasks(a).items():
        scheme = re.search(r"BEGIN MARK SCHEME(.*)END MARK SCHEME", cell.source, re.S).group(1)
        points = int(_nbg(cell)["points"])
        levels = {int(x) for x in LEVEL.findall(scheme)}
        assert len(levels) >= 3 and max(levels) == points and 0 in levels, \
            f"{a}:{gid}: level descriptors from 0 to {points} points missing ({sorted(levels)})"
        examples = len(re.findall(r"(?i)example", scheme))
        assert examples >= len(levels) - 1, f"{a}:{gid}: an example answer for every level above 0 is missing"


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_a_part_that_depends_on_another_is_checked_against_the_learners_own_answer(a):
    """Does every automatically marked exercise use error carried forward where parts depend on each other?"""
    its = items(a)
    assert any(i.carry for i in its.values()), f"{a} has no part checked against an earlier answer"
    names = {i.name for i in its.values()} | set(solution_answers(a))
    for qid, item in its.items():
        for c in item.carry:
            assert set(c["from"]) <= names, f"{a}:{qid} carries from unknown answers {c['from']}"


# ------------------------------------------------------------------ 2. regenerate and no leak
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary copy of the course with every student version generated by nbgrader."""
    base = tmp_path_factory.mktemp("course")
    root = base / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions")
    shutil.copytree(ROOT / "exercises", root / "exercises")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    regen = base / "regenerated"
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.release_directory = str(regen)
    c.CourseDirectory.db_url = f"sqlite:///{base / 'gen.db'}"
    c.Exchange.root = str(base / "exchange")
    api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
    for a in ASSIGNMENTS:
        res = api.generate_assignment(a, force=True)
        assert res["success"], res["log"][-3000:]
    return {"root": root, "regen": regen}


def _comparable(nb):
    return [(c.cell_type, c.source, c.get("metadata", {}).get("nbgrader")) for c in nb.cells]


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_student_versions_regenerate_identically(course, a):
    new = _read(course["regen"] / a / f"{a}.ipynb")
    assert _comparable(new) == _comparable(released(a)), \
        f"exercises/{a} is out of date: run nbgrader generate_assignment {a} --force"


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_student_versions_show_no_answer_key_or_mark_scheme(a):
    text = json.dumps([c.source for c in released(a).cells])
    for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "MARK SCHEME", "_key = {"):
        assert marker not in text, f"{a}: {marker} in the student version"
    for cell in answer_cells(solution(a)):
        region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S).group(1)
        for line in region.strip().splitlines():
            assert line not in text, f"{a}: the answer line {line!r} is in the student version"
    for qid, item in items(a).items():
        for msg in list(item.feedback.values()) + [item.why] + [m for _, m in item.mistakes]:
            if len(msg) > 15:
                assert msg not in text, f"{a}:{qid}: an explanation is readable in the student version"


# ------------------------------------------------------------------ 3. a real grading round trip
@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    a = request.param
    base = tmp_path_factory.mktemp(a)
    root = base / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("solutions", "exercises", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder)
    marker = base / "code-ran"
    its = items(a)
    right = solution_answers(a)
    by_name = {i.name: i for i in its.values()}
    slip, slipped = _slip_answers(a)
    student = released(a)
    code_nb = with_code(_fill(student, right), marker)
    subs = {
        "sol": solution(a),
        "blank": student,
        "restyled": _fill(student, {n: _restyle(v, by_name.get(n)) for n, v in right.items()}),
        "slip": _fill(student, slip),
        "coder": code_nb,
    }
    sub_dir = base / "submitted"
    write_submissions(sub_dir, a, subs)
    out = base / "out"
    proc = B.run_grade(str(root), str(sub_dir), str(out), "--jobs", "2", assignment=a)
    journal = {e["student_id"]: e for e in B.read_journal(str(out))}
    return {"a": a, "items": its, "journal": journal, "marker": marker, "out": out, "root": root,
            "proc": proc, "slipped": slipped, "slip": slip}


def _auto(entry):
    """{grade_id: auto score} of one student's automatically marked cells."""
    cells = next(iter(entry["grades"].values()))["grades"]
    return {gid: g["auto_score"] for gid, g in cells.items() if g["cell_type"] == "code"}


def test_round_trip_scores(graded):
    """Solution: full marks; untouched: 0; differently written: full; slip: only the slipped part lost."""
    its, j = graded["items"], graded["journal"]
    full = {f"check_{q}": i.points for q, i in its.items()}
    assert {s: j[s]["status"] for s in j} == dict.fromkeys(["sol", "blank", "restyled", "slip", "coder"], "graded"), \
        graded["proc"].stdout
    assert _auto(j["sol"]) == full
    assert sum(_auto(j["blank"]).values()) == 0
    assert _auto(j["restyled"]) == full
    slipped = graded["slipped"]
    expected = expected_points(graded["a"], graded["slip"])
    lost = full[f"check_{slipped.qid}"] - expected[f"check_{slipped.qid}"]
    assert lost > 0, "the slip must cost its own points"
    # every other part keeps its points: later parts are checked against the learner's own slip
    assert expected == dict(full, **{f"check_{slipped.qid}": full[f"check_{slipped.qid}"] - lost})
    assert _auto(j["slip"]) == expected, f"slipped {slipped.qid}: {graded['slip']}"


def test_code_in_answer_cells_earns_nothing_and_never_runs(graded):
    assert sum(_auto(graded["journal"]["coder"]).values()) == 0
    assert not graded["marker"].exists(), "code in an answer cell ran during grading"


def test_failed_checks_say_why_in_at_most_four_lines(graded):
    """Does each failed check show a short reason, no traceback frame, and still score 0?"""
    a = graded["a"]
    for sid in ("blank", "slip", "coder"):
        nb = _read(graded["root"] / "autograded" / sid / a / f"{a}.ipynb")
        scores = _auto(graded["journal"][sid])
        failed = 0
        for cell in nb.cells:
            if cell.cell_type != "code" or not _nbg(cell).get("grade"):
                continue
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors:
                failed += 1
                (err,) = errors
                assert 1 <= len(err.traceback) <= 4
                shown = "\n".join(err.traceback)
                assert "Traceback" not in shown and 'File "' not in shown and not re.search(r"line \d", shown)
                assert scores[_nbg(cell)["grade_id"]] == 0
                assert "_key" not in cell.source and "HIDDEN" not in cell.source
        assert failed >= 1 or sid == "slip"  # a slipped explorer state may earn partial credit instead


def test_feedback_pages_show_no_key_or_mark_scheme(graded):
    for sid in ("sol", "blank", "slip"):
        page = (graded["out"] / "feedback" / f"{sid}.html").read_text(encoding="utf-8")
        assert "_key = {" not in page and "MARK SCHEME" not in page and "BEGIN HIDDEN" not in page


# ------------------------------------------------------------------ 4. in a real kernel
def _run_in_kernel(nb, cwd):
    from nbclient import NotebookClient
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _outputs_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", "") if "text" in o else o.get("data", {}).get("text/plain", ""))
        if o.output_type == "error":
            parts.append("ERROR " + o.get("ename", ""))
    return "".join(parts)


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_untouched_student_version_runs_to_the_end_and_says_unanswered(a):
    nb = _run_in_kernel(released(a), ROOT / "exercises" / a)
    errors = [c.source[:60] for c in nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert errors == []
    checks = [c for c in nb.cells if c.cell_type == "code" and _nbg(c).get("grade")]
    assert checks and all("not answered yet" in _outputs_text(c) for c in checks)
    summary = _outputs_text(nb.cells[-1])
    assert "Automatically marked: 0 of" in summary


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_checks_in_the_kernel_agree_with_the_grader(a):
    """With the right answers written differently, does every check say right, and the self-check full marks?"""
    its = items(a)
    by_name = {i.name: i for i in its.values()}
    answers = {n: _restyle(v, by_name.get(n)) for n, v in solution_answers(a).items()}
    nb = _run_in_kernel(_fill(released(a), answers), ROOT / "exercises" / a)
    checks = [c for c in nb.cells if c.cell_type == "code" and _nbg(c).get("grade")]
    for c in checks:
        assert "✓" in _outputs_text(c), _outputs_text(c)
    total = sum(i.points for i in its.values())
    assert f"Automatically marked: {total:g} of {total:g} points." in _outputs_text(nb.cells[-1])


def test_normalise_label_accepts_the_lessons_wording():
    assert normalise_label("Users as obligate co-producers") == normalise_label("users as obligate co producers")


# ------------------------------------------------------------------ 5. the path through the course
LESSON_OF = {"ex01_products_and_services": "01_products_and_services", "ex02_agency_over_time": "02_agency_over_time",
             "ex03_product_like_or_pure": "03_product_like_or_pure_service",
             "ex04_value_stream_mapping": "04_value_stream_mapping", "ex05_capstone": "05_synthesis",
             "ex06_limits_of_coproduction": "06_limits_of_coproduction",
             "ex07_measuring_and_improving": "07_measuring_and_improving"}


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_exercise_opens_with_its_time_and_links_to_its_lesson_and_the_next_exercise(a):
    """Does the first cell state the time, link back to its lesson and on to the next exercise (the last to the start)?"""
    k = ASSIGNMENTS.index(a)
    expected_next = (f"../{ASSIGNMENTS[k + 1]}/{ASSIGNMENTS[k + 1]}.ipynb" if k + 1 < len(ASSIGNMENTS)
                     else "../../notebooks/00_start_here.ipynb")
    for nb in (solution(a), released(a)):
        first = nb.cells[0].source
        assert re.search(r"\*\*Estimated time:\*\* about \d+ minutes\.", first), a
        links = re.findall(r"\[([^\]]+)\]\(([^)\s]+)\)", first)
        assert ("← Back to Lesson", f"../../notebooks/{LESSON_OF[a]}.ipynb") in [(x[:16], t) for x, t in links], links
        assert ("Next:", expected_next) in [(x[:5], t) for x, t in links], links
        for _label, target in links:
            assert (ROOT / "exercises" / a / target).resolve().is_file(), target
