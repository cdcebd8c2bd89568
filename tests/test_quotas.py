"""Organizations quotas, table-driven over both sets, from tests/cases/quotas/quotas.jsonl.

A case names a quota set (``documented`` or ``may-2026``) and one check:

- ``attach``: an OU holding ``scps - 1`` SCPs (FullAWSAccess first) gets one more through
  a lab session; ``expect`` is ``ok`` or the ``ConstraintViolationException`` reason;
- ``create`` / ``update``: CreatePolicy, or UpdatePolicy of an existing policy, with an
  SCP or RCP (``kind``) of exactly ``length`` characters;
- ``validate``: :func:`labkit.policy.validate_policy` on such a document; ``expect`` is
  ``ok`` or the problem code, and ``message`` must appear in the problem's message;
- ``design`` / ``design-size``: :func:`labkit.design_check.build_design` with an OU holding
  ``scps`` SCPs, or an inline policy whose compact JSON has ``length`` characters.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import re

import pytest
from botocore.exceptions import ClientError

from labkit import design_check, org_policy_rules
from labkit.design import DesignError
from labkit.design_check import build_design
from labkit.design_yaml import wrap_data
from labkit.lab import Lab
from labkit.policy import validate as policy_validate
from labkit.policy.validate import validate_command, validate_policy
from labkit.quotas import (DOCUMENTED, MAY_2026, QUOTA_SETS, QUOTAS_PAGE, OrganizationsQuotas,
                           quotas_named)
from casefiles import case_params, cases_in

CASES_FILE = pathlib.Path(__file__).parent / "cases" / "quotas" / "quotas.jsonl"
CASES = cases_in(CASES_FILE)
TYPES = {"scp": "SERVICE_CONTROL_POLICY", "rcp": "RESOURCE_CONTROL_POLICY"}


def padded(kind: str, length: int) -> str:
    """A valid SCP or RCP of exactly ``length`` characters, padded with whitespace."""
    statement = {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    if kind == "rcp":
        statement["Principal"] = "*"
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert len(text) <= length
    return text[:-1] + " " * (length - len(text)) + "}"


def compact_document(kind: str, length: int) -> dict:
    """A document whose compact JSON (what labkit sends) has exactly ``length`` characters."""
    def document(pad: str) -> dict:
        statement = {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{pad}"}
        if kind == "rcp":
            statement["Principal"] = "*"
        return {"Version": "2012-10-17", "Statement": [statement]}
    base = len(design_check.compact(document("")))
    doc = document("x" * (length - base))
    assert len(design_check.compact(doc)) == length
    return doc


def deny(n: int) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": f"s3:Get{n}*", "Resource": "*"}]})


def organization(lab: Lab, *types: str):
    org = lab.session("management").client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    for policy_type in types:
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
    return org, root


def run_lab_case(case: dict) -> str:
    """Build the organization, make the call under test; 'ok' or the refusal's reason."""
    with Lab(quotas=case["quotas"]) as lab:
        org, root = organization(lab, *TYPES.values())
        if case["check"] == "attach":
            ou = org.create_organizational_unit(ParentId=root, Name="Workloads")
            ou_id = ou["OrganizationalUnit"]["Id"]
            ids = [org.create_policy(Name=f"d{n}", Description="d", Content=deny(n),
                                     Type=TYPES["scp"])["Policy"]["PolicySummary"]["Id"]
                   for n in range(1, case["scps"])]
            *before, last = ids
            for policy_id in before:
                org.attach_policy(PolicyId=policy_id, TargetId=ou_id)
            call = lambda: org.attach_policy(PolicyId=last, TargetId=ou_id)  # noqa: E731
        else:
            content, policy_type = padded(case["kind"], case["length"]), TYPES[case["kind"]]
            if case["check"] == "create":
                call = lambda: org.create_policy(  # noqa: E731
                    Name="big", Description="d", Content=content, Type=policy_type)
            else:
                small = padded(case["kind"], 200)
                policy_id = org.create_policy(Name="big", Description="d", Content=small,
                                              Type=policy_type)["Policy"]["PolicySummary"]["Id"]
                call = lambda: org.update_policy(PolicyId=policy_id, Content=content)  # noqa: E731
        try:
            call()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConstraintViolationException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            return error.response["Reason"]
        return "ok"


def run_design_case(case: dict) -> list[str]:
    """Build the design; the problem messages ([] when it is accepted)."""
    if case["check"] == "design":
        policies = [{"name": f"d{n}", "type": "SCP", "description": "d",
                     "document": json.loads(deny(n))} for n in range(1, case["scps"])]
        data = {"policy_types": ["SCP"], "policies": policies,
                "root": {"ous": [{"name": "Workloads",
                                  "policies": ["FullAWSAccess", *(p["name"] for p in policies)]}]}}
    else:
        kind = case["kind"]
        data = {"policy_types": ["SCP", "RCP"],
                "policies": [{"name": "big", "type": kind.upper(), "description": "d",
                              "document": compact_document(kind, case["length"])}],
                "root": {}}
    try:
        build_design(wrap_data(data), quotas=case["quotas"])
    except DesignError as error:
        return [p.message for p in error.problems]
    return []


@pytest.mark.parametrize("case", case_params(CASES_FILE, keep=lambda c: c["check"] in ("attach", "create", "update")))
def test_lab_rules_follow_the_labs_quota_set(case):
    assert run_lab_case(case) == case["expect"]


@pytest.mark.parametrize("case", case_params(CASES_FILE, keep=lambda c: c["check"] == "validate"))
def test_validator_size_follows_the_quota_set(case):
    problems = validate_policy(padded(case["kind"], case["length"]), case["kind"],
                               quotas=quotas_named(case["quotas"]))
    errors = [p for p in problems if p.severity == "error"]
    if case["expect"] == "ok":
        assert errors == []
    else:
        (problem,) = errors
        assert problem.code == case["expect"]
        assert case["message"] in problem.message, problem.message


@pytest.mark.parametrize("case", case_params(CASES_FILE, keep=lambda c: c["check"].startswith("design")))
def test_design_check_follows_the_quota_set(case):
    messages = run_design_case(case)
    if case["expect"] == "ok":
        assert messages == []
    else:
        assert len(messages) == 1 and case["message"] in messages[0], messages


def test_cases_cover_both_sets_for_every_check():
    covered = {(c["quotas"], c["check"]) for c in CASES}
    checks = {c["check"] for c in CASES}
    assert covered == {(q, check) for q in QUOTA_SETS for check in checks}


def test_the_default_is_the_documented_set_everywhere():
    assert quotas_named(None) is DOCUMENTED
    lab = Lab()
    assert lab.quotas is DOCUMENTED
    assert Lab(quotas="may-2026").quotas is MAY_2026
    assert Lab(quotas=MAY_2026).quotas is MAY_2026
    for name in ("validate_policy", "check_policy"):
        default = getattr(policy_validate, name).__kwdefaults__["quotas"]
        assert default is DOCUMENTED, name
    assert org_policy_rules.check_policy_content.__kwdefaults__["quotas"] is DOCUMENTED


def test_the_validators_size_limit_is_the_documented_scp_size():
    assert policy_validate.SIZE_LIMIT == DOCUMENTED.scp_characters


def test_may_2026_changes_only_the_scp_attachment_and_size_quotas():
    differ = {f.name for f in dataclasses.fields(OrganizationsQuotas)
              if getattr(DOCUMENTED, f.name) != getattr(MAY_2026, f.name)}
    assert differ - {"name", "basis", "page", "changed"} == set(MAY_2026.changed)
    assert (MAY_2026.scps_per_target, MAY_2026.scp_characters) == (10, 10_240)
    assert (DOCUMENTED.scps_per_target, DOCUMENTED.scp_characters) == (5, 5_120)


def test_every_quota_cites_an_aws_page():
    numbers = [f.name for f in dataclasses.fields(OrganizationsQuotas) if f.type == "int"]
    for quotas in QUOTA_SETS.values():
        for quota in numbers:
            assert re.match(r"https://(docs\.)?aws\.amazon\.com/", quotas.source(quota)), quota
        assert quotas.basis
    assert DOCUMENTED.source("scps_per_target") == QUOTAS_PAGE


@pytest.mark.parametrize("bad, message", [
    ({"scps_per_target": 0}, "scps_per_target must be a positive integer, not 0"),
    ({"scp_characters": "10240"}, "scp_characters must be a positive integer, not '10240'"),
    ({"changed": ("scp_size",)}, "changed names unknown quota(s) scp_size"),
])
def test_a_bad_quota_set_is_refused_by_name(bad, message):
    with pytest.raises(ValueError) as info:
        OrganizationsQuotas(name="mine", basis="test", **bad)
    assert "'mine'" in str(info.value) and message in str(info.value)


def test_an_unknown_set_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown Organizations quota set 'may2026'; "
                                         "choose one of documented, may-2026"):
        Lab(quotas="may2026")
    with pytest.raises(TypeError, match="quotas must be an OrganizationsQuotas"):
        validate_policy("{}", "scp", quotas="may-2026")


def test_validate_command_takes_the_quota_set(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(padded("scp", 6000))
    assert validate_command([str(path), "--type", "scp"]) == 1
    assert "may have at most 5,120" in capsys.readouterr().out
    assert validate_command([str(path), "--type", "scp", "--quotas", "may-2026"]) == 0


def test_load_design_checks_against_the_chosen_quotas():
    """Six SCPs on one OU: over the documented quota, within the May 2026 one."""
    from labkit.design import DesignError, load_design

    names = ["FullAWSAccess", "deny-leave-organization", "deny-root-user",
             "deny-disable-security-services", "deny-iam-users-and-keys",
             "deny-regions-outside-approved"]
    data = {"policy_types": ["SCP"], "root": {"ous": [{"name": "Apps", "policies": names}]}}
    with pytest.raises(DesignError, match="5"):
        load_design(data)
    assert load_design(data, quotas="may-2026").root.ous[0].name == "Apps"
