"""The parser's short path for common statement shapes gives exactly what its checked path
gives: the same Statement, or the same error naming the policy and statement.

Grammar of the elements: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
(cases in tests/cases/engine/parse_paths.jsonl, plus seeded statements mixing good and bad parts).
A case may give ``"variables": false`` (a policy without ``Version: 2012-10-17``) and
``condition_values``, the texts the parser must make of the first condition's values.
"""
import random

import pytest

from labkit.policy.parse import PolicyParseError, _checked_statement, _statement
from casefiles import case_params, cases_in

CASES = cases_in("engine/parse_paths.jsonl")


def outcome(build, item, kind, variables=True):
    try:
        statement = build(item, 2, "policy 'p'", kind, variables)
    except PolicyParseError as exc:
        return "error", str(exc)
    return "statement", statement, statement.fast[1:]


@pytest.mark.parametrize("case", case_params("engine/parse_paths.jsonl"))
def test_case(case):
    variables = case.get("variables", True)
    got = outcome(_statement, case["statement"], case["kind"], variables)
    assert got == outcome(_checked_statement, case["statement"], case["kind"], variables)
    assert got[0] == case["expected"]
    if case["expected"] == "error":
        assert got[1] == case["message"]
    if "condition_values" in case:
        assert list(got[1].conditions[0].values) == case["condition_values"]


def test_cases_cite_aws():
    assert all(c["source"].startswith("https://docs.aws.amazon.com/") for c in CASES)


PARTS = {
    "Sid": ["S1", "", 7, None],
    "Effect": ["Allow", "Deny", "allow", None, 1],
    "Action": ["s3:GetObject", ["s3:Get*", "ec2:Describe*"], [], ["s3:*", 3], None, {"a": 1}],
    "NotAction": ["iam:*", ["iam:*", "sts:*"], None],
    "Resource": ["*", ["arn:aws:s3:::b/*", "arn:aws:s3:::b"], "arn:aws:s3:::${aws:username}/*",
                 "arn:aws:s3:::${bad,}", [], None, [1]],
    "NotResource": ["arn:aws:s3:::b", None],
    "Principal": ["*", {"AWS": "arn:aws:iam::111111111111:root"}, {"Bogus": "x"}, None],
    "NotPrincipal": [{"AWS": ["111111111111"]}, "*"],
    "Condition": [{"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
                  {"Bool": {"aws:SecureTransport": False}}, {"NumericLessThan": {"s3:max-keys": 10}},
                  {"Nope": {"k": "v"}}, {"StringEquals": "x"}, {"StringLike": {"k": [{"a": 1}]}},
                  {"Null": {"aws:TokenIssueTime": "maybe"}}, {"StringEquals": {"k": "${aws:username}"}}, []],
}


@pytest.mark.parametrize("kind", ["identity", "scp", "resource", "trust"])
def test_seeded_statements_agree(kind):
    rng = random.Random(f"parse-paths-{kind}")
    differ = []
    for _ in range(1500):
        item = {key: rng.choice(values) for key, values in PARTS.items() if rng.random() < 0.45}
        if rng.random() < 0.05:
            item = rng.choice([[item], "statement", None])
        if outcome(_statement, item, kind) != outcome(_checked_statement, item, kind):
            differ.append(item)
    assert differ == []
