"""An IAM role or user as a request's context needs it: its ARN with its path, and its tags.

Introduced in ``notebooks/02-guardrails.ipynb``. A role session's ARN
(``arn:aws:sts::111111111111:assumed-role/NAME/SESSION``) carries the role's *name* but not
its *path*, while ``aws:PrincipalArn`` is the role's full ARN, path included -- for an IAM
Identity Center role, ``arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/
AWSReservedSSO_...``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn;
https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html).
So the lab reads the role from IAM (moto) by name; role names are unique in an account
whatever their path (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names).

Tags become ``aws:PrincipalTag/<key>`` for the principal and ``aws:ResourceTag/<key>`` for
a role that is the request's resource
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.backends import iam_backend

__all__ = ["IamEntity", "find_role", "iam_entity"]


@dataclass(frozen=True, kw_only=True)
class IamEntity:
    """A role or user as IAM stores it: ARN (with path), path, unique id, tags as pairs.

    >>> IamEntity(arn="arn:aws:iam::111111111111:role/ops/Dev", path="/ops/", unique_id="AROA1",
    ...           tags=(("team", "blue"),)).tags
    (('team', 'blue'),)
    """

    arn: str
    path: str = "/"
    unique_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


def find_role(account_id: str, name: str) -> Any:
    """moto's role called ``name`` in ``account_id`` (any path), or None."""
    return next((r for r in iam_backend(account_id).roles.values() if r.name == name), None)


def _tags(entity) -> tuple[tuple[str, str], ...]:
    # moto keeps a role's tags as a list of {"Key", "Value"}, a user's as a dict of them.
    tags = getattr(entity, "tags", None) or ()
    items = tags.values() if isinstance(tags, dict) else tags
    return tuple((t["Key"], t["Value"]) for t in items if isinstance(t, dict) and "Key" in t)


def entity_of(found) -> IamEntity:
    """The :class:`IamEntity` of a moto role or user object."""
    return IamEntity(arn=found.arn, path=getattr(found, "path", "/") or "/",
                     unique_id=getattr(found, "id", None), tags=_tags(found))


def iam_entity(arn: str) -> IamEntity | None:
    """The role or user an ARN names (a role session names its role), read from IAM; None
    for anything else, or when IAM has no such role or user."""
    from labkit.policy.matching import principal_info

    who = principal_info(arn)
    if who.account is None:
        return None
    if who.kind in ("role", "assumed-role"):
        found = find_role(who.account, who.role_name)
    elif who.kind == "user":
        found = iam_backend(who.account).users.get(who.user_name)
    else:
        return None
    return None if found is None else entity_of(found)
