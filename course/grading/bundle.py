"""The ``bundle`` command: one assignment as a zip a student can use without this repository.

An exercise imports the ``course`` package (its checks and explorers), so the notebook alone is not
enough when an LMS is the only way to hand it out. The bundle holds::

    <assignment>/README.txt                                   what to do, in three steps
    <assignment>/coproduction_course-<version>-py3-none-any.whl  the course package and its needs
    <assignment>/exercises/<assignment>/<assignment>.ipynb    the student version
    <assignment>/notebooks/*.ipynb                            the lessons the exercise links to

A student installs it with one command (``pip install <the .whl file>``) and opens the exercise;
on a JupyterHub, install the same wheel in the hub's environment once for everyone.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
import zipfile

__all__ = ["write_bundle"]

README = """\
{assignment}: how to open it on your own computer
=================================================

You need Python 3.10 or newer (https://www.python.org). In a terminal, in this folder:

1. Install the course (once; it also installs JupyterLab):

       python3 -m pip install {wheel}

   (On Windows, type "py" instead of "python3".)

2. Open the exercise:

       python3 -m jupyterlab exercises/{assignment}/{assignment}.ipynb

3. Work through it from the top with Shift+Enter. When you are done, save it (Ctrl+S) and hand in
   the file exercises/{assignment}/{assignment}.ipynb, keeping its name.

The lessons the exercise refers to are in the notebooks folder.
"""


def write_bundle(assignment: str, out: str, course_root: str = ".") -> str:
    """Write ``out/<assignment>.zip``; returns its path. Builds the course wheel with pip."""
    from .contracts import GradingSetupError
    from .gradebook import load_config as _load_config
    root = os.path.abspath(course_root)
    config = _load_config(root)
    release = os.path.join(root, config.CourseDirectory.get("release_directory", "release"), assignment)
    notebooks = sorted(glob.glob(os.path.join(release, "*.ipynb")))
    if not notebooks:
        raise GradingSetupError(f"no student version of {assignment!r} in {os.path.relpath(release, root)}: "
                                f"run 'nbgrader generate_assignment {assignment} --force' first.")
    if not os.path.exists(os.path.join(root, "pyproject.toml")):
        raise GradingSetupError(f"'course_root' must be the course repository (with pyproject.toml). "
                                f"Got {course_root!r} instead.")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                               "--disable-pip-version-check", "-w", tmp, root],
                              capture_output=True, text=True)
        wheels = glob.glob(os.path.join(tmp, "coproduction_course-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise GradingSetupError(f"pip could not build the course package: {proc.stderr[-1500:]}")
        wheel = wheels[0]
        path = os.path.join(out, f"{assignment}.zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            top = assignment
            zf.writestr(f"{top}/README.txt", README.format(assignment=assignment, wheel=os.path.basename(wheel)))
            zf.write(wheel, f"{top}/{os.path.basename(wheel)}")
            for nb in notebooks:
                zf.write(nb, f"{top}/exercises/{assignment}/{os.path.basename(nb)}")
            for lesson in sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb"))):
                zf.write(lesson, f"{top}/notebooks/{os.path.basename(lesson)}")
    return path
