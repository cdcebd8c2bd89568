"""The package's public face: an explicit API, no import-time side effects."""
import importlib
import subprocess
import sys

import labkit


def test_every_exported_name_resolves():
    for name in labkit.__all__:
        assert getattr(labkit, name) is not None, name


def test_all_is_sorted_and_unique():
    assert labkit.__all__ == sorted(set(labkit.__all__))


def test_import_has_no_side_effects():
    code = (
        "import sys, labkit; "
        "heavy = [m for m in ('moto', 'boto3', 'pandas', 'graphviz') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import labkit loaded {out.stdout.strip()}"


def test_cli_lists_commands(capsys):
    from labkit.cli import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("validate", "diagrams", "policy"):
        assert name in out


def test_cli_rejects_unknown_command(capsys):
    from labkit.cli import main

    assert main(["nonsense"]) == 2
    assert "unknown command 'nonsense'" in capsys.readouterr().err


def test_operations_command_shows_gaps(capsys):
    from labkit.cli import main

    assert main(["operations", "sts", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("sts")
    assert "GetWebIdentityToken" in out  # an STS call the map leaves to the fallback


def test_operations_command_rejects_unknown_service(capsys):
    from labkit.cli import main

    assert main(["operations", "nosuch"]) == 2
    assert "unknown boto3 service 'nosuch'" in capsys.readouterr().out


def test_the_documented_example_cases_give_their_expected_decisions(capsys):
    """docs/examples/policy-cases.jsonl (from the shared handwritten cases) is what the
    README tells a newcomer to run; each line must come out as it expects."""
    import json
    from pathlib import Path

    from labkit.cli import main

    path = Path(__file__).parents[1] / "docs" / "examples" / "policy-cases.jsonl"
    expected = [json.loads(line)["expected"] for line in path.read_text().splitlines() if line]
    assert main(["policy", "simulate", str(path)]) == 0
    got = [json.loads(line)["decision"] for line in capsys.readouterr().out.splitlines()]
    assert got == expected
