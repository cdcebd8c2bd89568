"""An authorization request: who, what action, on which resource, with what context.

Introduced in ``notebooks/02-guardrails.ipynb``. Condition keys that AWS fills in from the
principal (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalIsAWSService``,
``aws:PrincipalServiceName``, ``aws:username``), each only where AWS includes it
(:func:`_principal_keys`):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html

>>> r = Request(principal="arn:aws:iam::111111111111:user/alice", action="S3:GetObject",
...             resource="arn:aws:s3:::b/k", context={"AWS:SourceIp": "10.0.0.1"})
>>> r.principal_account, r.resource_account, r.context_values["aws:sourceip"]
('111111111111', '111111111111', ('10.0.0.1',))
>>> sorted(Request(principal="*", action="s3:GetObject").context_values.items())
[('aws:principalaccount', ('anonymous',)), ('aws:principaltype', ('Anonymous',)), ('aws:userid', ('anonymous',))]
>>> sorted(Request(principal="cloudtrail.amazonaws.com", action="s3:PutObject").context_values.items())
[('aws:principalisawsservice', ('true',)), ('aws:principalservicename', ('cloudtrail.amazonaws.com',))]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .condition_values import scalar_text
from .matching import PrincipalInfo, arn_account, normalise_arn, principal_info, session_role_arn

__all__ = ["PolicyInputError", "Request", "refuse_arguments"]


class PolicyInputError(TypeError, ValueError):
    """A wrong type given to the engine (a ``TypeError``, and a ``ValueError`` so that code
    reporting bad values, like the case-file reader, reports it too), naming the field."""


_SCALARS = (str, bool, int, float)


def _context_values(context: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    if type(context) is not dict and not isinstance(context, Mapping):
        raise PolicyInputError(
            f"Request context must be a mapping of condition keys to values, e.g. "
            f"{{'aws:SourceIp': '10.0.0.1'}}; got {type(context).__name__} {context!r}")
    out: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        if type(key) is not str:
            raise PolicyInputError(f"Request context keys must be condition key names (str); "
                            f"got {type(key).__name__} {key!r}")
        if type(value) is str:
            out[key.lower()] = (value,)
        elif isinstance(value, (list, tuple)):
            out[key.lower()] = tuple([v if type(v) is str else _text(v, key) for v in value])
        elif value is not None:
            out[key.lower()] = (_text(value, key),)
    return out


def _text(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, _SCALARS):
        raise PolicyInputError(
            f"Request context value of {key!r} must be a string, a number, a boolean or a "
            f"list of them; got {type(value).__name__} {value!r}")
    return scalar_text(value)  # a float in plain decimals, as the Numeric operators read it


def _check_principal(principal: Any, who: PrincipalInfo | None) -> None:
    if who is not None and (who.kind != "other" or principal == "*"
                            or (principal.startswith("arn:") and principal.count(":") >= 5)):
        return
    error = ValueError if type(principal) is str else PolicyInputError
    raise error(
        "Request principal must be an ARN (arn:aws:iam::111111111111:user/alice, "
        "arn:aws:sts::111111111111:assumed-role/Dev/alice, ...), a service principal "
        f"(ec2.amazonaws.com) or '*'; got {type(principal).__name__} {principal!r}")


@dataclass(frozen=True, kw_only=True)
class Request:
    """An authorization request: who, what action, on which resource, with what context.

    ``resource_account`` defaults to the account in the resource ARN, else the principal's.
    Wrong types are refused here, naming the field (a ``TypeError``/``ValueError``), not
    deep inside :func:`~labkit.policy.evaluate`: ``principal`` is an ARN, a service
    principal or ``*``; ``context`` maps condition keys to strings or lists of strings
    (numbers and booleans are written as AWS writes them: ``True`` is ``"true"``; ``None``
    leaves the key out).
    The principal's condition keys (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:PrincipalIsAWSService``, ``aws:PrincipalServiceName``, ``aws:username``) default
    from ``principal`` where AWS includes them: an anonymous caller (``*``) has no
    ``aws:PrincipalArn`` and the account ``anonymous``, a service principal has
    ``aws:PrincipalServiceName`` and no ARN or account (:func:`_principal_keys`;
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).

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
        _fill(self.__dict__)  # derived fields, written once here (the dataclass is frozen after)

    @classmethod
    def _read(cls, *, principal: str, action: str, resource: str, resource_account: str | None,
              context: Mapping[str, Any]) -> "Request":
        """``Request(...)`` for the case reader: the same checks and value, without a frozen
        dataclass's per-field setattr (a first pass over a case file builds thousands)."""
        self = object.__new__(cls)
        own = {"principal": principal, "action": action, "resource": resource,
               "resource_account": resource_account, "context": context}
        _fill(own)
        object.__setattr__(self, "__dict__", own)
        return self

    @property
    def principal_account(self) -> str | None:
        return self.who.account

    @property
    def service(self) -> str:
        return self.action_key.split(":", 1)[0]


def _fill(own: dict) -> None:
    """Check a request's fields (in ``own``, its ``__dict__``) and add the derived ones."""
    action, principal, resource, account = own["action"], own["principal"], own["resource"], own["resource_account"]
    if not isinstance(action, str) or ":" not in action:
        raise ValueError(f"Request action must look like 'service:Action', got {action!r}")
    who = principal_info(principal) if type(principal) is str and principal else None
    if who is None or who.kind == "other":
        _check_principal(principal, who)
    if type(resource) is not str:
        raise PolicyInputError(f"Request resource must be an ARN or '*' (str); got "
                               f"{type(resource).__name__} {resource!r}")
    if account is not None and type(account) is not str:
        raise PolicyInputError(f"Request resource_account must be a 12-digit account id (str) or "
                               f"None; got {type(account).__name__} {account!r}")
    values = _context_values(own["context"])
    if who.kind == "assumed-role":
        given = values.get("aws:principalarn")
        role_arn = session_role_arn(who, given[0]) if given and len(given) == 1 else None
        if role_arn is not None:
            who = principal_info(principal, role_arn)
    own["who"] = who
    own["action_key"] = action.lower()
    own["resource_key"] = normalise_arn(resource)
    if account is None:
        own["resource_account"] = arn_account(resource) or who.account
    _principal_keys(values, who)
    own["context_values"] = values


_SIGNED_IAM = frozenset({"role", "assumed-role", "user", "root", "federated"})


def _principal_keys(values: dict, who: PrincipalInfo) -> None:
    """Fill in the principal's condition keys the request does not give, only where AWS
    includes them ("Availability" on the condition keys page,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html ):

    - ``aws:PrincipalArn``: "This key is included in the request context for all signed
      requests. Anonymous requests do not include this key", for an IAM role (a session's
      role ARN: "the request context returns the ARN of the role, not the ARN of the user
      that assumed the role"), user, STS federated user or root user. The page lists no
      value for a service principal, whose name is in ``aws:PrincipalServiceName``, so a
      service principal gets none either (this engine's reading of that list);
    - ``aws:PrincipalAccount``: "For anonymous requests, the request context returns
      anonymous". The page says the key "is included in the request context for all
      requests" but gives no value for a service principal, which belongs to no account:
      this engine leaves it out for one (its own reading; give it in the context to test a
      policy that needs it);
    - ``aws:PrincipalType`` and ``aws:userid`` for an anonymous request: ``Anonymous`` and
      ``anonymous`` (both keys are "included in the request context for all requests,
      including anonymous requests"; values from the table of
      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable );
      for IAM principals the lab's enforcement fills them from IAM (unique IDs);
    - ``aws:PrincipalIsAWSService``: "set to true when a service uses a service principal
      to perform a direct action on your resources", false for an IAM principal's own
      request; "Anonymous requests do not include this key";
    - ``aws:PrincipalServiceName``: "present in the request when the call is made by an AWS
      service principal. This key is not present in any other situation";
    - ``aws:username`` for an IAM user.

    A principal of kind ``other`` (an identity provider's ARN, ...) keeps the old defaults:
    its ARN as ``aws:PrincipalArn`` and its account.
    """
    kind = who.kind
    if kind == "anonymous":
        values.setdefault("aws:principalaccount", ("anonymous",))
        values.setdefault("aws:principaltype", ("Anonymous",))
        values.setdefault("aws:userid", ("anonymous",))
        return
    if kind == "service":
        values.setdefault("aws:principalisawsservice", ("true",))
        values.setdefault("aws:principalservicename", (who.arn,))
        return
    # for a role session, aws:PrincipalArn is the role's ARN (the session ARN has no path)
    values.setdefault("aws:principalarn", (who.role_arn if kind == "assumed-role" else who.arn,))
    if who.account:
        values.setdefault("aws:principalaccount", (who.account,))
    if kind in _SIGNED_IAM:
        values.setdefault("aws:principalisawsservice", ("false",))
    if who.user_name:
        values.setdefault("aws:username", (who.user_name,))


def refuse_arguments(request: Any, policies: Any) -> None:
    """Raise the error (a ``TypeError``) :func:`~labkit.policy.evaluate` gives for wrong arguments.

    >>> refuse_arguments({"principal": "arn:aws:iam::111111111111:user/a"}, None)
    Traceback (most recent call last):
    ...
    labkit.policy.request.PolicyInputError: evaluate(request, policies): request must be a Request (Request(principal=..., action=..., resource=..., context=...)); got dict {'principal': 'arn:aws:iam::111111111111:user/a'}
    """
    from .model import PolicySet

    if not isinstance(request, Request):
        raise PolicyInputError("evaluate(request, policies): request must be a Request "
                        "(Request(principal=..., action=..., resource=..., context=...)); "
                        f"got {type(request).__name__} {request!r}"[:400])
    if not isinstance(policies, PolicySet):
        raise PolicyInputError("evaluate(request, policies): policies must be a PolicySet "
                        "(PolicySet(identity=[...], scps=[[...]], ...)); "
                        f"got {type(policies).__name__} {policies!r}"[:400])
