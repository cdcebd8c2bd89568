"""The install routes keep their promises: environment.yml, the scripts and CI.

* ``environment.yml`` (the conda route) installs what ``pyproject.toml`` asks for: every
  runtime dependency and every ``lab`` / ``test`` extra, under its conda-forge name, with
  version bounds that agree with pyproject's where both state one.
* The README's two commands exist, are executable, parse as bash, and do what they say:
  ``scripts/lab`` runs setup then ``jupyter lab --notebook-dir=notebooks``; ``scripts/test``
  runs setup then ``python -m pytest``; ``.ci/run`` runs the README's test command.

The scripts are run for real, in a copy of the tree whose ``scripts/setup`` and ``.venv``
programs only record how they were called (setting up a real venv takes a minute and PyPI).
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ("scripts/setup", "scripts/lab", "scripts/test", ".ci/run")
#: scripts/lab adds --allow-root when run as root (JupyterLab refuses root otherwise).
ROOT_FLAG = " --allow-root" if os.geteuid() == 0 else ""

# PyPI distribution -> the conda-forge packages that provide it. Everything not listed has
# the same name on both (compared after PEP 503 normalisation: PyYAML == pyyaml).
CONDA_NAMES = {
    # PyPI "graphviz" is the Python bindings; on conda-forge those are "python-graphviz"
    # and "graphviz" is the C toolkit with the dot executable.
    # https://anaconda.org/conda-forge/python-graphviz , https://pypi.org/project/graphviz/
    "graphviz": ("python-graphviz",),
    # graphviz-pure is the no-root stand-in for the dot executable; conda ships the real one.
    # https://anaconda.org/conda-forge/graphviz
    "graphviz-pure": ("graphviz",),
}
# moto's extras: [server] runs moto as a local endpoint for the AWS CLI (Flask app with CORS);
# the other packages of moto[s3] / moto[server] come with conda-forge's moto or are unused.
# http://docs.getmoto.org/en/latest/docs/server_mode.html
EXTRA_NAMES = {("moto", "server"): ("flask", "flask-cors")}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _conda_requirement(spec: str) -> tuple[str, SpecifierSet]:
    """Split a conda match spec (``moto>=5.2.5,<5.3``, ``python=3.11``) into name and a
    PEP 440 specifier set. conda's ``=3.11`` means ``3.11.*``.
    https://docs.conda.io/projects/conda-build/en/stable/resources/package-spec.html"""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, f"environment.yml: cannot read dependency {spec!r}"
    name, version = match.groups()
    version = version.replace(" ", "")
    if re.fullmatch(r"=[^=<>!].*", version):
        version = f"=={version[1:].rstrip('.*')}.*"
    return canonicalize_name(name), SpecifierSet(version)


def _conda_packages(env: dict) -> dict[str, SpecifierSet]:
    return dict(_conda_requirement(d) for d in env["dependencies"] if isinstance(d, str))


def _pip_lines(env: dict) -> list[str]:
    pips = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pips) == 1, "environment.yml: expected exactly one pip: section"
    return pips[0]


def _installed_by_environment(env: dict) -> dict[str, SpecifierSet]:
    packages = _conda_packages(env)
    for line in _pip_lines(env):
        if not line.startswith("-"):
            req = Requirement(line)
            packages[canonicalize_name(req.name)] = req.specifier
    return packages


def _wanted_by_pyproject(project: dict) -> list[Requirement]:
    extras = project.get("optional-dependencies", {})
    return [Requirement(r) for r in (*project["dependencies"], *extras["lab"], *extras["test"])]


def _compatible(a: SpecifierSet, b: SpecifierSet) -> bool:
    """Whether some version satisfies both sets: try every version either one names, and
    one just above each (between an exclusive lower bound and the next named version)."""
    named = {Version(s.version.rstrip(".*")) for s in (*a, *b)}
    candidates = named | {Version(f"{v}.1") for v in named} | {Version(f"{v}.0.1") for v in named}
    if not named:
        return True
    return any(a.contains(v, prereleases=True) and b.contains(v, prereleases=True)
               for v in candidates)


@pytest.mark.parametrize(
    "a, b, compatible",
    [
        (">=5.2.5,<5.3", ">=5.2.5,<5.3", True),
        (">=4.2,<5", "", True),
        (">=2.1,<4", ">=4", False),
        ("==3.11.*", ">=3.10", True),
        ("==3.9.*", ">=3.10", False),
        (">5.2", "<5.3", True),
    ],
)
def test_compatible_bounds_helper(a, b, compatible):
    assert _compatible(SpecifierSet(a), SpecifierSet(b)) is compatible


def test_environment_yml_is_a_conda_forge_environment():
    env = _environment()
    assert env.get("name"), "environment.yml: no name"
    assert env.get("channels") == ["conda-forge"], f"channels: {env.get('channels')}"
    packages = _conda_packages(env)
    for needed in ("python", "graphviz", "python-graphviz", "pip"):
        assert needed in packages, f"environment.yml: {needed} is not among the conda packages"
    assert "-e ." in _pip_lines(env), "environment.yml: pip does not install labkit (-e .)"


def test_environment_python_meets_requires_python():
    python = _conda_packages(_environment())["python"]
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert _compatible(python, requires), f"environment.yml python{python} vs requires-python {requires}"


def _dependency_cases():
    return [pytest.param(r, id=str(r)) for r in _wanted_by_pyproject(_pyproject()["project"])]


@pytest.mark.parametrize("requirement", _dependency_cases())
def test_pyproject_dependency_is_in_environment_yml(requirement: Requirement):
    installed = _installed_by_environment(_environment())
    name = canonicalize_name(requirement.name)
    conda_names = CONDA_NAMES.get(name, (name,))
    for conda_name in conda_names:
        assert conda_name in installed, (
            f"pyproject.toml wants {requirement}; environment.yml has no {conda_name}")
        if conda_names == (name,):  # same package on both sides: the bounds must agree
            assert _compatible(requirement.specifier, installed[conda_name]), (
                f"{name}: pyproject.toml says {requirement.specifier}, "
                f"environment.yml says {installed[conda_name]}; no version satisfies both")
    for extra in sorted(requirement.extras):
        for needed in EXTRA_NAMES.get((name, extra), ()):
            assert needed in installed, (
                f"pyproject.toml wants {requirement} (extra {extra!r}); environment.yml has no {needed}")


def test_every_environment_package_is_known_to_pyproject():
    """The reverse direction: environment.yml installs nothing pyproject does not explain."""
    wanted = _wanted_by_pyproject(_pyproject()["project"])
    explained = {"python", "pip", "graphviz", "python-graphviz"}
    for req in wanted:
        name = canonicalize_name(req.name)
        explained.update(CONDA_NAMES.get(name, (name,)))
        for extra in req.extras:
            explained.update(EXTRA_NAMES.get((name, extra), ()))
    extra = sorted(set(_installed_by_environment(_environment())) - explained)
    assert not extra, f"environment.yml installs {extra}, which pyproject.toml does not ask for"


# -- the scripts -----------------------------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_executable_and_parses(script):
    path = ROOT / script
    assert path.is_file(), f"{script} is missing"
    assert path.stat().st_mode & stat.S_IXUSR, f"{script} is not executable (chmod +x {script})"
    assert path.read_text().startswith("#!/usr/bin/env bash"), f"{script}: no bash shebang"
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, f"bash -n {script}: {result.stderr}"


def _readme_commands() -> list[str]:
    """The commands of the README's first code block, comments and blanks removed."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)
    assert block, "README.md has no code block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_readme_opens_with_exactly_two_commands():
    commands = _readme_commands()
    assert commands == ["./scripts/lab", "./scripts/test"], commands


def _fake_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the scripts in which setup and the venv's programs record their argv."""
    tree = tmp_path / "tree"
    log = tmp_path / "calls.log"
    for script in SCRIPTS:
        (tree / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / script, tree / script)
    (tree / "notebooks").mkdir()
    recorder = f'#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "{log}"\n'
    fakes = [tree / "scripts/setup", tree / ".venv/bin/jupyter", tree / ".venv/bin/python"]
    for fake in fakes:
        fake.parent.mkdir(parents=True, exist_ok=True)
        fake.write_text(recorder)
        fake.chmod(0o755)
    return tree, log


def _run(tree: Path, command: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    # Run from outside the tree: the scripts must find their own directory.
    return subprocess.run([str(tree / command), *args], cwd=tree.parent, env=env,
                          capture_output=True, text=True, timeout=30)


def test_scripts_lab_runs_setup_then_jupyterlab_on_notebooks(tmp_path):
    tree, log = _fake_tree(tmp_path)
    result = _run(tree, "scripts/lab", "--no-browser", "--port=8899")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        "setup ",
        f"jupyter lab --notebook-dir={tree / 'notebooks'}{ROOT_FLAG} --no-browser --port=8899",
    ], calls


def test_scripts_test_runs_setup_then_pytest_with_arguments(tmp_path):
    tree, log = _fake_tree(tmp_path)
    result = _run(tree, "scripts/test", "-q", "tests/test_environment.py")
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["setup ", "python -m pytest -q tests/test_environment.py"]


def test_ci_runs_the_readme_test_command(tmp_path):
    """.ci/run calls ``./scripts/test`` (the README's second command) and nothing else."""
    test_command = _readme_commands()[1]
    ci_lines = [line.split("#", 1)[0].strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    commands = [line for line in ci_lines if line and not line.startswith(("set ", "cd "))]
    assert commands in ([f"exec {test_command}"], [test_command]), commands
    tree, log = _fake_tree(tmp_path)
    result = _run(tree, ".ci/run")
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["setup ", "python -m pytest"]


def test_setup_failure_stops_the_lab(tmp_path):
    """``set -e``: when setup fails, scripts/lab does not go on to start JupyterLab."""
    tree, log = _fake_tree(tmp_path)
    (tree / "scripts/setup").write_text('#!/usr/bin/env bash\necho "setup: no python" >&2\nexit 3\n')
    result = _run(tree, "scripts/lab")
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert "setup: no python" in result.stderr
    assert not log.exists(), log.read_text()
