"""The fast case-line reader (cuts the line at SCHEMA.md keys, splits sections into policy
and level texts, caches each) builds exactly the Case that decoding the line whole builds,
or fails with the same error, whatever the layout (../shared/policy-cases/SCHEMA.md).
"""
import json
import random
from pathlib import Path

import pytest

from labkit.policy.cases import CaseError, case_from_dict, case_from_line
from casefiles import cases_in

SHARED = Path(__file__).parents[2] / "shared" / "policy-cases"
ENGINE = Path(__file__).parent / "cases" / "engine" / "rules.jsonl"


def raw_cases():
    paths = [ENGINE] + [SHARED / name for name in ("handwritten.jsonl", "sample.jsonl") if (SHARED / name).exists()]
    cases = cases_in(paths)
    return cases[:: max(1, len(cases) // 150)]


def layouts(raw, rng):
    yield json.dumps(raw, separators=(",", ":"))
    yield json.dumps(raw)
    yield json.dumps(raw, indent=None, separators=(" , ", " : "))
    keys = list(raw)
    rng.shuffle(keys)
    yield json.dumps({k: raw[k] for k in keys}, separators=(",", ":"))
    yield " " + json.dumps(raw, separators=(",", ":")) + " \t"
    yield json.dumps(raw, separators=(",", ":")) + "\n"  # as read from a file
    yield json.dumps(raw, separators=(",", ":")) + "\r\n"
    # a nested value that contains a top-level key name, and an unknown key
    odd = dict(raw, extra={"scps": None, "request": 1})
    yield json.dumps(odd, separators=(",", ":"))


def test_level_cuts_inside_strings_are_caught():
    deny = {"Statement": [{"Sid": "x],[y", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    allow = {"Statement": [{"Sid": "a\\],[b", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    raw = {"name": "cut", "request": {"principal": "arn:aws:iam::111111111111:user/a", "action": "s3:GetObject"},
           "identity_policies": [allow], "scps": [[allow, deny], [allow], [allow]], "rcps": [[allow], [allow, deny]]}
    for scps in ([[allow, deny], [allow], [allow]], [[allow], [allow]], [[deny]]):
        text = json.dumps(dict(raw, scps=scps), separators=(",", ":"))
        assert build(case_from_line, text) == build(by_dict, text)


def build(loader, text):
    try:
        case = loader(text)
    except CaseError as exc:
        return "error", str(exc)
    return "case", case


def by_dict(text):
    return case_from_dict(json.loads(text))


@pytest.mark.parametrize("seed", range(3))
def test_line_reader_agrees_with_whole_decoding(seed):
    rng = random.Random(seed)
    differ = []
    for raw in raw_cases():
        for text in layouts(raw, rng):
            if build(case_from_line, text) != build(by_dict, text):
                differ.append(text[:120])
    assert differ == []


@pytest.mark.parametrize("section,value", [
    ("identity_policies", [{"Statement": {"Effect": "Allow", "Action": "*"}}]),
    ("identity_policies", ["not a policy"]),
    ("scps", [{"Statement": []}]),
    ("scps", [[{"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}, 7]]),
    ("rcps", "[[]]"),
    ("resource_policy", [{"Statement": []}]),
    ("permissions_boundary", {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": 3}}),
])
def test_bad_sections_fail_as_whole_decoding_does(section, value):
    raw = {"name": "bad", "request": {"principal": "arn:aws:iam::111111111111:user/a", "action": "s3:GetObject"},
           section: value}
    for text in (json.dumps(raw, separators=(",", ":")), json.dumps(raw)):
        got = build(case_from_line, text)
        assert got[0] == "error" and got == build(by_dict, text)
