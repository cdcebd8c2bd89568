"""Newcomer findings on the command line: clear one-line errors instead of tracebacks,
quiet exit on a closed pipe, helpful usage, `policy simulate --check`, your own diagrams,
and `labkit student` from any folder."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.cli import BROKEN_PIPE, COMMANDS, main, usage
from labkit.design import validate_command
from labkit.diagrams import diagrams_command
from labkit.policy.cli import main as policy_main
from labkit.student import student_command

REPO = Path(__file__).resolve().parents[1]
SHARED_CASES = REPO.parent / "shared" / "policy-cases"


def test_validate_a_directory_names_it(tmp_path, capsys):
    assert validate_command([str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{tmp_path}: is a directory, not a design file; give a .yaml file or a bundled design name\n"
    assert err == f"1 problem in {tmp_path}\n"


def test_validate_a_non_utf8_file_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("root:\n  accounts: []\n# caf\u00e9\n".encode("latin-1"))
    assert validate_command([str(path)]) == 1
    out = capsys.readouterr().out
    assert out == f"{path}:3: not UTF-8 text (byte 0xe9); save the design as UTF-8\n"


def test_validate_summary_uses_plurals(capsys):
    assert validate_command(["flat"]) == 0
    out = capsys.readouterr().out
    assert ", 1 policy," in out and "0 OUs" in out and "(s)" not in out


def test_student_out_naming_a_file_is_a_clear_error(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    assert student_command(["--out", str(target)]) == 1
    err = capsys.readouterr().err
    assert err == f"labkit student: {target}: exists and is not a directory; choose another --out directory\n"
    assert target.read_text() == "not a folder"


def test_student_finds_the_repository_notebooks_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no ./notebooks here
    assert student_command(["--out", "out"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").glob("*.ipynb"))
    assert written == sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb")) and written


def test_a_closed_pipe_ends_every_command_quietly():
    # the reader closes its end before the command writes: every write then fails
    proc = subprocess.Popen([sys.executable, "-m", "labkit", "operations", "--list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == BROKEN_PIPE
    assert err == ""


def test_no_command_prints_usage_to_stderr(capsys):
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("labkit: no command given\n\nusage: labkit COMMAND")
    assert main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: labkit COMMAND")


def test_unknown_command_suggests_the_closest(capsys):
    assert main(["validat"]) == 2
    assert capsys.readouterr().err.startswith("labkit: unknown command 'validat' (did you mean 'validate'?)")


def test_help_table_keeps_names_and_descriptions_apart():
    rows = [line for line in usage().splitlines() if line.startswith("  ")]
    assert [row.split()[0] for row in rows] == list(COMMANDS)
    starts = {len(row) - len(row[2:].split(" ", 1)[1].lstrip()) for row in rows}
    assert len(starts) == 1  # every description starts in the same column
    assert all(row[2:].split(" ", 1)[1].startswith(" ") for row in rows)  # two spaces at least


def test_policy_usage_names_labkit_policy_and_every_type(capsys):
    assert policy_main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: labkit policy COMMAND")
    assert "scp|rcp|identity|resource|trust" in out and "--check" in out


def _case(name, expected, action="s3:ListAllMyBuckets"):
    return json.dumps({"name": name, "request": {"principal": "arn:aws:iam::111111111111:user/a",
                                                 "action": action},
                       "identity_policies": [], "expected": expected})


def test_simulate_exits_1_when_every_case_is_an_error(tmp_path, capsys):
    path = tmp_path / "broken.jsonl"
    path.write_text('{broken\n{"name": "no-request"}\n')
    assert policy_main(["simulate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2  # the JSON lines, as without the fix
    assert err == "labkit policy simulate: none of the 2 cases could be evaluated\n"


def test_simulate_check_reports_mismatches_with_file_and_line(tmp_path, capsys):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(_case("right", "ImplicitlyDenied") + "\n" + _case("wrong", "Allowed") + "\n")
    two.write_text("{broken\n" + json.dumps({"name": "unchecked", "request": {
        "principal": "arn:aws:iam::111111111111:user/a", "action": "s3:ListAllMyBuckets"}}) + "\n")
    assert policy_main(["simulate", "--check", str(one), str(two)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"mismatch: {one} line 2: wrong: expected Allowed, got ImplicitlyDenied "
                        "(blocked by identity)")
    assert lines[1].startswith(f"error: {two} line 1 column 2: invalid JSON")
    assert lines[2] == ("checked 4 cases in 2 files: 1 as expected, 1 mismatch, 1 error, "
                        "1 without expected")
    assert policy_main(["simulate", "--check", str(one)]) == 1
    capsys.readouterr()
    one.write_text(_case("right", "ImplicitlyDenied") + "\n")
    assert policy_main(["simulate", "--check", str(one)]) == 0


def test_simulate_several_files_keeps_the_default_format(tmp_path, capsys):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(_case("a", "Allowed") + "\n")
    two.write_text(_case("b", "ImplicitlyDenied") + "\n")
    assert policy_main(["simulate", str(one), str(two)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"name": n, "decision": "ImplicitlyDenied", "blocked_by": ["identity"],
                     "error": None} for n in ("a", "b")]


@pytest.mark.skipif(not (SHARED_CASES / "handwritten.jsonl").exists(), reason="shared cases absent")
def test_simulate_check_passes_on_the_shared_handwritten_cases(capsys):
    assert policy_main(["simulate", "--check", str(SHARED_CASES / "handwritten.jsonl")]) == 0
    assert " 0 mismatches, 0 errors" in capsys.readouterr().out


def test_diagrams_check_reports_a_missing_svg(tmp_path, capsys):
    from labkit.diagrams import _bundled_graphs

    for name, g in _bundled_graphs().items():
        (tmp_path / f"{name}.dot").write_text(g.source, encoding="utf-8")
        (tmp_path / f"{name}.svg").write_text("<svg/>")
    assert diagrams_command(["--check", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"diagrams up to date in {tmp_path} (2 designs, 4 diagrams)\n"
    (tmp_path / "recommended.svg").unlink()
    assert diagrams_command(["--check", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"stale: {tmp_path / 'recommended.svg'}\n"


@pytest.mark.exe
def test_diagrams_draws_your_own_design(tmp_path, monkeypatch, capsys):
    design = tmp_path / "mine.yaml"
    design.write_text("policy_types: [SCP]\nroot:\n  ous:\n    - name: Team\n"
                      "      accounts: [{name: app, email: app@example.com}]\n")
    monkeypatch.chdir(tmp_path)
    assert diagrams_command([str(design)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 design, 2 diagrams in diagrams"
    assert sorted(p.name for p in (tmp_path / "diagrams").iterdir()) == [
        "mine-guardrails.dot", "mine-guardrails.svg", "mine.dot", "mine.svg"]
    assert "Team" in (tmp_path / "diagrams" / "mine.dot").read_text()
    assert diagrams_command([str(design), "--check"]) == 0


def test_diagrams_of_a_bad_design_say_what_is_wrong(tmp_path, capsys):
    design = tmp_path / "bad.yaml"
    design.write_text("root:\n  acounts: []\n")
    assert diagrams_command([str(design), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (f"{design}:2: unknown key 'acounts' in the root "
                                       "(did you mean 'accounts'?)\n")
    assert not (tmp_path / "out").exists()
