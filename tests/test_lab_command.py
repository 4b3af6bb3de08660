"""The README's lab command starts JupyterLab and serves the start page, without instructor panels."""

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

ROOT = Path(__file__).resolve().parents[1]


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
    finally:
        # Stop the server and anything it started (kernels), then check nothing is left behind.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
