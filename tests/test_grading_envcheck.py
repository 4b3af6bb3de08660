"""Before anyone is graded, a known-good notebook runs in the real sandbox; if it fails, no one is graded."""
import json
import os
import subprocess
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

from course.grading.envcheck import imported_modules  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]


def test_imported_modules_are_read_from_code_cells():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np, os.path\nfrom course import exercise\n%matplotlib inline"),
        nbformat.v4.new_code_cell("from . import local\ndef f():\n    import hidden_inside_a_function"),
        nbformat.v4.new_code_cell("this is not python ("),
        nbformat.v4.new_markdown_cell("import not_code"),
    ])
    assert imported_modules([nb]) == ["course", "numpy", "os.path"]


def _course_importing(tmp_path, module):
    """The fixture course whose solution starts with ``import <module>``."""
    course = B.make_course(str(tmp_path / "course"))
    path = os.path.join(course, "solutions", "ps1", "ps1.ipynb")
    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    nb["cells"].insert(0, {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                           "source": f"import {module}"})
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(nb, fh, indent=1)
    return course


def test_a_module_the_sandbox_cannot_import_stops_the_command_before_anyone_is_graded(tmp_path):
    """The solution imports a module the grader finds on its own PYTHONPATH, outside the sandbox: the
    command stops with exit 2, names the module and where it is, and records no one."""
    helpers = tmp_path / "instructor_helpers"
    helpers.mkdir()
    (helpers / "ps1_helpers.py").write_text("VALUE = 1\n")
    course = _course_importing(tmp_path, "ps1_helpers")
    subs, out = str(tmp_path / "subs"), str(tmp_path / "out")
    B.write_nbgrader_layout(subs, {"alice": {"ps1.ipynb": B.notebook()},
                                   "carol": {"ps1.ipynb": b""}})  # would be rejected (and journalled) at once
    env = B.cli_env()
    env["PYTHONPATH"] = str(helpers) + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.run(B.grade_cmd(course, subs, out, "--timeout", "10"), cwd=course, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ps1_helpers" in proc.stderr and str(helpers) in proc.stderr
    assert "no one was graded" in proc.stderr
    assert not os.path.exists(os.path.join(out, "journal.jsonl"))
    assert not os.path.exists(os.path.join(out, "grades.csv"))


def test_a_module_that_is_not_installed_is_named(tmp_path):
    course = _course_importing(tmp_path, "no_such_module_for_ps1")
    subs, out = str(tmp_path / "subs"), str(tmp_path / "out")
    B.write_nbgrader_layout(subs, {"alice": {"ps1.ipynb": B.notebook()}})
    proc = B.run_grade(course, subs, out, "--timeout", "10", check=False)
    assert proc.returncode == 2
    assert "'no_such_module_for_ps1', which is not installed" in proc.stderr
    assert not os.path.exists(os.path.join(out, "journal.jsonl"))


def test_an_importable_module_passes_and_the_class_is_graded(tmp_path):
    """The same kind of import, of a module the sandbox has (the course package), grades as usual."""
    course = _course_importing(tmp_path, "course.grading.collect")
    subs, out = str(tmp_path / "subs"), str(tmp_path / "out")
    B.write_nbgrader_layout(subs, {"alice": {"ps1.ipynb": B.notebook()}})
    B.run_grade(course, subs, out, "--timeout", "10")
    assert float(B.read_csv(out)["alice"]["score"]) == 6.0
