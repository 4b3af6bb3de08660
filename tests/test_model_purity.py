"""The models are pure: importing them loads no plotting or widget library."""

import subprocess
import sys

import pytest

FORBIDDEN = ("matplotlib", "ipywidgets", "IPython", "PIL")


@pytest.mark.parametrize("module", ["course.agency", "course.services", "course.value_stream", "course.answers",
                                    "course.assessment", "course.rules", "course.exercise"])
def test_model_imports_no_plotting_or_widgets(module):
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imported {out}"
