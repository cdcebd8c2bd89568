"""Condition operators, table-driven from tests/cases/conditions/*.jsonl.

Each case names its operator, key, policy values, request context and the expected truth,
and the AWS page that defines the rule (``source``). The policy values are read as the
parser reads a policy's ``Condition`` (JSON numbers and booleans included), the context as
a ``Request`` reads it.
"""

import pytest

from labkit.policy.conditions import (OPERATORS, UnknownOperatorError, compile_condition,
                                      explain_condition, split_operator)
from labkit.policy.model import Request
from labkit.policy.parse import PolicyParseError, parse_policy
from casefiles import case_params

CASES = case_params("conditions")


def context_of(raw: dict) -> dict:
    # the engine's own normalisation: lower-cased keys, tuples of strings
    return Request(principal="arn:aws:iam::111111111111:role/R", action="s3:X", context=raw).context_values


def policy_condition(case: dict):
    """The case's condition as a ``Version: 2012-10-17`` policy's parser gives it."""
    doc = {"Version": "2012-10-17",
           "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                         "Condition": {case["operator"]: {case["key"]: case["values"]}}}}
    (condition,) = parse_policy(doc, name=case["name"]).statements[0].conditions
    return condition


@pytest.mark.parametrize("case", CASES)
def test_condition_case(case):
    assert case["source"].startswith("https://docs.aws.amazon.com/")
    condition = policy_condition(case)
    test = compile_condition(condition.operator, condition.key, condition.values)
    assert test(context_of(case["context"])) is case["expected"]


def test_every_operator_family_has_cases():
    families = {OPERATORS[split_operator(c.values[0]["operator"])[1]].family
                for c in CASES if split_operator(c.values[0]["operator"])[1] != "Null"}
    assert families == {op.family for op in OPERATORS.values()}
    assert any(c.values[0]["operator"] == "Null" for c in CASES)


def test_every_base_operator_is_exercised():
    used = {split_operator(c.values[0]["operator"])[1] for c in CASES}
    missing = set(OPERATORS) - used
    assert not missing, f"operators without a case: {sorted(missing)}"


@pytest.mark.parametrize("operator", ["StringEqualz", "Foo:StringEquals", "NullIfExists",
                                      "ForAnyValue:NullIfExists", "IfExists", ":StringEquals"])
def test_unknown_operator_raises(operator):
    with pytest.raises(UnknownOperatorError, match="operator"):
        compile_condition(operator, "aws:SourceIp", ("x",))


# "You can add IfExists to the end of any condition operator name except the Null condition"
# (operators page); set operators are not limited; names are case-sensitive.
OPERATOR_NAMES = {"Null": True, "ForAnyValue:Null": True, "ForAllValues:Null": True,
                  "ForAllValues:StringLikeIfExists": True, "ArnNotLikeIfExists": True,
                  "StringEqualz": False, "ForAnyValue:NullIfExists": False, "NullIfExists": False,
                  ":StringEquals": False, "stringequals": False, "ForAnyValues:StringLike": False}


@pytest.mark.parametrize("operator,known", OPERATOR_NAMES.items())
def test_validator_and_engine_know_the_same_operator_names(operator, known):
    from labkit.policy.catalogue import is_condition_operator
    assert is_condition_operator(operator) is known
    try:
        split_operator(operator)
        parsed = True
    except UnknownOperatorError:
        parsed = False
    assert parsed is known


def test_unknown_operator_in_policy_is_a_parse_error_naming_the_statement():
    doc = {"Statement": [{"Sid": "S1", "Effect": "Allow", "Action": "*", "Resource": "*",
                          "Condition": {"StringEqualz": {"aws:SourceIp": "x"}}}]}
    with pytest.raises(PolicyParseError, match=r"policy 'p', statement 1 \(Sid 'S1'\).*StringEqualz"):
        parse_policy(doc, name="p")


def test_explain_names_key_and_values():
    passed, text = explain_condition("StringNotEquals", "aws:RequestedRegion", ("us-east-1",),
                                     context_of({"aws:RequestedRegion": "ap-south-1"}))
    assert passed is True
    assert "aws:RequestedRegion" in text and "'ap-south-1'" in text and "'us-east-1'" in text
