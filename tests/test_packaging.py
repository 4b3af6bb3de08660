"""Packaging: pyproject.toml and environment.yml agree, and the README's commands are the real ones."""

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
# conda-forge package names that differ from their PyPI names
CONDA_TO_PIP = {"matplotlib-base": "matplotlib"}


def _pyproject_runtime():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = [Requirement(r) for r in data["project"]["dependencies"]]
    return {r.name.lower(): r.specifier for r in reqs}


def _conda_deps():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", dep)
        name, spec = m.group(1).lower(), m.group(2).replace(" ", "")
        if name in {"python", "pip"}:
            continue
        # conda's "=x.y" means "==x.y.*"
        spec = re.sub(r"^=(?!=)([\d.]+)$", r"==\1.*", spec)
        out[CONDA_TO_PIP.get(name, name)] = SpecifierSet(spec)
    return env, out


def test_environment_yml_and_pyproject_agree_on_every_dependency():
    """Does conda/Binder get the same packages, with the same version bounds, as pip?"""
    pip = _pyproject_runtime()
    env, conda = _conda_deps()
    assert sorted(conda) == sorted(pip), "the two files list different packages"
    for name, spec in pip.items():
        assert conda[name] == spec, f"{name}: pyproject says {spec}, environment.yml says {conda[name]}"
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert "-e ." in pip_section, "environment.yml must install the course itself"


def test_python_floor_agrees():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert data["project"]["requires-python"] == ">=3.10"
    assert "python>=3.10" in env["dependencies"]


def test_the_consistency_check_can_fail(tmp_path, monkeypatch):
    """Would a disagreement be caught? Point the check at a broken copy."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "environment.yml").write_text(
        (ROOT / "environment.yml").read_text().replace("numpy>=2.4", "numpy>=2.0"))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="numpy"):
        test_environment_yml_and_pyproject_agree_on_every_dependency()


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(python3 run\.py \w+)\s*$", readme, flags=re.M)
    assert sorted(set(commands)) == ["python3 run.py lab", "python3 run.py test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^python3 run\.py test\b", ci, flags=re.M)


def test_model_lower_bounds_are_declared():
    pip = _pyproject_runtime()
    for name in ("jupyterlab", "ipywidgets", "matplotlib", "numpy", "nbgrader"):
        assert str(pip[name]).startswith(">="), name
