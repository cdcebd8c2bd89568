"""Step 2's guardrails module: the policy library and the effective-permission table.

The table's cases (``tests/cases/guardrails/effective_permissions.jsonl``) each name the AWS
page that defines the rule they check; the cross-checks compare the table, built by sharing
work between accounts, with the policy engine run account by account and with the
independent bitset matrix (``labkit.policy.matrix``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit import guardrails
from labkit.applicable_policies import org_view, scp_path
from labkit.design import load_design
from labkit.guardrails import (COLOURS, GuardrailError, cell_kind, effective_permissions, guardrail,
                               guardrail_library, guardrail_names, styled)
from labkit.lab import Lab
from casefiles import case_params, cases_in

CASES_FILE = Path(__file__).parent / "cases" / "guardrails" / "effective_permissions.jsonl"
CASES = cases_in(CASES_FILE)

#: A small organization with one of each kind of guardrail: a deny at the root, a deny-list
#: OU with a nested OU, an allow-list OU, an OU whose FullAWSAccess was replaced by an
#: S3-only allow list, an account with its own deny, and the protected log archive.
DESIGN = json.loads((CASES_FILE.parent / "lab-design.json").read_text())


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        lab.apply(load_design(DESIGN))
        yield lab


# -- the library ------------------------------------------------------------------------------
def test_library_lists_every_file_with_its_threat_and_source():
    table = guardrail_library()
    assert list(table.columns) == ["name", "type", "description", "threat", "source"]
    assert sorted(table["name"]) == guardrail_names()
    assert len(table) >= 8
    for row in table.itertuples():
        assert row.type in ("SCP", "RCP"), row.name
        assert row.description and row.threat, row.name
        assert row.source.startswith("https://docs.aws.amazon.com/"), row.name


def test_guardrail_parses_as_its_policy_type():
    for name in guardrail_names():
        g = guardrail(name)
        policy = g.policy()
        assert policy.kind == g.type.lower()
        assert policy.statements, name
        assert json.loads(g.text) == g.document


def test_unknown_guardrail_names_the_library():
    with pytest.raises(GuardrailError) as excinfo:
        guardrail("deny-everything-forever")
    message = str(excinfo.value)
    assert "deny-everything-forever" in message and "deny-leave-organization" in message


def test_malformed_library_file_is_reported_with_file_and_line(tmp_path, monkeypatch):
    (tmp_path / "broken.json").write_text('{"name": "broken",\n "type": "SCP",\n}\n')
    monkeypatch.setattr(guardrails, "LIBRARY_DIR", tmp_path)
    guardrail.cache_clear()
    try:
        with pytest.raises(GuardrailError, match=r"broken\.json:3: malformed JSON"):
            guardrail("broken")
    finally:
        guardrail.cache_clear()


def test_a_lab_without_an_organization_is_refused():
    # runs before the module's lab exists: one lab is open at a time
    with Lab() as bare:
        with pytest.raises(GuardrailError, match="no organization yet"):
            effective_permissions(bare)


# -- the table, case by case --------------------------------------------------------------------
@pytest.mark.parametrize("case", case_params(CASES_FILE))
def test_effective_permission_case(lab, case):
    table = effective_permissions(lab, [case["account"]], [case["action"]], [case["region"]],
                                  role=case.get("role"), resource=case.get("resource", "*"))
    cell = table.loc[case["account"], (case["action"], case["region"])]
    assert cell == case["expected"], f"{case['name']} ({case['source']})"


def test_cases_cite_aws():
    for case in CASES:
        assert case["source"].startswith("https://docs.aws.amazon.com/"), case["name"]


# -- the table, as a whole ----------------------------------------------------------------------
def test_table_shape_rows_and_columns(lab):
    table = effective_permissions(lab)
    assert table.index[0] == "management"
    assert set(table.index) == {"management", "frozen-app", "prod-app", "sandbox-dev", "locked-app",
                                "log-archive"}
    assert table.columns.names == ["action", "region"]
    assert len(table.columns) == len(guardrails.DEFAULT_ACTIONS) * len(guardrails.DEFAULT_REGIONS)
    assert (table.loc["management"] == "Allowed").all()
    kinds = {cell_kind(c) for c in table.to_numpy().ravel()}
    assert kinds == {"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"}


def test_accounts_with_the_same_scps_share_one_evaluation(lab):
    table = effective_permissions(lab)
    # five member accounts, but frozen-app has its own account-level SCP and the rest differ by OU
    assert table.attrs["distinct_paths"] == 5


def _engine_cell(lab, account_id, action, region, labels):
    """The same question put to the engine directly, for one account, with no sharing."""
    from labkit.enforcement import global_context
    from labkit.policy import PolicySet, Request, evaluate
    from labkit.guardrails import _admin_identity, _cell, _outcome
    from labkit.operations import requested_region

    principal = f"arn:aws:sts::{account_id}:assumed-role/OrganizationAccountAccessRole/labkit"
    context = global_context(lab, principal, principal_account=account_id, resource_account=account_id,
                             region=requested_region(action, region))
    decision = evaluate(Request(principal=principal, action=action, resource_account=account_id,
                                context=context),
                        PolicySet(identity=[_admin_identity()], scps=scp_path(lab, account_id)))
    return _cell(_outcome(decision), labels)


def test_table_equals_the_engine_account_by_account(lab):
    table = effective_permissions(lab)
    view = org_view(lab)
    for account_id, place in view.places.items():
        if account_id == view.management_account_id:
            continue
        labels = [guardrails._short_level(level.label) for level in scp_path(lab, account_id)]
        for action, region in table.columns:
            expected = _engine_cell(lab, account_id, action, region, labels)
            assert table.loc[place.name, (action, region)] == expected, (place.name, action, region)


def test_table_agrees_with_the_bitset_matrix(lab):
    from labkit.policy.matrix import effective_permissions as matrix

    regional = [a for a in guardrails.DEFAULT_ACTIONS
                if a.split(":")[0] not in ("iam", "organizations")]
    table = effective_permissions(lab, actions=regional)
    view = org_view(lab)
    paths = {aid: scp_path(lab, aid) for aid in view.places}
    m = matrix(paths, regional, guardrails.DEFAULT_REGIONS,
               principal="arn:aws:iam::{account}:role/OrganizationAccountAccessRole")
    names = {aid: ("management" if aid == view.management_account_id else p.name)
             for aid, p in view.places.items()}
    for aid, name in names.items():
        for action, region in table.columns:
            assert cell_kind(table.loc[name, (action, region)]) == m.cell(aid, action, region).result


def test_account_specific_condition_is_evaluated_per_account(lab):
    """A condition naming one account must not leak to its OU siblings through sharing."""
    view = org_view(lab)
    prod = next(a for a, p in view.places.items() if p.name == "prod-app")
    org = lab.session("management").client("organizations")
    doc = {"Version": "2012-10-17", "Statement": [{
        "Sid": "OnlyProdMayNotRunInstances", "Effect": "Deny", "Action": "ec2:RunInstances",
        "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": prod}}}]}
    policy = org.create_policy(Name="pin-prod", Description="test", Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps(doc))["Policy"]["PolicySummary"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=root)
    try:
        table = effective_permissions(lab, ["prod-app", "frozen-app"], ["ec2:RunInstances"], ["us-east-1"])
        assert table.loc["prod-app", ("ec2:RunInstances", "us-east-1")] == "ExplicitlyDenied @ Root: pin-prod"
        assert table.loc["frozen-app", ("ec2:RunInstances", "us-east-1")] == "Allowed"
    finally:
        org.detach_policy(PolicyId=policy, TargetId=root)
        org.delete_policy(PolicyId=policy)


def test_styled_colours_each_kind_and_keeps_the_words(lab):
    html = styled(effective_permissions(lab)).to_html()
    for kind, css in COLOURS.items():
        assert css.split(";")[0] in html, kind
        assert kind in html
    assert "service control policies only" in html


# -- bad input ----------------------------------------------------------------------------------
def test_unknown_account_is_named(lab):
    with pytest.raises(GuardrailError, match="no account named 'nope'"):
        effective_permissions(lab, ["nope"])


def test_malformed_action_is_named(lab):
    with pytest.raises(GuardrailError, match="action 'RunInstances' must look like 'service:Action'"):
        effective_permissions(lab, actions=["RunInstances"])


# -- the notebook's exercise checks --------------------------------------------------------------
@pytest.mark.parametrize("case", case_params(CASES_FILE.parent / "region_deny_exercise.jsonl"))
def test_region_deny_check_says_what_is_wrong(case):
    from labkit.guardrails import check_region_deny

    check = check_region_deny(case["document"], approved=["eu-west-1"])
    assert check.passed is case["passed"], (case["name"], check.problems)
    if case["count"] is not None:
        assert len(check.problems) == case["count"], check.problems
    for fragment in case["problems"]:
        assert any(fragment in p for p in check.problems), (fragment, check.problems)
    assert check.source.startswith("https://docs.aws.amazon.com/")


def _detach(org, policy_name: str, ou_name: str):
    root = org.list_roots()["Roots"][0]["Id"]
    ou = next(o["Id"] for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
              if o["Name"] == ou_name)
    policy = next(p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
                  if p["Name"] == policy_name)
    org.detach_policy(PolicyId=policy, TargetId=ou)
    return lambda: org.attach_policy(PolicyId=policy, TargetId=ou)


def test_guardrails_intact_check_follows_the_organization(lab):
    from labkit.guardrails import check_guardrails_intact

    org = lab.session("management").client("organizations")
    assert check_guardrails_intact(lab, "prod-app").passed
    undo = _detach(org, "FullAWSAccess", "Workloads")
    try:
        (problem,) = check_guardrails_intact(lab, "prod-app").problems
        assert "nothing attached at OU Workloads allows it" in problem
        assert "attach FullAWSAccess (p-FullAWSAccess) to OU Workloads" in problem
    finally:
        undo()
    undo = _detach(org, "deny-regions-outside-approved", "Workloads")
    try:
        (problem,) = check_guardrails_intact(lab, "prod-app").problems
        assert "region guardrail (deny-regions-outside-approved) must stay attached" in problem
    finally:
        undo()
    assert check_guardrails_intact(lab, "prod-app").passed


def test_outsider_role_makes_a_session_outside_the_organization(lab):
    from labkit.guardrails import outsider_role

    arn = outsider_role(lab, "999988887777", "Partner")
    assert arn == "arn:aws:iam::999988887777:role/Partner"
    assert outsider_role(lab, "999988887777", "Partner") == arn  # again: harmless
    who = lab.session("999988887777", "Partner").client("sts").get_caller_identity()
    assert who["Account"] == "999988887777"
    assert effective_permissions(lab, ["prod-app"], ["s3:GetObject"], ["us-east-1"]).shape == (1, 1)


def test_accounts_may_be_named_by_id_and_rows_keep_their_names(lab):
    prod = lab.account_id("prod-app")
    table = effective_permissions(lab, [prod, "management"], ["ec2:RunInstances"], ["ap-south-1"])
    assert list(table.index) == ["prod-app", "management"]
    assert list(table[("ec2:RunInstances", "ap-south-1")]) == [
        "ExplicitlyDenied @ OU Workloads: deny-regions-outside-approved", "Allowed"]
