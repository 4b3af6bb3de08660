"""The exercises make a real nbgrader round trip.

One temporary course directory holds a copy of ``solutions/``. There nbgrader generates every
student version (compared with the committed ``exercises/``) and autogrades four submissions per
assignment: the instructor solution, the untouched student version, a partly wrong submission and
a submission of trick answers. Scores are read from the gradebook, cell by cell.
"""
import copy
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = [
    "ex01_products_and_services",
    "ex02_agency_over_time",
    "ex03_product_like_or_pure",
    "ex04_value_stream_mapping",
    "ex05_capstone",
]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME", "Model answer")

# Trick answers, prepended to every trick submission's answer cells.
TRICK_KIT = '''
import numpy as np
class Anything:
    """Claims to equal everything and to have every attribute."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = object.__hash__
    def __float__(self): return 0.5
    def __getattr__(self, name): return Anything()
class SneakyFloat(float):
    def __eq__(self, other): return True
    __hash__ = float.__hash__
class SneakyStr(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__
'''

# For each assignment: answer cells to replace (grade_id -> new source) and the test cells that
# must then lose their points. Every other autograded cell must still earn its points.
PARTIAL = {
    "ex01_products_and_services": (
        {"answer_1": 'feature_a = "intangible process"\nfeature_b = "intangible process"\n'
                     'feature_c = "user as obligate coproducer"',
         "answer_3": "def product_like_names(profiles):\n    return [p.name for p in profiles]"},
        {"test_1b", "test_3a", "test_3b"}),
    "ex02_agency_over_time": (
        {"answer_1": 'asthma = AgencyParams(name="Asthma", baseline=0.85, horizon_days=365, episodes=('
                     'Episode(100, 3, depth=0.07, recovery_days=10, label="asthma attack"),))',
         "answer_3b": "def share_after(baseline, depth, days_after, recovery_days):\n"
                      "    return baseline * (1 - depth * 2 ** (days_after / recovery_days))"},
        # a wrong episode also spoils the summary measures computed from it
        {"test_1b", "test_2a", "test_2b", "test_3b"}),
    "ex03_product_like_or_pure": (
        {"answer_2b": "def main_reason(profile):\n    c = classify(profile).contributions\n"
                      "    return min(c, key=c.get)",
         "answer_3": 'operation = ServiceProfile.from_agency(hip, "operation and stay", start_days=120, '
                     'end_days=123.4, concrete_procedure=True, physical_item=True)\n'
                     'rehabilitation = ServiceProfile.from_agency(hip, "rehabilitation", start_days=123.4, '
                     'end_days=300)'},
        {"test_2b", "test_3b"}),
    "ex04_value_stream_mapping": (
        {"answer_1b": "def pce(steps):\n    va = sum(s.process_minutes for s in steps if s.value_added)\n"
                      "    return 100 * va / lead_time(steps)",
         "answer_3": 'diabetes_map = load_example_maps()["A year of adult type 2 diabetes care"]\n'
                     'cov = diabetes_map.coverage(PRESETS["Adult type 2 diabetes"])\n'
                     "seen_percent = cov.seen_fraction\n"
                     "patient_in_waits_percent = 100 * cov.patient_in_waits_fraction"},
        {"test_1b", "test_3a"}),
    "ex05_capstone": (
        {"answer_3": 'infusion_day = ValueStreamMap([Step("Check-in", 5, 0, False), '
                     'Step("Nurse assessment", 15, 20, True), Step("Infusion", 120, 45, True), '
                     'Step("Observation", 30, 0, True), Step("Discharge", 10, 15, False)], name="Infusion day")\n'
                     "infusion_pce = infusion_day.process_cycle_efficiency\n"
                     "infusion_takt = takt_time_minutes(480, 4)",
         "answer_4": 'def approach(profile):\n    label = classify(profile).label\n'
                     '    return {"product-like": "value-stream map", "mixed": "co-design",'
                     ' "pure service": "both"}[label]'},
        # observation wrongly value-added: the map and its PCE are wrong, the takt time is not
        {"test_3a", "test_3b", "test_4a", "test_4b"}),
}

# Trick answers: an always-equal object, a wrong type that compares equal, and functions that
# return the visible tests' answers without computing anything.
TRICKS = {
    "ex01_products_and_services": (
        {"answer_1": 'feature_a = SneakyStr("intangible process")\nfeature_b = Anything()\n'
                     'feature_c = SneakyStr("x")',
         "answer_2b": "smoking_label = Anything()",
         "answer_3": "def product_like_names(profiles):\n"
                     '    return ["Cataract surgery"] * sum(p.name == "Cataract surgery" for p in profiles)'},
        {"test_1a", "test_1b", "test_1c", "test_2b", "test_3a", "test_3b"}),
    "ex02_agency_over_time": (
        {"answer_2": "mean_professional = np.array([0.178])\ndominant_fraction = Anything()",
         "answer_3a": "def share_during(baseline, depth):\n"
                      "    return {(0.9, 0.95): 0.045, (0.85, 0.7): 0.255, (1.0, 0.0): 1.0}[(baseline, depth)]",
         "answer_3b": "def share_after(baseline, depth, days_after, recovery_days):\n    return Anything()"},
        {"test_2a", "test_2b", "test_3a", "test_3b"}),
    "ex03_product_like_or_pure": (
        {"answer_2a": "colonoscopy_label = SneakyStr('mixed!')",
         "answer_2b": "def main_reason(profile):\n"
                      '    return "short_episode" if profile.name == "Screening colonoscopy" else "professional_share"',
         "answer_3": "class FakeProfile(ServiceProfile):\n    def __eq__(self, other): return True\n"
                     "    __hash__ = object.__hash__\n"
                     'operation = FakeProfile("operation and stay", 3.4, 0.925, True, True)\n'
                     'rehabilitation = ServiceProfile.from_agency(hip, "rehabilitation", start_days=123.4, '
                     'end_days=365)',
         "answer_4": 'def window_labels(params, windows):\n    return ["pure service", "mixed", "pure service"]'},
        {"test_2a", "test_2b", "test_3a", "test_4"}),
    "ex04_value_stream_mapping": (
        {"answer_1a": "def lead_time(steps):\n    return 30270.0 if len(steps) == 2 else 10.0",
         "answer_1b": "def pce(steps):\n    return 20 / 30270 if len(steps) == 2 else 0.25",
         "answer_1c": "def takt(available_minutes, demand):\n    return {480: 15.0, 450: 25.0}[available_minutes]",
         "answer_2": 'hip_lead_time_days = "165.56"\nhip_pce_percent = np.array([0.18])\n'
                     "hip_bottleneck = Anything()",
         "answer_3": "seen_percent = SneakyFloat(0.028)\npatient_in_waits_percent = True"},
        {"test_1a", "test_1b", "test_1c", "test_2a", "test_2b", "test_2c", "test_3a", "test_3b"}),
    "ex05_capstone": (
        {"answer_1": "ibd_mean_professional = SneakyFloat(0.494)\nibd_dominant_fraction = Anything()",
         "answer_4": "def approach(profile):\n"
                     '    return {"Infusion": "value-stream map", "first flare": "both",'
                     ' "Laboratory test": "value-stream map"}.get(profile.name, "co-design")'},
        {"test_1a", "test_1b", "test_4a", "test_4b"}),
}
STUDENTS = ("solution", "untouched", "partial", "tricks")


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _notebook(folder, name):
    return nbformat.read(str(folder / name / f"{name}.ipynb"), as_version=4)


def _auto_points(nb):
    """{grade_id: points} of the autograded test cells."""
    return {_meta(c)["grade_id"]: _meta(c)["points"] for c in nb.cells
            if c.cell_type == "code" and _meta(c).get("grade") and not _meta(c).get("solution")}


def _strip_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def _outside_regions(source):
    """Lines of a cell outside every solution, hidden-test and mark-scheme region."""
    inside = False
    for line in source.splitlines():
        if re.search(r"### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
            inside = True
        elif re.search(r"### END (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
            inside = False
        elif not inside:
            yield line


def _submission(release, solution, replacements, prefix=""):
    """The student version with every answer cell filled from the solution, some replaced."""
    nb = copy.deepcopy(release)
    answers = {_meta(c)["grade_id"]: c.source for c in solution.cells if _meta(c).get("solution")}
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if _meta(cell).get("solution") and cell.cell_type == "code":
            cell.source = prefix + replacements[gid] if gid in replacements else _strip_markers(answers[gid])
    assert set(replacements) <= set(answers), "a replacement names an answer cell that does not exist"
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary course directory in which every assignment is generated and graded once."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "exercises"
    c.CourseDirectory.db_url = db_url
    c.Exchange.root = str(root / "exchange")
    c.Execute.timeout = 60
    c.OverwriteCells.add_missing_cells = True
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)

    generated, scores = {}, {}
    for name in ASSIGNMENTS:
        result = api.generate_assignment(name)
        assert result["success"], result.get("error") or result.get("log")
        solution, release = _notebook(root / "solutions", name), _notebook(root / "exercises", name)
        generated[name] = release
        partial, broken = PARTIAL[name]
        tricks, _ = TRICKS[name]
        subs = {"solution": solution, "untouched": release,
                "partial": _submission(release, solution, partial),
                "tricks": _submission(release, solution, tricks, prefix=TRICK_KIT)}
        for student, nb in subs.items():
            folder = root / "submitted" / student / name
            folder.mkdir(parents=True)
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
        result = api.autograde(name, "*")  # one pass grades the four submissions
        assert result["success"], result.get("error") or result.get("log")
        with Gradebook(db_url) as gb:
            for student in STUDENTS:
                sub = gb.find_submission_notebook(name, name, student)
                scores[name, student] = {g.name: g.auto_score for g in sub.grades
                                         if g.cell_type == "code"}
    return {"root": root, "generated": generated, "scores": scores}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_committed_exercises_are_what_nbgrader_generates(course, name):
    """Is exercises/ exactly what generate_assignment makes from solutions/ (sources, metadata, order)?"""
    committed = _notebook(ROOT / "exercises", name)
    fresh = course["generated"][name]
    assert [c.cell_type for c in committed.cells] == [c.cell_type for c in fresh.cells]
    for i, (a, b) in enumerate(zip(committed.cells, fresh.cells)):
        assert a.source == b.source, f"cell {i} source differs: regenerate exercises/{name}"
        assert a.metadata == b.metadata, f"cell {i} metadata (e.g. the nbgrader checksum) differs"
    assert committed.metadata == fresh.metadata
    assert sorted(p.name for p in (ROOT / "exercises" / name).iterdir()) == [f"{name}.ipynb"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_earns_full_marks(course, name):
    """Does the instructor solution earn every autograded point?"""
    points = _auto_points(_notebook(ROOT / "solutions", name))
    assert course["scores"][name, "solution"] == points


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_untouched_student_version_earns_zero(course, name):
    """Does an untouched student version earn nothing (no test passes without an answer)?"""
    scores = course["scores"][name, "untouched"]
    assert set(scores) == set(_auto_points(_notebook(ROOT / "solutions", name)))
    assert sum(scores.values()) == 0, scores


@pytest.mark.parametrize("kind", ["partial", "tricks"])
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_wrong_and_trick_answers_lose_exactly_their_points(course, name, kind):
    """Do broken or trick answers lose exactly the points of the test cells that check them?"""
    points = _auto_points(_notebook(ROOT / "solutions", name))
    _, failing = (PARTIAL if kind == "partial" else TRICKS)[name]
    assert failing <= set(points)
    expected = {gid: (0.0 if gid in failing else p) for gid, p in points.items()}
    assert course["scores"][name, kind] == expected
    assert 0 < sum(expected.values()) < sum(points.values()) or kind == "tricks"


def test_every_function_question_has_hidden_tests():
    """Does every test cell that checks a learner's function also try it on hidden cases?"""
    for name in ASSIGNMENTS:
        for cell in _notebook(ROOT / "solutions", name).cells:
            if _meta(cell).get("grade") and "check_function(" in cell.source:
                assert "### BEGIN HIDDEN TESTS" in cell.source, (name, _meta(cell)["grade_id"])


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_points_shown_to_the_learner_match_nbgrader(name):
    """Do the totals in the markdown match the points nbgrader awards, per question and overall?"""
    nb = _notebook(ROOT / "solutions", name)
    auto = _auto_points(nb)
    manual = {_meta(c)["grade_id"]: _meta(c)["points"] for c in nb.cells if _meta(c).get("task")}
    assert manual, "every assignment has a written answer marked by a tutor"
    total = re.search(r"\*\*Total: (\d+) points\*\* \((\d+) marked automatically, (\d+) marked by your tutor\)",
                      nb.cells[0].source)
    assert total and tuple(map(int, total.groups())) == (
        sum(auto.values()) + sum(manual.values()), sum(auto.values()), sum(manual.values()))
    everything = {**auto, **manual}
    shown = {}
    for cell in nb.cells:
        for q, p in re.findall(r"^## Question (\d+) \((\d+) points?", cell.source, flags=re.M):
            shown[q] = int(p)
    for gid in everything:
        assert re.fullmatch(r"(test|task)_(\d+)[a-z]?", gid), gid
    awarded = {}
    for gid, p in everything.items():
        q = re.fullmatch(r"(?:test|task)_(\d+)[a-z]?", gid).group(1)
        awarded[q] = awarded.get(q, 0) + p
    assert shown == awarded


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_leaks_no_solution_hidden_test_or_mark_scheme(name):
    """Does exercises/ hold no marker, hidden test line, solution line or mark scheme line?"""
    text = (ROOT / "exercises" / name / f"{name}.ipynb").read_text(encoding="utf-8")
    for marker in MARKERS:
        assert marker not in text
    student_lines = {line.strip() for c in _notebook(ROOT / "exercises", name).cells for line in c.source.splitlines()}
    secret, public = set(), set()
    for cell in _notebook(ROOT / "solutions", name).cells:
        for begin, end in (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
                           ("### BEGIN MARK SCHEME", "### END MARK SCHEME")):
            inside = False
            for line in cell.source.splitlines():
                if begin in line:
                    inside = True
                elif end in line:
                    inside = False
                elif inside and len(line.strip()) > 3:
                    secret.add(line.strip())
        public |= {line.strip() for line in _outside_regions(cell.source)}
    secret -= public  # a line the instructor version also shows openly (e.g. in an example) is no secret
    assert secret, "the solution has solutions, hidden tests and a mark scheme to hide"
    assert not secret & student_lines, sorted(secret & student_lines)[:5]
    for cell in _notebook(ROOT / "exercises", name).cells:
        if _meta(cell).get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_validates_and_student_version_does_not(name):
    """Does nbgrader's validator pass the solution and fail the untouched student version?"""
    from nbgrader.validator import Validator

    assert Validator().validate(str(ROOT / "solutions" / name / f"{name}.ipynb")) == {}
    assert Validator(invert=True).validate(str(ROOT / "exercises" / name / f"{name}.ipynb")) == {}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_ends_with_a_read_only_self_check(name):
    """Can a learner check every visible test from a final read-only cell?"""
    last = _notebook(ROOT / "exercises", name).cells[-1]
    assert _meta(last).get("locked") and not _meta(last).get("grade")
    assert f'self_check(globals(), "{name}")' in last.source


def test_no_gradebook_left_in_the_repository():
    """Is the repository free of gradebooks and nbgrader working folders?"""
    for leftover in ("gradebook.db", "submitted", "autograded", "feedback"):
        assert not (ROOT / leftover).exists(), leftover
