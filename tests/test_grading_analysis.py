"""Item analysis against values computed by hand, with a planted bad item that must be flagged."""
import math

import pytest

from course.grading.analysis import item_analysis
from course.grading.report import write_report

# Six students, strongest first. q1-q4 are sound; q5's key is wrong: the four strongest
# students all answered "B" (the real answer) and were marked wrong.
SCORES = {"q1": [1, 1, 1, 1, 0, 0], "q2": [1, 1, 1, 0, 0, 0], "q3": [1, 1, 0, 0, 0, 0],
          "q4": [1, 0, 0, 0, 0, 0], "q5": [0, 0, 0, 0, 1, 1]}
ANSWERS = {"q1": ["A"] * 4 + ["C", "D"], "q5": ["B"] * 4 + ["C", "C"]}


def _rows():
    rows = []
    for i in range(6):
        grades = {f"check_{q}": {"auto_score": s[i], "max_score": 1, "needs_manual_grade": False, "cell_type": "code"}
                  for q, s in SCORES.items()}
        grades["task_6"] = {"auto_score": None, "max_score": 4, "needs_manual_grade": True, "cell_type": "markdown"}
        answers = {q: a[i] for q, a in ANSWERS.items()}
        rows.append({"student_id": f"s{i}", "status": "graded", "score": sum(s[i] for s in SCORES.values()),
                     "max_score": 9, "reason": "", "pending_points": 4,
                     "grades": {"ex": {"grades": grades, "answers": answers}}})
    rows.append({"student_id": "late", "status": "rejected", "score": 0, "max_score": 9, "reason": "not JSON"})
    return rows


def test_difficulty_and_discrimination_match_the_hand_computation():
    stats = {s.question: s for s in item_analysis(_rows())}
    assert set(stats) == set(SCORES)  # the tutor-marked task is not an automatic item
    # q1: rest scores 3,2,1,0,1,1; cov 2/3, var 4/3 and 16/3: r = (2/3) / (8/3) = 0.25
    assert stats["q1"].difficulty == pytest.approx(4 / 6)
    assert stats["q1"].discrimination == pytest.approx(0.25)
    # q5: rest scores 4,3,2,1,0,0; cov -10/3, var 4/3 and 40/3: r = -10 / sqrt(160)
    assert stats["q5"].difficulty == pytest.approx(2 / 6)
    assert stats["q5"].discrimination == pytest.approx(-10 / math.sqrt(160))
    assert stats["q1"].wrong_answers == (("C", 1), ("D", 1))
    assert stats["q5"].wrong_answers == (("B", 4),)


def test_the_planted_bad_item_is_flagged_and_the_sound_ones_are_not():
    stats = {s.question: s for s in item_analysis(_rows())}
    flags = " ".join(stats["q5"].flags)
    assert "negative discrimination" in flags and "'B'" in flags
    assert [q for q, s in stats.items() if s.flags] == ["q5"]


def test_too_small_a_class_gets_no_discrimination():
    assert all(s.discrimination is None and not s.flags for s in item_analysis(_rows()[:3]))


def test_the_report_shows_the_item_analysis_and_pending_marks(tmp_path):
    path = tmp_path / "report.html"
    write_report(str(path), assignment="ex", rows=_rows(), max_score=9, protections=["p"], seconds=1.0)
    page = path.read_text(encoding="utf-8")
    assert "Item analysis" in page and "Flagged (check the key): q5." in page
    assert "+0.25" in page and "-0.79" in page
    assert "6 graded submission(s) still have answers awaiting a tutor" in page


def test_grades_csv_separates_automatic_manual_and_pending_points_and_defuses_formulas(tmp_path):
    import csv

    from course.grading.report import write_grades_csv
    rows = [{"student_id": "=HYPERLINK(\"x\")", "score": 5, "max_score": 9, "status": "graded", "reason": "",
             "auto_points": 5, "manual_points": 0, "pending_points": 4, "marking": "awaiting manual marking"},
            {"student_id": "bo", "score": 8, "max_score": 9, "status": "graded", "reason": "",
             "auto_points": 5, "manual_points": 3, "pending_points": 0, "marking": "complete"},
            {"student_id": "cy", "score": 0, "max_score": 9, "status": "rejected", "reason": "-not JSON"}]
    write_grades_csv(str(tmp_path / "g.csv"), rows)
    with open(tmp_path / "g.csv", newline="", encoding="utf-8") as fh:
        got = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(got) == {"'=HYPERLINK(\"x\")", "bo", "cy"}
    assert got["bo"]["manual_points"] == "3" and got["bo"]["marking"] == "complete"
    first = got["'=HYPERLINK(\"x\")"]
    assert (first["auto_points"], first["pending_points"], first["marking"]) == ("5", "4", "awaiting manual marking")
    assert got["cy"]["reason"] == "'-not JSON" and got["cy"]["marking"] == ""
