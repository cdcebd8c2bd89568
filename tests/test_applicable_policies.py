"""Which policies apply to a request, read from the lab's live state.

Each test builds what it needs with lab-session calls, then checks what
``labkit.applicable_policies`` gathers: identity policies (inline, managed, group),
the permissions boundary, SCP and RCP paths with their labels, the resource policy, and the
management-account and service-linked-role exemptions (sources in the module docstring).
"""
from __future__ import annotations

import json

import pytest

from labkit import applicable_policies as ap
from labkit import enforcement
from labkit.design import load_design
from labkit.lab import Lab

DESIGN = {
    "policy_types": ["SCP", "RCP"],
    "root": {
        "policies": ["FullAWSAccess", "deny-leave-organization", "rcp-org-boundary"],
        "ous": [
            {"name": "Workloads", "policies": ["FullAWSAccess", "deny-regions-outside-approved"],
             "ous": [{"name": "Prod", "accounts": [{"name": "prod-app", "email": "prod@example.com"}]}]},
            {"name": "Sandbox", "accounts": [{"name": "sandbox-dev", "email": "sandbox@example.com"}]},
        ],
    },
}
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _doc(action: str, effect: str = "Allow") -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]})


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        lab.apply(load_design(DESIGN))
        yield lab


def test_scp_path_levels_root_to_account_with_labels(lab):
    account = lab.account_id("prod-app")
    levels = ap.scp_path(lab, account)
    assert [level.label for level in levels] == [
        "Root", "OU Workloads", "OU Prod", f"Account prod-app ({account})"]
    assert [[p.name for p in level.policies] for level in levels] == [
        ["FullAWSAccess", "deny-leave-organization"],
        ["FullAWSAccess", "deny-regions-outside-approved"],
        ["FullAWSAccess"], ["FullAWSAccess"]]
    assert {p.kind for level in levels for p in level.policies} == {"scp"}


def test_rcp_path_has_only_rcps(lab):
    levels = ap.rcp_path(lab, lab.account_id("sandbox-dev"))
    assert [[p.name for p in level.policies] for level in levels] == [
        ["RCPFullAWSAccess", "rcp-org-boundary"], ["RCPFullAWSAccess"], ["RCPFullAWSAccess"]]
    assert {p.kind for level in levels for p in level.policies} == {"rcp"}


def test_management_account_and_outsiders_have_no_org_path(lab):
    assert ap.scp_path(lab, lab.management_account_id) is None
    assert ap.rcp_path(lab, lab.management_account_id) is None
    assert ap.scp_path(lab, "999988887777") is None


def test_org_id_and_paths(lab):
    org = lab.session("management").client("organizations").describe_organization()["Organization"]
    assert ap.organization_id(lab) == org["Id"]
    path = ap.org_paths(lab, lab.account_id("prod-app"))
    assert path.startswith(f"{org['Id']}/r-") and path.endswith("/") and path.count("/ou-") == 2
    assert ap.org_paths(lab, lab.management_account_id).count("/") == 2  # o-.../r-.../


def test_org_view_is_cached_until_an_organizations_write(lab):
    org = lab.session("management").client("organizations")
    first = ap.org_view(lab)
    assert ap.org_view(lab) is first
    org.list_accounts()  # a read keeps the cache
    assert ap.org_view(lab) is first
    policy = org.create_policy(Name="deny-ec2-terminate", Type="SERVICE_CONTROL_POLICY",
                               Description="test", Content=_doc("ec2:TerminateInstances", "Deny"))
    account = lab.account_id("sandbox-dev")
    org.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=account)
    org.list_accounts()  # the next call sees the attachment
    assert ap.org_view(lab) is not first
    assert "deny-ec2-terminate" in [p.name for p in ap.scp_path(lab, account)[-1].policies]


def test_after_a_write_the_new_view_is_kept_at_once_and_shows_the_write(lab):
    org = lab.session("management").client("organizations")
    account = lab.account_id("sandbox-dev")
    before = ap.org_view(lab)
    org.tag_resource(ResourceId=account, Tags=[{"Key": "team", "Value": "a"}])  # a write
    after = ap.org_view(lab)
    assert after is not before and ap.org_view(lab) is after  # rebuilt once, then cached
    sandbox = ap.org_view(lab).places[account].parents[-1][0]
    org.move_account(AccountId=account, SourceParentId=sandbox,
                     DestinationParentId=ap.org_view(lab).root_id)
    assert ap.org_view(lab).places[account].parents == ((ap.org_view(lab).root_id, "Root"),)
    org.move_account(AccountId=account, SourceParentId=ap.org_view(lab).root_id,
                     DestinationParentId=sandbox)
    assert ap.org_view(lab).places[account].parents[-1] == (sandbox, "Sandbox")


def test_role_identity_policies_inline_managed_and_boundary(lab):
    iam = lab.session("prod-app").client("iam")
    managed = iam.create_policy(PolicyName="s3-read", PolicyDocument=_doc("s3:Get*"))["Policy"]["Arn"]
    boundary = iam.create_policy(PolicyName="cap", PolicyDocument=_doc("s3:*"))["Policy"]["Arn"]
    iam.create_role(RoleName="App", AssumeRolePolicyDocument=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        PermissionsBoundary=boundary)
    iam.put_role_policy(RoleName="App", PolicyName="inline-logs", PolicyDocument=_doc("logs:*"))
    iam.attach_role_policy(RoleName="App", PolicyArn=managed)
    account = lab.account_id("prod-app")
    found = ap.identity_policies(f"arn:aws:sts::{account}:assumed-role/App/i-123")
    assert sorted(p.name for p in found.identity) == ["inline-logs", "s3-read"]
    assert found.boundary.name == "cap" and found.boundary.kind == "boundary"
    assert found.unique_id.startswith("AROA") and not found.service_linked


def test_user_gets_its_groups_policies(lab):
    iam = lab.session("management").client("iam")
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="own", PolicyDocument=_doc("ec2:Describe*"))
    iam.create_group(GroupName="auditors")
    iam.put_group_policy(GroupName="auditors", PolicyName="group-deny", PolicyDocument=_doc("s3:*", "Deny"))
    iam.add_user_to_group(GroupName="auditors", UserName="alice")
    found = ap.identity_policies(f"arn:aws:iam::{lab.management_account_id}:user/alice")
    assert sorted(p.name for p in found.identity) == ["group-deny", "own"]


def test_service_linked_role_is_marked(lab):
    iam = lab.session("prod-app").client("iam")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]
    found = ap.identity_policies(f"arn:aws:sts::{lab.account_id('prod-app')}:assumed-role/{role['RoleName']}/s")
    assert found.service_linked


def test_unknown_principal_has_no_policies(lab):
    found = ap.identity_policies("arn:aws:sts::999988887777:assumed-role/Nobody/x")
    assert found.identity == () and found.boundary is None and not found.exists


def test_bucket_policy_and_owner(lab):
    s3 = lab.session("prod-app").client("s3")
    s3.create_bucket(Bucket="owned-by-prod")
    assert ap.resource_policy("s3:GetObject", "arn:aws:s3:::owned-by-prod/k") == (None, lab.account_id("prod-app"))
    s3.put_bucket_policy(Bucket="owned-by-prod", Policy=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::owned-by-prod/*"}]}))
    policy, owner = ap.resource_policy("s3:GetObject", "arn:aws:s3:::owned-by-prod/k")
    assert (policy.kind, owner) == ("resource", lab.account_id("prod-app"))


def test_trust_policy_only_for_assume_role(lab):
    account = lab.account_id("prod-app")
    arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    policy, owner = ap.resource_policy("sts:AssumeRole", arn)
    assert (policy.kind, owner) == ("trust", account)
    assert ap.resource_policy("iam:GetRole", arn) == (None, account)


def test_kms_key_policy(lab):
    kms = lab.session("prod-app").client("kms")
    key = kms.create_key()["KeyMetadata"]
    policy, owner = ap.resource_policy("kms:Decrypt", key["Arn"])
    assert (policy.kind, owner) == ("kms", lab.account_id("prod-app"))
    kms.create_alias(AliasName="alias/app", TargetKeyId=key["KeyId"])
    assert ap.kms_aliases(lab.account_id("prod-app"), lab.region) == {"alias/app": key["KeyId"]}


def test_a_broken_stored_policy_is_named(lab):
    s3 = lab.session("prod-app").client("s3")
    s3.create_bucket(Bucket="broken-policy")
    from moto.s3.models import s3_backends

    s3_backends[lab.account_id("prod-app")]["aws"].buckets["broken-policy"].policy = b"{not json"
    with pytest.raises(ap.StateError, match=r"bucket policy of s3://broken-policy: .*invalid JSON at line 1"):
        ap.resource_policy("s3:GetObject", "arn:aws:s3:::broken-policy/k")


def test_disabled_policy_type_applies_nothing(lab, recwarn):
    """Last in the file: it replaces the module's lab (one lab at a time)."""
    with Lab() as other:
        other.apply(load_design({"policy_types": ["SCP"], "root": {"ous": [
            {"name": "Apps", "accounts": [{"name": "app", "email": "app@example.com"}]}]}}))
        account = other.account_id("app")
        assert len(ap.scp_path(other, account)) == 3
        assert ap.rcp_path(other, account) is None  # RCPs were never enabled
