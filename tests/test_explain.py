"""Explanations: AWS-style sentences, per-statement reasons, SCP/RCP level outcomes, tables.

Sentence wording follows AWS's access-denied messages:
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
"""
import pytest

from labkit.policy import Level, PolicySet, Request, evaluate, parse_policy

DEV = "arn:aws:iam::222222222222:role/Developer"


def scp(doc, name):
    return parse_policy(doc, name=name, kind="scp")


FULL = scp({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "FullAWSAccess")
DENY_REGIONS = scp({"Statement": [{"Sid": "DenyRegions", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
                                   "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}]},
                   "deny-regions")
EC2_ONLY = scp({"Statement": [{"Sid": "Ec2Only", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}, "ec2-only")
ADMIN = parse_policy({"Statement": [{"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="admin")


def path(*levels):
    return [Level(label=label, policies=tuple(policies)) for label, policies in levels]


def decide(action="s3:GetObject", region="ap-south-1", **policies):
    request = Request(principal=DEV, action=action, resource="arn:aws:s3:::b/k",
                      context={"aws:RequestedRegion": region})
    return evaluate(request, PolicySet(**policies))


@pytest.mark.parametrize("policies,result,phrases", [
    ({"identity": [ADMIN], "scps": path(("Root", [FULL]), ("OU Workloads", [FULL, DENY_REGIONS]))},
     "ExplicitlyDenied",
     ["with an explicit deny in a service control policy", "SCP 'deny-regions' attached at OU Workloads",
      "'DenyRegions'"]),
    ({"identity": [ADMIN], "scps": path(("Root", [FULL]), ("OU Sandbox", [EC2_ONLY]))},
     "ImplicitlyDenied",
     ["because no service control policy allows the s3:GetObject action", "nothing attached at OU Sandbox"]),
    ({"identity": []}, "ImplicitlyDenied", ["because no identity-based policy allows the s3:GetObject action"]),
    ({"identity": [ADMIN], "boundary": parse_policy({"Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}, name="pb", kind="boundary")},
     "ImplicitlyDenied", ["because no permissions boundary allows the s3:GetObject action"]),
    ({"identity": [ADMIN]}, "Allowed", [f"{DEV} is allowed to perform: s3:GetObject",
                                        "(allowed by admin, statement 'Admin')"]),
])
def test_sentence(policies, result, phrases):
    decision = decide(**policies)
    assert decision.result == result
    text = str(decision)
    for phrase in phrases:
        assert phrase in text, text


def test_scp_levels_expose_each_level():
    decision = decide(identity=[ADMIN], scps=path(("Root", [FULL]), ("OU Sandbox", [EC2_ONLY]),
                                                  ("Account 222222222222", [FULL, DENY_REGIONS])))
    outcomes = [(o.label, o.status, o.policy, o.statement) for o in decision.scp_levels]
    assert outcomes == [("Root", "allows", "FullAWSAccess", "statement 1"),
                        ("OU Sandbox", "no-allow", None, None),
                        ("Account 222222222222", "denies", "deny-regions", "DenyRegions")]
    assert decision.result == "ExplicitlyDenied"  # a deny anywhere beats a missing allow
    assert decision.rcp_levels is None


def test_details_say_which_condition_and_value():
    decision = decide(identity=[ADMIN], scps=path(("Root", [FULL, DENY_REGIONS])), region="eu-west-1")
    assert decision.result == "Allowed"
    report = next(r for r in decision.details if r.policy == "deny-regions")
    (statement,) = report.statements
    assert not statement.applies
    assert "StringNotEquals aws:RequestedRegion" in statement.reason and "'eu-west-1'" in statement.reason


@pytest.mark.parametrize("doc,reason", [
    ({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}, "is not matched by Action"),
    ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, "is excluded by NotAction"),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::other/*"}, "is not matched by Resource"),
    ({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"}, "is excluded by NotResource"),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, "action and resource match"),
])
def test_statement_reasons(doc, reason):
    policy = parse_policy({"Statement": [doc]}, name="p")
    (report,) = decide(identity=[policy]).details
    assert reason in report.statements[0].reason


def test_principal_reason_in_resource_policy():
    rp = parse_policy({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:role/Other"},
                                      "Action": "s3:*", "Resource": "*"}]}, name="bucket policy", kind="resource")
    decision = decide(resource_policy=rp)
    assert "is not named by Principal" in decision.details[0].statements[0].reason


def test_frame_and_html():
    pytest.importorskip("pandas")
    decision = decide(identity=[ADMIN], scps=path(("Root", [FULL, DENY_REGIONS])))
    frame = decision.to_frame()
    assert list(frame.columns) == ["kind", "level", "policy", "statement", "effect", "applies", "reason"]
    assert len(frame) == 3
    assert bool(frame.loc[frame.policy == "deny-regions", "applies"].item())
    html = decision._repr_html_()
    assert "ExplicitlyDenied" in html and "<table" in html


def test_decision_is_a_value():
    decision = decide(identity=[ADMIN])
    with pytest.raises(AttributeError):
        decision.result = "Allowed"
    with pytest.raises(ValueError, match="result must be one of"):
        type(decision)(result="Maybe", request=decision.request, policies=decision.policies)


SESSION = "arn:aws:sts::222222222222:assumed-role/Developer/alice"
EC2_SESSION = parse_policy({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}, name="ec2 session policy", kind="session")


def bucket_policy(statement):
    return parse_policy({"Version": "2012-10-17", "Statement": [statement]}, name="bucket policy", kind="resource")


def test_session_policy_that_does_not_allow_is_named():
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
    request = Request(principal=SESSION, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    decision = evaluate(request, PolicySet(identity=[ADMIN], session_policies=[EC2_SESSION]))
    assert (decision.result, decision.blocked_by) == ("ImplicitlyDenied", ("session",))
    assert "because no session policy allows the s3:GetObject action" in str(decision)
    assert [r.kind for r in decision.details] == ["identity", "session"]


def test_role_arn_grant_capped_by_boundary_says_boundary():
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    request = Request(principal=SESSION, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    boundary = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}, name="pb", kind="boundary")
    grant = bucket_policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:role/Developer"},
                           "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    decision = evaluate(request, PolicySet(boundary=boundary, resource_policy=grant))
    assert (decision.result, decision.blocked_by) == ("ImplicitlyDenied", ("boundary",))
    assert "Principal names the role behind this session" in decision.details[0].statements[0].reason


def test_notprincipal_deny_with_boundary_is_explained():
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    request = Request(principal=SESSION, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    boundary = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, name="pb", kind="boundary")
    deny = bucket_policy({"Effect": "Deny", "NotPrincipal": {"AWS": [SESSION, "arn:aws:iam::222222222222:root"]},
                          "Action": "s3:*", "Resource": "*"})
    decision = evaluate(request, PolicySet(identity=[ADMIN], boundary=boundary, resource_policy=deny))
    assert (decision.result, decision.blocked_by) == ("ExplicitlyDenied", ("resource",))
    (statement,) = decision.details[0].statements
    assert statement.applies and "denies every principal that has a permissions boundary" in statement.reason
    without = evaluate(request, PolicySet(identity=[ADMIN], resource_policy=deny))
    assert without.result == "Allowed" and not without.details[0].statements[0].applies


@pytest.mark.parametrize("principal,scps_apply,rcps_apply,identity_applies", [
    (DEV, True, True, True),
    # service-linked roles: exempt from both (orgs_manage_policies_scps.html, ..._rcps.html)
    ("arn:aws:iam::222222222222:role/aws-service-role/ops.example.amazonaws.com/AWSServiceRoleForOps",
     False, False, True),
    # a service principal is in no member account: SCPs do not apply, RCPs do
    # (orgs_manage_policies_authorization_policies.html); it is no IAM identity, so it has no
    # identity-based policies, boundary or session policies (reference_policies_elements_principal.html)
    ("cloudtrail.amazonaws.com", False, True, False),
    ("*", False, True, False),
])
def test_level_outcomes_and_details_only_where_the_paths_apply(principal, scps_apply, rcps_apply,
                                                               identity_applies):
    rcp = parse_policy({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]},
                       name="RCPFullAWSAccess", kind="rcp")
    boundary = parse_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]},
                            name="deny-all boundary", kind="boundary")
    bucket = bucket_policy({"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                            "Resource": "arn:aws:s3:::logs/*"})
    request = Request(principal=principal, action="s3:PutObject", resource="arn:aws:s3:::logs/k",
                      resource_account="222222222222")
    # ADMIN and a deny-all boundary are given for every principal: they count only where they apply
    decision = evaluate(request, PolicySet(identity=[ADMIN], boundary=boundary, session_policies=[EC2_SESSION],
                                           resource_policy=bucket, scps=path(("Root", [FULL, DENY_REGIONS])),
                                           rcps=path(("Root", [rcp]))))
    assert (decision.scp_levels is not None) == scps_apply
    assert (decision.rcp_levels is not None) == rcps_apply
    kinds = {report.kind for report in decision.details}
    assert ("scp" in kinds) == scps_apply and ("rcp" in kinds) == rcps_apply
    assert {"identity", "boundary", "session"} & kinds == ({"identity", "boundary", "session"}
                                                           if identity_applies else set())
    # the boundary's Deny counts for an IAM identity, and is not read for the others
    assert decision.result == ("ExplicitlyDenied" if identity_applies else "Allowed"), str(decision)


def test_sentence_names_an_anonymous_caller():
    """``"*"`` as the requester is an unauthenticated caller (Principal page:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)."""
    request = Request(principal="*", action="s3:GetObject", resource="arn:aws:s3:::b/k",
                      resource_account="222222222222")
    text = str(evaluate(request, PolicySet()))
    assert text.startswith("An anonymous caller (*) is not authorized to perform: s3:GetObject"), text
    assert "because no resource-based policy allows" in text, text


@pytest.mark.parametrize("action,resource,quote", [
    ("kms:Decrypt", "arn:aws:kms:us-east-1:222222222222:key/k1", "All AWS KMS operations require Signature Version 4"),
    ("sts:AssumeRole", "arn:aws:iam::222222222222:role/Public",
     "You must use credentials for an IAM user or an IAM role to call AssumeRole"),
])
def test_sentence_says_an_anonymous_request_is_not_signed(action, resource, quote):
    """A trust or key policy naming "*" does not let an anonymous caller in: the AssumeRole API
    reference (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html) and
    the KMS API reference (https://docs.aws.amazon.com/kms/latest/APIReference/Welcome.html)."""
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": "*"}]}, name="open", kind="resource")
    request = Request(principal="*", action=action, resource=resource, resource_account="222222222222")
    decision = evaluate(request, PolicySet(resource_policy=policy))
    assert decision.result == "ImplicitlyDenied"
    text = str(decision)
    assert text.startswith(f"An anonymous caller (*) is not authorized to perform: {action}"), text
    assert f"because its request is not signed (\"{quote}\")" in text, text
