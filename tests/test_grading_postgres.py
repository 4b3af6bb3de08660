"""Does the grading command keep its gradebook in a real PostgreSQL server?

The fixture starts a throw-away server (initdb in a temporary folder, a free loopback
port, a unix socket in the same folder) and stops it afterwards. Without PostgreSQL the
test is skipped locally, but fails when the CI environment variable is set.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]


def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    for cand in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return cand
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    initdb, pg_ctl, createdb = (_pg_bin(n) for n in ("initdb", "pg_ctl", "createdb"))
    if not (initdb and pg_ctl and createdb):
        msg = ("PostgreSQL is not installed (initdb/pg_ctl/createdb not on PATH nor in "
               "/usr/lib/postgresql/*/bin): install the Debian package 'postgresql'")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    pytest.importorskip("psycopg")
    base = tempfile.mkdtemp(prefix="pg-")
    run_as = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(base, "data"), _free_port()
    subprocess.run(run_as + [initdb, "-D", data, "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [pg_ctl, "-D", data, "-l", os.path.join(base, "log"), "-w",
                             "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
                             "start"], check=True, capture_output=True)
    try:
        for _ in range(50):
            if subprocess.run([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                               "gradebook"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail("could not create the test database")
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run(run_as + [pg_ctl, "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_grades_are_stored_in_postgresql(postgres_url, tmp_path):
    """Does --db postgresql://... put every graded submission in the PostgreSQL gradebook?"""
    import psycopg
    course = B.make_course(str(tmp_path / "course"))
    subs = B.write_nbgrader_layout(str(tmp_path / "subs"), {
        "alice": {"ps1.ipynb": B.notebook()},
        "bob": {"ps1.ipynb": B.notebook({"mean": "def mean(xs):\n    return sum(xs) / len(xs)"})},
        "carol": {"ps1.ipynb": "{broken"},
    })
    out = str(tmp_path / "out")
    B.run_grade(course, subs, out, "--db", postgres_url, "--timeout", "5", "--jobs", "2")
    rows = B.read_csv(out)
    assert rows["carol"]["status"] == "rejected"
    assert not os.path.exists(os.path.join(course, "gradebook.db"))
    with psycopg.connect(postgres_url) as conn:
        n_submissions = conn.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert n_submissions == 2  # alice and bob; the rejected notebook is not in the gradebook
    from nbgrader.api import Gradebook
    with Gradebook(postgres_url.replace("postgresql://", "postgresql+psycopg://")) as gb:
        for sid in ("alice", "bob"):
            assert gb.find_submission("ps1", sid).score == float(rows[sid]["score"])
    assert float(rows["alice"]["score"]) > float(rows["bob"]["score"])
