"""The engine's fast builders (``labkit.policy.frozen.built`` and the ``_read`` / ``_parsed``
/ ``_decided`` constructors the case reader, parser and evaluator use on a first pass) make
exactly the value the public constructors make, and refuse bad input with the same error.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from casefiles import cases_in
from labkit.policy import Level, PolicySet, Request, parse_policy
from labkit.policy.decision import Decision
from labkit.policy.matching import compile_actions
from labkit.policy.parse import _checked_statement, _statement

SHARED = Path(__file__).parents[2] / "shared" / "policy-cases"
CASE_FILES = [Path(__file__).parent / "cases" / "engine" / "rules.jsonl"] + [
    SHARED / name for name in ("handwritten.jsonl", "sample.jsonl") if (SHARED / name).exists()]
USER = "arn:aws:iam::111111111111:user/alice"


def cases():
    found = cases_in(CASE_FILES)
    return found[:: max(1, len(found) // 300)]


def request_fields(raw: dict) -> dict:
    request = raw["request"]
    return {"principal": request["principal"], "action": request["action"],
            "resource": request.get("resource") or "*", "resource_account": request.get("resource_account"),
            "context": request.get("context") or {}}


def derived(request: Request) -> tuple:
    who = request.who
    return (request.action_key, request.resource_key, request.resource_account, request.context_values,
            who.arn, who.kind, who.account, who.role_arn, who.role_path_known)


def test_a_read_request_is_the_request_the_constructor_makes():
    differ = []
    for raw in cases():
        fields = request_fields(raw)
        fast, slow = Request._read(**fields), Request(**fields)
        if fast != slow or derived(fast) != derived(slow) or list(vars(fast)) != list(vars(slow)):
            differ.append(raw.get("name"))
    assert differ == []


@pytest.mark.parametrize("fields", [
    {"principal": "bob"}, {"principal": None}, {"principal": "arn:aws:iam"}, {"action": "GetObject"},
    {"resource": None}, {"resource_account": 111111111111}, {"context": ["x"]},
    {"context": {"aws:SourceIp": {"ip": "1.2.3.4"}}},
], ids=str)
def test_a_read_request_refuses_what_the_constructor_refuses(fields):
    given = {"principal": USER, "action": "s3:GetObject", "resource": "*", "resource_account": None,
             "context": {}, **fields}
    errors = []
    for build in (Request, Request._read):
        with pytest.raises(ValueError) as raised:  # PolicyInputError is a ValueError too
            build(**given)
        errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1]


def statements():
    for raw in cases():
        docs = list(raw.get("identity_policies") or [])
        docs += [doc for field in ("scps", "rcps") for level in raw.get(field) or [] for doc in level]
        docs += [raw[field] for field in ("permissions_boundary", "resource_policy") if raw.get(field)]
        for doc in docs:
            items = doc.get("Statement") if isinstance(doc, dict) else None
            for index, item in enumerate([items] if isinstance(items, dict) else items or []):
                yield item, index, doc.get("Version") == "2012-10-17"


def test_the_parsers_short_paths_build_the_statement_the_checked_path_builds():
    differ, seen = [], 0
    for item, index, variables in statements():
        try:
            slow = _checked_statement(item, index, "p", "identity", variables)
        except ValueError:
            continue  # bad statements always take the checked path
        seen += 1
        fast = _statement(item, index, "p", "identity", variables)
        patterns = fast.actions if fast.actions is not None else fast.not_actions
        for pattern in patterns:  # an action each pattern names, in capitals: the general matcher agrees
            action = pattern.replace("*", "x").replace("?", "y").upper()
            request = Request(principal=USER, action=action if ":" in action else "s3:" + action)
            hit = compile_actions(patterns)(request.action_key)
            if fast.matches_action(request) != (hit if fast.actions is not None else not hit):
                differ.append(item)
        if fast != slow:
            differ.append(item)
    assert seen > 100 and differ == []


def test_fast_built_values_have_every_field_the_constructor_gives():
    policy = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="p")
    request = Request(principal=USER, action="s3:GetObject")
    pairs = [
        (Level._parsed(label="Root", policies=(policy,)), Level(label="Root", policies=(policy,))),
        (PolicySet._parsed(identity=(policy,), boundary=None, scps=None, rcps=None, resource_policy=None),
         PolicySet(identity=(policy,))),
        (Decision._decided("Allowed", request, PolicySet()), Decision(result="Allowed", request=request,
                                                                       policies=PolicySet())),
    ]
    for fast, slow in pairs:
        assert fast == slow and list(vars(fast)) == list(vars(slow))
