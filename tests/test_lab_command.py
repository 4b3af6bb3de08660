"""The README's lab command: the learner's own copies of the course, and JupyterLab serving them.

The copy is tested without a server (first open, no overwrite, new files from
an update); one test starts the real command and opens the start page.
"""

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.test_lessons import _broken_links

ROOT = Path(__file__).resolve().parents[1]


def _load_run():
    spec = importlib.util.spec_from_file_location("course_run_script", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load_run()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    """Status, body and final URL (after redirects) of a GET."""
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode("utf-8", "replace"), r.geturl()


def test_lab_command_serves_the_start_page(tmp_path):
    port, token = _free_port(), "course-test-token"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "cfg")
    work = tmp_path / "work"
    env["COURSE_WORK_DIR"] = str(work)
    proc = subprocess.Popen(
        [sys.executable, "run.py", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError("JupyterLab exited early:\n" + proc.stdout.read())
            try:
                status, page, final_url = _get(f"{base}/?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer within 120 s"
        assert "JupyterLab" in page
        # Opening the server's address lands on the start page.
        assert final_url.split("?")[0] == f"{base}/lab/tree/notebooks/00_start_here.ipynb"
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      page, re.S).group(1))
        # Learners see none of nbgrader's instructor or exchange machinery (it cannot work without a
        # course server: the assignment list opened on "Error fetching courses!"), nor a Validate button.
        for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                       "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                       "@jupyter/nbgrader:validate-assignment", "@jupyter/nbgrader:menu"):
            assert plugin in config["disabledExtensions"], plugin
        status, body, _ = _get(f"{base}/api/contents/notebooks/00_start_here.ipynb?token={token}")
        assert status == 200 and json.loads(body)["type"] == "notebook"
        # The server shows the learner's folder: their copies, not the course's own files.
        assert (work / "notebooks" / "00_start_here.ipynb").is_file()
        status, body, _ = _get(f"{base}/api/contents?token={token}")
        assert sorted(item["name"] for item in json.loads(body)["content"]) == ["REFERENCES.md", "exercises",
                                                                                "notebooks"]
    finally:
        # Stop the server and anything it started (kernels), then check nothing is left behind.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


# ------------------------------------------------------------------ the learner's copies, without a server
def _course(tmp_path, files):
    """A small course folder holding ``files`` ({relative path: text})."""
    src = tmp_path / "course"
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text, encoding="utf-8")
    return src


def test_first_open_copies_every_lesson_and_exercise_with_working_links(tmp_path):
    """Does the first open copy all lessons, exercises and the reference list, so that every link still resolves?"""
    work = tmp_path / "my-work"
    copied, changed = run.copy_course(work)
    lessons = sorted(p.relative_to(ROOT) for p in (ROOT / "notebooks").glob("*.ipynb"))
    exercises = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises").glob("*/*.ipynb"))
    assert len(lessons) == 8 and len(exercises) == 7
    assert set(lessons + exercises + [Path("REFERENCES.md")]) <= set(copied) and changed == []
    for rel in lessons + exercises:
        assert (work / rel).read_bytes() == (ROOT / rel).read_bytes()
        assert _broken_links(work / rel) == [], rel
    assert not any(".ipynb_checkpoints" in p.parts for p in copied)


def test_a_learners_file_is_never_overwritten_and_new_lessons_are_copied_in(tmp_path):
    """After an update, is the learner's answered copy kept, a new lesson copied in, and the change reported?"""
    src = _course(tmp_path, {"notebooks/01_a.ipynb": "course v1", "exercises/ex01/ex01.ipynb": "blank exercise",
                             "notebooks/.ipynb_checkpoints/01_a-checkpoint.ipynb": "autosave"})
    work = tmp_path / "work"
    copied, changed = run.copy_course(work, source=src)
    assert sorted(p.as_posix() for p in copied) == ["exercises/ex01/ex01.ipynb", "notebooks/01_a.ipynb"]
    assert changed == []
    (work / "exercises/ex01/ex01.ipynb").write_text("q1 = 'B'  # my answer", encoding="utf-8")
    # the course is updated: lesson 1 corrected, lesson 2 added
    (src / "notebooks/01_a.ipynb").write_text("course v2", encoding="utf-8")
    (src / "notebooks/02_b.ipynb").write_text("new lesson", encoding="utf-8")
    copied, changed = run.copy_course(work, source=src)
    assert [p.as_posix() for p in copied] == ["notebooks/02_b.ipynb"]
    assert [p.as_posix() for p in changed] == ["notebooks/01_a.ipynb"]
    assert (work / "exercises/ex01/ex01.ipynb").read_text(encoding="utf-8") == "q1 = 'B'  # my answer"
    assert (work / "notebooks/01_a.ipynb").read_text(encoding="utf-8") == "course v1"
    assert (work / "notebooks/02_b.ipynb").read_text(encoding="utf-8") == "new lesson"
    # running again copies nothing and still says lesson 1 has a newer version
    assert run.copy_course(work, source=src) == ([], [Path("notebooks/01_a.ipynb")])
    # renaming the old copy, as the start page says, brings the new version in
    (work / "notebooks/01_a.ipynb").rename(work / "notebooks/01_a-old.ipynb")
    copied, changed = run.copy_course(work, source=src)
    assert [p.as_posix() for p in copied] == ["notebooks/01_a.ipynb"] and changed == []
    assert (work / "notebooks/01_a.ipynb").read_text(encoding="utf-8") == "course v2"
    assert (work / "notebooks/01_a-old.ipynb").read_text(encoding="utf-8") == "course v1"
    assert not (work / "notebooks/.ipynb_checkpoints").exists()


def test_the_learners_folder_is_git_ignored_and_can_be_moved(tmp_path, monkeypatch):
    """Is my-work/ ignored by git (so git pull never conflicts with it), and does COURSE_WORK_DIR move it?"""
    ignored = subprocess.run(["git", "check-ignore", "-q", "my-work/notebooks/00_start_here.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0
    tracked = subprocess.run(["git", "check-ignore", "-q", "notebooks/00_start_here.ipynb"], cwd=ROOT)
    assert tracked.returncode == 1
    monkeypatch.delenv("COURSE_WORK_DIR", raising=False)
    assert run.work_dir() == ROOT / "my-work"
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path / "elsewhere"))
    assert run.work_dir() == (tmp_path / "elsewhere").resolve()


def test_copy_command_copies_without_installing_or_starting_anything(tmp_path):
    """Does `python3 run.py copy` make the learner's folder and stop there?"""
    env = dict(os.environ, COURSE_WORK_DIR=str(tmp_path / "w"))
    proc = subprocess.run([sys.executable, "run.py", "copy"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w" / "notebooks" / "00_start_here.ipynb").is_file()
    assert "your work is in" in proc.stdout and "opening JupyterLab" not in proc.stdout
