"""Can a student given only the LMS bundle run the exercise, with the course package it carries?"""
import os
import subprocess
import sys
import zipfile

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
A = "ex04_value_stream_mapping"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    proc = subprocess.run([sys.executable, "-m", "course.cli", "bundle", A, "--out", str(out), "--course-root", ROOT],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return out / f"{A}.zip"


def test_the_bundle_holds_the_exercise_the_lessons_the_package_and_instructions(bundle):
    names = zipfile.ZipFile(bundle).namelist()
    assert f"{A}/exercises/{A}/{A}.ipynb" in names and f"{A}/notebooks/04_value_stream_mapping.ipynb" in names
    wheels = [n for n in names if n.endswith(".whl")]
    assert len(wheels) == 1
    readme = zipfile.ZipFile(bundle).read(f"{A}/README.txt").decode()
    assert f"pip install {os.path.basename(wheels[0])}" in readme and "Shift+Enter" in readme


def test_the_exercise_runs_with_the_package_from_the_bundle(bundle, tmp_path, monkeypatch):
    """Extract the bundle and the wheel, run the exercise in a kernel that imports course from the wheel."""
    from nbclient import NotebookClient
    zipfile.ZipFile(bundle).extractall(tmp_path)
    top = tmp_path / A
    wheel = next(top.glob("*.whl"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "course" / "data" / "services.json").exists()
    nb = nbformat.read(str(top / "exercises" / A / f"{A}.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import course; print(course.__file__)"))
    monkeypatch.setenv("PYTHONPATH", str(site))  # the kernel inherits it: course comes from the wheel
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(top / "exercises" / A)}}).execute()
    errors = [c.source[:60] for c in nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert errors == []
    assert str(site) in nb.cells[-1].outputs[0]["text"]
