"""Write ``grades.csv`` and ``report.html`` (score distribution, question difficulty).

Figures are drawn with matplotlib's Agg canvas on a :class:`~matplotlib.figure.Figure`
(never pyplot's global state), embedded as base64 PNG, each with alt text saying what
it shows.
"""
from __future__ import annotations

import csv
import html

from .analysis import MIN_CLASS, item_analysis

__all__ = ["CSV_COLUMNS", "write_grades_csv", "write_report", "question_difficulty", "summary_lines"]

CSV_COLUMNS = ["student_id", "score", "max_score", "status", "reason",
               "auto_points", "manual_points", "pending_points", "marking", "graded_files"]


def _fmt(x):
    return f"{x:g}" if isinstance(x, (int, float)) else ""


def _csv_safe(text):
    """Text a spreadsheet shows as text: a leading =, +, - or @ would make it a formula."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_grades_csv(path, rows):
    """One row per student, sorted by student id, with exactly :data:`CSV_COLUMNS`.

    ``score`` is ``auto_points + manual_points``; ``pending_points`` are the points of answers a
    tutor has not marked yet (``marking`` says "awaiting manual marking"), which are not zeros.
    """
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in sorted(rows, key=lambda r: r["student_id"]):
            w.writerow([_csv_safe(r["student_id"]), _fmt(r["score"]), _fmt(r["max_score"]), r["status"],
                        _csv_safe(r["reason"]), _fmt(r.get("auto_points")), _fmt(r.get("manual_points")),
                        _fmt(r.get("pending_points")), r.get("marking", ""), _csv_safe(r.get("received", ""))])


def question_difficulty(rows):
    """``{grade_id: (mean fraction of points earned, max points)}`` over graded rows.

    Examples
    --------
    >>> rows = [{"status": "graded", "grades": {"nb": {"grades": {"q": {"auto_score": 1,
    ...          "max_score": 2}}}}}, {"status": "graded", "grades": {"nb": {"grades": {
    ...          "q": {"auto_score": 2, "max_score": 2}}}}}]
    >>> question_difficulty(rows)
    {'nb: q': (0.75, 2)}
    """
    acc = {}
    for r in rows:
        if r["status"] != "graded":
            continue
        for nb, data in (r.get("grades") or {}).items():
            for gid, g in data["grades"].items():
                if not g.get("max_score") or g.get("needs_manual_grade"):
                    continue
                key = f"{nb}: {gid}"
                acc.setdefault(key, [[], g["max_score"]])[0].append(
                    (g.get("auto_score") or 0) / g["max_score"])
    return {k: (sum(v) / len(v), m) for k, (v, m) in acc.items()}


def _figure(fig, alt):
    """The figure as an embedded PNG with its alt text: the explorers' own function (course.rendering)."""
    from course.rendering import figure_html
    return figure_html(fig, alt, caption=False, tight=True, dpi=100)


def _score_figure(scores, max_score):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    bins = max(1, min(20, int(max_score or 1) + 1))
    ax.hist(scores, bins=bins, range=(0, max_score or 1), color="#0072B2",
            edgecolor="black", hatch="//")
    ax.set_xlabel(f"score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.set_title("Score distribution (graded submissions)")
    if scores:
        mean = sum(scores) / len(scores)
        alt = (f"Histogram of {len(scores)} graded scores out of {max_score:g}; mean "
               f"{mean:.2f}, lowest {min(scores):g}, highest {max(scores):g}.")
    else:
        alt = "No submission was graded, so the score histogram is empty."
    return _figure(fig, alt)


def _difficulty_figure(diff):
    from matplotlib.figure import Figure
    names = list(diff)
    fig = Figure(figsize=(6, 0.5 + 0.4 * max(1, len(names))))
    ax = fig.add_subplot()
    vals = [diff[n][0] for n in names]
    ax.barh(range(len(names)), vals, color="#E69F00", edgecolor="black")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    for i, v in enumerate(vals):
        ax.text(min(v + 0.02, 0.9), i, f"{v:.0%}", va="center")
    ax.set_xlabel("mean fraction of points earned")
    ax.set_title("Question difficulty (autograded cells)")
    alt = "Mean fraction of points earned per graded cell: " + "; ".join(
        f"{n} {v:.0%}" for n, v in zip(names, vals)) + "." if names else "No graded cells."
    return _figure(fig, alt)


def _item_row(st):
    e = html.escape
    disc = "n/a" if st.discrimination is None else f"{st.discrimination:+.2f}"
    wrong = "; ".join(f"{a} ({k})" for a, k in st.wrong_answers)
    cls = ' class="flag"' if st.flags else ""
    return (f"<tr{cls}><th scope='row'>{e(st.question)}</th><td>{_fmt(st.max_points)}</td><td>{st.n}</td>"
            f"<td>{st.difficulty:.0%}</td><td>{disc}</td><td>{e(wrong) or '&ndash;'}</td>"
            f"<td>{e(' / '.join(st.flags)) or '&ndash;'}</td></tr>")


def write_report(path, *, assignment, rows, max_score, protections, seconds):
    """Write the HTML report for one run."""
    graded = [r for r in rows if r["status"] == "graded"]
    rejected = [r for r in rows if r["status"] == "rejected"]
    scores = [r["score"] for r in graded]
    figure1 = _score_figure(scores, max_score or 0)
    figure2 = _difficulty_figure(question_difficulty(rows))
    e = html.escape
    stats = item_analysis(rows)
    item_rows = "".join(_item_row(st) for st in stats)
    flagged = [st.question for st in stats if st.flags]
    pending = [r for r in graded if r.get("pending_points")]
    rej_rows = "".join(f"<tr><td>{e(r['student_id'])}</td><td>{e(r['reason'])}</td></tr>"
                       for r in sorted(rejected, key=lambda r: r["student_id"]))
    notes = "".join(f"<tr><td>{e(r['student_id'])}</td><td>{_fmt(r['score'])}</td>"
                    f"<td>{e(r['reason'])}</td></tr>"
                    for r in sorted(graded, key=lambda r: r["student_id"]) if r["reason"])
    prot = "".join(f"<li>{e(p)}</li>" for p in protections)
    files = "".join(f"<tr><td>{e(r['student_id'])}</td><td>{e(r.get('received') or 'as recorded by an earlier run')}</td></tr>"
                    for r in sorted(rows, key=lambda r: r["student_id"]))
    mean = f"{sum(scores) / len(scores):.2f}" if scores else "n/a"
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Grading report: {e(assignment)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #888;padding:.3em .6em;text-align:left}}
tr.flag{{background:#fff3cd}}tr.flag th::after{{content:" (flagged)"}}</style>
</head><body>
<h1>Grading report: {e(assignment)}</h1>
<p>{len(graded)} graded, {len(rejected)} rejected; mean score {mean} out of {_fmt(max_score)};
grading took {seconds:.1f} s.</p>
<h2>Score distribution</h2>
{figure1}
<p>{len(pending)} graded submission(s) still have answers awaiting a tutor's marks; their points
are pending, not zero (see the <code>pending_points</code> and <code>marking</code> columns of grades.csv).</p>
<h2>Question difficulty</h2>
{figure2}
<h2>Item analysis</h2>
<p>Difficulty: the mean share of the question's points earned. Discrimination: the correlation
between a student's result on the question and the rest of their automatic score (n/a below
{MIN_CLASS} students or when everyone scored the same); a negative value means stronger students
did worse. Common wrong answers are the answers given by students without full marks, as the
check compared them. {('Flagged (check the key): ' + e(', '.join(flagged)) + '.') if flagged else 'No question is flagged.'}</p>
<table><thead><tr><th scope="col">question</th><th scope="col">points</th><th scope="col">students</th>
<th scope="col">difficulty</th><th scope="col">discrimination</th><th scope="col">common wrong answers</th>
<th scope="col">flag</th></tr></thead>
<tbody>{item_rows or '<tr><td colspan="7">no automatically marked questions</td></tr>'}</tbody></table>
<h2>Rejected submissions</h2>
<table><thead><tr><th scope="col">student</th><th scope="col">reason</th></tr></thead>
<tbody>{rej_rows or '<tr><td colspan="2">none</td></tr>'}</tbody></table>
<h2>Graded with notes</h2>
<table><thead><tr><th scope="col">student</th><th scope="col">score</th><th scope="col">note</th></tr></thead>
<tbody>{notes or '<tr><td colspan="3">none</td></tr>'}</tbody></table>
<h2>Files used</h2>
<p>For each student, the files whose grade this is, as the download or folder named them, and when
they were submitted where the input says (the newest submission counts).</p>
<table><thead><tr><th scope="col">student</th><th scope="col">files graded</th></tr></thead>
<tbody>{files or '<tr><td colspan="2">none</td></tr>'}</tbody></table>
<h2>How student code was isolated</h2><ul>{prot}</ul>
</body></html>
"""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(doc)


def summary_lines(*, assignment, rows, max_score, graded_now, seconds, jobs, timings, out,
                  regraded_cells=(), unmatched=()):
    """The summary the grade command prints, one line per fact."""
    graded = [r for r in rows if r["status"] == "graded"]
    mean = sum(r["score"] for r in graded) / len(graded) if graded else float("nan")
    lines = [f"{'assignment':<22}{assignment}", f"{'graded':<22}{len(graded)}",
             f"{'rejected':<22}{len(rows) - len(graded)}",
             f"{'graded this run':<22}{graded_now}",
             f"{'mean score':<22}{mean:.2f} / {max_score:g}",
             f"{'time':<22}{seconds:.1f} s ({jobs} worker(s))",
             f"{'phases':<22}setup {timings['setup']:.1f} s, checks "
             f"{timings['checks']:.1f} s, grading {timings['grading']:.1f} s, "
             f"report {timings['report']:.1f} s",
             f"{'output':<22}{out}"]
    if regraded_cells:
        lines.append(f"{'solutions changed in':<22}{', '.join(sorted(g for _, g in regraded_cells))}: "
                     "only these cells' scores were changed (see audit.csv)")
    if unmatched:
        lines.append(f"{'ignored files':<22}{', '.join(unmatched[:10])}"
                     + (" ..." if len(unmatched) > 10 else ""))
    return lines
