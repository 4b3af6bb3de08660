#!/usr/bin/env python3
"""Set up and run the Coproduction of Health course.

    python3 run.py lab     # install everything, open the course in JupyterLab
    python3 run.py test    # install everything, run every test
    python3 run.py copy    # only copy the lessons and exercises into my-work/

Only Python 3.10+ with pip is needed.  The first run creates a virtual
environment in ``.venv/`` and installs the course into it; later runs reuse it
and reinstall only when ``pyproject.toml`` changes.  Extra arguments after
``lab`` go to JupyterLab and after ``test`` to pytest.

The learner works on copies: ``lab`` first copies the lessons and exercises
into ``my-work/`` (git-ignored; ``COURSE_WORK_DIR`` names another folder),
with the same layout so that links between them still work, and opens
JupyterLab there.  A file already in ``my-work/`` is never overwritten, so
``git pull`` never touches or conflicts with the learner's answers; lessons
and exercises new in an update are copied in on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
START_PAGE = "notebooks/00_start_here.ipynb"
USAGE = "usage: python3 run.py {lab,test,install,copy} [extra arguments]"
#: What is copied into the learner's folder, with the same layout (lessons link to
#: ../exercises/..., exercises to ../../notebooks/..., the start page to ../REFERENCES.md).
COPIED_FOLDERS = ("notebooks", "exercises")
COPIED_FILES = ("REFERENCES.md",)
SKIPPED_PARTS = {".ipynb_checkpoints", "__pycache__"}
#: In the learner's folder: the checksum of each course file when it was copied.
COPIES_RECORD = ".course-copies.json"


def _say(msg: str) -> None:
    print(f"[run.py] {msg}", flush=True)


def _run(cmd, **kw) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def ensure_env(extras: str = "") -> None:
    """Create .venv and install the course (with ``extras``) if anything changed."""
    if sys.version_info < (3, 10):
        sys.exit(f"The course needs Python 3.10 or newer. Got {sys.version.split()[0]} instead.")
    if not PY.exists():
        _say(f"creating a virtual environment in {VENV.name}/")
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}-{extras or 'base'}"
    # An install with the test extras also serves `lab`.
    if stamp.exists() or (not extras and (VENV / f".installed-{digest}-test").exists()):
        return
    _say("installing the course and its dependencies (a few minutes the first time)")
    target = f".[{extras}]" if extras else "."
    subprocess.check_call([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
                          cwd=ROOT)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")  # nbgrader runs `alembic` from here
    env["MPLBACKEND"] = env.get("MPLBACKEND", "Agg") if "test" in sys.argv[1:2] else env.get("MPLBACKEND", "")
    if not env["MPLBACKEND"]:
        del env["MPLBACKEND"]
    return env


def work_dir() -> Path:
    """The learner's folder: ``COURSE_WORK_DIR`` if set, else ``my-work/`` in the course folder."""
    return Path(os.environ.get("COURSE_WORK_DIR") or ROOT / "my-work").resolve()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _course_files(source: Path):
    for folder in COPIED_FOLDERS:
        for path in sorted((source / folder).rglob("*")):
            if path.is_file() and not SKIPPED_PARTS & set(path.relative_to(source).parts):
                yield path.relative_to(source)
    for name in COPIED_FILES:
        if (source / name).is_file():
            yield Path(name)


def copy_course(work: Path, source: Path = ROOT) -> tuple:
    """Copy the lessons and exercises into ``work``, never overwriting a file already there.

    Returns ``(copied, changed)``: the files copied now, and the files the learner
    already has whose course version has changed since they were copied (kept as
    they are), both as paths relative to ``work``.
    """
    work.mkdir(parents=True, exist_ok=True)
    record_path = work / COPIES_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    copied, changed = [], []
    for rel in _course_files(source):
        src, dest, key = source / rel, work / rel, rel.as_posix()
        if dest.exists():
            if key in record and record[key] != _digest(src):
                changed.append(rel)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        record[key] = _digest(src)
        copied.append(rel)
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return copied, changed


def copy_work() -> Path:
    """Copy the course into the learner's folder and say what happened."""
    work = work_dir()
    copied, changed = copy_course(work)
    if copied:
        _say(f"copied {len(copied)} lesson and exercise files into {work} (your own copies to work in)")
    _say(f"your work is in {work}; updating the course (git pull) never changes it")
    for rel in changed:
        _say(f"the course has a newer {rel.as_posix()}; your copy is kept. To get the new one, rename your copy "
             "and run this command again.")
    return work


def lab(args) -> int:
    ensure_env()
    env = _env()
    # Learners' JupyterLab: nbgrader's instructor panels are switched off by this config folder.
    extra = str(ROOT / "jupyter-config" / "learner")
    env["JUPYTER_CONFIG_PATH"] = extra + os.pathsep + env.get("JUPYTER_CONFIG_PATH", "")
    work = copy_work()
    _say(f"opening JupyterLab at {START_PAGE} in your folder (stop it with Ctrl+C twice)")
    cmd = [PY, "-m", "jupyterlab", f"--ServerApp.root_dir={work}", f"--LabApp.default_url=/lab/tree/{START_PAGE}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    cmd = [str(c) for c in (*cmd, *args)]
    if os.name == "posix":
        # Become JupyterLab, so that Ctrl+C and signals reach the server itself.
        os.chdir(ROOT)
        os.execve(cmd[0], cmd, env)
    return _run(cmd, env=env)


def _apt_install(packages) -> None:
    """Install Debian packages the browser and PostgreSQL tests need, when we can."""
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        _say(f"cannot install {', '.join(packages)} here (needs apt-get as root); the tests that need them "
             "will say so")
        return
    _say(f"installing Debian packages: {', '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.call(["apt-get", "update", "-qq"], env=env)
    subprocess.call(["apt-get", "install", "-y", "-qq", *packages], env=env)


def _postgres_installed() -> bool:
    return shutil.which("pg_ctl") is not None or any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


def test(args) -> int:
    ensure_env("test")
    missing = []
    if not Path("/usr/bin/chromium").exists() and shutil.which("chromium") is None:
        missing.append("chromium")
    if not _postgres_installed():
        missing.append("postgresql")
    if shutil.which("bwrap") is None:  # the grading sandbox for code-based assignments
        missing.append("bubblewrap")
    if missing and sys.platform.startswith("linux"):
        _apt_install(missing)
    cmd = [PY, "-m", "pytest", "tests", "course", "notebooks",
           "--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
           *args]
    _say("running every test: " + " ".join(str(c) for c in cmd[2:]))
    return _run(cmd, env=_env())


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"lab", "test", "install", "copy"}:
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "install":
        ensure_env("test")
        return 0
    if command == "copy":
        copy_work()
        return 0
    return lab(rest) if command == "lab" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
