"""ARNs built from resource ids, for :mod:`labkit.operations`' ``{Param:org}`` and
``{Param:ec2}`` conversions: the ARN formats of the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
Introduced with the operation map in ``notebooks/02-guardrails.ipynb``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["AWS_POLICY_TYPES", "ec2_arn", "org_arn"]

#: The AWS managed Organizations policies every organization has, by id -> policy type.
AWS_POLICY_TYPES = {"p-FullAWSAccess": "SERVICE_CONTROL_POLICY",
                    "p-RCPFullAWSAccess": "RESOURCE_CONTROL_POLICY"}
#: Organizations id prefixes -> ARN resource type (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html).
_ORG_TYPES = {"r-": "root", "ou-": "ou", "p-": "policy"}
#: EC2 id prefixes -> ARN resource type (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html); images and snapshots have no account.
_EC2_TYPES = {"i-": "instance", "vpc-": "vpc", "subnet-": "subnet", "sg-": "security-group",
              "vol-": "volume", "snap-": "snapshot", "ami-": "image", "eni-": "network-interface",
              "igw-": "internet-gateway", "rtb-": "route-table", "nat-": "natgateway",
              "eipalloc-": "elastic-ip", "key-": "key-pair", "acl-": "network-acl",
              "tgw-": "transit-gateway", "vpce-": "vpc-endpoint", "fl-": "vpc-flow-log",
              "lt-": "launch-template", "dopt-": "dhcp-options"}


def org_arn(value: str, env: dict, lookup: Mapping[str, Any]) -> str:
    """An Organizations ARN for an account, root, OU or policy id; ``*`` when the
    organization id or management account is unknown.

    >>> org_arn("ou-ab12-cdef3456", {"partition": "aws"},
    ...         {"organization_id": "o-abc123", "management_account": "111111111111"})
    'arn:aws:organizations::111111111111:ou/o-abc123/ou-ab12-cdef3456'
    """
    if value.startswith("arn:"):
        return value
    org, management = lookup.get("organization_id"), lookup.get("management_account")
    head = f"arn:{env['partition']}:organizations::"
    if value in AWS_POLICY_TYPES:  # AWS managed policies live in the "aws" account
        return f"{head}aws:policy/{AWS_POLICY_TYPES[value].lower()}/{value}"
    if not (org and management):
        return "*"
    if value.isdigit():
        return f"{head}{management}:account/{org}/{value}"
    kind = next((t for p, t in _ORG_TYPES.items() if value.startswith(p)), None)
    if kind == "policy":
        policy_type = (lookup.get("policy_types") or {}).get(value)
        return f"{head}{management}:policy/{org}/{policy_type.lower()}/{value}" if policy_type else "*"
    return f"{head}{management}:{kind}/{org}/{value}" if kind else "*"


def ec2_arn(value: str, env: dict) -> str:
    """An EC2 ARN for a resource id (``*`` for an id of an unknown kind).

    >>> ec2_arn("i-0abc", {"partition": "aws", "region": "eu-west-1", "account": "111111111111"})
    'arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc'
    """
    if value.startswith("arn:"):
        return value
    kind = next((t for p, t in _EC2_TYPES.items() if value.startswith(p)), None)
    if kind is None:
        return "*"
    account = "" if kind in ("image", "snapshot") else env["account"]
    return f"arn:{env['partition']}:ec2:{env['region']}:{account}:{kind}/{value}"
