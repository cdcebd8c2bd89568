"""An authorization request: who, what action, on which resource, with what context.

Introduced in ``notebooks/02-guardrails.ipynb``. Condition keys that AWS fills in from the
principal (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:username``):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html

>>> r = Request(principal="arn:aws:iam::111111111111:user/alice", action="S3:GetObject",
...             resource="arn:aws:s3:::b/k", context={"AWS:SourceIp": "10.0.0.1"})
>>> r.principal_account, r.resource_account, r.context_values["aws:sourceip"]
('111111111111', '111111111111', ('10.0.0.1',))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .matching import PrincipalInfo, arn_account, normalise_arn, principal_info, session_role_arn

__all__ = ["Request"]


def _context_values(context: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        if type(value) is str:
            out[key.lower()] = (value,)
        elif isinstance(value, (list, tuple)):
            out[key.lower()] = tuple(_text(v) for v in value)
        elif value is not None:
            out[key.lower()] = (_text(value),)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, kw_only=True)
class Request:
    """An authorization request: who, what action, on which resource, with what context.

    ``resource_account`` defaults to the account in the resource ARN, else the principal's.
    ``aws:PrincipalArn``, ``aws:PrincipalAccount`` (and ``aws:username`` for users) default
    from ``principal`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).

    For a role session, ``aws:PrincipalArn`` is the role's ARN *with its path*; a session
    ARN carries no path, so give it in ``context`` when the role has one (enforcement does):
    the engine then uses it for ``Principal`` matching too.

    >>> r = Request(principal="arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_1/alice",
    ...             action="s3:ListBucket", context={"aws:PrincipalArn":
    ...             "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1"})
    >>> r.who.role_arn == r.context_values["aws:principalarn"][0], r.who.role_path_known
    (True, True)
    """

    principal: str
    action: str
    resource: str = "*"
    resource_account: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    action_key: str = field(init=False, repr=False, compare=False)
    resource_key: str = field(init=False, repr=False, compare=False)
    who: PrincipalInfo = field(init=False, repr=False, compare=False)
    context_values: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or ":" not in self.action:
            raise ValueError(f"request action must look like 'service:Action', got {self.action!r}")
        if not isinstance(self.principal, str) or not self.principal:
            raise ValueError(f"request principal must be an ARN, got {self.principal!r}")
        who = principal_info(self.principal)
        values = _context_values(self.context)
        if who.kind == "assumed-role":
            given = values.get("aws:principalarn")
            role_arn = session_role_arn(who, given[0]) if given and len(given) == 1 else None
            if role_arn is not None:
                who = principal_info(self.principal, role_arn)
        own = self.__dict__  # derived fields, written once here (the dataclass is frozen after)
        own["who"] = who
        own["action_key"] = self.action.lower()
        own["resource_key"] = normalise_arn(self.resource)
        if self.resource_account is None:
            own["resource_account"] = arn_account(self.resource) or who.account
        # for a role session, aws:PrincipalArn is the role's ARN (the session ARN has no path)
        values.setdefault("aws:principalarn", (who.role_arn if who.kind == "assumed-role" else self.principal,))
        if who.account:
            values.setdefault("aws:principalaccount", (who.account,))
        if who.user_name:
            values.setdefault("aws:username", (who.user_name,))
        own["context_values"] = values

    @property
    def principal_account(self) -> str | None:
        return self.who.account

    @property
    def service(self) -> str:
        return self.action_key.split(":", 1)[0]
