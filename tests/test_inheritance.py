"""SCP inheritance, drawn: the per-level verdicts, the quoted statement, the OU tree.

Cases (``tests/cases/guardrails/inheritance.jsonl``) give, for a request in the small
organization of ``lab-design.json``, each level's verdict root first, the deciding policy
and statement, and the summary; each names the AWS page that defines the rule.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.enforcement import decide
from labkit.inheritance import (guardrail_tree, inheritance_diagram, inheritance_dot, level_rows,
                                quote_statement, scp_inheritance, tree_dot)
from labkit.lab import Lab
from casefiles import case_params

HERE = Path(__file__).parent / "cases" / "guardrails"
CASES = case_params(HERE / "inheritance.jsonl")
DESIGN = json.loads((HERE / "lab-design.json").read_text())


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        lab.apply(load_design(DESIGN))
        yield lab


def _short(label: str) -> str:
    return label.split(" (")[0]


@pytest.mark.parametrize("case", CASES)
def test_level_verdicts(lab, case):
    decision = decide(lab, account=case["account"], action=case["action"], region=case["region"])
    rows = level_rows(decision)
    assert [[_short(r.label), r.verdict] for r in rows] == case["levels"], case["source"]
    if case["deciding"]:
        policy, statement = case["deciding"]
        deciding = next(r for r in rows if r.verdict == "DENIES")
        assert (deciding.policy, deciding.statement) == (policy, statement)
        assert f'"Sid":"{statement}"' in deciding.quote
    source = inheritance_dot(decision).source
    assert case["summary"] in source
    for label, verdict in case["levels"]:
        assert f"{label}" in source and verdict in source


@pytest.mark.parametrize("case", CASES)
def test_diagram_decision_matches_the_engine(lab, case):
    decision = decide(lab, account=case["account"], action=case["action"], region=case["region"])
    assert f"Decision: {decision.result}" in inheritance_dot(decision).source


def test_every_policy_at_a_level_is_listed_with_what_it_did(lab):
    decision = decide(lab, account="prod-app", action="iam:CreateUser", region="us-east-1")
    workloads = next(r for r in level_rows(decision) if r.label == "OU Workloads")
    assert dict(workloads.policies) == {"FullAWSAccess": "allows",
                                         "deny-regions-outside-approved": "silent",
                                         "deny-iam-users-and-keys": "denies"}


def test_quote_abbreviates_long_lists(lab):
    decision = decide(lab, account="prod-app", action="ec2:RunInstances", region="ap-south-1")
    row = next(r for r in level_rows(decision) if r.verdict == "DENIES")
    assert '"NotAction":[' in row.quote and "more" in row.quote
    assert len(row.quote) < 600


def test_quote_of_a_missing_statement_is_empty(lab):
    decision = decide(lab, account="prod-app", action="ec2:RunInstances", region="ap-south-1")
    policy = decision.policies.scps[0].policies[0]
    assert quote_statement(policy, "no-such-sid") == ""


def test_rcp_kind_draws_the_rcp_path(lab):
    decision = decide(lab, account="prod-app", action="s3:GetObject", region="us-east-1")
    # this design enables SCPs only, so no RCP applies: the diagram says so
    assert "No RCPs apply" in inheritance_dot(decision, kind="rcp").source
    with pytest.raises(ValueError, match="kind must be 'scp' or 'rcp'"):
        inheritance_dot(decision, kind="iam")


def test_tree_lists_attached_and_inherited_guardrails(lab):
    source = tree_dot(load_design(DESIGN)).source
    assert "attached: <b>deny-leave-organization</b>" in source
    assert "inherited: deny-regions-outside-approved" in source  # in OU Prod, from Workloads
    assert "allow list: no FullAWSAccess here" in source  # Sandbox and Locked
    assert "SCPs never restrict it" in source
    with pytest.raises(ValueError, match="kind must be 'SCP' or 'RCP'"):
        tree_dot(load_design(DESIGN), kind="scp")


def test_tree_summarises_large_ous():
    design = load_design({"policy_types": ["SCP"], "root": {"ous": [{"name": "Big", "accounts": [
        {"name": f"a{i}", "email": f"a{i}@example.com"} for i in range(7)]}]}})
    assert "+ 3 more accounts" in tree_dot(design, max_accounts=4).source


@pytest.mark.exe
def test_diagrams_render_to_svg(lab):
    svg = scp_inheritance(lab, "prod-app", "ec2:RunInstances", region="ap-south-1").pipe(format="svg").decode()
    assert "<svg" in svg and "DENIES" in svg
    svg = guardrail_tree(lab).pipe(format="svg").decode()
    assert "<svg" in svg and "inherited" in svg
    decision = decide(lab, account="management", action="ec2:RunInstances", region="ap-south-1")
    assert "No SCPs apply" in inheritance_diagram(decision).pipe(format="svg").decode()


def test_rcp_denial_is_drawn_on_the_resource_accounts_path():
    """RCPs: a Deny at any level of the resource account's path denies, even an outsider
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html)."""
    from labkit.guardrails import guardrail
    from labkit.policy import Level, PolicySet, Request, evaluate, parse_policy

    full = parse_policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                         "Action": "*", "Resource": "*"}]}, name="RCPFullAWSAccess", kind="rcp")
    boundary = guardrail("rcp-org-boundary").policy()
    bucket = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:role/Partner"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]}, name="bucket policy", kind="resource")
    admin = parse_policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                          "Resource": "*"}]}, name="admin")
    request = Request(principal="arn:aws:sts::999988887777:assumed-role/Partner/x", action="s3:GetObject",
                      resource="arn:aws:s3:::reports/q3.csv", resource_account="222222222222",
                      context={"aws:ResourceOrgID": "o-example", "aws:PrincipalIsAWSService": "false"})
    decision = evaluate(request, PolicySet(identity=[admin], resource_policy=bucket, rcps=[
        Level(label="Root", policies=(full, boundary)), Level(label="Account prod-app", policies=(full,))]))
    assert (decision.result, decision.blocked_by) == ("ExplicitlyDenied", ("rcp",))
    rows = level_rows(decision, kind="rcp")
    assert [(r.label, r.verdict) for r in rows] == [("Root", "DENIES"), ("Account prod-app", "ALLOWS")]
    assert rows[0].policy == "rcp-org-boundary" and '"Sid":"EnforceOrgIdentities"' in rows[0].quote
    source = inheritance_dot(decision, kind="rcp").source
    assert "RCPs DENY: explicit deny at Root" in source and "RCP rcp-org-boundary: DENIES" in source
