"""Prove the grading environment before anyone is graded.

A kernel that cannot import what the assignment needs fails every student the same way
(``ModuleNotFoundError`` in the first cell: every student scores 0), and nothing in the
grades says that the environment, not the class, was at fault. So before grading, the
command runs one known-good notebook in the real sandbox, exactly as a student's kernel
runs (same user id, same sandbox, same limits, the released files beside it):

1. it imports every module the assignment's notebooks import (found with :mod:`ast` in
   their code cells);
2. it passes a trivial check (prints a number the grader computed).

If either fails, :func:`check_environment` returns a message naming the cause, for
example a module the grader can import but the sandbox cannot, a folder the sandbox user
cannot read, or a kernel that does not start, and the command stops (exit 2) having
graded and recorded no one.
"""
from __future__ import annotations

import ast
import glob
import importlib.util
import os
import shutil
import stat

__all__ = ["imported_modules", "check_environment"]

#: What the trivial check prints (computed here, compared with the kernel's output).
_CHECK_CODE, _CHECK_OUT = "print(sum(range(10)) * 7)", str(sum(range(10)) * 7)


def imported_modules(notebooks):
    """Absolute module names the code cells of ``notebooks`` import at their top level, sorted."""
    names = set()
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
            try:
                tree = ast.parse("\n".join(lines))
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module)
    return sorted(names)


def _check_notebook(modules):
    import nbformat
    code = ("import importlib\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n")
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code),
                                           nbformat.v4.new_code_cell(_CHECK_CODE)])


def _unreadable(path, start="/"):
    """The first folder on the way to ``path`` (below ``start``) others cannot enter, or ``path`` if
    others cannot read it; None when the sandbox user can read it."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    first = len(start.rstrip(os.sep).split(os.sep)) if start != "/" else 2
    for i in range(max(2, first), len(parts) + 1):
        sub = os.sep.join(parts[:i])
        try:
            mode = os.stat(sub).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return sub, mode
        if not stat.S_ISDIR(mode) and not mode & stat.S_IROTH:
            return sub, mode
    return None


def _inside(path, folders):
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _diagnose_missing(module, plan):
    """Why the sandbox cannot import ``module`` although it may be importable here."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return (f"the assignment imports '{module}', which is not installed for the Python that grades "
                f"(install it into this environment, or remove the import from the solutions)")
    origin = os.path.realpath(spec.origin)
    where = os.path.dirname(origin) if os.path.basename(origin) == "__init__.py" else origin
    start = "/"
    if plan is not None and plan.kind == "bwrap":
        allowed = [os.path.realpath(p) for p in plan.bwrap[1:]]
        start = next((a for a in allowed if _inside(origin, [a])), None)
        if start is None:
            return (f"the assignment imports '{module}', which the grader imports from {where}, but that "
                    "folder is not inside the sandbox (only the Python environment, the course package and "
                    "the assignment's released files are): install it into the Python environment or ship "
                    "it with the assignment's files")
    blocked = _unreadable(origin, start)  # bound folders: only what lies below them counts
    if blocked and (plan is None or plan.drop_user):
        path, mode = blocked
        return (f"the sandbox user cannot read the course folder {path} (mode {stat.S_IMODE(mode):04o}), "
                f"where '{module}' is ({where}): make it readable to others (chmod o+rx on folders, o+r on "
                "files) or keep the course in a folder others can enter")
    return (f"the sandbox cannot import '{module}' (the grader imports it from {where}); "
            "check that it is installed in the Python environment the sandbox uses")


def check_environment(plan, scratch_root, release_dir, timeout=60):
    """Run the known-good notebook in the real sandbox; ``None`` when it passes, else the cause.

    ``release_dir`` holds the student version of the assignment (its notebooks say what must
    be importable; its other files are copied beside the kernel, as for a student).
    """
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    from .sandbox import SandboxKernelManager, kernel_config, kill_uid, make_box, new_sandbox_uid
    from .worker import _copy_release_files

    notebooks = [nbformat.read(p, as_version=4) for p in sorted(glob.glob(os.path.join(release_dir, "*.ipynb")))]
    modules = imported_modules(notebooks)
    uid = new_sandbox_uid() if plan.drop_user else None
    box = make_box(scratch_root, "environment-check", uid)
    nb = _check_notebook(modules)
    try:
        _copy_release_files(release_dir, os.path.join(box, "work"), uid)
        km = SandboxKernelManager(kernel_name="python3", **kernel_config(plan, box, uid))
        client = NotebookClient(nb, km=km, timeout=max(60, int(timeout)), allow_errors=True,
                                startup_timeout=120, shutdown_kernel="immediate",
                                resources={"metadata": {"path": os.path.join(box, "work")}})
        try:
            client.execute()
        except Exception as exc:  # the kernel did not start or died: the sandbox itself failed
            return f"a kernel could not run in the sandbox ({type(exc).__name__}: {str(exc)[:300]})"
        finally:
            try:
                asyncio.set_event_loop(None)
            except Exception:  # pragma: no cover
                pass
    finally:
        kill_uid(uid)
        shutil.rmtree(os.path.dirname(box), ignore_errors=True)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            ename, evalue = out.get("ename", ""), out.get("evalue", "")
            if ename == "ModuleNotFoundError" and "'" in evalue:
                return _diagnose_missing(evalue.split("'")[1], plan)
            if ename == "PermissionError":
                return f"the sandbox user cannot read a file the assignment needs ({evalue})"
            return f"the check notebook failed in the sandbox: {ename}: {evalue}"[:500]
    printed = "".join(o.get("text", "") for o in nb.cells[1].get("outputs", []) if o.get("output_type") == "stream")
    if printed.strip() != _CHECK_OUT:
        return (f"a trivial check in the sandbox printed {printed.strip()[:100]!r} instead of {_CHECK_OUT!r}: "
                "the kernel does not run code normally")
    return None
