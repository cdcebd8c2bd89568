"""The policy engine: parse, evaluate and explain AWS policies as AWS does.

Introduced in ``notebooks/02-guardrails.ipynb``. Evaluation follows
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html

The engine is pure Python: importing it loads no AWS SDK, moto or pandas.

>>> from labkit.policy import evaluate, Request, PolicySet, parse_policy
>>> admin = parse_policy({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
>>> request = Request(principal="arn:aws:iam::111111111111:role/Dev", action="s3:ListBuckets")
>>> evaluate(request, PolicySet(identity=(admin,))).result
'Allowed'
"""
from __future__ import annotations

import importlib

# The core is pure Python (no boto3, moto or pandas), so it is imported directly; this also
# keeps the name ``evaluate`` bound to the function rather than to its submodule.
from .evaluate import evaluate
from .model import Condition, Decision, Level, Policy, PolicySet, Request, Statement
from .request import PolicyInputError
from .parse import PolicyParseError, parse_policy

# The validator reads the IAM action catalogue, so it is loaded on first use.
_LAZY = {"validate_policy": "labkit.policy.validate", "check_policy": "labkit.policy.validate",
         "PolicyValidationError": "labkit.policy.validate"}

__all__ = sorted([
    "Condition", "Decision", "Level", "Policy", "PolicyInputError", "PolicyParseError",
    "PolicySet", "PolicyValidationError", "Request", "Statement", "check_policy", "evaluate",
    "parse_policy", "validate_policy",
])


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit.policy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
