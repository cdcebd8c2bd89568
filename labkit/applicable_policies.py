"""Every policy that applies to a request, gathered from the lab's live (moto) state.

Introduced in ``notebooks/02-guardrails.ipynb``. For one request AWS weighs
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):

- the principal's **identity-based policies**: inline and attached managed policies of the
  role or user, and, for a user, those of its groups
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html);
- its **permissions boundary**
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html);
- the **SCPs** on the path of the *principal's* account, one level per node, root first:
  root -> each OU -> the account
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html);
- the **RCPs** on the path of the *resource's* account, same shape
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html);
- the **resource-based policy**: an S3 bucket policy, a KMS key policy, or a role's trust
  policy for ``sts:AssumeRole*``
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html).

Exemptions: SCPs and RCPs never restrict the **management account** (its principals, or
its resources), nor **service-linked roles**
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
An organization policy type applies only while it is enabled on the root
(https://docs.aws.amazon.com/organizations/latest/userguide/enable-policy-type.html).

Reading moto's state is cheap; what costs is parsing, so parsed policies are cached by their
text (``labkit.policy.parse_policy``) and the organization's shape (paths, attached
policies) by :class:`OrgCache`, which :mod:`labkit.enforcement` invalidates whenever a call
could change it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.backends import iam_backend, organizations_backend
from labkit.iam_entities import IamEntity, entity_of, find_role, iam_entity
from labkit.org_index import OrgIndex, Places
from labkit.resource_policies import (  # StateError and _parse live there, re-exported here
    StateError, _parse, aws_managed_key, bucket_owner, kms_aliases, resource_policy,
)
from labkit.policy import Level, Policy
from labkit.quotas import RCP_TYPE, SCP_TYPE

__all__ = [
    "AccountPlace",
    "OrgView",
    "PrincipalPolicies",
    "StateError",
    "aws_managed_key",
    "bucket_owner",
    "iam_entity",
    "identity_policies",
    "invalidate",
    "kms_aliases",
    "org_index",
    "org_paths",
    "org_policy_arn",
    "org_view",
    "organization_id",
    "rcp_path",
    "resource_policy",
    "scp_path",
]

#: Service-linked roles live under this path and are exempt from SCPs and RCPs:
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html
SERVICE_LINKED_PATH = "/aws-service-role/"


@dataclass(frozen=True, kw_only=True)
class AccountPlace:
    """Where an account sits: its name and the ids and names of the nodes above it, root first."""

    account_id: str
    name: str
    parents: tuple[tuple[str, str], ...]  # (id, name) from the root down to the account's OU


@dataclass(frozen=True, kw_only=True)
class OrgView:
    """The organization's shape as enforcement needs it, read from moto and cached.

    ``places`` maps the id of each active or suspended account to its :class:`AccountPlace`;
    it is read lazily, one account at a time (root -> OUs -> account, by id), so asking
    about one account costs the depth of its OU, not the size of the organization.
    ``path`` gives an account's SCP or RCP levels (None while the policy type is disabled),
    also built per account on first use.
    """

    organization_id: str
    management_account_id: str
    root_id: str
    scp_enabled: bool
    rcp_enabled: bool
    places: Mapping[str, AccountPlace]
    _backend: Any = field(repr=False, compare=False)
    _paths: dict = field(default_factory=dict, repr=False, compare=False)

    def path(self, account_id: str, policy_type: str) -> tuple[Level, ...] | None:
        key = (account_id, policy_type)
        if key not in self._paths:
            self._paths[key] = _build_path(self, account_id, policy_type)
        return self._paths[key]

    def org_path(self, account_id: str) -> str | None:
        """``o-.../r-.../ou-.../`` as ``aws:PrincipalOrgPaths`` gives it (no account id)."""
        place = self.places.get(account_id)
        if place is None:
            return None
        return "/".join([self.organization_id, *(pid for pid, _ in place.parents)]) + "/"


@dataclass(frozen=True, kw_only=True)
class PrincipalPolicies:
    """A principal's identity-based policies and boundary, and whether it is service-linked.

    ``entity`` is the role or user as IAM stores it (ARN with path, tags;
    :mod:`labkit.iam_entities`); ``policy_arns`` pairs each managed policy's name (as the
    engine labels it) with its ARN, for the denial message.
    """

    principal_arn: str
    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    service_linked: bool = False
    unique_id: str | None = None
    exists: bool = True
    entity: IamEntity | None = None
    policy_arns: tuple[tuple[str, str], ...] = ()

    def policy_arn(self, name: str) -> str | None:
        """The ARN of the managed policy (or boundary) the engine calls ``name``, or None."""
        return next((arn for n, arn in self.policy_arns if n == name), None)


# -- the organization -------------------------------------------------------------------------
class OrgCache:
    """Per-lab cache of the :class:`OrgView`, dropped by :func:`invalidate`.

    The lab drops the view after every successful Organizations write (an observer that
    :mod:`labkit.enforcement` installs). ``index`` finds nodes by id
    (:mod:`labkit.org_index`); it follows moto's lists by itself and is never dropped.
    """

    __slots__ = ("view", "valid", "index")

    def __init__(self) -> None:
        self.view: OrgView | None = None
        self.valid = False
        self.index = OrgIndex()


def _cache(lab) -> OrgCache:
    cache = lab._labkit_org_cache  # declared by Lab.__init__
    if cache is None:
        cache = OrgCache()
        lab._labkit_org_cache = cache
    return cache


def org_index(lab) -> OrgIndex:
    """The lab's :class:`~labkit.org_index.OrgIndex` (node by id, for the lab's rules)."""
    return _cache(lab).index


def invalidate(lab) -> None:
    """Forget the cached organization shape: the next read builds a fresh view."""
    _cache(lab).valid = False


def org_view(lab) -> OrgView | None:
    """The lab's organization as an :class:`OrgView`, or None when there is no organization.

    Building a view reads only the organization and its root; accounts and their paths are
    read when asked for, so a view made after every write costs little.
    """
    cache = _cache(lab)
    if cache.valid:
        return cache.view
    backend = organizations_backend(lab.management_account_id)
    view = None
    if backend.org is not None:
        view = _read_org(backend, cache.index)
    cache.view, cache.valid = view, True
    return view


def _read_org(backend, index: OrgIndex) -> OrgView:
    org = backend.org
    root = index.ou(backend, org.root_id)
    enabled = {t["Type"] for t in root.policy_types if t.get("Status") == "ENABLED"}
    return OrgView(organization_id=org.id, management_account_id=org.master_account_id,
                   root_id=org.root_id, scp_enabled=SCP_TYPE in enabled,
                   rcp_enabled=RCP_TYPE in enabled,
                   places=Places(backend, index, org.root_id, AccountPlace), _backend=backend)


def _build_path(view: OrgView, account_id: str, policy_type: str) -> tuple[Level, ...] | None:
    if account_id == view.management_account_id:
        return None  # the management account is never restricted by SCPs or RCPs
    if not (view.scp_enabled if policy_type == SCP_TYPE else view.rcp_enabled):
        return None
    place = view.places.get(account_id)
    if place is None:
        return None  # not in the organization: no SCPs or RCPs apply
    kind = "scp" if policy_type == SCP_TYPE else "rcp"
    backend, index = view._backend, view.places.index
    levels = []
    for node_id, name in place.parents:
        label = "Root" if node_id == view.root_id else f"OU {name}"
        levels.append(Level(label=label, policies=_org_policies(index.ou(backend, node_id),
                                                                policy_type, kind, label)))
    label = f"Account {place.name} ({account_id})"
    levels.append(Level(label=label, policies=_org_policies(index.account(backend, account_id),
                                                            policy_type, kind, label)))
    return tuple(levels)


def _org_policies(target, policy_type: str, kind: str, label: str) -> tuple[Policy, ...]:
    out = []
    for policy in target.attached_policies:
        if policy.type != policy_type:
            continue
        out.append(_parse(policy.content, policy.name, kind,
                          f"{'SCP' if kind == 'scp' else 'RCP'} {policy.name!r} ({policy.id}) attached at {label}"))
    return tuple(out)


def organization_id(lab) -> str | None:
    """The organization's id (``o-...``), or None when the lab has no organization."""
    view = org_view(lab)
    return view.organization_id if view else None


def org_paths(lab, account_id: str) -> str | None:
    """The ``aws:PrincipalOrgPaths`` / ``aws:ResourceOrgPaths`` value of an account, or None.

    Format ``o-id/r-id/ou-id/.../`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgpaths).
    """
    view = org_view(lab)
    return view.org_path(account_id) if view else None


def scp_path(lab, account_id: str) -> tuple[Level, ...] | None:
    """The SCP levels that restrict principals of ``account_id``: root, each OU, the account.

    Each :class:`~labkit.policy.Level` has a label (``"Root"``, ``"OU Workloads"``,
    ``"Account prod-app (222222222222)"``) and the parsed SCPs attached there. None when no
    SCP applies: no organization, SCPs not enabled, the account is not a member, or it is
    the management account.
    """
    view = org_view(lab)
    return view.path(account_id, SCP_TYPE) if view else None


def rcp_path(lab, account_id: str) -> tuple[Level, ...] | None:
    """The RCP levels that restrict resources of ``account_id``, as :func:`scp_path`."""
    view = org_view(lab)
    return view.path(account_id, RCP_TYPE) if view else None


def org_policy_arn(lab, kind: str, name: str) -> str | None:
    """The ARN of the organization's SCP (``kind="scp"``) or RCP called ``name``, or None.

    Customer policies: ``arn:aws:organizations::MANAGEMENT:policy/o-.../service_control_policy/p-...``;
    AWS managed ones: ``arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess``
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html#awsorganizations-resources-for-iam-policies).
    """
    view = org_view(lab)
    if view is None:
        return None
    policy_type = SCP_TYPE if kind == "scp" else RCP_TYPE
    found = next((p for p in view._backend.policies if p.name == name and p.type == policy_type), None)
    if found is None:
        return None
    if found.aws_managed:
        return f"arn:aws:organizations::aws:policy/{policy_type.lower()}/{found.id}"
    return f"arn:aws:organizations::{view.management_account_id}:policy/{view.organization_id}/{policy_type.lower()}/{found.id}"


# -- the principal ----------------------------------------------------------------------------
def _managed_text(policy) -> str:
    for version in policy.versions:
        if version.version_id == policy.default_version_id:
            return version.document
    return policy.versions[0].document


def _attached(entity, where: str, arns: list | None = None) -> list[Policy]:
    out = []
    for name, text in entity.policies.items():
        out.append(_parse(text, name, "identity", f"inline policy {name!r} of {where}"))
    for arn, managed in entity.managed_policies.items():
        out.append(_parse(_managed_text(managed), managed.name, "identity",
                          f"managed policy {arn} attached to {where}"))
        if arns is not None:
            arns.append((managed.name, arn))
    return out


def identity_policies(principal_arn: str) -> PrincipalPolicies:
    """The identity-based policies and boundary of a role, role session or user, from moto.

    A principal that does not exist in IAM (an account root, an outsider) has none.
    """
    from labkit.policy.matching import principal_info

    who = principal_info(principal_arn)
    if who.account is None or who.kind not in ("role", "assumed-role", "user"):
        return PrincipalPolicies(principal_arn=principal_arn, exists=who.kind == "root")
    iam = iam_backend(who.account)
    arns: list[tuple[str, str]] = []
    if who.kind == "user":
        entity = iam.users.get(who.user_name)
        if entity is None:
            return PrincipalPolicies(principal_arn=principal_arn, exists=False)
        where = f"user {who.user_name} ({who.account})"
        found = _attached(entity, where, arns)
        for group in iam.groups.values():
            if entity in group.users:
                found.extend(_attached(group, f"group {group.name} of {where}", arns))
    else:
        entity = find_role(who.account, who.role_name)
        if entity is None:
            return PrincipalPolicies(principal_arn=principal_arn, exists=False)
        found = _attached(entity, f"role {who.role_name} ({who.account})", arns)
    boundary = None
    boundary_arn = getattr(entity, "permissions_boundary_arn", None) or getattr(
        entity, "permissions_boundary", None)
    if isinstance(boundary_arn, str) and boundary_arn:
        managed = iam.managed_policies.get(boundary_arn)
        if managed is None:
            raise StateError(f"permissions boundary {boundary_arn} of {principal_arn} does not exist")
        boundary = _parse(_managed_text(managed), managed.name, "boundary",
                          f"permissions boundary {boundary_arn} of {principal_arn}")
        arns.append((managed.name, boundary_arn))
    return PrincipalPolicies(
        principal_arn=principal_arn, identity=tuple(found), boundary=boundary,
        service_linked=getattr(entity, "path", "/").startswith(SERVICE_LINKED_PATH),
        unique_id=getattr(entity, "id", None), entity=entity_of(entity),
        policy_arns=tuple(arns))
