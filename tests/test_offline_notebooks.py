"""THE test of "no network": every notebook runs top to bottom with nothing leaving the machine.

pytest's ``--nbmake`` also runs the notebooks; this test runs them again in a kernel that
*cannot* reach the network, so a passing run proves the lab needed none:

* an IPython startup file (in a temporary ``IPYTHONDIR``) wraps ``socket.socket.connect``
  and ``socket.create_connection`` and installs an audit hook (``sys.addaudithook``, which
  no later code can remove) on ``socket.connect``, ``socket.sendto``, ``socket.getaddrinfo``
  and friends: any host that is not loopback is refused with ``ConnectionRefusedError`` and
  the attempt is recorded in a file the test reads afterwards;
* the kernel's environment carries real-looking credentials (``AKIA...``), a profile and a
  fake ``HOME`` whose ``~/.aws/credentials`` and ``~/.aws/config`` name them: the lab must
  ignore all of it, so the audit hook also records every open of a file under ``~/.aws``.

Each notebook must reach an appended last cell, and the record must show zero attempts.
A canary notebook shows the guard is live: a raw socket, urllib and a boto3 client made
outside the lab are refused and recorded, while loopback connections still work.

How boto3 finds credentials and profile files (what the fake HOME would feed it):
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html
Audit events: https://docs.python.org/3/library/audit_events.html
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IDS = [p.relative_to(NOTEBOOKS_DIR).as_posix() for p in NOTEBOOKS]

# Real-looking, never real: the shapes of an IAM user's access key id and secret key.
FAKE_KEY_ID = "AKIA" + "TESTONLYNOTREAL1"
FAKE_SECRET = "tEsTonly/notReal+" + "x" * 23
FAKE_PROFILE_KEY_ID = "AKIA" + "PROFILEONLYFAKE2"

pytestmark = pytest.mark.offline

# A module imported by the kernel's startup file, before any cell runs (a module of its own:
# the notebook's namespace can be reset, its own globals cannot). Reads its record file
# from the environment.
GUARD = r'''
import ipaddress, json, os, socket, sys

_RECORD = os.environ["LABKIT_OFFLINE_RECORD"]
_AWS_DIR = os.path.join(os.path.realpath(os.path.expanduser("~")), ".aws")


def _record(**entry):
    with open(_RECORD, "a") as stream:
        stream.write(json.dumps(entry) + "\n")


def _on_machine(host):
    if host is None or isinstance(host, (bytes, str)) and not host:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_of(address):
    if isinstance(address, tuple) and address:
        return address[0]
    return None  # AF_UNIX paths and the like stay on the machine


def _refuse(kind, target, via):
    _record(kind=kind, target=repr(target), via=via)
    raise ConnectionRefusedError(f"offline test: {kind} to {target!r} refused (not loopback)")


_original_connect = socket.socket.connect
_original_create_connection = socket.create_connection


def _guarded_connect(self, address):
    if not _on_machine(_host_of(address)):
        _refuse("connect", address, "socket.socket.connect")
    return _original_connect(self, address)


def _guarded_create_connection(address, *args, **kwargs):
    if not _on_machine(_host_of(address)):
        _refuse("create_connection", address, "socket.create_connection")
    return _original_create_connection(address, *args, **kwargs)


_guarded_connect.offline_guard = True
socket.socket.connect = _guarded_connect
socket.create_connection = _guarded_create_connection

_HOST_EVENTS = {"socket.connect": 1, "socket.sendto": 1, "socket.getaddrinfo": 0,
                "socket.gethostbyname": 0, "socket.gethostbyaddr": 0}


def _audit(event, args):
    if event in _HOST_EVENTS:
        target = args[_HOST_EVENTS[event]]
        host = _host_of(target) if event in ("socket.connect", "socket.sendto") else target
        if not _on_machine(host):
            _refuse(event, target, "audit hook")
    elif event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        if path.startswith(_AWS_DIR) or os.path.realpath(path).startswith(_AWS_DIR):
            _record(kind="open", target=path, via="audit hook")


sys.addaudithook(_audit)
'''

STARTUP = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("offline_guard", {path!r})
sys.modules["offline_guard"] = module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
del importlib, spec, module
"""

# Appended to every notebook: proves the run reached the end with the guard still live
# (the wrapper in place and the audit hook refusing a lookup, recorded as the self-check).
SELF_CHECK_HOST = "offline-guard-self-check.invalid"
LAST_CELL = f"""\
import socket as _s, json as _j, os as _o
assert getattr(_s.socket.connect, "offline_guard", False), "the offline guard is not installed"
try:
    _s.getaddrinfo({SELF_CHECK_HOST!r}, 443)
    raise AssertionError("the offline guard's audit hook let a lookup through")
except ConnectionRefusedError:
    pass
with open(_o.environ["LABKIT_OFFLINE_RECORD"], "a") as _f:
    _f.write(_j.dumps({{"kind": "end"}}) + "\\n")
"""


@pytest.fixture
def offline(tmp_path):
    """(working directory, kernel environment, record file) of an offline kernel."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {FAKE_KEY_ID}\naws_secret_access_key = {FAKE_SECRET}\n"
        f"[prod]\naws_access_key_id = {FAKE_PROFILE_KEY_ID}\naws_secret_access_key = {FAKE_SECRET}\n")
    (home / ".aws" / "config").write_text(
        "[default]\nregion = eu-west-1\n[profile prod]\nregion = eu-central-1\n")
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (tmp_path / "offline_guard.py").write_text(GUARD)
    (startup / "00-offline-guard.py").write_text(STARTUP.format(path=str(tmp_path / "offline_guard.py")))
    record = tmp_path / "attempts.jsonl"
    record.touch()
    workdir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home), IPYTHONDIR=str(tmp_path / "ipython"), LABKIT_OFFLINE_RECORD=str(record),
        AWS_ACCESS_KEY_ID=FAKE_KEY_ID, AWS_SECRET_ACCESS_KEY=FAKE_SECRET, AWS_PROFILE="prod",
        AWS_DEFAULT_REGION="eu-west-1",
    )
    return workdir, env, record


def _run(nb, workdir: Path, env: dict) -> None:
    nb.cells.append(nbformat.v4.new_code_cell(LAST_CELL))
    NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=False,
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env)


def _records(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines() if line]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_to_the_end_without_network(path, offline):
    workdir, env, record = offline
    nb = nbformat.read(path, as_version=4)
    _run(nb, workdir, env)
    unrun = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"{path.name}: code cells {unrun} did not run"
    entries = _records(record)
    assert entries[-1:] == [{"kind": "end"}], f"{path.name} did not reach its last cell: {entries}"
    self_check = [e for e in entries if SELF_CHECK_HOST in e.get("target", "")]
    assert self_check, f"{path.name}: the guard's self-check was not recorded: {entries}"
    outside = [e for e in entries if e["kind"] != "end" and e not in self_check]
    assert not outside, (
        f"{path.name} tried to leave the machine or read ~/.aws:\n"
        + "\n".join(f"  {e['kind']} {e['target']} ({e['via']})" for e in outside))


CANARY = [
    # Outside the lab, each of these would reach the network; the guard refuses them.
    "import socket, urllib.request, boto3, botocore.config\n"
    "def refused(call):\n"
    "    try:\n"
    "        call()\n"
    "    except Exception as error:\n"
    "        chain = []\n"
    "        while error is not None and len(chain) < 10:\n"
    "            chain.append(repr(error))\n"
    "            error = error.__cause__ or error.__context__\n"
    "        return any('offline test' in text for text in chain)\n"
    "    return False\n"
    "once = botocore.config.Config(retries={'total_max_attempts': 1})",
    # The lab ignores the AKIA credentials and the profile, and answers offline.
    "from labkit import Lab\n"
    "with Lab() as lab:\n"
    "    session = lab.session('management')\n"
    "    key = session.get_credentials().access_key\n"
    "    caller = session.client('sts').get_caller_identity()\n"
    f"assert not key.startswith('AKIA') and key != {FAKE_PROFILE_KEY_ID!r}, key\n"
    "assert caller['Account'] == lab.management_account_id, caller",
    "import json, os\n"
    "with open(os.environ['LABKIT_OFFLINE_RECORD'], 'a') as f:\n"
    "    f.write(json.dumps({'kind': 'lab-done'}) + '\\n')",
    "assert refused(lambda: socket.create_connection(('192.0.2.1', 443), timeout=1))",
    "assert refused(lambda: socket.socket().connect(('192.0.2.1', 443)))",
    "assert refused(lambda: urllib.request.urlopen('https://example.com/', timeout=1))",
    "assert refused(lambda: boto3.client('sts', region_name='us-east-1', config=once).get_caller_identity())",
    # Loopback still works (the kernel itself and moto's server mode need it).
    "server = socket.create_server(('127.0.0.1', 0))\n"
    "socket.create_connection(server.getsockname(), timeout=1).close()\n"
    "server.close()",
]


def test_the_guard_refuses_and_records_outside_connections(offline):
    """The canary: without this, zero recorded attempts could mean a guard that never ran."""
    workdir, env, record = offline
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CANARY]
    _run(nb, workdir, env)
    entries = _records(record)
    assert entries[-1] == {"kind": "end"}, entries
    targets = " ".join(e.get("target", "") for e in entries)
    assert "192.0.2.1" in targets and "example.com" in targets, entries
    assert any("amazonaws.com" in e.get("target", "") for e in entries), entries
    assert not any("127.0.0.1" in e.get("target", "") for e in entries), entries
    # The lab read neither fake ~/.aws file; the boto3 client made outside it, later, read
    # both (so the notebooks' zero is meaningful).
    lab_done = entries.index({"kind": "lab-done"})
    assert entries[:lab_done] == [], entries
    opened = {Path(e["target"]).name for e in entries[lab_done:] if e["kind"] == "open"}
    assert opened == {"config", "credentials"}, entries
