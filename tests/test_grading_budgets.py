"""Budgets per submission and honest failure classification, in real ``coproduction-course grade`` runs.

* a submission's wall-clock budget bounds all its cells and attempts together;
* an output budget counts every kind of output message, ``update_display_data`` included;
* intake reads at most a capped number of files and bytes per student;
* a failure the environment caused (a full disk, a crashed worker) is retried and never cached
  as the student's fault; a re-run with other limits grades again.
Each run has an honest and a blank submission beside the case, whose grades must come out right.
"""
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

from course.grading import collect  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

BLANK = {"squares": "", "mean": "", "count_words": ""}
SLEEPY = "import time\ntime.sleep(30)\n"


def _class(tmp_path, extra):
    course = B.make_course(str(tmp_path / "course"))
    subs, out = str(tmp_path / "subs"), str(tmp_path / "out")
    students = {"honest": {"ps1.ipynb": B.notebook()}, "blank": {"ps1.ipynb": B.notebook(BLANK)}}
    students.update(extra)
    B.write_nbgrader_layout(subs, students)
    return course, subs, out


def _check_honest_and_blank(rows):
    assert rows["honest"]["status"] == "graded" and float(rows["honest"]["score"]) == 6.0, rows["honest"]
    assert rows["blank"]["status"] == "graded" and float(rows["blank"]["score"]) == 0.0, rows["blank"]


def test_the_time_budget_bounds_the_whole_submission(tmp_path):
    """Three answers that sleep 30 s each (90 s at --timeout 60) stop at an 8 s budget: the cells after
    it are not run, the reason says why, and a re-run with a larger budget grades the student again."""
    sleepy = B.notebook({k: SLEEPY + v for k, v in B.RIGHT.items()})
    course, subs, out = _class(tmp_path, {"sleepy": {"ps1.ipynb": sleepy}})
    B.run_grade(course, subs, out, "--timeout", "60", "--submission-timeout", "8", "--jobs", "2")
    rows = B.read_csv(out)
    _check_honest_and_blank(rows)
    assert rows["sleepy"]["status"] == "graded" and float(rows["sleepy"]["score"]) == 0.0
    assert "time budget of 8 seconds" in rows["sleepy"]["reason"]
    entry = next(e for e in B.read_journal(out) if e["student_id"] == "sleepy")
    assert entry["seconds"] < 30, entry["seconds"]  # not 90 s, nor the cells times the attempts
    again = B.run_grade(course, subs, out, "--timeout", "60", "--submission-timeout", "8")
    assert "graded this run       0" in again.stdout  # the same limits: nothing to do
    wider = B.run_grade(course, subs, out, "--timeout", "60", "--submission-timeout", "200", "--jobs", "2")
    assert "graded this run       1" in wider.stdout  # only the result the budget affected
    rows = B.read_csv(out)
    assert float(rows["sleepy"]["score"]) == 6.0 and "time budget" not in rows["sleepy"]["reason"]
    _check_honest_and_blank(rows)


def test_update_display_data_counts_against_the_output_budget(tmp_path):
    """150 outputs with one display id, then one 200 kB update, would write 30 MB into the notebook."""
    flood = ("from IPython.display import display\n"
             "for i in range(150):\n"
             "    display('a', display_id='same')\n"
             "display('y' * 200_000, display_id='same', update=True)\n" + B.RIGHT["mean"])
    course, subs, out = _class(tmp_path, {"flood": {"ps1.ipynb": B.notebook({"mean": flood})}})
    B.run_grade(course, subs, out, "--timeout", "20", "--jobs", "2")
    rows = B.read_csv(out)
    _check_honest_and_blank(rows)
    assert float(rows["flood"]["score"]) == 6.0
    graded = os.path.join(course, "autograded", "flood", "ps1", "ps1.ipynb")
    assert os.path.getsize(graded) < 2_000_000, os.path.getsize(graded)
    assert os.path.getsize(os.path.join(out, "feedback", "flood.html")) < 3_000_000


def test_intake_reads_a_capped_number_of_files_per_student(tmp_path, monkeypatch):
    """A student's 12 extra files in a zip (over a cap of 5) are not read; the student is rejected with a
    reason; another student in the same zip is collected as usual."""
    monkeypatch.setattr(collect, "MAX_FILES_PER_STUDENT", 5)
    read = []
    real = collect._Lazy.read
    monkeypatch.setattr(collect._Lazy, "read", lambda self: read.append(self.info.filename) or real(self))
    path = str(tmp_path / "download.zip")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("alice_ps1.ipynb", B.notebook())
        zf.writestr("mallory_ps1.ipynb", B.notebook())
        for i in range(12):
            zf.writestr(f"mallory_extra{i}.ipynb", "x" * 1000)
    subs, _ = collect.collect_submissions(path, "ps1")
    by = {s.student_id: s for s in subs}
    assert by["alice"].problems == [] and "ps1.ipynb" in by["alice"].files
    assert any("more than 5 files" in p for p in by["mallory"].problems)
    assert len([n for n in read if n.startswith("mallory")]) == 5


def test_a_zip_entry_is_never_read_past_the_size_cap(tmp_path, monkeypatch):
    """A file whose zip directory claims a small size cannot make intake read more than the cap."""
    monkeypatch.setattr(collect, "MAX_FILE_BYTES", 1000)
    path = str(tmp_path / "d.zip")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bob_ps1.ipynb", "x" * 5000)
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[0]
    info.file_size = 10  # what a forged directory entry would say
    assert collect._Lazy(path, info).read() is collect._Broken  # read no further than it claims, and refused
    info.file_size = 5000  # the truth: over the cap, so never read
    assert collect._Lazy(path, info).read() is None
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bob_ps1.ipynb", "x" * 900)
    subs, _ = collect.collect_submissions(path, "ps1")
    assert subs[0].files == {"ps1.ipynb": b"x" * 900}  # within the cap: read whole


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small disk needs root")
def test_a_full_disk_is_the_environments_fault_and_the_rerun_grades_everyone(tmp_path):
    """The scratch folder lives on a 40 MB disk that a submission fills: whoever could not be graded is
    retried, never cached as rejected; the re-run with space grades everyone."""
    import tempfile
    small = tempfile.mkdtemp(prefix="disk")  # a short path: kernels' unix sockets live below it
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(small)], check=True)
    try:
        filler = ("import os, time\n"
                  "for i in range(4):\n"
                  "    try:\n"
                  "        with open(f'big{i}', 'wb') as fh:\n"
                  "            fh.write(b'x' * 16 * 2**20)\n"
                  "    except OSError:\n"
                  "        pass\n"
                  "print('free after filling:', os.statvfs('.').f_bavail)\n"
                  "time.sleep(10)\n" + B.RIGHT["squares"])  # the disk stays full while others are graded
        # each of these also carries 2 MB of notes, which the scratch copy must write while the disk is full
        bulky = json.loads(B.notebook())
        bulky["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "notes " * 350_000})
        others = {f"honest{i}": {"ps1.ipynb": json.dumps(bulky)} for i in (2, 3, 4)}
        course, subs, out = _class(tmp_path, {"a-filler": {"ps1.ipynb": B.notebook({"squares": filler})},
                                              **others})
        env = dict(B.cli_env(), TMPDIR=str(small))
        proc = subprocess.run(B.grade_cmd(course, subs, out, "--timeout", "20", "--jobs", "2"), cwd=course,
                              env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)
        os.rmdir(small)
    first = B.read_journal(out)
    failed = [e for e in first if e["status"] != "graded"]
    assert failed, "the disk never filled up while others were graded: the test proves nothing"
    assert all(e.get("retry") for e in failed), failed  # never the students' fault
    assert all("next run" in e["reason"] and ("No space left on device" in e["reason"] or "disk is full" in e["reason"]
                                              or "not of this submission" in e["reason"]) for e in failed), failed
    B.run_grade(course, subs, out, "--timeout", "20", "--jobs", "2")  # with space
    rows = B.read_csv(out)
    _check_honest_and_blank(rows)
    assert all(r["status"] == "graded" for r in rows.values()), rows
    assert all(float(rows[s]["score"]) == 6.0 for s in ("a-filler", "honest2", "honest3", "honest4"))


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_a_killed_worker_costs_no_student_their_grade(tmp_path):
    """A grading worker killed with SIGKILL mid-run breaks the pool: every student it held is graded
    again (in this run or the next), none is rejected for it, and the grades are right."""
    slow = "import time\ntime.sleep(3)\n" + B.RIGHT["squares"]
    extra = {f"s{i}": {"ps1.ipynb": B.notebook({"squares": slow})} for i in range(3)}
    course, subs, out = _class(tmp_path, extra)
    proc = subprocess.Popen(B.grade_cmd(course, subs, out, "--timeout", "20", "--jobs", "2"), cwd=course,
                            env=B.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        workers = [p for p in _children(proc.pid) if _children(p)]  # a worker with a kernel running
        if workers:
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.1)
    stdout, stderr = proc.communicate(timeout=300)
    assert killed is not None, "no worker was seen running a kernel"
    assert proc.returncode == 0, stdout + stderr
    journal = B.read_journal(out)
    assert all(e.get("retry") for e in journal if e["status"] != "graded")
    B.run_grade(course, subs, out, "--timeout", "20", "--jobs", "2")
    rows = B.read_csv(out)
    _check_honest_and_blank(rows)
    assert all(r["status"] == "graded" and float(r["score"]) == 6.0 for s, r in rows.items() if s.startswith("s"))
