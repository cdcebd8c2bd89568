"""The request context the lab gives the engine, and what the denial then says.

Each test attaches a guardrail, makes real lab-session calls, and takes the guardrail away.
Sources: ``labkit/enforcement.py`` (global and resource keys; RCP scope),
``labkit/iam_entities.py`` (role paths, tags), ``labkit/denials.py`` (error codes, policy ARNs).
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import botocore.session
import pytest
from botocore.exceptions import ClientError

from labkit import denials, enforcement
from labkit.design import load_design
from labkit.lab import Lab
from labkit.policy.catalogue import rcp_supported_services

DESIGN = {
    "policy_types": ["SCP", "RCP"],
    "root": {"ous": [{"name": "Workloads", "accounts": [{"name": "prod-app", "email": "prod@example.com"}]}]},
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        lab.apply(load_design(DESIGN))
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{lab.management_account_id}:root"}}]})
        iam = lab.session("prod-app").client("iam")
        for name, path, tags in ((SSO_ROLE, SSO_PATH, []), ("Platform", "/", [{"Key": "team", "Value": "platform"}]),
                                 ("Intern", "/", [{"Key": "team", "Value": "interns"}])):
            iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust, Tags=tags)
            iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
        yield lab


@contextmanager
def scp(lab, *statements, kind="SERVICE_CONTROL_POLICY"):
    """An SCP (or RCP) attached to prod-app's account while the block runs."""
    org = lab.session("management").client("organizations")
    policy = org.create_policy(Name=f"test-{len(statements)}-{statements[0].get('Sid', 'x')}",
                               Description="test", Type=kind,
                               Content=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    policy_id, target = policy["Policy"]["PolicySummary"]["Id"], lab.account_id("prod-app")
    org.attach_policy(PolicyId=policy_id, TargetId=target)
    try:
        yield policy["Policy"]["PolicySummary"]["Arn"]
    finally:
        org.detach_policy(PolicyId=policy_id, TargetId=target)
        org.delete_policy(PolicyId=policy_id)


def _denied(call) -> str:
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]["Message"]


def test_principal_arn_keeps_the_role_path_so_an_identity_center_exemption_works(lab):
    account = lab.account_id("prod-app")
    request, _ = enforcement.request_for(lab, account="prod-app", role=SSO_ROLE, action="ec2:DescribeInstances")
    assert request.context["aws:PrincipalArn"] == f"arn:aws:iam::{account}:role{SSO_PATH}{SSO_ROLE}"
    with scp(lab, {"Sid": "OnlyIdentityCenter", "Effect": "Deny", "Action": "ec2:*", "Resource": "*",
                   "Condition": {"ArnNotLike": {
                       "aws:PrincipalArn": "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*"}}}) as arn:
        assert "Reservations" in lab.session("prod-app", SSO_ROLE).client("ec2").describe_instances()
        message = _denied(lab.session("prod-app").client("ec2").describe_instances)
        assert f"with an explicit deny in a service control policy: {arn}. Encoded" in message


def test_abac_scp_on_principal_tags(lab):
    request, _ = enforcement.request_for(lab, account="prod-app", role="Platform", action="s3:ListAllMyBuckets")
    assert request.context["aws:PrincipalTag/team"] == "platform"
    with scp(lab, {"Sid": "PlatformOnly", "Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*",
                   "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}}):
        lab.session("prod-app", "Platform").client("s3").create_bucket(Bucket="platform-abac")
        s3 = lab.session("prod-app", "Intern").client("s3")
        assert "explicit deny in a service control policy" in _denied(
            lambda: s3.create_bucket(Bucket="intern-abac"))


@pytest.mark.parametrize("cidr, denied", [("203.0.113.0/24", False), ("198.51.100.0/24", True)])
def test_not_ip_address_deny_sees_the_lab_source_ip(lab, cidr, denied):
    assert enforcement.LAB_SOURCE_IP == "203.0.113.10"
    with scp(lab, {"Sid": "CorporateNetworkOnly", "Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*",
                   "Condition": {"NotIpAddress": {"aws:SourceIp": cidr}}}):
        iam = lab.session("prod-app").client("iam")
        if denied:
            assert "explicit deny in a service control policy" in _denied(iam.list_roles)
        else:
            assert "Roles" in iam.list_roles()


def test_resource_tags_of_an_iam_role(lab):
    iam = lab.session("prod-app").client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName="Keep", AssumeRolePolicyDocument=trust, Tags=[{"Key": "protected", "Value": "true"}])
    iam.create_role(RoleName="Scratch", AssumeRolePolicyDocument=trust)
    with scp(lab, {"Sid": "KeepProtectedRoles", "Effect": "Deny", "Action": "iam:DeleteRole", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:ResourceTag/protected": "true"}}}):
        assert "explicit deny in a service control policy" in _denied(lambda: iam.delete_role(RoleName="Keep"))
        iam.delete_role(RoleName="Scratch")
    iam.delete_role(RoleName="Keep")


def test_rcps_cover_the_catalogues_services_but_not_aws_managed_kms_keys(lab):
    assert enforcement.RCP_SERVICES == rcp_supported_services()
    assert {"s3", "sts", "kms", "sqs", "secretsmanager", "dynamodb"} <= enforcement.RCP_SERVICES
    account = lab.account_id("prod-app")
    kms = lab.session("prod-app").client("kms")
    customer = kms.create_key()["KeyMetadata"]["Arn"]
    managed = kms.create_key()["KeyMetadata"]
    from moto.kms.models import kms_backends

    kms_backends[account][lab.region].keys[managed["KeyId"]].key_manager = "AWS"
    _, policies = enforcement.request_for(lab, account="prod-app", action="kms:DescribeKey", resource=customer)
    assert policies.rcps is not None
    for resource in (managed["Arn"], f"arn:aws:kms:{lab.region}:{account}:alias/aws/s3"):
        _, policies = enforcement.request_for(lab, account="prod-app", action="kms:DescribeKey", resource=resource)
        assert policies.rcps is None, resource


def test_identity_policy_deny_names_the_managed_policy_arn_but_an_inline_one_has_none(lab):
    iam = lab.session("prod-app").client("iam")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="NoUserListing", PolicyDocument=deny)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="Platform", PolicyArn=arn)
    try:
        message = _denied(lab.session("prod-app", "Platform").client("iam").list_users)
        assert message.endswith(f"with an explicit deny in an identity-based policy: {arn}")
    finally:
        iam.detach_role_policy(RoleName="Platform", PolicyArn=arn)
    iam.put_role_policy(RoleName="Intern", PolicyName="no-users", PolicyDocument=deny)
    try:
        message = _denied(lab.session("prod-app", "Intern").client("iam").list_users)
        assert message.endswith("with an explicit deny in an identity-based policy")
    finally:
        iam.delete_role_policy(RoleName="Intern", PolicyName="no-users")


def test_no_policy_arn_for_a_caller_outside_the_organization(lab):
    lab.session("prod-app").client("s3").create_bucket(Bucket="rcp-target")
    resource = "arn:aws:s3:::rcp-target/k"
    with scp(lab, {"Sid": "NoOutsiders", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-none"}}},
             kind="RESOURCE_CONTROL_POLICY") as arn:
        inside = enforcement.decide(lab, account="prod-app", action="s3:GetObject", resource=resource)
        outside = enforcement.decide(lab, principal="arn:aws:sts::999988887777:assumed-role/P/s",
                                     action="s3:GetObject", resource=resource)
        assert inside.blocked_by == outside.blocked_by == ("rcp",)
        assert denials.deciding_policy_arn(lab, inside) == arn
        assert ":policy/o-" in arn and "/resource_control_policy/p-" in arn
        assert denials.deciding_policy_arn(lab, outside) is None


# The lab's services and SNS: code and status come from botocore's model where it has an
# access-denied error shape (SNS: AuthorizationErrorException, code AuthorizationError).
ERROR_STYLES = [
    ("iam", "AccessDenied"), ("sts", "AccessDenied"), ("s3", "AccessDenied"),
    ("ec2", "UnauthorizedOperation"), ("organizations", "AccessDeniedException"),
    ("cloudtrail", "AccessDeniedException"), ("kms", "AccessDeniedException"),
    ("securityhub", "AccessDeniedException"), ("config", "AccessDeniedException"),
    ("sso-admin", "AccessDeniedException"), ("identitystore", "AccessDeniedException"),
    ("sns", "AuthorizationError"),
]


@pytest.mark.parametrize("service, code", ERROR_STYLES)
def test_access_denied_code_comes_from_the_service_model(service, code):
    assert denials.error_style(service) == (code, 403)
    model = botocore.session.get_session().get_service_model(service)
    modeled = {(model.shape_for(n).metadata.get("error") or {}).get("code", n)
               for n in model.shape_names if model.shape_for(n).metadata.get("exception")}
    if service != "ec2" and modeled & set(denials.ACCESS_DENIED_CODES):
        assert code in modeled


@pytest.mark.parametrize("blocker, explicit, implicit", [
    ("scp", "a service control policy", "service control policy"),
    ("rcp", "a resource control policy", "resource control policy"),
    ("identity", "an identity-based policy", "identity-based policy"),
    ("boundary", "a permissions boundary", "permissions boundary"),
    ("session", "a session policy", "session policy"),
    ("resource", "a resource-based policy", "resource-based policy"),
    ("trust", "a resource-based policy", "resource-based policy"),
])
def test_every_blocker_the_engine_names_has_awss_wording(blocker, explicit, implicit):
    """Wording from https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html."""
    from labkit.policy import Decision, PolicySet, Request
    from labkit.policy.model import BLOCKERS

    assert blocker in BLOCKERS
    request = Request(principal="arn:aws:sts::222222222222:assumed-role/Dev/x", action="s3:ListBucket",
                      resource="arn:aws:s3:::b")
    for result, phrase in (("ExplicitlyDenied", f"with an explicit deny in {explicit}"),
                           ("ImplicitlyDenied", f"because no {implicit} allows the s3:ListBucket action")):
        decision = Decision(result=result, blocked_by=(blocker,), request=request, policies=PolicySet())
        assert denials.denial_message(decision).endswith(phrase)


def test_the_engine_has_no_blocker_without_wording():
    from labkit.policy.model import BLOCKERS

    assert set(BLOCKERS) == {"scp", "rcp", "identity", "boundary", "session", "resource", "trust"}
