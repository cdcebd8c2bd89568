"""apply -> snapshot round trips, through a real Lab and real boto3 Organizations calls."""
import json

import pytest

from labkit import Lab
from labkit.design import DesignError, apply_design, bundled_designs, load_design, snapshot

DENY_LEAVE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*"], "Resource": "*"}]}
DENY_S3_PUBLIC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}

MIXED = {
    "policy_types": ["SCP", "RCP"],
    "policies": [
        {"name": "deny-leave", "type": "SCP", "description": "stay in the org",
         "document": DENY_LEAVE},
        {"name": "allow-s3-only", "type": "SCP", "description": "sandbox allow list",
         "document": ALLOW_S3},
        {"name": "rcp-https-only", "type": "RCP", "description": "TLS only",
         "document": DENY_S3_PUBLIC},
    ],
    "management": {"name": "management", "purpose": "org admin", "tags": {"owner": "platform"}},
    "root": {
        "policies": ["FullAWSAccess", "deny-leave", "rcp-https-only"],
        "ous": [
            {"name": "Sandbox", "policies": ["allow-s3-only"],
             "accounts": [{"name": "sandbox-1", "email": "s1@example.com",
                           "tags": {"team": "x"}, "purpose": "play"}]},
            {"name": "Workloads", "ous": [{"name": "Prod", "accounts": [
                {"name": "prod", "email": "prod@example.com",
                 "policies": ["FullAWSAccess", "deny-leave"]}]}]},
        ],
    },
}


@pytest.fixture
def lab():
    with Lab() as lab:
        yield lab


@pytest.mark.parametrize("name", bundled_designs())
def test_apply_then_snapshot_round_trips_bundled_design(lab, name):
    design = load_design(name)
    lab.apply(design)
    got = snapshot(lab.session("management"))
    assert got == design
    assert got.to_yaml() == design.to_yaml()


def test_round_trip_with_inline_policies_allow_list_rcps_and_tags(lab):
    design = load_design(MIXED)
    applied = apply_design(lab, design)
    got = snapshot(lab.session("management"))
    assert got == design and got.to_yaml() == design.to_yaml()
    sandbox = got.root.ous[0]
    assert [p.name for p in sandbox.policies] == ["RCPFullAWSAccess", "allow-s3-only"]
    org = lab.session("management").client("organizations")
    content = org.describe_policy(PolicyId=applied.policy_ids["deny-leave"])["Policy"]["Content"]
    assert content == json.dumps(DENY_LEAVE, separators=(",", ":"))  # compact JSON
    assert applied.account_ids["sandbox-1"] == lab.account_id("sandbox-1")
    tags = org.list_tags_for_resource(ResourceId=applied.account_ids["sandbox-1"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "x", "labkit:purpose": "play"}


def test_applying_twice_changes_nothing(lab):
    first = apply_design(lab, MIXED)
    second = apply_design(lab, MIXED)
    assert second.account_ids == first.account_ids and second.ou_ids == first.ou_ids
    assert snapshot(lab.session("management")) == load_design(MIXED)


def test_apply_moves_accounts_and_reattaches_policies(lab):
    apply_design(lab, MIXED)
    changed = json.loads(json.dumps(MIXED))
    prod = changed["root"]["ous"][1]["ous"][0]["accounts"].pop()
    prod["policies"] = []  # back to FullAWSAccess only
    changed["root"]["ous"][0]["accounts"].append(prod)  # into the Sandbox OU
    changed["root"]["policies"] = ["FullAWSAccess"]
    apply_design(lab, changed)
    assert snapshot(lab.session("management")) == load_design(changed)


def test_bad_design_builds_nothing(lab):
    from botocore.exceptions import ClientError

    with pytest.raises(DesignError):
        lab.apply("tests/designs/five-mistakes.yaml")
    org = lab.session("management").client("organizations")
    with pytest.raises(ClientError, match="AWSOrganizationsNotInUseException"):
        org.describe_organization()


def test_snapshot_makes_only_read_calls(lab):
    lab.apply("recommended")
    session = lab.session("management")
    seen = []
    session.events.register("before-call.organizations",
                            lambda model, **kw: seen.append(model.name))
    snapshot(session)
    assert seen and all(op.startswith(("List", "Describe")) for op in seen), sorted(set(seen))


def test_snapshot_names_library_policies_by_content(lab, tmp_path, monkeypatch):
    import labkit.design_check as check

    (tmp_path / "deny-leave-organization.json").write_text(json.dumps({
        "name": "deny-leave-organization", "type": "SCP", "description": "stay",
        "threat": "an account leaves", "sources": [], "document": DENY_LEAVE}, indent=2))
    monkeypatch.setattr(check, "LIBRARY_DIR", tmp_path)
    check.library_policies.cache_clear()
    try:
        # the org calls it something else, with other whitespace: same document, same policy
        apply_design(lab, {"policy_types": ["SCP"], "root": {}})
        org = lab.session("management").client("organizations")
        pid = org.create_policy(Name="legacy-guard", Description="old", Type="SERVICE_CONTROL_POLICY",
                                Content=json.dumps(DENY_LEAVE, indent=4))["Policy"]["PolicySummary"]["Id"]
        root_id = org.list_roots()["Roots"][0]["Id"]
        org.attach_policy(PolicyId=pid, TargetId=root_id)
        got = snapshot(lab.session("management"))
        assert [(p.name, p.source) for p in got.root.policies] == [
            ("FullAWSAccess", "aws-managed"), ("deny-leave-organization", "library")]
        assert got.to_yaml_dict()["root"] == {"policies": ["FullAWSAccess", "deny-leave-organization"]}
    finally:
        check.library_policies.cache_clear()
