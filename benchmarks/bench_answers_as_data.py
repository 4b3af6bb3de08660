"""How fast is grading a course exercise whose answers are data, against nbgrader's usual autograde?

Builds N submissions of one of the course's exercises from its solution (right answers,
the same answers written differently, untouched, one early slip, answer cells holding code;
in turn), then, in the same run:

1. grades them with ``coproduction-course grade`` (answers read as data, no kernel; parallel;
   with feedback pages, and again without);
2. grades the same submissions with nbgrader's usual ``autograde``: one process, serially,
   each notebook executed in a kernel (nbgrader's default ``Execute`` preprocessor, no
   feedback, no sandbox) - what a course with code-based checks pays.

Prints wall times, submissions per second and the speed-ups, plus the load average before
and after (on a busy machine, figures are only comparable within one run). Asserts nothing::

    python benchmarks/bench_answers_as_data.py                 # 60 submissions of ex04
    python benchmarks/bench_answers_as_data.py --n 20 --assignment ex03_product_like_or_pure
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "grading"))
import answers_data as D  # noqa: E402
import builders as B  # noqa: E402


def _class(a, n, marker):
    import nbformat
    student = D.released(a)
    right = D.solution_answers(a)
    kinds = [
        ("right", lambda: D.fill(student, right)),
        ("restyled", lambda: D.fill(student, D.restyled_answers(a))),
        ("untouched", lambda: student),
        ("slip", lambda: D.fill(student, D.slip(a)[0])),
        ("code", lambda: D.with_code(D.fill(student, right), marker)),
    ]
    return {f"s{i:03d}-{kinds[i % len(kinds)][0]}": nbformat.writes(kinds[i % len(kinds)][1]()) for i in range(n)}


def _course(base):
    root = os.path.join(base, "course")
    os.makedirs(root)
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), root)
    for folder in ("solutions", "exercises", "notebooks"):
        shutil.copytree(os.path.join(ROOT, folder), os.path.join(root, folder))
    return root


def _grade_command(root, subs, out, a, *extra):
    t = time.perf_counter()
    B.run_grade(root, subs, out, *extra, assignment=a)
    return time.perf_counter() - t


def _serial_nbgrader(root, a, students):
    """nbgrader's own autograde, one process, one kernel per notebook, serially."""
    import logging
    import warnings
    warnings.filterwarnings("ignore")
    logging.getLogger("traitlets").setLevel(logging.CRITICAL)
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)
    from traitlets.config.loader import PyFileConfigLoader
    c = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    c.CourseDirectory.root = root
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "baseline.db")
    c.Exchange.root = os.path.join(root, "exchange")
    # nbgrader's own list: every notebook is executed in a kernel
    c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
    assert api.generate_assignment(a, force=True)["success"]
    t = time.perf_counter()
    ok = sum(bool(api.autograde(a, sid, force=True, create=True)["success"]) for sid in students)
    return time.perf_counter() - t, ok


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--assignment", default="ex04_value_stream_mapping")
    args = p.parse_args(argv)
    a, n = args.assignment, args.n
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    print(f"{n} submissions of {a}; {os.cpu_count()} CPUs; load before {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-data-") as base:
        marker = os.path.join(base, "code-ran")
        subs = _class(a, n, marker)
        root = _course(base)
        folder = os.path.join(base, "subs")
        D.write_submissions(folder, a, subs)
        ours = _grade_command(root, folder, os.path.join(base, "out1"), a)
        ours_nofb = _grade_command(root, folder, os.path.join(base, "out2"), a, "--no-feedback")
        code_ran = os.path.exists(marker)
        base_root = _course(os.path.join(base, "baseline"))
        D.write_submissions(os.path.join(base_root, "submitted"), a, subs)
        serial, ok = _serial_nbgrader(base_root, a, sorted(subs))
        print(f"{'':44}{'seconds':>9}{'per second':>12}{'speed-up':>10}")
        for name, secs in [("serial nbgrader autograde (kernels)", serial),
                           ("coproduction-course grade, with feedback", ours),
                           ("coproduction-course grade, --no-feedback", ours_nofb)]:
            print(f"{name:44}{secs:9.1f}{n / secs:12.2f}{serial / secs:9.1f}x")
        print(f"serial nbgrader graded {ok} of {n} without an error; code in answer cells ran during "
              f"the data grading: {'YES' if code_ran else 'no'} (the serial baseline runs it)")
        print("(the command's times include its start-up: generating the template and the report)")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
