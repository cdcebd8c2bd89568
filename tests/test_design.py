"""Designs as data: loading, validation with file and line, YAML round trip, `labkit validate`."""
import json
from pathlib import Path

import pytest

from labkit.design import (Design, DesignError, bundled_designs, load_design,
                           validate_command)
from casefiles import case_params

HERE = Path(__file__).parent
REPO = HERE.parent
CASES = case_params("design/bad_designs.jsonl")


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)  # fixture paths in messages are relative to the repository


@pytest.mark.parametrize("case", CASES)
def test_bad_design_reports_every_problem_where_it_is(case):
    source = f"tests/designs/{case['file']}" if "file" in case else case["design"]
    prefix = source if isinstance(source, str) else "<design>"
    with pytest.raises(DesignError) as info:
        load_design(source)
    got = [(p.where, p.message) for p in info.value.problems]
    assert len(got) == len(case["expect"]), got
    for (where, text), (place, message) in zip(sorted(case["expect"], key=str), sorted(got, key=str)):
        assert place == f"{prefix}:{where}", got
        assert text in message, got
    # str() lists them as file:line: message, one a line
    assert str(info.value).splitlines() == [f"{w}: {m}" for w, m in got]


def test_oversize_policy_is_refused_with_its_size():
    document = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "s3:*",
                               "Resource": "arn:aws:s3:::" + "x" * 5087}]}
    with pytest.raises(DesignError) as info:
        load_design({"policy_types": ["SCP"],
                     "policies": [{"name": "big", "type": "SCP", "document": document}],
                     "root": {"policies": ["FullAWSAccess", "big"]}})
    (problem,) = info.value.problems
    assert problem.where == "<design>:policies[0].document"
    assert "5186 characters; AWS allows 5120" in problem.message


def test_policy_at_exactly_the_limit_is_accepted():
    statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::"}
    base = len(json.dumps({"Version": "2012-10-17", "Statement": [statement]},
                          separators=(",", ":")))
    statement["Resource"] += "x" * (5120 - base)
    design = load_design({"policy_types": ["SCP"], "policies": [
        {"name": "edge", "type": "SCP", "document": {"Version": "2012-10-17",
                                                      "Statement": [statement]}}],
        "root": {"policies": ["FullAWSAccess", "edge"]}})
    assert len(design.root.policies[1].content) == 5120


def test_five_levels_and_five_scps_are_allowed():
    ou = {"name": "L5", "policies": ["FullAWSAccess"] + [f"d{i}" for i in range(4)]}
    for level in range(4, 0, -1):
        ou = {"name": f"L{level}", "ous": [ou]}
    inline = [{"name": f"d{i}", "type": "SCP", "document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": f"s3:DeleteBucket{'Policy' * i}", "Resource": "*"}]}}
              for i in range(4)]
    design = load_design({"policy_types": ["SCP"], "policies": inline, "root": {"ous": [ou]}})
    deepest = [ou for path, ou in design.walk() if path.count("/") == 5]
    assert [o.name for o in deepest] == ["L5"] and len(deepest[0].policies) == 5


def test_a_dict_that_contains_itself_is_a_cycle():
    ou = {"name": "Loop"}
    ou["ous"] = [ou]
    with pytest.raises(DesignError) as info:
        load_design({"root": {"ous": [ou]}})
    assert [p.where for p in info.value.problems] == ["<design>:root.ous[0].ous[0]"]
    assert "cycle" in info.value.problems[0].message


def test_missing_file_names_the_bundled_designs():
    with pytest.raises(DesignError, match="no such design file; bundled designs are flat, "):
        load_design("tests/designs/absent.yaml")


def test_node_policy_defaults_follow_aws():
    """No SCP listed: FullAWSAccess only; RCPFullAWSAccess always while RCPs are enabled."""
    design = load_design({"policy_types": ["SCP", "RCP"], "root": {"ous": [{"name": "A"}]}})
    assert [(p.type, p.name) for p in design.root.ous[0].policies] == [
        ("RCP", "RCPFullAWSAccess"), ("SCP", "FullAWSAccess")]
    only_scps = load_design({"policy_types": ["SCP"], "root": {}})
    assert [p.name for p in only_scps.root.policies] == ["FullAWSAccess"]
    none = load_design({"root": {}})
    assert none.root.policies == () and none.policy_types == ()


def test_listing_an_scp_replaces_full_aws_access():
    allow = {"name": "allow-s3", "type": "SCP", "document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}
    design = load_design({"policy_types": ["SCP"], "policies": [allow],
                          "root": {"ous": [{"name": "Sandbox", "policies": ["allow-s3"]}]}})
    assert [p.name for p in design.root.ous[0].policies] == ["allow-s3"]
    assert design.root.ous[0].policies[0].content == (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')


@pytest.mark.parametrize("name", bundled_designs())
def test_bundled_design_loads_and_round_trips_through_yaml(name, tmp_path):
    design = load_design(name)
    assert isinstance(design, Design) and design.name == name
    again = tmp_path / f"{name}.yaml"
    again.write_text(design.to_yaml())
    reloaded = load_design(again)
    assert reloaded == design
    assert reloaded.to_yaml() == design.to_yaml()


def test_recommended_design_has_the_whitepaper_structure():
    design = load_design("recommended")
    paths = {path: ou for path, ou in design.walk()}
    for ou in ("Security", "Infrastructure", "Workloads", "Workloads/Prod", "Workloads/NonProd",
               "Sandbox", "Suspended", "Policy Staging"):
        assert f"Root/{ou}" in paths, ou
    where = {a.name: path for path, ou in design.walk() for a in ou.accounts}
    assert where["log-archive"] == where["audit"] == "Root/Security"
    assert where["network"] == where["shared-services"] == "Root/Infrastructure"
    assert where["prod-app"] == "Root/Workloads/Prod"
    assert where["nonprod-app"] == "Root/Workloads/NonProd"
    assert design.management.name == "management" and "no workloads" in design.management.purpose
    assert design.policy_types == ("SCP", "RCP")
    text = (REPO / "labkit/data/designs/recommended.yaml").read_text()
    assert "organizing-your-aws-environment/recommended-ous-and-accounts.html" in text


def test_flat_design_puts_every_account_under_the_root():
    design = load_design("flat")
    assert design.root.ous == () and len(design.root.accounts) >= 3


def test_validate_command_reports_the_five_mistakes(capsys):
    assert validate_command(["tests/designs/five-mistakes.yaml"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0] for line in out] == [
        f"tests/designs/five-mistakes.yaml:{n}" for n in (7, 13, 18, 28, 30)]
    kinds = ["malformed policy JSON", "unknown policy", "duplicate email",
             "levels below the root", "unknown key"]
    assert all(kind in line for kind, line in zip(kinds, out)), out


@pytest.mark.parametrize("name", bundled_designs())
def test_validate_command_accepts_bundled_designs(name, capsys):
    assert validate_command([name]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: OK: ") and out.count("\n") == 1


def test_labkit_cli_dispatches_validate(capsys):
    from labkit.cli import main

    assert main(["validate", "tests/designs/too-deep.yaml"]) == 1
    assert "tests/designs/too-deep.yaml:15: OU 'L6'" in capsys.readouterr().out


def test_recommended_design_attaches_the_guardrail_library():
    design = load_design("recommended")
    at = {path: {p.name for p in ou.policies} for path, ou in design.walk()}
    assert {"deny-leave-organization", "deny-root-user", "deny-disable-security-services",
            "rcp-org-boundary", "FullAWSAccess", "RCPFullAWSAccess"} == at["Root"]
    for ou in ("Root/Workloads", "Root/Infrastructure"):
        assert {"deny-regions-outside-approved", "deny-iam-users-and-keys"} <= at[ou]
    assert "protect-log-archive" in at["Root/Security"]
    assert "sandbox-allow-list" in at["Root/Sandbox"] and "FullAWSAccess" not in at["Root/Sandbox"]
    sources = {p.name: p.source for p in design.policies}
    assert sources["deny-root-user"] == "library" and sources["FullAWSAccess"] == "aws-managed"
