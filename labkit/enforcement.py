"""Guardrails that bite: every call of a lab session is authorized the way AWS would.

Introduced in ``notebooks/02-guardrails.ipynb``. Before moto runs a call, :func:`authorize`
(a lab guard) describes it as an IAM request -- action, resource ARN, and the condition
keys AWS would set -- gathers every policy that applies from the lab's live state
(:mod:`labkit.applicable_policies`), evaluates with :func:`labkit.policy.evaluate`, and,
when the decision is a denial, answers the call with the error the real service returns
(:mod:`labkit.denials`: the service's own error code, AWS's message, the denying policy's
ARN).

``lab.enforce = False`` switches authorization off (the "no guardrails" comparison); the
Organizations rules (:mod:`labkit.organizations`) stay on. moto's own partial enforcement
(bucket-policy Deny statements applied with every condition taken as true, and IAM
authentication when ``INITIAL_NO_AUTH_ACTION_COUNT`` is set) is switched off by
:func:`install`, so only labkit decides.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit import applicable_policies as ap
from labkit.operations import GLOBAL_ENDPOINTS, requested_region
from labkit.denials import access_denied, denial_message, encode_failure, error_style
from labkit.policy import Decision, PolicySet, Request, evaluate
from labkit.sessions import LabCall, ServiceError

__all__ = [
    "GLOBAL_SERVICES",
    "LAB_SOURCE_IP",
    "RCP_SERVICES",
    "access_denied",
    "authorize",
    "decide",
    "denial_message",
    "describe_operation",
    "encode_failure",
    "error_style",
    "forget_organization",
    "global_context",
    "install",
    "last_denial",
    "neutralise_moto",
    "rcp_applies",
    "request_for",
    "requests_for",
    "resource_context",
]

TROUBLESHOOT_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html"
CONDITION_KEYS_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
RCP_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
KMS_RCP_PAGE = "https://docs.aws.amazon.com/kms/latest/developerguide/resource-control-policies.html"
#: The source IP address of every lab caller: 203.0.113.10, from TEST-NET-3, a block
#: reserved for documentation (RFC 5737), so a lab policy never names a real network.
LAB_SOURCE_IP = "203.0.113.10"


def __getattr__(name: str) -> Any:
    # RCP_SERVICES: service prefixes whose resources RCPs govern, the RCP page's "List of
    # AWS services that support RCPs" (RCP_PAGE) as the validator reads it, loaded lazily.
    if name == "RCP_SERVICES":
        from labkit.policy.catalogue import rcp_supported_services

        return rcp_supported_services()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Services with one global endpoint: their aws:RequestedRegion is that endpoint's Region
#: (the list and its sources: :data:`labkit.operations.GLOBAL_ENDPOINTS`).
GLOBAL_SERVICES = frozenset(GLOBAL_ENDPOINTS)
#: Operations that never change state: every other call to these services may.
_READ_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Select", "BatchGet")


# -- installing -------------------------------------------------------------------------------
def install(lab) -> None:
    """Register :func:`authorize` and the observer :func:`forget_organization` on ``lab``
    (idempotent) and make sure moto does not second-guess labkit's decisions."""
    neutralise_moto()
    # AWS authorizes a request before the service looks at it, so this guard goes before
    # the lab's service rules (labkit.organizations).
    lab.add_guard(authorize, authorization=True, first=True)
    lab.add_observer(forget_organization)


def neutralise_moto() -> None:
    """Switch off moto's partial enforcement, which contradicts AWS.

    moto 5.2.5 applies a bucket policy's Deny statements to object calls ignoring their
    ``Principal`` and ``Condition`` (``FakeBucket.get_permission``), and, when
    ``INITIAL_NO_AUTH_ACTION_COUNT`` is set, checks IAM with every condition taken as true.
    """
    from moto import settings
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    if not getattr(FakeBucket.get_permission, "labkit_neutral", False):
        def get_permission(self, action: str, resource: str) -> Any:
            return PermissionResult.NEUTRAL  # labkit has already decided

        get_permission.labkit_neutral = True
        FakeBucket.get_permission = get_permission
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")


def forget_organization(call: LabCall, parsed: Mapping[str, Any]) -> None:
    """After a successful Organizations call that may have changed the organization, forget
    the cached view, so the next decision reads it as it is now (moves, attachments and
    detachments take effect at once). It runs whether or not ``lab.enforce`` is on."""
    if call.service == "organizations" and not call.operation.startswith(_READ_PREFIXES):
        ap.invalidate(call.lab)


# -- the guard --------------------------------------------------------------------------------
def authorize(call: LabCall) -> ServiceError | None:
    """The authorization guard: None if AWS would allow ``call``, else the service's error."""
    decision = decide(call.lab, call)
    if decision.allowed:
        return None
    call.lab._labkit_last_denial = decision
    return access_denied(call, decision)


def last_denial(lab) -> Decision | None:
    """The decision behind the most recent denial in ``lab`` (for explaining it)."""
    return lab._labkit_last_denial


def decide(lab, call: LabCall | None = None, **kwargs) -> Decision:
    """The engine's decision for a call (or for :func:`request_for`'s keyword arguments).

    A call authorized against several resources is allowed only if every one is; the first
    denial is the decision.
    """
    decision = None
    for request, policies in requests_for(lab, call, **kwargs):
        decision = evaluate(request, policies)
        if not decision.allowed:
            return decision
    return decision


# -- the request ------------------------------------------------------------------------------
def request_for(lab, call: LabCall | None = None, **kwargs) -> tuple[Request, PolicySet]:
    """The request AWS would authorize, and every policy that applies, without making a call.

    Either pass a :class:`~labkit.sessions.LabCall`, or describe the call with keywords:
    who (``account`` and ``role`` -- a session of that role, as a lab session is -- or a
    ``principal`` ARN), what (``service`` + ``operation`` + ``params``, mapped to an IAM
    action and resources by :mod:`labkit.operations`; or ``action`` and ``resource``
    directly), where (``region``, default the lab's), and extra condition keys
    (``context``). For a call with several resources this is the first one's request
    (:func:`requests_for` gives them all).
    """
    return requests_for(lab, call, **kwargs)[0]


def requests_for(lab, call: LabCall | None = None, *, account: str | None = None,
                 role: str | None = None, principal: str | None = None,
                 service: str | None = None, operation: str | None = None,
                 params: Mapping[str, Any] | None = None, action: str | None = None,
                 resource: str | None = None, region: str | None = None,
                 context: Mapping[str, Any] | None = None) -> list[tuple[Request, PolicySet]]:
    """One ``(Request, PolicySet)`` per resource the call is authorized against."""
    if call is not None:
        service, operation, params = call.service, call.operation, call.params
        region, principal = call.region, call.principal_arn
    elif principal is None:
        if account is None:
            raise ValueError("request_for needs a call, a principal ARN, or an account (and role)")
        from labkit.lab import ADMIN_ROLE, MEMBER_ROLE, SESSION_NAME

        account_id = lab.account_id(account)
        role = role or (ADMIN_ROLE if account_id == lab.management_account_id else MEMBER_ROLE)
        principal = f"arn:aws:sts::{account_id}:assumed-role/{role}/{SESSION_NAME}"
    region = region or lab.region
    from labkit.policy.matching import principal_info

    caller_account = principal_info(principal).account or lab.management_account_id
    if action is None:
        if service is None or operation is None:
            raise ValueError("request_for needs an action, or a service and an operation")
        described = describe_operation(lab, service, operation, params or {}, caller_account, region)
        action, extra = described.action, dict(described.context)
        resources = (resource,) if resource else described.resources
    else:
        extra = {"aws:RequestedRegion": requested_region(action, region)}
        resources = (resource or "*",)
    extra.update(context or {})
    who = ap.identity_policies(principal)
    return [_assemble(lab, principal, who, action, r, extra) for r in resources]


def _assemble(lab, principal: str, who: ap.PrincipalPolicies, action: str, resource: str,
              context: Mapping[str, Any]) -> tuple[Request, PolicySet]:
    policy, owner = ap.resource_policy(action, resource)
    from labkit.policy.matching import principal_info

    info = principal_info(principal)
    principal_account = info.account
    resource_account = owner or _arn_account(resource) or principal_account
    keys = global_context(lab, principal, principal_account=principal_account,
                          resource_account=resource_account,
                          region=context.get("aws:RequestedRegion") or lab.region,
                          unique_id=who.unique_id, who=who)
    keys.update(resource_context(action, resource))
    keys.update(context)
    request = Request(principal=principal, action=action, resource=resource,
                      resource_account=resource_account, context=keys)
    exempt = who.service_linked
    scps = None if exempt or principal_account is None else ap.scp_path(lab, principal_account)
    rcps = None
    if not exempt and resource_account and rcp_applies(action, resource):
        rcps = ap.rcp_path(lab, resource_account)
    policies = PolicySet(identity=who.identity, boundary=who.boundary, scps=scps, rcps=rcps,
                         resource_policy=policy)
    return request, policies


def rcp_applies(action: str, resource: str) -> bool:
    """Whether RCPs govern ``action`` on ``resource``.

    RCPs apply to the services the RCP page lists (:data:`RCP_PAGE`; the list is
    :func:`labkit.policy.catalogue.rcp_supported_services`), except AWS managed KMS keys,
    which RCPs do not restrict (:data:`KMS_RCP_PAGE`): a key whose ``KeyManager`` is
    ``AWS``, or one named by an ``alias/aws/...`` alias.

    >>> rcp_applies("s3:GetObject", "arn:aws:s3:::b/k"), rcp_applies("ec2:RunInstances", "*")
    (True, False)
    >>> rcp_applies("kms:Decrypt", "arn:aws:kms:eu-west-1:111111111111:alias/aws/s3")
    False
    """
    from labkit.policy.catalogue import rcp_supported_services

    service = action.split(":", 1)[0].lower()
    if service not in rcp_supported_services():
        return False
    if service == "kms":
        return not ap.aws_managed_key(resource)
    return True


def _arn_account(resource: str) -> str | None:
    parts = resource.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4].isdigit() else None


def resource_context(action: str, resource: str) -> dict[str, Any]:
    """``aws:ResourceTag/<key>`` for a request on an IAM role: the role's tags, read from
    IAM (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html#access_iam-tags_control-resources;
    :data:`CONDITION_KEYS_PAGE`). Other resources' tags are not read by the lab."""
    if not action.lower().startswith("iam:") or ":role/" not in resource:
        return {}
    entity = ap.iam_entity(resource)
    return {} if entity is None else {f"aws:ResourceTag/{k}": v for k, v in entity.tags}


def global_context(lab, principal: str, *, principal_account: str | None,
                   resource_account: str | None, region: str,
                   unique_id: str | None = None, now: float | None = None,
                   who: ap.PrincipalPolicies | None = None) -> dict[str, Any]:
    """The global condition keys AWS sets on a request from ``principal`` (see
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).

    - ``aws:PrincipalArn`` of a role session is the role's ARN *with its path*, as IAM
      stores it (Identity Center roles live under ``/aws-reserved/sso.amazonaws.com/``); of
      a user, the user's ARN. It is read from IAM (``who``, or looked up when not given);
      a principal IAM does not know keeps the ARN its name gives.
    - ``aws:PrincipalTag/<key>``: the role's or user's tags in IAM (a lab session passes no
      session tags).
    - ``aws:SourceIp`` is :data:`LAB_SOURCE_IP`, 203.0.113.10, from the documentation range
      of RFC 5737, for every lab caller (calls are made directly, not through a VPC
      endpoint, so ``aws:SourceVpc`` is absent).
    - A session made with AssumeRole and no MFA has ``aws:MultiFactorAuthPresent`` false;
      a long-term access key has none.
    """
    from labkit.policy.matching import principal_info

    info = principal_info(principal)
    now = time.time() if now is None else now
    keys: dict[str, Any] = {
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true",
        "aws:SourceIp": LAB_SOURCE_IP,
        "aws:ViaAWSService": "false",
        "aws:CurrentTime": datetime.fromtimestamp(int(now), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
    }
    if principal_account:
        keys["aws:PrincipalAccount"] = principal_account
    if info.kind in ("assumed-role", "role", "user", "root"):
        # an IAM identity's own call; a service principal's is "true", an anonymous one has
        # none (labkit.policy.request fills both: condition keys page, aws:PrincipalIsAWSService)
        keys["aws:PrincipalIsAWSService"] = "false"
    entity = None
    if info.kind in ("assumed-role", "role", "user"):
        entity = who.entity if who is not None else ap.iam_entity(principal)
    if entity is not None:
        unique_id = unique_id or entity.unique_id
        keys.update({f"aws:PrincipalTag/{k}": v for k, v in entity.tags})
    if info.kind in ("assumed-role", "role"):  # a role ARN stands for a session of it
        session = principal.rsplit("/", 1)[-1] if info.kind == "assumed-role" else "session"
        keys.update({"aws:PrincipalArn": entity.arn if entity else info.role_arn,
                     "aws:PrincipalType": "AssumedRole", "aws:MultiFactorAuthPresent": "false"})
        if unique_id:
            keys["aws:userid"] = f"{unique_id}:{session}"
    elif info.kind == "user":
        keys.update({"aws:PrincipalArn": entity.arn if entity else principal,
                     "aws:PrincipalType": "User", "aws:username": info.user_name})
        if unique_id:
            keys["aws:userid"] = unique_id
    elif info.kind == "root":
        keys.update({"aws:PrincipalArn": principal, "aws:PrincipalType": "Account",
                     "aws:userid": principal_account})
    view = ap.org_view(lab)
    if view is not None:
        if principal_account in view.places:
            keys["aws:PrincipalOrgID"] = view.organization_id
            keys["aws:PrincipalOrgPaths"] = [view.org_path(principal_account)]
        if resource_account in view.places:
            keys["aws:ResourceOrgID"] = view.organization_id
            keys["aws:ResourceOrgPaths"] = [view.org_path(resource_account)]
    if resource_account:
        keys["aws:ResourceAccount"] = resource_account
    return keys


class _Lookup(Mapping):
    """What only the live state knows, for :func:`labkit.operations.operation_request`,
    read only when a template asks for it."""

    _KEYS = ("organization_id", "management_account", "kms_aliases", "policy_types")

    def __init__(self, lab, account_id: str, region: str) -> None:
        self._lab, self._account, self._region = lab, account_id, region

    def __getitem__(self, key: str) -> Any:
        view = ap.org_view(self._lab)
        if key == "organization_id":
            if view is None:
                raise KeyError(key)
            return view.organization_id
        if key == "management_account":
            if view is None:
                raise KeyError(key)
            return view.management_account_id
        if key == "policy_types":
            return {} if view is None else {p.id: p.type for p in view._backend.policies}
        if key == "kms_aliases":
            return ap.kms_aliases(self._account, self._region)
        raise KeyError(key)

    def __iter__(self):
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


def describe_operation(lab, service: str, operation: str, params: Mapping[str, Any],
                       account_id: str, region: str):
    """The :class:`labkit.operations.OperationRequest` of one API call: IAM action, resource
    ARNs and the request's condition keys, from the exact operation-to-action map. An
    operation outside the map is authorized as ``service:Operation`` on ``*``."""
    from labkit.operations import operation_request

    return operation_request(service, operation, params, account_id, region,
                             lookup=_Lookup(lab, account_id, region))
