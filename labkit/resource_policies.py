"""The resource side of a request: the resource-based policy that applies, who owns the
resource, and whether it is one of AWS's own KMS keys.

Split from :mod:`labkit.applicable_policies` (which re-exports every name here); introduced
in ``notebooks/02-guardrails.ipynb``. Each rule cites its page below.
"""
from __future__ import annotations

import json
from typing import Any

from labkit.iam_entities import find_role
from labkit.policy import Policy, PolicyParseError, parse_policy

__all__ = ["StateError", "aws_managed_key", "bucket_owner", "kms_aliases", "resource_policy"]


class StateError(ValueError):
    """A policy stored in the lab cannot be read: names the policy and where it is attached."""


def _parse(text: Any, name: str, kind: str, where: str) -> Policy:
    """A policy stored in the lab (JSON text, bytes or a parsed document), parsed; a
    :class:`StateError` naming ``where`` when it cannot be read."""
    try:
        if isinstance(text, bytes):
            text = text.decode()
        return parse_policy(text if isinstance(text, (str, dict)) else json.dumps(text), name=name, kind=kind)
    except PolicyParseError as exc:
        raise StateError(f"{where}: {exc}") from None


def bucket_owner(bucket: str) -> str | None:
    """The account that owns an S3 bucket in the lab, or None if there is no such bucket."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    return owner[1] if owner else None


def resource_policy(action: str, resource: str) -> tuple[Policy | None, str | None]:
    """The resource-based policy for ``action`` on ``resource`` and the resource's account.

    - ``arn:aws:s3:::bucket`` or ``.../key``: the bucket policy
      (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html);
    - ``arn:aws:kms:region:account:key/id``: the key policy
      (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html);
    - ``arn:aws:iam::account:role/name`` with ``sts:AssumeRole*``: the role's trust policy
      (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html).
    """
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None, None
    service, region, account, rest = parts[2], parts[3], parts[4], parts[5]
    if service == "s3" and not account:
        bucket = rest.split("/", 1)[0]
        owner = bucket_owner(bucket) if bucket and "*" not in bucket else None
        if owner is None:
            return None, None
        from moto.s3.models import s3_backends

        found = s3_backends[owner]["aws"].buckets.get(bucket)
        if found is None or not found.policy:
            return None, owner
        return _parse(found.policy, f"bucket policy of {bucket}", "resource",
                      f"bucket policy of s3://{bucket}"), owner
    if service == "kms" and rest.startswith("key/") and account:
        from moto.kms.models import kms_backends

        key = kms_backends[account][region].keys.get(rest[4:])
        if key is None or not getattr(key, "policy", None):
            return None, account
        return _parse(key.policy, f"key policy of {rest[4:]}", "kms",
                      f"key policy of {resource}"), account
    if service == "iam" and rest.startswith("role/") and action.lower().startswith("sts:assumerole"):
        name = rest.rsplit("/", 1)[-1]
        role = find_role(account, name)
        if role is None:
            return None, account
        return _parse(role.assume_role_policy_document, f"trust policy of {name}", "trust",
                      f"trust policy of {resource}"), account
    return None, account if account.isdigit() else None


def kms_aliases(account_id: str, region: str) -> dict[str, str]:
    """Alias name (``alias/...``) -> key id, for one account and Region."""
    from moto.kms.models import kms_backends

    backend = kms_backends[account_id][region]
    return {alias: key.id for key in backend.keys.values() for alias in key.aliases}


def aws_managed_key(resource: str) -> bool:
    """Whether ``resource`` is an AWS managed KMS key: an ``alias/aws/...`` alias, or a key
    whose ``KeyManager`` is ``AWS``. RCPs do not restrict these keys
    (https://docs.aws.amazon.com/kms/latest/developerguide/resource-control-policies.html).

    >>> aws_managed_key("arn:aws:kms:eu-west-1:111111111111:alias/aws/s3")
    True
    """
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[2] != "kms":
        return False
    region, account, rest = parts[3], parts[4], parts[5]
    if rest.startswith("alias/aws/"):
        return True
    if not rest.startswith("key/") or not account.isdigit():
        return False
    from moto.kms.models import kms_backends

    key = kms_backends[account][region].keys.get(rest[4:])
    return key is not None and getattr(key, "key_manager", "CUSTOMER") == "AWS"
