"""The matcher's shortcuts (set lookup, prefix, pieces, regular expression) agree with IAM's
wildcard rule: ``*`` is any run of characters, ``?`` exactly one
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).

Cited cases in tests/cases/engine/wildcard_shapes.jsonl, one per shape, plus a seeded
comparison with the plain regular-expression translation (:func:`wildcard_regex`).
"""
import random
import re

import pytest

from labkit.policy.matching import compile_resources, compile_wildcards, normalise_arn, wildcard_regex
from casefiles import case_params, cases_in

CASES = cases_in("engine/wildcard_shapes.jsonl")


@pytest.mark.parametrize("case", case_params("engine/wildcard_shapes.jsonl"))
def test_shape(case):
    assert compile_resources(tuple(case["patterns"]))(normalise_arn(case["value"])) is case["expected"]


def test_cases_cite_aws():
    assert all(c["source"].startswith("https://docs.aws.amazon.com/") for c in CASES)


def _by_regex(patterns, value):
    return any(re.fullmatch(wildcard_regex(p), value, re.DOTALL) for p in patterns)


def test_shortcuts_agree_with_the_regular_expression():
    rng = random.Random(20250919)
    disagreements = []
    for _ in range(5000):
        patterns = tuple("".join(rng.choice("ab*?:") for _ in range(rng.randint(0, 6)))
                         for _ in range(rng.randint(1, 3)))
        value = "".join(rng.choice("ab:*?") for _ in range(rng.randint(0, 8)))
        if compile_wildcards(patterns)(value) is not _by_regex(patterns, value):
            disagreements.append((patterns, value))
    assert disagreements == []


def _field_rule(pattern: str, value: str) -> bool:
    """The Resource page's rule, written out here apart from the engine: in an ARN's
    partition, service, region and account fields ``?`` is one character other than a colon
    and ``*`` a run of them, except that "If the * wildcard is the last character of a
    resource ARN segment, it can expand to match beyond the colon boundaries"; the resource
    part is one segment (the engine's choice, see matching.py)."""
    fields = pattern.split(":", 5)
    rest = fields.pop() if len(fields) == 6 else None
    parts = []
    for field in fields:
        parts.append("".join((".*" if at == len(field) - 1 else "[^:]*") if char == "*"
                             else "[^:]" if char == "?" else re.escape(char)
                             for at, char in enumerate(field)))
    if rest is not None:
        parts.append(wildcard_regex(rest))
    return re.fullmatch(":".join(parts), value, re.DOTALL) is not None


def test_arn_patterns_follow_the_field_rule():
    rng = random.Random(20250921)
    disagreements = []
    for _ in range(3000):
        pattern = "arn:" + "".join(rng.choice("ab*?:") for _ in range(rng.randint(0, 8)))
        value = "arn:" + "".join(rng.choice("ab:") for _ in range(rng.randint(0, 10)))
        if compile_resources((pattern,))(value) is not _field_rule(pattern, value):
            disagreements.append((pattern, value))
    assert disagreements == []


def test_patterns_with_variables_follow_the_same_field_rule():
    """A ``Resource`` with a policy variable keeps its wildcards to their ARN field as one
    without (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html):
    ``match_templates`` agrees with :func:`_field_rule` once the variable is replaced."""
    from labkit.policy.variables import match_templates
    rng = random.Random(20250920)
    context = {"aws:username": ("b:a",)}
    disagreements = []
    for _ in range(3000):
        tail = "".join(rng.choice("ab*?:") for _ in range(rng.randint(0, 6)))
        cut = rng.randint(0, len(tail))
        pattern = "arn:" + tail[:cut] + "${aws:username}" + tail[cut:]
        value = "arn:" + "".join(rng.choice("ab:") for _ in range(rng.randint(0, 10)))
        plain = "arn:" + tail[:cut] + "b:a" + tail[cut:]  # the value holds no wildcard
        if match_templates((pattern,), value, context) is not _field_rule(plain, value):
            disagreements.append((pattern, value))
    assert disagreements == []
