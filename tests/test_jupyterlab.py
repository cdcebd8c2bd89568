"""``./scripts/lab`` leaves JupyterLab ready with every notebook runnable.

A real JupyterLab server is started the way ``scripts/lab`` starts it (``jupyter lab
--notebook-dir=...`` from this venv, with the venv's ``bin`` first on PATH), except that it
serves a temporary copy of ``notebooks/`` (nothing is written back), listens on 127.0.0.1 at
a port the system picks, uses a random token, opens no browser and checks no news or updates.
Everything is then checked through its REST API on loopback: the lab page, the contents
listing, and a ``python3`` kernel that imports labkit.

JupyterLab options: https://jupyterlab.readthedocs.io/en/stable/user/announcements.html
(news and update checks); REST API: https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html
"""
from __future__ import annotations

import ast
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOK_NAMES = sorted(
    p.relative_to(NOTEBOOKS_DIR).as_posix()
    for p in NOTEBOOKS_DIR.rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
STARTUP_SECONDS = 30
# Never through a proxy: every request here goes to 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

pytestmark = pytest.mark.jupyter_server


@dataclass(frozen=True, kw_only=True)
class Server:
    """A running JupyterLab server and how to talk to it."""

    process: subprocess.Popen
    url: str
    token: str
    runtime_dir: Path
    root_dir: Path
    log: Path

    def request(self, method: str, path: str, body: dict | None = None):
        """(status, parsed JSON or text) of one authenticated request to the server."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url.rstrip("/") + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with _OPENER.open(req, timeout=10) as response:
                status, raw, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers.get_content_type()
        text = raw.decode("utf-8", "replace")
        return status, (json.loads(text) if kind == "application/json" and text else text)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _server_command(root_dir: Path, token: str) -> list[str]:
    """The command of ``scripts/lab``, with the options a test run needs."""
    command = [
        sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={root_dir}",
        "--no-browser", "--ip=127.0.0.1", "--port=0", f"--IdentityProvider.token={token}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def _wait_for_server(process: subprocess.Popen, runtime_dir: Path, log: Path, token: str) -> dict:
    """The server's info file (url, port, token) once it answers; a clear failure otherwise."""
    info_file = runtime_dir / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode} before answering:\n"
                        f"{log.read_text(errors='replace')[-4000:]}")
        if info_file.exists():
            try:
                info = json.loads(info_file.read_text())
                status = urllib.request.Request(
                    info["url"] + "api/status", headers={"Authorization": f"token {token}"})
                _OPENER.open(status, timeout=2).close()
                return info
            except (ValueError, OSError):
                pass  # written half-way, or not listening yet
        time.sleep(0.1)
    pytest.fail(f"jupyter lab did not answer within {STARTUP_SECONDS} s:\n"
                f"{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyterlab")
    root_dir = base / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    runtime_dir, config_dir, ipython_dir = base / "runtime", base / "config", base / "ipython"
    token = secrets.token_hex(24)
    env = dict(os.environ)
    env.update(
        # As scripts/lab does: the venv's programs first.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        # Keep the learner's own Jupyter and IPython settings and state out of it.
        JUPYTER_RUNTIME_DIR=str(runtime_dir), JUPYTER_CONFIG_DIR=str(config_dir),
        IPYTHONDIR=str(ipython_dir),
    )
    log = base / "server.log"
    with log.open("wb") as log_stream:
        process = subprocess.Popen(_server_command(root_dir, token), cwd=base, env=env,
                                   stdout=log_stream, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        info = _wait_for_server(process, runtime_dir, log, token)
        yield Server(process=process, url=info["url"], token=token, runtime_dir=runtime_dir,
                     root_dir=root_dir, log=log)
    finally:
        _shut_down(process, token, runtime_dir)


def _shut_down(process: subprocess.Popen, token: str, runtime_dir: Path) -> None:
    """Ask the server to stop (it stops its kernels too); terminate it if it will not."""
    info_file = runtime_dir / f"jpserver-{process.pid}.json"
    if process.poll() is None and info_file.exists():
        try:
            url = json.loads(info_file.read_text())["url"] + "api/shutdown"
            request = urllib.request.Request(url, method="POST",
                                             headers={"Authorization": f"token {token}"})
            _OPENER.open(request, timeout=5).close()
        except (OSError, ValueError):
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_server_listens_on_loopback_only(server):
    assert server.url.startswith("http://127.0.0.1:"), server.url


def test_lab_page_answers(server):
    status, page = server.request("GET", "/lab")
    assert status == 200, f"/lab answered {status}:\n{server.log_text()}"
    assert "JupyterLab" in page, page[:500]


def test_api_refuses_requests_without_the_token(server):
    request = urllib.request.Request(server.url + "api/contents")
    with pytest.raises(urllib.error.HTTPError) as refused:
        _OPENER.open(request, timeout=5)
    assert refused.value.code == 403


def test_contents_lists_every_notebook(server):
    assert NOTEBOOK_NAMES, "notebooks/ holds no notebook"
    status, listing = server.request("GET", "/api/contents")
    assert status == 200, listing
    listed = {item["path"] for item in listing["content"] if item["type"] == "notebook"}
    top_level = {name for name in NOTEBOOK_NAMES if "/" not in name}
    assert top_level <= listed, f"not listed: {sorted(top_level - listed)}"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_opens_with_the_python3_kernel(server, name):
    status, model = server.request("GET", f"/api/contents/{name}")
    assert status == 200, f"{name}: {status} {model}"
    assert model["type"] == "notebook", model["type"]
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
    status, specs = server.request("GET", "/api/kernelspecs")
    assert "python3" in specs["kernelspecs"], sorted(specs["kernelspecs"])


def _execute(client, code: str) -> tuple[dict, list[dict]]:
    """Run ``code`` in the kernel; (the execute reply's content, its IOPub messages)."""
    messages: list[dict] = []
    reply = client.execute_interactive(code, timeout=30, output_hook=messages.append)
    return reply["content"], messages


def test_a_python3_kernel_starts_and_imports_labkit(server):
    from jupyter_client import BlockingKernelClient

    status, kernel = server.request("POST", "/api/kernels", {"name": "python3"})
    assert status == 201, f"starting a python3 kernel: {status} {kernel}\n{server.log_text()}"
    try:
        status, model = server.request("GET", f"/api/kernels/{kernel['id']}")
        assert status == 200 and model["name"] == "python3", model

        client = BlockingKernelClient()
        client.load_connection_file(str(server.runtime_dir / f"kernel-{kernel['id']}.json"))
        client.start_channels()
        try:
            client.wait_for_ready(timeout=30)
            reply, messages = _execute(
                client, "import labkit, sys; (labkit.__file__, sys.executable, labkit.Lab.__name__)")
        finally:
            client.stop_channels()
        assert reply["status"] == "ok", reply
        results = [m["content"]["data"]["text/plain"] for m in messages
                   if m["msg_type"] == "execute_result"]
        assert len(results) == 1, messages
        labkit_file, executable, lab_name = ast.literal_eval(results[0])
        assert Path(labkit_file).resolve().parent == ROOT / "labkit", labkit_file
        assert Path(executable).parent == Path(sys.executable).parent, executable
        assert lab_name == "Lab"

        status, model = server.request("GET", f"/api/kernels/{kernel['id']}")
        assert model["execution_state"] in ("idle", "busy"), model
    finally:
        status, _ = server.request("DELETE", f"/api/kernels/{kernel['id']}")
    assert status == 204, status
    status, kernels = server.request("GET", "/api/kernels")
    assert kernel["id"] not in {k["id"] for k in kernels}


def test_server_serves_a_copy_of_the_notebooks(server):
    """Nothing the server or a kernel writes (checkpoints, edits) lands in the repository."""
    status, _ = server.request("GET", "/api/status")
    assert status == 200
    info = json.loads((server.runtime_dir / f"jpserver-{server.process.pid}.json").read_text())
    assert Path(info["root_dir"]).resolve() == server.root_dir.resolve() != NOTEBOOKS_DIR
