"""Guardrails that bite: issue 4's acceptance checks, each through real lab-session calls.

The lab is built once per module with the bundled ``recommended`` design (SCPs and RCPs from
the policy library); tests that change it put it back. Sources for each rule are in
``labkit/enforcement.py`` and ``labkit/applicable_policies.py``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from labkit import enforcement
from labkit.applicable_policies import organization_id, scp_path
from labkit.design import load_design
from labkit.lab import Lab
from labkit.policy import evaluate, parse_policy
from casefiles import case_params

CASES = Path(__file__).parent / "cases" / "enforcement" / "calls.jsonl"
#: An account outside the organization (moto accepts any 12-digit id).
OUTSIDER = "999988887777"
ALLOW_ALL = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _trust(*principals: str, **condition) -> str:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": list(principals)}}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _make_role(lab, account: str, name: str, trust: str, policy: dict | None = ALLOW_ALL) -> str:
    iam = lab.session(account).client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=json.dumps(policy))
    return iam.get_role(RoleName=name)["Role"]["Arn"]


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        lab.apply(load_design("recommended"))
        management = lab.management_account_id
        # The organization trail, kept by the audit account (CloudTrail's delegated
        # administrator), and a break-glass role there that the SCPs exempt.
        audit = lab.session("audit")
        audit.client("s3").create_bucket(Bucket="audit-trail-logs")
        audit.client("cloudtrail").create_trail(Name="lz-organization-trail", S3BucketName="audit-trail-logs")
        audit.client("cloudtrail").start_logging(Name="lz-organization-trail")
        _make_role(lab, "audit", "BreakGlass", _trust(f"arn:aws:iam::{management}:root"))
        yield lab


def _error(excinfo) -> tuple[str, int, str]:
    response = excinfo.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"])


def test_recommended_design_attaches_the_guardrails(lab):
    labels = {level.label: [p.name for p in level.policies]
              for level in scp_path(lab, lab.account_id("prod-app"))}
    assert "deny-regions-outside-approved" in labels["OU Workloads"]


def _policy_arn(lab, name: str, policy_type: str = "SERVICE_CONTROL_POLICY") -> str:
    org = lab.session("management").client("organizations")
    return next(p["Arn"] for p in org.list_policies(Filter=policy_type)["Policies"] if p["Name"] == name)


def test_region_outside_approved_is_denied_with_the_scp_message(lab):
    """The explicit deny names the denying SCP's ARN: the caller is in the SCP's organization
    (https://aws.amazon.com/blogs/security/enhanced-access-denied-error-messages-with-policy-arns)."""
    account = lab.account_id("prod-app")
    ec2 = lab.session("prod-app", region="ap-south-1").client("ec2")
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instances()
    code, status, message = _error(excinfo)
    assert (code, status) == ("UnauthorizedOperation", 403)
    arn = _policy_arn(lab, "deny-regions-outside-approved")
    assert arn.startswith(f"arn:aws:organizations::{lab.management_account_id}:policy/"
                          f"{organization_id(lab)}/service_control_policy/p-")
    assert message.startswith(
        "You are not authorized to perform this operation. User: "
        f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/labkit is not authorized "
        f"to perform: ec2:DescribeInstances with an explicit deny in a service control policy: {arn}. "
        "Encoded authorization failure message: ")


def test_approved_region_global_service_and_management_account_are_allowed(lab):
    assert "Reservations" in lab.session("prod-app", region="eu-west-1").client("ec2").describe_instances()
    assert "Roles" in lab.session("prod-app", region="ap-south-1").client("iam").list_roles()
    management = lab.session("management", region="ap-south-1")
    assert "Reservations" in management.client("ec2").describe_instances()


def test_organization_trail_is_protected_except_for_break_glass(lab):
    trail = lab.session("audit").client("cloudtrail")
    with pytest.raises(ClientError) as excinfo:
        trail.stop_logging(Name="lz-organization-trail")
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "cloudtrail:StopLogging on resource: arn:aws:cloudtrail:" in message
    assert message.endswith(":trail/lz-organization-trail with an explicit deny in a service control "
                            f"policy: {_policy_arn(lab, 'protect-log-archive')}")
    lab.session("audit", "BreakGlass").client("cloudtrail").stop_logging(Name="lz-organization-trail")
    status = trail.get_trail_status(Name="lz-organization-trail")
    assert status["IsLogging"] is False


def _ou_id(lab, name: str) -> str:
    org = lab.session("management").client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    return next(ou["Id"] for ou in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
                if ou["Name"] == name)


def test_detaching_full_aws_access_denies_everything_below_until_reattached(lab):
    org = lab.session("management").client("organizations")
    workloads = _ou_id(lab, "Workloads")
    ec2 = lab.session("nonprod-app", region="eu-west-1").client("ec2")
    ec2.describe_instances()
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=workloads)
    try:
        with pytest.raises(ClientError) as excinfo:
            ec2.describe_instances()
        code, _, message = _error(excinfo)
        assert code == "UnauthorizedOperation"
        assert ("is not authorized to perform: ec2:DescribeInstances because no service control "
                "policy allows the ec2:DescribeInstances action") in message
        decision = enforcement.last_denial(lab)
        assert [o.status for o in decision.scp_levels] == ["allows", "no-allow", "allows", "allows"]
    finally:
        org.attach_policy(PolicyId="p-FullAWSAccess", TargetId=workloads)
    ec2.describe_instances()


def test_moving_an_account_changes_its_decisions_at_once(lab):
    org = lab.session("management").client("organizations")
    account = lab.account_id("sandbox-dev")
    sandbox, security = _ou_id(lab, "Sandbox"), _ou_id(lab, "Security")
    cloudtrail = lab.session("sandbox-dev").client("cloudtrail")
    with pytest.raises(ClientError) as excinfo:  # not on the Sandbox allow list
        cloudtrail.describe_trails()
    assert "because no service control policy allows the cloudtrail:DescribeTrails action" in _error(excinfo)[2]
    org.move_account(AccountId=account, SourceParentId=sandbox, DestinationParentId=security)
    try:
        assert "trailList" in cloudtrail.describe_trails()
    finally:
        org.move_account(AccountId=account, SourceParentId=security, DestinationParentId=sandbox)
    with pytest.raises(ClientError):
        cloudtrail.describe_trails()


def test_assume_role_needs_the_trust_policy_to_name_the_caller(lab):
    prod, nonprod = lab.account_id("prod-app"), lab.account_id("nonprod-app")
    caller_role = f"arn:aws:iam::{nonprod}:role/OrganizationAccountAccessRole"
    target = _make_role(lab, "prod-app", "Deployer", _trust(f"arn:aws:iam::{OUTSIDER}:root"))
    sts = lab.session("nonprod-app").client("sts")
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=target, RoleSessionName="deploy")
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: arn:aws:sts::{nonprod}:assumed-role/OrganizationAccountAccessRole/labkit "
                              f"is not authorized to perform: sts:AssumeRole on resource: {target}")
    lab.session("prod-app").client("iam").update_assume_role_policy(
        RoleName="Deployer", PolicyDocument=_trust(caller_role))
    credentials = sts.assume_role(RoleArn=target, RoleSessionName="deploy")["Credentials"]
    assert credentials["AccessKeyId"]
    assert prod in target


def test_assume_role_also_needs_identity_permission(lab):
    management = lab.management_account_id
    nonprod = lab.account_id("nonprod-app")
    _make_role(lab, "nonprod-app", "ReadOnlyCaller", _trust(f"arn:aws:iam::{management}:root"),
               {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]})
    target = _make_role(lab, "prod-app", "Reader", _trust(f"arn:aws:iam::{nonprod}:role/ReadOnlyCaller"))
    with pytest.raises(ClientError) as excinfo:
        lab.session("nonprod-app", "ReadOnlyCaller").client("sts").assume_role(
            RoleArn=target, RoleSessionName="read")
    assert "because no identity-based policy allows the sts:AssumeRole action" in _error(excinfo)[2]


def test_external_id_condition_is_honoured(lab):
    nonprod = lab.account_id("nonprod-app")
    caller = f"arn:aws:iam::{nonprod}:role/OrganizationAccountAccessRole"
    target = _make_role(lab, "prod-app", "Vendor",
                        _trust(caller, StringEquals={"sts:ExternalId": "ticket-4711"}))
    sts = lab.session("nonprod-app").client("sts")
    for extra in ({}, {"ExternalId": "ticket-0000"}):
        with pytest.raises(ClientError) as excinfo:
            sts.assume_role(RoleArn=target, RoleSessionName="vendor", **extra)
        assert _error(excinfo)[0] == "AccessDenied"
    assert sts.assume_role(RoleArn=target, RoleSessionName="vendor", ExternalId="ticket-4711")["Credentials"]


@pytest.fixture(scope="module")
def shared_bucket(lab):
    s3 = lab.session("prod-app").client("s3")
    s3.create_bucket(Bucket="prod-app-shared")
    s3.put_object(Bucket="prod-app-shared", Key="report.csv", Body=b"a,b\n")
    # A role in an account outside the organization, made in moto directly: no lab session
    # can act there before the role exists.
    from moto.iam.models import iam_backends

    outsider = iam_backends[OUTSIDER]["global"].create_role(
        "Partner", _trust(f"arn:aws:iam::{lab.management_account_id}:root"), "/", None, "", [], None)
    outsider.put_policy("permissions", json.dumps(ALLOW_ALL))
    return "prod-app-shared"


def _bucket_policy(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::prod-app-shared/*"}]})


def test_cross_account_get_object_needs_a_bucket_policy(lab, shared_bucket):
    nonprod = lab.account_id("nonprod-app")
    s3 = lab.session("nonprod-app").client("s3")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=shared_bucket, Key="report.csv")
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f"User: arn:aws:sts::{nonprod}:assumed-role/OrganizationAccountAccessRole/labkit is not "
                       'authorized to perform: s3:GetObject on resource: "arn:aws:s3:::prod-app-shared/report.csv" '
                       "because no resource-based policy allows the s3:GetObject action")
    lab.session("prod-app").client("s3").put_bucket_policy(
        Bucket=shared_bucket, Policy=_bucket_policy(f"arn:aws:iam::{nonprod}:role/OrganizationAccountAccessRole"))
    try:
        assert s3.get_object(Bucket=shared_bucket, Key="report.csv")["Body"].read() == b"a,b\n"
    finally:
        lab.session("prod-app").client("s3").delete_bucket_policy(Bucket=shared_bucket)


def test_rcp_keeps_outsiders_away_even_when_the_bucket_policy_allows(lab, shared_bucket):
    owner = lab.session("prod-app").client("s3")
    owner.put_bucket_policy(Bucket=shared_bucket, Policy=_bucket_policy(f"arn:aws:iam::{OUTSIDER}:role/Partner"))
    try:
        partner = lab.session(OUTSIDER, "Partner").client("s3")
        with pytest.raises(ClientError) as excinfo:
            partner.get_object(Bucket=shared_bucket, Key="report.csv")
        assert _error(excinfo) == ("AccessDenied", 403, "Access Denied")  # no context outside the org
        decision = enforcement.last_denial(lab)
        assert (decision.result, decision.blocked_by) == ("ExplicitlyDenied", ("rcp",))
        request, policies = enforcement.request_for(
            lab, principal=f"arn:aws:sts::{OUTSIDER}:assumed-role/Partner/labkit", service="s3",
            operation="GetObject", params={"Bucket": shared_bucket, "Key": "report.csv"})
        assert policies.scps is None  # SCPs never reach principals outside the organization
        assert "aws:PrincipalOrgID" not in request.context
        assert request.context["aws:ResourceOrgID"] == organization_id(lab)
    finally:
        owner.delete_bucket_policy(Bucket=shared_bucket)


def test_moto_does_not_apply_bucket_policy_denies_itself(lab, shared_bucket):
    """moto takes a Deny with an unmet condition as matching; AWS (and labkit) do not."""
    owner = lab.session("prod-app").client("s3")
    owner.put_bucket_policy(Bucket=shared_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::prod-app-shared/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    try:
        assert owner.get_object(Bucket=shared_bucket, Key="report.csv")["Body"].read() == b"a,b\n"
    finally:
        owner.delete_bucket_policy(Bucket=shared_bucket)
    from moto import settings

    assert settings.INITIAL_NO_AUTH_ACTION_COUNT == float("inf")  # moto's IAM checks stay off


def test_enforce_false_turns_authorization_off_but_not_organizations_rules(lab):
    ec2 = lab.session("prod-app", region="ap-south-1").client("ec2")
    org = lab.session("management").client("organizations")
    lab.enforce = False
    try:
        assert "Reservations" in ec2.describe_instances()
        with pytest.raises(ClientError) as excinfo:  # the last SCP of a target stays
            org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=_ou_id(lab, "Suspended"))
        assert _error(excinfo)[0] == "ConstraintViolationException"
    finally:
        lab.enforce = True
    with pytest.raises(ClientError):
        ec2.describe_instances()


@pytest.mark.parametrize("case", case_params(CASES))
def test_every_denial_is_the_engines_decision(lab, case):
    """Each call is made through a lab session; its outcome must be what request_for +
    evaluate give for the same request, and a denial's message the one built from it."""
    session = lab.session(case["account"], case.get("role"), case.get("region"))
    client = session.client(case["service"])
    method = getattr(client, case["method"])
    request, policies = enforcement.request_for(
        lab, account=case["account"], role=case.get("role"), region=case.get("region"),
        service=case["service"], operation=client.meta.method_to_api_mapping[case["method"]],
        params=case.get("params", {}))
    expected = evaluate(request, policies)
    assert expected.result == case["expected"], str(expected)
    if expected.allowed:
        try:
            method(**case.get("params", {}))
        except ClientError as exc:  # moto may refuse for its own reasons, never for access
            assert exc.response["Error"]["Code"] not in ("AccessDenied", "AccessDeniedException",
                                                         "UnauthorizedOperation")
        return
    with pytest.raises(ClientError) as excinfo:
        method(**case.get("params", {}))
    denial = enforcement.last_denial(lab)
    assert (denial.result, denial.blocked_by, denial.deciding) == (
        expected.result, expected.blocked_by, expected.deciding)
    assert denial.request.action == request.action and denial.request.resource == request.resource
    code, status, message = _error(excinfo)
    assert (code, status) == enforcement.error_style(case["service"])
    assert enforcement.denial_message(expected, quote_resource=case["service"] == "s3") in message


def test_writes_made_without_enforcement_are_seen_when_it_is_back_on(lab):
    org = lab.session("management").client("organizations")
    account = lab.account_id("sandbox-dev")
    sandbox, security = _ou_id(lab, "Sandbox"), _ou_id(lab, "Security")
    cloudtrail = lab.session("sandbox-dev").client("cloudtrail")
    with pytest.raises(ClientError):
        cloudtrail.describe_trails()
    lab.enforce = False
    org.move_account(AccountId=account, SourceParentId=sandbox, DestinationParentId=security)
    lab.enforce = True
    try:
        assert "trailList" in cloudtrail.describe_trails()
    finally:
        org.move_account(AccountId=account, SourceParentId=security, DestinationParentId=sandbox)


def test_service_linked_roles_are_exempt_from_scps_and_rcps(lab):
    role = lab.session("prod-app").client("iam").create_service_linked_role(
        AWSServiceName="elasticloadbalancing.amazonaws.com")["Role"]
    principal = f"arn:aws:sts::{lab.account_id('prod-app')}:assumed-role/{role['RoleName']}/elb"
    request, policies = enforcement.request_for(
        lab, principal=principal, action="ec2:DescribeInstances", region="ap-south-1")
    assert policies.scps is None and policies.rcps is None
    assert "scp" not in evaluate(request, policies).blocked_by
    # the same request from an ordinary role of the account is stopped by the region SCP
    assert enforcement.decide(lab, account="prod-app", action="ec2:DescribeInstances",
                              region="ap-south-1").blocked_by == ("scp",)


def test_request_for_sets_the_global_condition_keys(lab):
    account = lab.account_id("prod-app")
    request, _ = enforcement.request_for(lab, account="prod-app", action="iam:ListRoles", region="ap-south-1")
    context = request.context
    assert context["aws:RequestedRegion"] == "us-east-1"  # IAM's one endpoint is in us-east-1
    assert context["aws:PrincipalArn"] == f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    assert context["aws:PrincipalAccount"] == account and context["aws:PrincipalType"] == "AssumedRole"
    assert context["aws:PrincipalOrgID"] == organization_id(lab)
    assert context["aws:PrincipalOrgPaths"][0].startswith(organization_id(lab) + "/r-")
    assert context["aws:userid"].startswith("AROA") and context["aws:userid"].endswith(":labkit")
    assert (context["aws:SecureTransport"], context["aws:MultiFactorAuthPresent"],
            context["aws:PrincipalIsAWSService"]) == ("true", "false", "false")
    assert int(context["aws:EpochTime"]) > 1_700_000_000 and context["aws:CurrentTime"].endswith("Z")


def test_an_unmapped_operation_is_authorized_on_service_operation_against_star(lab):
    from labkit.operations import unmapped_operations

    operation = unmapped_operations("ec2")["ec2"][0]
    request, _ = enforcement.request_for(lab, account="prod-app", service="ec2", operation=operation)
    assert (request.action, request.resource) == (f"ec2:{operation}", "*")


@pytest.mark.parametrize("service, code", [
    ("iam", "AccessDenied"), ("sts", "AccessDenied"), ("s3", "AccessDenied"),
    ("ec2", "UnauthorizedOperation"), ("organizations", "AccessDeniedException"),
    ("cloudtrail", "AccessDeniedException"), ("kms", "AccessDeniedException"),
    ("securityhub", "AccessDeniedException"), ("config", "AccessDeniedException"),
    ("sso-admin", "AccessDeniedException"), ("identitystore", "AccessDeniedException"),
])
def test_each_service_denies_with_its_own_error_code(service, code):
    import botocore.session

    assert enforcement.error_style(service) == (code, 403)
    model = botocore.session.get_session().get_service_model(service)
    if model.protocol in ("json", "rest-json") and "AccessDeniedException" in model.shape_names:
        assert model.shape_for("AccessDeniedException").metadata.get("exception")


def test_authorization_comes_before_the_organizations_rules(lab):
    """A caller without permission learns nothing about the organization: AWS authorizes the
    request before Organizations checks it (here, detaching a target's last SCP)."""
    management = lab.management_account_id
    _make_role(lab, "management", "Viewer", _trust(f"arn:aws:iam::{management}:root"),
               {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]})
    org = lab.session("management", "Viewer").client("organizations")
    with pytest.raises(ClientError) as excinfo:
        org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=_ou_id(lab, "Suspended"))
    code, status, message = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "because no identity-based policy allows the organizations:DetachPolicy action" in message


@pytest.mark.parametrize("service, operation, action", [
    ("cloudfront", "list_distributions", "cloudfront:ListDistributions"),
    ("route53", "list_hosted_zones", "route53:ListHostedZones"),
])
def test_a_global_service_call_and_decide_agree_on_the_requested_region(lab, service, operation, action):
    """CloudFront and Route 53 have one endpoint, in us-east-1, so a call from eu-west-1 has
    aws:RequestedRegion us-east-1 (labkit.operations.GLOBAL_ENDPOINTS cites the pages): an SCP
    that allows only us-east-1 lets it through, both for a lab call and for decide()."""
    org = lab.session("management").client("organizations")
    only_us_east_1 = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}]}
    policy = org.create_policy(Name=f"only-us-east-1-{service}", Description="test",
                               Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps(only_us_east_1))["Policy"]["PolicySummary"]["Id"]
    account = lab.account_id("prod-app")
    org.attach_policy(PolicyId=policy, TargetId=account)
    try:
        session = lab.session("prod-app", region="eu-west-1")
        getattr(session.client(service), operation)()  # allowed: requested from us-east-1
        assert enforcement.decide(lab, account="prod-app", action=action, region="eu-west-1").allowed
        assert enforcement.decide(lab, account="prod-app", service=service,
                                  operation=action.split(":")[1], region="eu-west-1").allowed
        # the same SCP denies a regional service's call from eu-west-1, in the lab and in decide()
        with pytest.raises(ClientError):
            session.client("ec2").describe_instances()
        assert not enforcement.decide(lab, account="prod-app", action="ec2:DescribeInstances",
                                      region="eu-west-1").allowed
    finally:
        org.detach_policy(PolicyId=policy, TargetId=account)
        org.delete_policy(PolicyId=policy)


@pytest.mark.parametrize("principal,result,blocked_by", [
    # a service principal's request has aws:PrincipalIsAWSService "true": the RCP exempts it
    ("cloudtrail.amazonaws.com", "Allowed", ()),
    # an anonymous request has no aws:PrincipalIsAWSService and no aws:PrincipalOrgID: the
    # RCP's Deny applies (condition keys page, availability of each key)
    ("*", "ExplicitlyDenied", ("rcp",)),
])
def test_service_and_anonymous_principals_meet_the_rcp_as_aws_describes(lab, principal, result, blocked_by):
    bucket = "arn:aws:s3:::audit-trail-logs/AWSLogs/x"
    policy = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": bucket}]},
        name="open-bucket-policy", kind="resource")
    request, policies = enforcement.request_for(lab, principal=principal, action="s3:PutObject",
                                                resource=bucket)
    assert policies.rcps is not None
    decision = evaluate(request, dataclasses.replace(policies, resource_policy=policy))
    assert (decision.result, decision.blocked_by) == (result, blocked_by)
    assert request.context_values.get("aws:principalisawsservice") == (
        ("true",) if principal != "*" else None)
