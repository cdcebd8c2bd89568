"""Action, resource and principal matching, table-driven from tests/cases/engine/matching.jsonl."""

import pytest

from labkit.policy.matching import (compile_actions, compile_resources, normalise_arn,
                                    principal_info, wildcard_regex)
from labkit.policy.parse import parse_policy
from casefiles import case_params, cases_in

CASES = cases_in("engine/matching.jsonl")


def by_kind(kind):
    return case_params("engine/matching.jsonl", keep=lambda c: c["kind"] == kind)


@pytest.mark.parametrize("case", by_kind("action"))
def test_action(case):
    assert compile_actions(tuple(case["patterns"]))(case["value"].lower()) is case["expected"]


@pytest.mark.parametrize("case", by_kind("resource"))
def test_resource(case):
    assert compile_resources(tuple(case["patterns"]))(normalise_arn(case["value"])) is case["expected"]


@pytest.mark.parametrize("case", by_kind("principal"))
def test_principal(case):
    doc = {"Statement": [{"Effect": "Deny", case["element"]: case["principal"], "Action": "*", "Resource": "*"}]}
    statement = parse_policy(doc, name=case["name"], kind="resource").statements[0]
    assert statement.principal_match(principal_info(case["value"])) == case["expected"]


def test_every_case_cites_aws():
    assert all(c["source"].startswith("https://docs.aws.amazon.com/") for c in CASES)


@pytest.mark.parametrize("pattern,text,expected", [
    ("a.b*", "a.bcd", True), ("a.b*", "axbcd", False), ("(x)?", "(x)!", True), ("[ab]", "a", False),
])
def test_regex_metacharacters_are_literal(pattern, text, expected):
    import re
    assert (re.fullmatch(wildcard_regex(pattern), text, re.DOTALL) is not None) is expected
