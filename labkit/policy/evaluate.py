"""Would AWS allow this request? One ``evaluate()``, in AWS's order.

Introduced in ``notebooks/02-guardrails.ipynb``. Sources:

- order of evaluation: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
- within one account: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- across accounts: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- SCP levels: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
- RCP levels: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
- service-linked roles are not affected by SCPs or RCPs:
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
- a role's trust policy must allow ``sts:AssumeRole`` itself:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
- a KMS key policy must allow before IAM policies count:
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
- a permissions boundary limits a resource-policy grant to a role ARN (and so to every
  session of the role) but not one to a session ARN, and a resource policy's Deny with
  ``NotPrincipal`` always denies a principal that has a boundary:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- nor one made with ``"Principal": "*"`` and an ``aws:PrincipalArn`` condition:
  "Identity-based policy types, such as permissions boundaries or session policies, do not
  limit permissions granted using the aws:PrincipalArn condition key with a wildcard(*) in
  the Principal element, unless the identity-based policies contain an explicit deny"
  ("IAM role principals" in
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html ).
  The engine extends this to ``"Principal": "*"`` without a condition. That is an
  inference, not AWS's sentence: a condition can only narrow a grant, so a grant that is not
  capped when narrowed to the caller's ``aws:PrincipalArn`` is not capped when left wide
  (rules.jsonl ``boundary-does-not-cap-unconditioned-wildcard-grant-to-role``);
- a service principal or an anonymous caller (``*``) is no IAM identity and has no account:
  "Identity-based policies are permissions policies that you attach to IAM identities
  (users, groups, or roles)" (Principal page), a boundary caps what "an identity-based
  policy can grant to an IAM entity"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html ) and
  session policies come with "a temporary session for a role or federated user"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session ),
  so evaluation reads none of these for it, Denies included; the resource policy alone
  grants ("For resource-based policies, using a wildcard (*) with an Allow effect grants
  access to all users, including anonymous users (public access)", Principal page); SCPs,
  which set "the maximum permissions available to principals in your member accounts", do
  not apply:
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_authorization_policies.html
- an anonymous caller cannot call ``sts:AssumeRole`` ("You must use credentials for an IAM
  user or an IAM role to call AssumeRole":
  https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html ) or any KMS
  operation ("Requests must be signed by using an access key ID and a secret access key";
  "All AWS KMS operations require Signature Version 4":
  https://docs.aws.amazon.com/kms/latest/APIReference/Welcome.html ), whatever a trust or
  key policy naming ``"*"`` says, and the root user cannot call ``sts:AssumeRole``
  (:func:`caller_refused`);
- ``sts:GetCallerIdentity`` needs no permission and cannot be denied:
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html

>>> from labkit.policy import parse_policy, PolicySet, Request
>>> allow_all = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, kind="scp")
>>> deny_leave = parse_policy({"Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization",
...                                            "Resource": "*"}]}, name="deny-leave", kind="scp")
>>> admin = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="admin")
>>> request = Request(principal="arn:aws:iam::111111111111:role/Dev", action="organizations:LeaveOrganization")
>>> decision = evaluate(request, PolicySet(identity=[admin], scps=[[allow_all], [allow_all, deny_leave]]))
>>> decision.result, decision.blocked_by
('ExplicitlyDenied', ('scp',))
"""
from __future__ import annotations

from .model import Decision, Level, Policy, PolicySet, Request, Statement
from .request import refuse_arguments

__all__ = ["evaluate", "organization_paths", "resource_kind", "statement_applies", "scan_policy",
           "level_allows", "has_identity_policies", "caller_refused"]

_TRUST_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
                  "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")
_NOT_DENIABLE = frozenset({"sts:getcalleridentity"})
_NO_ACCOUNT = ("service", "anonymous")  # PrincipalInfo kinds with no account, no identity policies
_BLOCKER = {"identity": "identity", "boundary": "boundary", "session": "session", "scp": "scp", "rcp": "rcp",
            "resource": "resource", "trust": "trust", "kms": "resource"}


def statement_applies(statement: Statement, request: Request, bounded: bool = False) -> str | None:
    """Does ``statement`` apply to ``request``? None if not, else how it names the principal
    (``"any"`` for policies without ``Principal``, ``"account"``, ``"role"`` or ``"specific"``);
    ``bounded``: the principal has a permissions boundary (see ``Statement.principal_match``)."""
    if not statement.matches_action(request) or not statement.matches_resource(request):
        return None
    how = statement.principal_match(request.who, bounded)
    if how is None:
        return None
    if statement.conditions and not statement.matches_conditions(request):
        return None
    return how


def _scan(entries: tuple, request: Request, every_allow: bool, bounded: bool = False):
    """The engine's hot loop over flattened ``(policy, statement, *fast)`` entries.

    Returns the first applicable Deny entry (or None) and the applicable Allow entries, each
    with how its ``Principal`` names the requester (all of them, or just the first).
    ``bounded``: the requester has a permissions boundary (a resource policy's scan).
    """
    deny = None
    allows: list[tuple[tuple, str]] = []
    action = request.action_key
    for entry in entries:
        _policy, statement, match_action, positive, is_deny = entry
        if is_deny:
            if deny is not None:
                continue
        elif allows and not every_allow:
            continue
        if match_action(action) != positive:
            continue
        how = statement.applies_past_action(request, bounded and is_deny)
        if how is None:
            continue
        if is_deny:
            deny = entry
        else:
            allows.append((entry, how))
    return deny, allows


def scan_policy(policy: Policy, request: Request) -> tuple[Statement | None, list[tuple[Statement, str]]]:
    """The first applicable Deny statement (or None) and every applicable Allow with its match."""
    deny, allows = _scan(policy.entries, request, True)
    return (deny[1] if deny else None), [(entry[1], how) for entry, how in allows]


def level_allows(level: Level, request: Request) -> tuple[Statement | None, Statement | None, Policy | None]:
    """(deny, allow, policy of the deciding statement) for one organization level."""
    deny, allows = _scan(level.entries, request, False)
    if deny is not None:
        return deny[1], None, deny[0]
    if allows:
        return None, allows[0][0][1], allows[0][0][0]
    return None, None, None


def has_identity_policies(request: Request) -> bool:
    """Can identity-based policies, a permissions boundary or session policies apply to the
    requester? Not for a service principal or an anonymous caller, which are no IAM identity
    (sources in the module docstring)."""
    return request.who.kind not in _NO_ACCOUNT


_ASSUME_ROLE_ROOT = ("You cannot call AssumeRole by using AWS root account credentials; access is "
                     "denied. You must use credentials for an IAM user or an IAM role to call AssumeRole")


def caller_refused(request: Request) -> str | None:
    """Why this caller can never make ``request``, whatever the policies say (a clause for
    the explanation), or None:

    - an anonymous caller's request is not signed, and ``sts:AssumeRole``, every KMS
      operation and ``sts:GetCallerIdentity`` ("Returns details about the IAM user or role
      whose credentials are used to call the operation":
      https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html ) need
      a signed one (module docstring). Left alone: ``sts:AssumeRoleWithSAML`` and
      ``sts:AssumeRoleWithWebIdentity`` ("Calling AssumeRoleWithSAML does not require the
      use of AWS security credentials", API reference), and ``sts:TagSession``,
      ``sts:SetSourceIdentity``, ``sts:SetContext``, for which no AWS sentence we found says so;
    - the root user cannot call ``sts:AssumeRole``: "Important: You cannot call AssumeRole by
      using AWS root account credentials; access is denied. You must use credentials for an
      IAM user or an IAM role to call AssumeRole." (the AssumeRole API reference,
      https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html , as the AWS
      SDKs' documentation of AssumeRole carried it; AWS answers such a call with
      ``AccessDenied``, "Roles may not be assumed by root accounts").

    >>> caller_refused(Request(principal="*", action="kms:Decrypt"))
    'its request is not signed ("All AWS KMS operations require Signature Version 4")'
    >>> caller_refused(Request(principal="*", action="s3:GetObject")) is None
    True
    >>> caller_refused(Request(principal="arn:aws:iam::111111111111:root", action="sts:AssumeRole"))[:40]
    'the root user cannot call sts:AssumeRole'
    """
    kind, action = request.who.kind, request.action_key
    if kind == "root" and action == "sts:assumerole":
        return f'the root user cannot call sts:AssumeRole ("{_ASSUME_ROLE_ROOT}")'
    if kind != "anonymous":
        return None
    if action == "sts:assumerole":
        why = "You must use credentials for an IAM user or an IAM role to call AssumeRole"
    elif action.startswith("kms:"):
        why = "All AWS KMS operations require Signature Version 4"
    elif action == "sts:getcalleridentity":
        why = "Returns details about the IAM user or role whose credentials are used to call the operation"
    else:
        return None
    return f'its request is not signed ("{why}")'


def resource_kind(request: Request, policies: PolicySet) -> str:
    """``trust`` for a role's trust policy, ``kms`` for a key policy, else ``resource``."""
    if policies.resource_kind:
        return policies.resource_kind
    if policies.resource_policy is not None and policies.resource_policy.kind in ("trust", "kms"):
        return policies.resource_policy.kind
    if request.action_key.startswith("kms:") and ":key/" in request.resource_key \
            and request.resource_key.startswith("arn:aws:kms:"):
        return "kms"  # a key policy governs key resources; kms:ListKeys on "*" has none
    if request.action_key in _TRUST_ACTIONS and ":role/" in request.resource_key \
            and request.resource_key.startswith("arn:aws:iam:"):
        return "trust"
    return "resource"


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """AWS's decision for ``request`` given ``policies``, in AWS's order:

    1. an explicit Deny in any applicable policy (SCPs, RCPs, resource-based, identity-based,
       permissions boundary) wins: ``ExplicitlyDenied``;
    2. RCPs of the **resource's** account, level by level (root, each OU, the account):
       every level needs an Allow, else ``ImplicitlyDenied``;
    3. SCPs of the **principal's** account, level by level, likewise (SCPs never grant);
       ``scps=None`` means none apply: the management account, or no organization;
       service-linked roles are exempt from both SCPs and RCPs;
    4. the resource-based policy: a role's trust policy and a KMS key policy must themselves
       allow; one that names only the account (``arn:aws:iam::ACCOUNT:root``) delegates to
       the identity policies; within one account another Allow here grants on its own,
       except that a permissions boundary that does not allow caps a grant to a role ARN
       (for a role session too: the grant names the role) but not one to a session ARN,
       to ``"*"`` or to a user; a Deny with ``NotPrincipal`` always denies a principal with
       a boundary; a service principal or anonymous caller needs the resource policy to
       name it (SCPs do not apply to it, RCPs do; steps 5-7 do not exist for it), and an
       anonymous caller cannot call ``sts:AssumeRole`` or KMS at all;
    5. identity-based policies must allow (the account root user needs none);
    6. the permissions boundary, when there is one, must allow;
    7. session policies, when the session was made with any (``PolicySet.session_policies``),
       must allow; like a boundary they cap a resource-policy grant to the role ARN, not one
       to the session ARN ("session" in ``blocked_by``);
    8. across accounts both the identity side and the resource policy must allow.

    Lab sessions are made without session policies, so enforcement passes none and step 7
    is then skipped, as AWS skips it. Sources: "Session policies" in
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
    and https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    """
    if type(request) is not Request or type(policies) is not PolicySet:
        refuse_arguments(request, policies)  # raises unless a subclass
    if request.action_key in _NOT_DENIABLE and request.who.kind != "anonymous":
        return Decision._decided("Allowed", request, policies)
    who = request.who
    outside = not has_identity_policies(request)  # a service principal or an anonymous caller
    scps, rcps = organization_paths(request, policies)
    kind = resource_kind(request, policies)

    # 1. explicit deny anywhere
    denies: list[tuple[str, Policy, Statement]] = []
    gap = None  # the first RCP, then SCP, level with no Allow
    for name, levels in (("rcp", rcps), ("scp", scps)):
        for level in levels or ():
            if level.allows_everything is not None:
                continue  # nothing to deny, and it allows: skip the scan
            deny, allows = _scan(level.entries, request, False)
            if deny is not None:
                denies.append((name, deny[0], deny[1]))
            elif not allows and gap is None:
                gap = (name, level)
    scanned = {}
    bounded = policies.boundary is not None and not outside
    for label, entries, every in _others(policies, kind, outside):
        deny, allows = _scan(entries, request, every, bounded and label == kind)
        if deny is not None:
            denies.append((label, deny[0], deny[1]))
        scanned[label] = [how for _entry, how in allows]
    if denies:
        return _decide("ExplicitlyDenied", request, policies,
                       [(_BLOCKER[label], p, s) for label, p, s in denies])

    # 2, 3. every RCP level, then every SCP level, must allow
    if gap is not None:
        return _decide("ImplicitlyDenied", request, policies, [(gap[0], None, None)], level=gap[1])

    # 4-7. grants
    grants = scanned.get(kind, ())
    direct = any(how != "account" for how in grants)
    if caller_refused(request) is not None:  # no policy can let this caller make it
        return _decide("ImplicitlyDenied", request, policies, [(_BLOCKER[kind], None, None)])
    if outside:  # no identity-based policies: the resource policy must name it (or "*")
        if direct:
            return _decide("Allowed", request, policies, [])
        return _decide("ImplicitlyDenied", request, policies, [(_BLOCKER[kind], None, None)])
    identity_ok = who.kind == "root" or bool(scanned.get("identity"))
    boundary_ok = policies.boundary is None or bool(scanned["boundary"])
    session_ok = policies.session_policies is None or bool(scanned["session"])
    same_account = who.account == request.resource_account
    # a boundary (or session policy) that does not allow caps grants to a role ARN (a role
    # ARN request stands for any session of it), not those naming a session ARN or "*"
    capped = False
    if not (boundary_ok and session_ok):
        if who.kind == "role":
            capped = "any" not in grants
        elif who.kind == "assumed-role":
            capped = direct and all(how in ("account", "role") for how in grants)
    limit = "boundary" if not boundary_ok else "session"
    if kind in ("trust", "kms"):
        if not grants:
            return _decide("ImplicitlyDenied", request, policies, [(_BLOCKER[kind], None, None)])
        if same_account and direct and not capped:
            return _decide("Allowed", request, policies, [])
    elif same_account:
        if direct and not capped:
            return _decide("Allowed", request, policies, [])
    elif not grants:
        missing = (["resource"] + ([] if identity_ok else ["identity"]) + ([] if boundary_ok else ["boundary"])
                   + ([] if session_ok else ["session"]))
        return _decide("ImplicitlyDenied", request, policies, [(m, None, None) for m in missing])
    if not identity_ok:
        blocker = limit if same_account and direct and capped else "identity"
        return _decide("ImplicitlyDenied", request, policies, [(blocker, None, None)])
    if not boundary_ok:
        return _decide("ImplicitlyDenied", request, policies, [("boundary", None, None)])
    if not session_ok:
        return _decide("ImplicitlyDenied", request, policies, [("session", None, None)])
    return _decide("Allowed", request, policies, [])


def organization_paths(request: Request, policies: PolicySet) -> tuple[tuple[Level, ...] | None,
                                                                       tuple[Level, ...] | None]:
    """The SCP and RCP paths that apply to ``request`` (None where none do): a service-linked
    role is exempt from both; a service principal or an anonymous caller is in no member
    account, so SCPs do not apply to it, while RCPs do (sources in the module docstring)."""
    who = request.who
    if who.is_service_linked_role:
        return None, None
    return (None if who.kind in _NO_ACCOUNT else policies.scps), policies.rcps


def _others(policies: PolicySet, kind: str, outside: bool):
    if policies.resource_policy is not None:
        yield kind, policies.resource_policy.entries, True
    if outside:
        return  # a service principal or an anonymous caller: no identity-based policies
    if policies.identity:
        yield "identity", policies.identity_entries, False
    if policies.boundary is not None:
        yield "boundary", policies.boundary.entries, False
    if policies.session_policies is not None:
        yield "session", tuple(e for p in policies.session_policies for e in p.entries), False


def _decide(result: str, request: Request, policies: PolicySet, why: list, level: Level | None = None) -> Decision:
    blocked: list[str] = []
    deciding = []
    for blocker, policy, statement in why:
        if blocker not in blocked:
            blocked.append(blocker)
        if statement is not None:
            deciding.append((policy.name, statement.label))
        elif level is not None:
            deciding.append((level.label, "no Allow at this level"))
    return Decision._decided(result, request, policies, tuple(blocked) if result != "Allowed" else (),
                             tuple(deciding))
