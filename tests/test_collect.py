"""Intake: every layout an instructor meets is matched to the right students, and nothing is followed blindly."""
import os
import zipfile

import pytest

from course.grading.collect import collect_submissions

A = "ex04_value_stream_mapping"
NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def _by_id(subs):
    return {s.student_id: s for s in subs}


def test_canvas_download_keeps_numeric_ids_so_namesakes_never_merge(tmp_path):
    """Two students both called An Nguyen get their own rows; LATE is noted; the file name is kept."""
    z = tmp_path / "submissions.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"annguyen_10031_555_{A}.ipynb", NB)
        zf.writestr(f"annguyen_LATE_10032_556_{A}-1.ipynb", NB)
        zf.writestr(f"doejane_10040_557_{A}.ipynb", NB)
    subs, unmatched = collect_submissions(str(z), A)
    got = _by_id(subs)
    assert sorted(got) == ["10031", "10032", "10040"] and unmatched == []
    assert got["10032"].notes == ["submitted late (the LMS marked it LATE)"] and got["10031"].notes == []
    assert list(got["10032"].files) == [f"{A}-1.ipynb"]
    assert got["10031"].name == "annguyen" and not any(s.problems for s in subs)


def test_moodle_flat_download_with_spaces_in_names(tmp_path):
    folder = tmp_path / "moodle"
    folder.mkdir()
    (folder / f"Jane van der Berg_4711_assignsubmission_file_{A}.ipynb").write_bytes(NB)
    (folder / f"Ó Briain_4712_assignsubmission_file_{A}.ipynb").write_bytes(NB)
    subs, _ = collect_submissions(str(folder), A)
    got = _by_id(subs)
    assert sorted(got) == ["4711", "4712"]
    assert got["4711"].name == "Jane van der Berg" and list(got["4711"].files) == [f"{A}.ipynb"]


def test_moodle_download_in_folders_as_a_zip(tmp_path):
    z = tmp_path / "folders.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"Jane van der Berg_4711_assignsubmission_file_/{A}.ipynb", NB)
        zf.writestr(f"Sam Lee_4713_assignsubmission_file_/{A}.ipynb", NB)
    subs, _ = collect_submissions(str(z), A)
    assert sorted(_by_id(subs)) == ["4711", "4713"]
    assert all(list(s.files) == [f"{A}.ipynb"] for s in subs)


def test_one_plain_folder_per_student(tmp_path):
    for sid in ("ada", "bo"):
        (tmp_path / "subs" / sid).mkdir(parents=True)
        (tmp_path / "subs" / sid / f"{A}.ipynb").write_bytes(NB)
    subs, _ = collect_submissions(str(tmp_path / "subs"), A)
    assert sorted(_by_id(subs)) == ["ada", "bo"]


def test_a_symbolic_link_is_never_followed(tmp_path):
    """A "submission" that points at another student's work (or the solutions) is rejected, not read."""
    secret = tmp_path / "solutions.ipynb"
    secret.write_bytes(b"SECRET")
    root = tmp_path / "submitted"
    (root / "eve" / A).mkdir(parents=True)
    os.symlink(secret, root / "eve" / A / f"{A}.ipynb")
    (root / "ann" / A).mkdir(parents=True)
    (root / "ann" / A / f"{A}.ipynb").write_bytes(NB)
    got = _by_id(collect_submissions(str(root), A)[0])
    assert got["eve"].files == {} and "link" in got["eve"].problems[0]
    assert got["ann"].files and not got["ann"].problems


def test_a_file_that_is_not_a_zip_is_refused_with_a_reason(tmp_path):
    bad = tmp_path / "grades.txt"
    bad.write_text("no")
    with pytest.raises(ValueError, match="must be a folder or a .zip file"):
        collect_submissions(str(bad), A)


def test_blackboard_download_grades_each_students_newest_attempt(tmp_path):
    """Blackboard Learn names files `<assignment>_<username>_attempt_<date-time>_<file>` with a `.txt`
    receipt per attempt: the username is the student id, the newest attempt counts and the older one
    is named in a note; receipts are not reported as stray files."""
    z = tmp_path / "gradebook_ex04.zip"
    old, new = b'{"old": 1}', NB
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"Exercise 4_jdoe_attempt_2026-10-01-09-00-00_{A}.ipynb", old)
        zf.writestr("Exercise 4_jdoe_attempt_2026-10-01-09-00-00.txt", b"Name: Jane Doe")
        zf.writestr(f"Exercise 4_jdoe_attempt_2026-10-03-17-30-05_{A}.ipynb", new)
        zf.writestr("Exercise 4_jdoe_attempt_2026-10-03-17-30-05.txt", b"Name: Jane Doe")
        zf.writestr(f"Exercise 4_a.smith_attempt_2026-10-02-08-15-00_{A}.ipynb", new)
    subs, unmatched = collect_submissions(str(z), A)
    got = _by_id(subs)
    assert sorted(got) == ["a.smith", "jdoe"] and unmatched == []
    assert got["jdoe"].files == {f"{A}.ipynb": new} and got["jdoe"].timestamp == "2026-10-03 17:30:05"
    assert got["jdoe"].notes == ["graded the attempt of 2026-10-03 17:30:05; earlier attempts "
                                 "(2026-10-01 09:00:00) were not graded"]
    assert got["a.smith"].notes == [] and got["jdoe"].order[0] > got["a.smith"].order[0]
    assert not any(s.problems for s in subs)
