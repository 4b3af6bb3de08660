"""Grade on the workers of a Dask distributed cluster: ``coproduction-course grade ... --cluster ADDRESS``.

The grade command does everything except the per-submission work exactly as on one machine:
intake, pre-flight, the journal, the gradebook, the files in the output folder and the report
stay in the coordinating process. Only :func:`~course.grading.worker.grade_one` runs on the
workers, and a worker needs no shared file system:

* the assignment's grading files (the template gradebook, which holds the keys and hidden
  tests, and the released files) are packed once per run and scattered to every worker
  (:func:`pack_assignment`); a worker unpacks them once into a private scratch folder of its
  own (mode 0700 inside a 0711 folder, like the local pool's);
* each task carries one submission's notebooks as text, plus the options; the paths in it
  are replaced on the worker by the worker's own (:func:`grade_remote`), and the sandbox of
  a code-based assignment is probed on the worker, with the limits chosen on the command line;
* the worker returns the result; it never opens the course gradebook. The coordinating
  process records each result (gradebook, files, then the journal), so resume and retries
  work as on one machine.

A worker that dies while grading a submission: Dask's scheduler gives that submission to
another worker. If the scheduler gives up (``KilledWorker``, after the same submission was on
several workers that died) or the result is lost (a cancelled future), the submission is
recorded as the grader's failure (``retry: True``), never the student's: the student's earlier
grade stays and the next run grades the submission again.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
import zlib

from .contracts import Result

__all__ = ["connect", "ClusterPool", "pack_assignment", "grade_remote", "HOLD_ENV"]

#: Seconds to wait for the scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT = 10
WORKER_TIMEOUT = 60

#: For the tests only (never set outside the test suite), in a worker's environment:
#: ``STUDENT:FOLDER``. A worker grading STUDENT writes ``FOLDER/started-<pid>`` and waits
#: (at most 5 minutes) until ``FOLDER/go`` exists, so that a test can stop that worker while
#: it holds the submission.
HOLD_ENV = "COPRODUCTION_COURSE_CLUSTER_TEST_HOLD"

#: The files whose code decides a grade: a worker whose copy differs would grade differently.
_GRADING_MODULES = ("grading/worker.py", "grading/contracts.py", "grading/data_grade.py", "grading/answers_as_data.py",
                    "grading/execute.py", "grading/sandbox.py", "grading/jail.py", "answers.py",
                    "assessment.py", "rules.py")


def _setup_error(message):
    from .contracts import GradingSetupError
    return GradingSetupError(message)


def code_digest():
    """A digest of the course's grading code, to check that every worker grades alike."""
    base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for rel in _GRADING_MODULES:
        try:
            with open(os.path.join(base, rel), "rb") as fh:
                h.update(rel.encode() + b"\0" + fh.read())
        except OSError:
            h.update(rel.encode() + b"\0missing")
    return h.hexdigest()[:16]


def _worker_facts():
    """Run on each worker when the command connects: what it would grade with."""
    import importlib.metadata as md

    def version(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None
    return {"code": code_digest(), "nbgrader": version("nbgrader"), "python": sys.version.split()[0],
            "host": socket.gethostname()}


def check_address(address):
    """``(scheme, host, port)`` of a scheduler address, or a setup error saying what is wrong."""
    from distributed.comm import parse_address, parse_host_port
    example = "for example tcp://10.0.0.5:8786 (the address 'dask scheduler' prints)"
    try:
        scheme, loc = parse_address(address)
        if scheme not in ("tcp", "tls"):
            raise ValueError(f"the scheme must be tcp:// or tls://, not {scheme}://")
        host, port = parse_host_port(loc)
        if not host:
            raise ValueError("no host name")
    except (ValueError, TypeError) as exc:
        raise _setup_error(f"'cluster' must be a Dask scheduler address, {example}. "
                           f"Got {address!r} instead ({exc}).") from None
    return scheme, host, int(port)


def connect(address, *, timeout=CONNECT_TIMEOUT, worker_timeout=WORKER_TIMEOUT):
    """A :class:`ClusterPool` on the scheduler at ``address``; a setup error when it cannot be used."""
    scheme, host, port = check_address(address)
    try:  # a plain TCP connection first: says clearly when nothing listens there
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise _setup_error(f"'cluster' must be the address of a running Dask scheduler: nothing "
                           f"answered at {host}:{port} ({why}). Start one with 'dask scheduler' and "
                           f"give the address it prints. Got {address!r}.") from None
    try:
        from distributed import Client
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:
        raise _setup_error(f"'cluster' must be the address of a running Dask scheduler: {host}:{port} "
                           f"answered, but not as a Dask scheduler ({type(exc).__name__}: "
                           f"{str(exc)[:200]}). Got {address!r}.") from None
    try:
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except Exception:
            raise _setup_error(f"'cluster': the scheduler at {address} has no worker after "
                               f"{worker_timeout} s. Start workers with 'dask worker {address} "
                               f"--nthreads 1' on each grading machine.") from None
        try:
            facts = client.run(_worker_facts)
        except Exception as exc:
            raise _setup_error(f"'cluster': the workers at {address} cannot run the course's grader "
                               f"({type(exc).__name__}: {str(exc)[:200]}). Install the course package "
                               f"(with its dependencies) on every worker machine.") from None
        mine = _worker_facts()
        for worker, theirs in sorted(facts.items()):
            for what in ("code", "nbgrader"):
                if theirs.get(what) != mine[what]:
                    name = "the course's grading code" if what == "code" else "nbgrader"
                    raise _setup_error(
                        f"'cluster': the worker {worker} (on {theirs.get('host')}) has another version "
                        f"of {name} than this machine ({theirs.get(what)} against {mine[what]}), so it "
                        "could grade differently. Install the same version of the course on every machine.")
    except BaseException:
        client.close()
        raise
    return ClusterPool(client, address)


# --------------------------------------------------------------------------- coordinator side
def pack_assignment(template_db, release_dir):
    """The assignment's grading files as one picklable dictionary (sent once per run).

    ``gradebook``: the template gradebook (zlib-compressed), ``release``: ``{relative path:
    bytes}`` of the released folder, ``assignment``: its name, ``digest``: what identifies it.
    """
    with open(template_db, "rb") as fh:
        gradebook = zlib.compress(fh.read(), 6)
    release = {}
    for folder, dirs, files in os.walk(release_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                release[os.path.relpath(path, release_dir).replace(os.sep, "/")] = fh.read()
    h = hashlib.sha256(gradebook)
    for rel, data in sorted(release.items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return {"assignment": os.path.basename(os.path.normpath(release_dir)), "gradebook": gradebook,
            "release": release, "digest": h.hexdigest()[:20]}


def remote_task(task):
    """What is sent for one submission: the :class:`Task` without the coordinator's paths and sandbox
    plan (a worker fills in its own), with the limits that plan enforces."""
    plan = task.plan
    return task.replace(template_db="", release_dir="", scratch_root="", bin_dir="", plan=None,
                        sandbox_limits=None if plan is None else {"memory_mb": plan.memory_mb,
                                                                  "cpu_seconds": plan.cpu_seconds})


def _cluster_failure(exc):
    """Words for a submission the cluster could not grade (not the student's fault)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("the grading machines stopped while grading this submission, several times "
                f"({str(exc)[:200]}); it will be graded again on the next run")
    return f"the cluster lost this submission's result ({name}: {str(exc)[:200]}); it will be graded again on the next run"


def _lost(exc):
    """Is ``exc`` a lost result (a cancelled future, a closed connection) worth one more try now?"""
    import asyncio
    import concurrent.futures as cf
    if type(exc).__name__ == "KilledWorker":
        return False  # the scheduler already gave it to several workers
    return isinstance(exc, (asyncio.CancelledError, cf.CancelledError, OSError, TimeoutError)) or \
        type(exc).__name__ in ("FutureCancelledError", "CommClosedError", "CancelledError")


class ClusterPool:
    """Runs the grade command's tasks on a Dask cluster; called like the runner's local pool."""

    def __init__(self, client, address):
        self.client = client
        self.address = address
        self.worker_protections = set()
        self.hosts = set()

    @property
    def cores(self):
        """Worker threads on the cluster now (each grades one submission at a time)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    def close(self):
        try:
            self.client.close(timeout=CONNECT_TIMEOUT)
        except Exception:
            pass

    def protections(self, local):
        """The report's list of protections: the workers' own sandboxes, and what the cluster adds."""
        wire = ("encrypted (TLS)" if self.address.startswith("tls://") else
                "NOT encrypted (plain TCP: keep the cluster on a private network, or use tls://)")
        head = [f"graded on the Dask cluster at {self.address} ({len(self.hosts) or 'no'} machine(s)); "
                f"submissions, keys and results travel over its connections, {wire}",
                "the workers have no access to the course gradebook: this machine recorded every result"]
        if not self.worker_protections:
            return head + list(local)
        return head + [f"on the workers: {p}" for p in sorted(self.worker_protections)]

    def __call__(self, tasks, jobs, fn, finish, tqdm, quiet):
        """Grade ``tasks`` on the cluster; ``finish(task, result)`` records each, here, in turn.

        ``jobs`` and ``fn`` are the local pool's (the workers' threads decide, and run
        :func:`grade_remote`, which calls :func:`~course.grading.worker.grade_one`).
        """
        if not tasks:
            return
        from distributed import as_completed
        client = self.client
        first = tasks[0]
        blob = pack_assignment(first.template_db, first.release_dir)
        shared = client.scatter([blob], broadcast=True, hash=False)[0]
        queue = list(tasks)
        queue.reverse()
        attempts = {t.student_id: 0 for t in tasks}
        running = {}
        ac = as_completed(loop=client.loop)

        def window():
            return 2 * self.cores + 2  # enough queued on every worker, not the whole class at once

        def submit(task):
            nonlocal shared
            if shared.status != "finished":  # every worker holding the files is gone: send them again
                shared = client.scatter([blob], broadcast=True, hash=False)[0]
            attempts[task.student_id] += 1
            fut = client.submit(grade_remote, remote_task(task), shared, pure=False,
                                key=f"grade-{task.student_id}-{uuid.uuid4().hex[:8]}")
            running[fut.key] = (fut, task)
            ac.add(fut)

        class Bar(tqdm):
            monitor_interval = 0

        limit = window()
        try:
            with Bar(total=len(tasks), file=sys.stderr, unit="submission", disable=quiet,
                     desc="grading") as bar:
                while queue and len(running) < limit:
                    submit(queue.pop())
                done = 0
                while running:
                    fut = next(ac)
                    _, task = running.pop(fut.key)
                    try:
                        result = fut.result()
                    except Exception as exc:
                        if _lost(exc) and attempts[task.student_id] < 2:
                            try:
                                submit(task)
                                continue
                            except Exception as again:
                                exc = again
                        result = Result.failed(task, _cluster_failure(exc))
                    fut.release()
                    if result.host:
                        self.hosts.add(result.host)
                    self.worker_protections.update(result.protections)
                    finish(task, result)
                    bar.update(1)
                    done += 1
                    if done % 25 == 0:
                        limit = window()
                    while queue and len(running) < limit:
                        submit(queue.pop())
        finally:
            pending = [f for f, _ in running.values()]
            if pending:  # interrupted: the cluster stops grading for a command that is gone
                try:
                    client.cancel(pending)
                except Exception:
                    pass
            try:
                shared.release()
            except Exception:
                pass


# --------------------------------------------------------------------------- worker side
_LOCK = threading.Lock()   # grade_one keeps per-process state: one submission at a time per process
_SCRATCH: dict = {}        # this worker process's private scratch folder and unpacked assignments


def _scratch_root():
    """This worker process's private scratch folder (removed when it exits; a stale one, by the
    next grade command on this machine, as for the local pool)."""
    root = _SCRATCH.get("root")
    if root and os.path.isdir(root):
        return root
    from .prepare import OWNER_FILE, SCRATCH_PREFIX, remove_stale_scratch
    remove_stale_scratch(tempfile.gettempdir())
    root = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    os.chmod(root, 0o711)
    with open(os.path.join(root, OWNER_FILE), "w") as fh:
        fh.write(str(os.getpid()))
    _SCRATCH.clear()
    _SCRATCH["root"] = root
    atexit.register(shutil.rmtree, root, True)
    return root


def _safe_join(base, rel):
    path = os.path.normpath(os.path.join(base, rel))
    if os.path.isabs(rel) or not path.startswith(base + os.sep):
        raise ValueError(f"a file of the assignment has a path outside its folder: {rel!r}")
    return path


def _unpacked(blob):
    """``(template_db, release_dir)`` of ``blob`` in this worker's scratch folder (unpacked once)."""
    root = _scratch_root()
    key = "assignment-" + blob["digest"]
    if key in _SCRATCH:
        return _SCRATCH[key]
    base = os.path.join(root, key)
    if os.path.isdir(base):
        shutil.rmtree(base)
    template = os.path.join(base, "template")
    os.makedirs(template, mode=0o700)
    os.chmod(base, 0o700)
    template_db = os.path.join(template, "gradebook.db")
    with open(template_db, "wb") as fh:
        fh.write(zlib.decompress(blob["gradebook"]))
    release_dir = os.path.join(template, "release", blob["assignment"])
    os.makedirs(release_dir)
    for rel, data in blob["release"].items():
        path = _safe_join(release_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    _SCRATCH[key] = (template_db, release_dir)
    return _SCRATCH[key]


def _plan(limits, scratch_root):
    """The sandbox for code-based assignments, probed once on this worker (None: answers as data)."""
    if limits is None:
        return None
    key = ("plan", limits["memory_mb"], limits["cpu_seconds"])
    if key not in _SCRATCH:
        from .sandbox import probe_sandbox
        hides = []
        try:
            from distributed import get_worker
            hides.append(get_worker().local_directory)  # the worker's spill folder: other submissions
        except Exception:
            pass
        _SCRATCH[key] = probe_sandbox(hides=hides, scratch_root=scratch_root, **limits)
    return _SCRATCH[key]


def _environment_problem(plan, scratch_root, release_dir, timeout, digest):
    """The coordinator's environment check (:mod:`.envcheck`), run once on this worker per assignment
    and sandbox: a worker whose sandbox cannot import what the assignment needs would otherwise
    give every student it grades 0. ``""`` when the check passes (or nothing runs code)."""
    if plan is None:
        return ""
    key = ("environment", digest, plan.memory_mb, plan.cpu_seconds)
    if key not in _SCRATCH:
        from .envcheck import check_environment
        _SCRATCH[key] = check_environment(plan, scratch_root, release_dir, timeout) or ""
    return _SCRATCH[key]


def _hold_for_tests(student):
    spec = os.environ.get(HOLD_ENV, "")
    sid, _, folder = spec.partition(":")
    if not spec or sid != student:
        return
    with open(os.path.join(folder, f"started-{os.getpid()}"), "w") as fh:
        fh.write(student)
    deadline = time.monotonic() + 300
    while not os.path.exists(os.path.join(folder, "go")) and time.monotonic() < deadline:
        time.sleep(0.05)


def grade_remote(task, blob):
    """Grade one submission on a worker: the same :func:`~course.grading.worker.grade_one` as the
    local pool, in this worker's own scratch folder; returns its result (plain data)."""
    from .worker import grade_one
    with _LOCK:
        template_db, release_dir = _unpacked(blob)
        scratch = _scratch_root()
        plan = _plan(task.sandbox_limits, scratch)
        problem = _environment_problem(plan, scratch, release_dir, task.timeout, blob["digest"])
        if problem:  # this machine cannot grade the assignment: not the student's fault, tried again
            return Result.failed(task, f"the grading machine {socket.gethostname()} cannot run this assignment "
                                       f"({problem}); it will be graded again on the next run")
        local = task.replace(template_db=template_db, release_dir=release_dir, scratch_root=scratch,
                             plan=plan, bin_dir=os.path.dirname(sys.executable), sandbox_limits=None)
        _hold_for_tests(task.student_id)
        path = os.environ.get("PATH")
        try:
            result = grade_one(local)
        finally:  # grade_one puts its bin folder first on PATH: not once per submission in a long-lived worker
            if path is None:
                os.environ.pop("PATH", None)
            else:
                os.environ["PATH"] = path
        result.host = socket.gethostname()
        if plan is not None:
            result.protections = list(plan.protections)
        return result


def dask_setup(worker):  # pragma: no cover - run by 'dask worker --preload course.grading.cluster'
    """Import the grader when the worker starts (``--preload course.grading.cluster``), not with its first submission."""
    from .worker import preload
    preload()
