"""The engine compiles a statement's resource matcher and conditions only when a request
gets past the statement's action, yet the parser still rejects every bad condition
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
and decisions are the same either way.
"""
import pytest

from labkit.policy import PolicySet, Request, evaluate, parse_policy
from labkit.policy.parse import PolicyParseError

DOC = {"Statement": [
    {"Sid": "Logs", "Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:log-group:app-*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}},
    {"Sid": "Reads", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::data/*",
     "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
]}


def request(action, resource, **context):
    return Request(principal="arn:aws:iam::111111111111:role/App", action=action, resource=resource,
                   context=context)


def test_only_statements_past_their_action_compile_the_rest():
    # parsed statements are shared by identical documents: use one no other test parses
    doc = {"Statement": [dict(s, Sid=s["Sid"] + "Fresh") for s in DOC["Statement"]]}
    policy = parse_policy(doc, name="lazy-compile-test")
    logs, reads = policy.statements
    decision = evaluate(request("s3:GetObject", "arn:aws:s3:::data/k", **{"aws:SecureTransport": "true"}),
                        PolicySet(identity=(policy,)))
    assert decision.result == "Allowed"
    assert "_resource" in vars(reads) and "test" in vars(reads.conditions[0])
    assert "_resource" not in vars(logs) and "test" not in vars(logs.conditions[0])


@pytest.mark.parametrize("action,resource,context,expected", [
    ("logs:PutLogEvents", "arn:aws:logs:eu-west-1:111111111111:log-group:app-web", {"aws:RequestedRegion": "eu-west-1"}, "Allowed"),
    ("logs:PutLogEvents", "arn:aws:logs:eu-west-1:111111111111:log-group:app-web", {"aws:RequestedRegion": "us-east-1"}, "ImplicitlyDenied"),
    ("logs:PutLogEvents", "arn:aws:logs:eu-west-1:111111111111:log-group:db", {"aws:RequestedRegion": "eu-west-1"}, "ImplicitlyDenied"),
    ("s3:GetObject", "arn:aws:s3:::data/k", {"aws:SecureTransport": "false"}, "ImplicitlyDenied"),
])
def test_lazily_compiled_parts_still_decide(action, resource, context, expected):
    policy = parse_policy(DOC, name="lazy-compile-decide")
    assert evaluate(request(action, resource, **context), PolicySet(identity=(policy,))).result == expected


def test_a_bad_condition_is_still_rejected_when_parsed():
    doc = {"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                         "Condition": {"Null": {"aws:TokenIssueTime": "perhaps"}}}}
    with pytest.raises(PolicyParseError, match="Null condition on 'aws:tokenissuetime' needs 'true' or 'false'"):
        parse_policy(doc, name="bad-null", kind="scp")
