"""The notebooks as files: committed without outputs, valid nbformat, kernel python3, no secrets.

Running them top to bottom is pytest's ``--nbmake`` job (``notebooks/`` is in testpaths);
these tests check what can be checked without running them.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
IDS = [p.relative_to(NOTEBOOKS_DIR).as_posix() for p in NOTEBOOKS]

# Things that must never appear in a code cell: the lab supplies fake credentials itself,
# so code that names a key, a secret or a profile is reaching for the real AWS. Key-like
# strings are refused in markdown cells too; prose may still say "your ~/.aws files".
SECRET_PATTERNS = {
    "an access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a credentials variable": re.compile(
        r"AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE|"
        r"DEFAULT_PROFILE|SHARED_CREDENTIALS_FILE|CONFIG_FILE)"
    ),
    "a credentials argument": re.compile(
        r"\b(aws_access_key_id|aws_secret_access_key|aws_session_token|profile_name)\s*="
    ),
    "an AWS profile file": re.compile(r"~/\.aws|\.aws/(credentials|config)\b"),
    "a secret access key": re.compile(
        r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*\d)(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
    ),
}
KEY_LIKE = ("an access key id", "a secret access key")


def _read(path: Path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"00-start-here.ipynb", "01-organizations.ipynb"} <= names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_valid_nbformat_4_with_kernel_python3(path):
    nb = _read(path)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{path.name}: kernelspec name {kernel!r}, expected 'python3'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_without_outputs(path):
    nb = _read(path)
    dirty = [
        f"cell {i} ({'outputs' if cell.get('outputs') else 'execution_count'})"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: clear outputs before committing: {', '.join(dirty)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_names_no_credentials_or_profiles(path):
    nb = _read(path)
    found = [
        f"cell {i}: {what} ({match.group(0)!r})"
        for i, cell in enumerate(nb.cells)
        for what, pattern in SECRET_PATTERNS.items()
        if cell.cell_type == "code" or what in KEY_LIKE
        for match in [pattern.search(cell.source)]
        if match
    ]
    assert not found, f"{path.name}: " + "; ".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_cells_are_introduced_by_markdown(path):
    """Tiny cells, each introduced by a sentence: no two code cells in a row."""
    nb = _read(path)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds[0] == "markdown", f"{path.name}: should open with a markdown title"
    # A step of one-line calls may run on (three sibling OUs in a row), but not further.
    run = 0
    for i, kind in enumerate(kinds):
        run = run + 1 if kind == "code" else 0
        assert run <= 3, f"{path.name}: four code cells in a row ending at cell {i}; introduce each"


def test_solution_cells_are_tagged_and_followed_by_a_check():
    """Exercises: each solution cell is tagged ``solution`` and the next code cell checks it."""
    nb = _read(NOTEBOOKS_DIR / "01-organizations.ipynb")
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    solutions = [i for i, cell in enumerate(code_cells) if "solution" in cell.metadata.get("tags", [])]
    assert len(solutions) >= 2, "01-organizations should carry at least two exercises"
    for i in solutions:
        following = code_cells[i + 1].source
        assert re.match(r"check_\w+\(lab\)", following), (
            f"solution cell {i} is followed by {following!r}, not a check_...(lab) cell"
        )


def test_organizations_notebook_writes_the_boto3_calls_it_teaches():
    nb = _read(NOTEBOOKS_DIR / "01-organizations.ipynb")
    source = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    for call in (
        'org = lab.session("management").client("organizations")',
        'org.create_organization(FeatureSet="ALL")',
        "org.list_roots()",
        "org.create_organizational_unit(",
        "org.create_account(",
        "org.describe_create_account_status(",
        "org.move_account(",
        "org_tree(lab)",
        "snapshot(",
        ".to_yaml()",
        'load_design("recommended")',
        "except ClientError",
    ):
        assert call in source, f"01-organizations no longer shows {call}"


@pytest.mark.parametrize(
    "source, caught",
    [
        ('boto3.Session(profile_name="prod")', True),
        ('os.environ["AWS_PROFILE"] = "prod"', True),
        ('key = "AKIAIOSFODNN7EXAMPLE"', True),
        ('secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', True),
        ('open(os.path.expanduser("~/.aws/credentials"))', True),
        ('org = lab.session("management").client("organizations")', False),
        ('check_foundational_ous(lab)', False),
    ],
)
def test_secret_patterns_catch_what_they_should(source, caught):
    hits = [what for what, pattern in SECRET_PATTERNS.items() if pattern.search(source)]
    assert bool(hits) is caught, (source, hits)


def test_student_version_checks_say_what_is_wrong():
    """Blank the cells tagged ``solution`` (the student version) and run the notebook: each
    check right after a blanked exercise reports what is still to fix instead of passing."""
    from nbclient import NotebookClient

    nb = _read(NOTEBOOKS_DIR / "01-organizations.ipynb")
    checks_after_solution = []
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for i, cell in enumerate(code_cells):
        if "solution" in cell.metadata.get("tags", []):
            cell.source = "# your answer here"
            checks_after_solution.append(code_cells[i + 1])
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={
        "metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
    for check in checks_after_solution:
        html = "".join(out.get("data", {}).get("text/html", "") for out in check.outputs)
        assert "to fix" in html and "passed" not in html, f"{check.source}: {html[:300]}"
