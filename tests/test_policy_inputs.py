"""Finding 11: wrong inputs to the engine are refused where they are given, naming the field.

``Request`` and ``PolicySet`` check their fields in ``__post_init__``; ``evaluate`` refuses a
first argument that is not a ``Request``. The one coercion: a single ``Policy`` given for
``identity`` or ``session_policies`` is a one-policy list.
"""
from __future__ import annotations

import pytest

from labkit.policy import Level, PolicySet, Request, evaluate, parse_policy

USER = "arn:aws:iam::111111111111:user/alice"
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def policy():
    return parse_policy(ALLOW, name="allow-s3")


@pytest.mark.parametrize("fields, error, says", [
    ({"principal": "bob"}, ValueError, "Request principal must be an ARN"),
    ({"principal": None}, TypeError, "Request principal must be an ARN"),
    ({"principal": ["arn:aws:iam::111111111111:user/alice"]}, TypeError, "got list"),
    ({"principal": "arn:aws:iam"}, ValueError, "got str 'arn:aws:iam'"),
    ({"action": "GetObject"}, ValueError, "Request action must look like 'service:Action'"),
    ({"resource": None}, TypeError, "Request resource must be an ARN or '*'"),
    ({"resource_account": 111111111111}, TypeError, "Request resource_account must be a 12-digit"),
    ({"context": ["x"]}, TypeError, "Request context must be a mapping of condition keys"),
    ({"context": "aws:SourceIp=1.2.3.4"}, TypeError, "got str"),
    ({"context": {1: "x"}}, TypeError, "Request context keys must be condition key names"),
    ({"context": {"aws:SourceIp": {"ip": "1.2.3.4"}}}, TypeError,
     "Request context value of 'aws:SourceIp' must be a string"),
    ({"context": {"aws:TagKeys": ["a", None]}}, TypeError, "value of 'aws:TagKeys'"),
    ({"context": {"aws:TagKeys": [["a"]]}}, TypeError, "got list ['a']"),
], ids=lambda v: str(v)[:40] if not isinstance(v, type) else v.__name__)
def test_a_wrong_request_field_is_refused_naming_it(fields, error, says):
    given = {"principal": USER, "action": "s3:GetObject", **fields}
    with pytest.raises(error) as raised:
        Request(**given)
    assert says in str(raised.value)


@pytest.mark.parametrize("principal", [
    USER, "arn:aws:sts::111111111111:assumed-role/Dev/alice", "arn:aws:iam::111111111111:root",
    "arn:aws:iam::111111111111:group/g", "ec2.amazonaws.com", "*",
])
def test_every_principal_form_the_engine_knows_is_accepted(principal):
    assert Request(principal=principal, action="s3:GetObject").principal == principal


def test_numbers_and_booleans_in_context_are_written_as_aws_writes_them():
    r = Request(principal=USER, action="s3:GetObject",
                context={"aws:MultiFactorAuthPresent": True, "aws:EpochTime": 5, "aws:x": None})
    assert r.context_values["aws:multifactorauthpresent"] == ("true",)
    assert r.context_values["aws:epochtime"] == ("5",)
    assert "aws:x" not in r.context_values


def make(field, value, policy):
    """PolicySet fields built from the ``policy`` fixture: 'P' stands for it."""
    def fill(v):
        if v == "P":
            return policy
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, tuple):
            return tuple(fill(x) for x in v)
        return v
    return {field: fill(value)}


@pytest.mark.parametrize("field, value, says", [
    ("identity", ({"Statement": []},), "PolicySet identity[0] must be a Policy (parse_policy"),
    ("identity", {"Statement": []}, "PolicySet identity must be a list of Policy values"),
    ("identity", "allow-s3", "got str 'allow-s3'"),
    ("identity", ("P", "allow-s3"), "PolicySet identity[1] must be a Policy"),
    ("scps", ("P",), "PolicySet scps[0] is a Policy, but each level is a Level or a list"),
    ("scps", "P", "PolicySet scps must be a list of organization levels"),
    ("rcps", [["P", 3]], "PolicySet rcps[0][1] must be a Policy"),
    ("scps", [[{"Statement": []}]], "PolicySet scps[0][0] must be a Policy"),
    ("boundary", ("P",), "PolicySet boundary must be a Policy or None"),
    ("resource_policy", {"Statement": []}, "PolicySet resource_policy must be a Policy or None"),
    ("session_policies", [{"Statement": []}], "PolicySet session_policies[0] must be a Policy"),
])
def test_a_wrong_policy_set_field_is_refused_naming_it(policy, field, value, says):
    with pytest.raises(TypeError) as raised:
        PolicySet(**make(field, value, policy))
    assert says in str(raised.value)


def test_a_level_refuses_what_is_not_a_policy(policy):
    with pytest.raises(TypeError, match="PolicySet level 'Root' policies\\[0\\] must be a Policy"):
        Level(label="Root", policies=[ALLOW])


def test_one_policy_for_identity_or_session_policies_is_a_one_policy_list(policy):
    one = PolicySet(identity=policy, session_policies=policy)
    assert one.identity == (policy,) and one.session_policies == (policy,)
    request = Request(principal=USER, action="s3:GetObject")
    assert evaluate(request, one).result == evaluate(
        request, PolicySet(identity=(policy,), session_policies=[policy])).result == "Allowed"


@pytest.mark.parametrize("request_value, policies, says", [
    ({"principal": USER, "action": "s3:GetObject"}, PolicySet(),
     "evaluate(request, policies): request must be a Request"),
    ("s3:GetObject", PolicySet(), "got str 's3:GetObject'"),
    (Request(principal=USER, action="s3:GetObject"), {"identity": []},
     "evaluate(request, policies): policies must be a PolicySet"),
])
def test_evaluate_refuses_what_is_not_a_request_and_a_policy_set(request_value, policies, says):
    with pytest.raises(TypeError) as raised:
        evaluate(request_value, policies)
    assert says in str(raised.value)


def test_a_case_file_with_a_wrong_context_value_names_its_line():
    """The errors are ValueErrors too, so the case reader reports them by file and line."""
    from labkit.policy.simulate import simulate_lines

    line = ('{"name": "bad", "request": {"principal": "' + USER + '", "action": "s3:GetObject", '
            '"context": {"aws:SourceIp": {"ip": "1.2.3.4"}}}, "identity_policies": []}')
    rows = list(simulate_lines(["", line], source="cases.jsonl"))
    assert rows[0]["decision"] is None
    assert rows[0]["error"].startswith("cases.jsonl line 2 'bad': Request context value of 'aws:SourceIp'")
