"""Newcomer findings on designs: one-line "did you mean" messages, a missing or misspelt
policy_types reported once, the reserved name 'management', quotas re-checked against the
lab before the first call (nothing half applied), and a short display of what was applied."""
import json

import pytest

from casefiles import case_params
from labkit.design import DesignError, load_design
from labkit.design_apply import Applied, quota_problems
from labkit.lab import Lab

MESSAGES = case_params("usability/design_messages.jsonl")
SPELLINGS = case_params("usability/policy_type_spellings.jsonl")


@pytest.fixture
def lab():
    with Lab() as lab:
        yield lab


@pytest.mark.parametrize("case", MESSAGES)
def test_design_problem_is_reported_once_with_a_hint(case):
    source = case.get("source", case.get("design"))
    prefix = source if isinstance(source, str) else "<design>"
    with pytest.raises(DesignError) as info:
        load_design(source)
    got = sorted((p.where, p.message) for p in info.value.problems)
    want = sorted((f"{prefix}:{w}" if isinstance(source, dict) else w, m) for w, m in case["expect"])
    assert len(got) == len(want), got
    for (where, message), (place, text) in zip(got, want):
        assert where == place, got
        assert text in message, got
        assert "\n" not in message


@pytest.mark.parametrize("case", SPELLINGS)
def test_policy_types_accept_aws_and_lower_case_spellings(case):
    design = load_design({"policy_types": case["policy_types"],
                          "root": {"policies": ["FullAWSAccess", "deny-root-user"]}})
    assert list(design.policy_types) == case["expect"]
    assert load_design(design.to_yaml_dict()) == design  # written back as SCP / RCP


def _six_scps() -> dict:
    inline = [{"name": f"deny-{i}", "type": "SCP", "document": {"Version": "2012-10-17",
               "Statement": [{"Effect": "Deny", "Action": f"s3:GetObject{'Acl' * i}", "Resource": "*"}]}}
              for i in range(5)]
    return {"policy_types": ["SCP"], "policies": inline, "root": {"ous": [{
        "name": "Workloads", "policies": ["FullAWSAccess"] + [p["name"] for p in inline],
        "accounts": [{"name": "app", "email": "app@example.com"}]}]}}


def test_a_may_2026_design_is_refused_by_a_documented_lab_before_any_call(lab):
    design = load_design(_six_scps(), quotas="may-2026")
    org = lab.session("management").client("organizations")
    with pytest.raises(DesignError) as info:
        lab.apply(design)
    (problem,) = info.value.problems
    assert problem.where == "design:Root/Workloads"
    assert "6 SCPs attached; the lab's quota set 'documented' allows 5" in problem.message
    with pytest.raises(org.exceptions.AWSOrganizationsNotInUseException):
        org.describe_organization()  # nothing was built, not even the organization


def test_the_same_design_applies_in_a_may_2026_lab():
    with Lab(quotas="may-2026").start() as lab:
        applied = lab.apply(load_design(_six_scps(), quotas="may-2026"))
        org = lab.session("management").client("organizations")
        attached = org.list_policies_for_target(TargetId=applied.ou_ids["Root/Workloads"],
                                                Filter="SERVICE_CONTROL_POLICY")["Policies"]
        assert len(attached) == 6


def test_quota_problems_name_the_node_and_the_policy():
    design = load_design(_six_scps(), quotas="may-2026")
    assert quota_problems(design, "may-2026") == ()
    assert [p.where for p in quota_problems(design)] == ["design:Root/Workloads"]
    big = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*",
                                                   "Resource": "arn:aws:s3:::" + "x" * 6000}]}
    large = load_design({"policy_types": ["SCP"], "root": {
        "accounts": [{"name": "a", "email": "a@example.com", "policies": ["FullAWSAccess", "big"]}]},
        "policies": [{"name": "big", "type": "SCP", "document": big}]}, quotas="may-2026")
    (problem,) = quota_problems(large)
    assert problem.where == "design:policy 'big'"
    assert f"{len(json.dumps(big, separators=(',', ':')))} characters" in problem.message
    assert "allows 5120 for an SCP" in problem.message


def test_applied_shows_counts_not_every_id(lab):
    applied = lab.apply(load_design("recommended"))
    text = repr(applied)
    design = applied.design
    ous = sum(1 for _ in design.walk()) - 1
    assert text == (f"Applied(design='recommended', ous={ous}, accounts={len(design.accounts) + 1}, "
                    f"policies={len(applied.policy_ids)}, calls={applied.calls})")
    assert len(text) < 120
    html = applied._repr_html_()
    assert html.startswith("<table>") and f"<td>{ous}</td>" in html and len(html) < 600
    assert isinstance(applied, Applied) and applied.counts()["OUs"] == ous


def test_unknown_guardrail_suggests_the_closest_name():
    from labkit.guardrails import GuardrailError, guardrail

    with pytest.raises(GuardrailError) as info:
        guardrail("deny-root")
    message = str(info.value)
    assert message.endswith("(did you mean 'deny-root-user'?)") and "\n" not in message
