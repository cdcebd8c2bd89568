"""The AWS Organizations rules moto does not keep, enforced on every lab-session call.

moto stores an organization faithfully but checks almost none of AWS's limits. This module
is one lab guard, :func:`check_call`, that looks at an ``organizations`` call before moto
runs it, reads the organization from moto's backend, and refuses the call the way AWS does:
the same error code, HTTP status 400, a message, and the ``Reason`` field where the error
shape has one. Every code and reason is a member of botocore's service model for
Organizations (``tests/test_organizations_rules.py`` checks that).

The rules, and the AWS pages that define them:

- OUs nest at most five levels below the root (``ConstraintViolationException``,
  ``OU_DEPTH_LIMIT_EXCEEDED``) -- :data:`QUOTAS_PAGE`, :data:`CREATE_OU_PAGE`;
- an organization has at most 2,000 OUs (``OU_NUMBER_LIMIT_EXCEEDED``) -- :data:`QUOTAS_PAGE`;
- at most five SCPs (ten in the May 2026 set) are attached to a root, OU or account
  (``MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED``) -- :data:`QUOTAS_PAGE`;
- the last SCP of a root, OU or account cannot be detached
  (``MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED``) -- :data:`DETACH_POLICY_PAGE`;
- the policy rules, in :mod:`labkit.org_policy_rules`: an SCP or RCP document is at most
  5,120 characters (an SCP 10,240 in the May 2026 set; ``POLICY_CONTENT_LIMIT_EXCEEDED``) and meets its type's syntax
  (``MalformedPolicyDocumentException``, naming statement and line) on CreatePolicy and
  UpdatePolicy; at most 10,000 SCPs and 1,000 RCPs per organization
  (``POLICY_NUMBER_LIMIT_EXCEEDED``); an attached policy cannot be deleted
  (``PolicyInUseException``); DisablePolicyType detaches every policy of the type --
  :data:`QUOTAS_PAGE`, :data:`SCP_SYNTAX_PAGE`, :data:`DISABLE_TYPE_PAGE`;
- a policy type must be enabled on the root before its policies are attached or detached
  (``PolicyTypeNotEnabledException``) -- :data:`ATTACH_POLICY_PAGE`;
- the management account cannot be removed (``MasterCannotLeaveOrganizationException``)
  or closed (``ConstraintViolationException``, ``CANNOT_CLOSE_MANAGEMENT_ACCOUNT``) --
  :data:`REMOVE_ACCOUNT_PAGE`, :data:`CLOSE_ACCOUNT_PAGE`;
- OU names are unique under one parent (``DuplicateOrganizationalUnitException``) on
  create and on rename -- :data:`CREATE_OU_PAGE`, :data:`UPDATE_OU_PAGE`;
- the account rules, in :mod:`labkit.org_accounts`: the management account is named
  ``management``; CreateAccount with an email another account has fails with
  ``EMAIL_ALREADY_EXISTS`` (a ``FAILED`` CreateAccountStatus); DeleteOrganization needs
  an organization without member accounts (``OrganizationNotEmptyException``) --
  :data:`~labkit.org_accounts.CREATE_ACCOUNT_STATUS_PAGE`,
  :data:`~labkit.org_accounts.DELETE_ORGANIZATION_PAGE`;
- and, found on the way: ``ParentNotFoundException`` for an OU under a parent that does
  not exist, ``DuplicatePolicyAttachmentException`` and ``PolicyNotAttachedException``,
  and ``RCPFullAWSAccess`` cannot be detached (``InvalidInputException``,
  ``NON_DETACHABLE_POLICY``) -- :data:`RCP_PAGE`.

Which numbers: every quota above is read from the lab's quota set, ``lab.quotas``
(:mod:`labkit.quotas`), chosen with ``Lab(quotas=...)``. The default,
:data:`~labkit.quotas.DOCUMENTED`, is what AWS's quotas page said when we captured it and
what the project's issues and notes state: 5 SCPs per root, OU or account and 5,120
characters per SCP. :data:`~labkit.quotas.MAY_2026` has 10 and 10,240: AWS raised them
on 15 May 2026 according to third-party write-ups (cevo.com.au, sjramblings.io) and GitHub
threads that cite AWS's What's New post (:data:`~labkit.quotas.WHATS_NEW_MAY_2026`), whose
text we could not capture. RCP numbers are the same in both.

moto already refuses some of these itself, but differently from AWS: it raises
``DuplicateOrganizationalUnitException`` when *any* OU of the organization has the new
name on UpdateOrganizationalUnit (AWS: only siblings), and ``AWSOrganizationsNotInUseException``
when the management account is removed. For those calls the guard answers in moto's place
(a :class:`~labkit.sessions.ServiceReply`, or AWS's error).

Deliberately not enforced: the default quota of 10 accounts per organization
(:data:`QUOTAS_PAGE`, "Default maximum number of accounts"; AWS raises it on request). The
lab builds 1,000-account organizations to show scale (``benchmarks/lab_build.py``), as an
organization whose quota was raised would.

AWS does not publish the text of every message; where it does not, the message here is
the service model's description of the error or reason.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from labkit.org_policy_rules import (
    DISABLE_TYPE_PAGE,
    SCP,
    SCP_SYNTAX_PAGE,
    check_policy_content,
    constraint,
    create_policy,
    delete_policy,
    disable_policy_type,
    enable_policy_type,
    find_policy,
    type_enabled,
    update_policy,
)
from labkit import org_accounts
from labkit.sessions import LabCall, ServiceError, ServiceReply

__all__ = [
    "check_call",
    "check_policy_content",
    "ou_depth",
]

QUOTAS_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html"
CREATE_OU_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganizationalUnit.html"
UPDATE_OU_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_UpdateOrganizationalUnit.html"
ATTACH_POLICY_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_AttachPolicy.html"
DETACH_POLICY_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DetachPolicy.html"
RCP_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
REMOVE_ACCOUNT_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_RemoveAccountFromOrganization.html"
CLOSE_ACCOUNT_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html"

_ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")


def _backend(call: LabCall):
    from labkit.backends import organizations_backend

    backend = organizations_backend(call.account_id)
    return backend if backend.org is not None else None


def _index(call: LabCall):
    from labkit.applicable_policies import org_index

    return org_index(call.lab)


def _node(call: LabCall, backend, target_id: str):
    """The root, OU or account with this id, or None (by id, not by scanning every one)."""
    return _index(call).node(backend, target_id)


def ou_depth(backend, node_id: str, *, index=None) -> int:
    """Levels below the root: the root is 0, an OU directly under it is 1.

    ``index`` (a :class:`~labkit.org_index.OrgIndex`) finds each parent by id.
    """
    if index is None:
        from labkit.org_index import OrgIndex

        index = OrgIndex()
    depth, node, seen = 0, index.ou(backend, node_id), set()
    while node is not None and node.type != "ROOT" and node.id not in seen:
        seen.add(node.id)
        depth += 1
        node = index.ou(backend, node.parent_id)
    return depth


def _type_enabled(call: LabCall, backend, policy_type: str) -> bool:
    """Whether the organization's root (found by id) has ``policy_type`` enabled."""
    return type_enabled(_index(call).ou(backend, backend.org.root_id), policy_type)


def _siblings_named(backend, parent_id: str, name: str, *, other_than: str = ""):
    return [ou for ou in backend.ou
            if ou.type != "ROOT" and ou.parent_id == parent_id and ou.name == name
            and ou.id != other_than]


_DUPLICATE_OU = ServiceError(code="DuplicateOrganizationalUnitException",
                             message="An OU with the same name already exists.")


def create_organizational_unit(call: LabCall, backend) -> ServiceError | None:
    """Parent exists; depth at most ``ou_depth`` below the root; no sibling of the same name.

    Sources: CreateOrganizationalUnit ("For service control policies, the limit is five")
    and the quotas page; duplicate names: the API's DuplicateOrganizationalUnitException.
    """
    parent_id = call.params.get("ParentId", "")
    if _index(call).ou(backend, parent_id) is None:
        return ServiceError(code="ParentNotFoundException",
                            message="We can't find a root or OU with the ParentId that you specified.")
    if ou_depth(backend, parent_id, index=_index(call)) + 1 > call.lab.quotas.ou_depth:
        return constraint("OU_DEPTH_LIMIT_EXCEEDED",
                           "You attempted to create an OU tree that is too many levels deep.")
    if len(backend.ou) - 1 >= call.lab.quotas.ous_per_organization:  # + the root
        return constraint("OU_NUMBER_LIMIT_EXCEEDED",
                           "You attempted to exceed the number of OUs that you can have in an organization.")
    if _siblings_named(backend, parent_id, call.params.get("Name", "")):
        return _DUPLICATE_OU
    return None


def update_organizational_unit(call: LabCall, backend) -> ServiceError | ServiceReply | None:
    """A rename clashes only with a sibling of the same name (UpdateOrganizationalUnit).

    moto refuses a name used anywhere in the organization; when the name is used only
    outside the OU's parent, the lab renames the OU itself and answers as AWS does.
    """
    ou_id, name = call.params.get("OrganizationalUnitId", ""), call.params.get("Name", "")
    ou = _index(call).ou(backend, ou_id)
    if ou is None or ou.type == "ROOT":
        return None  # moto answers OrganizationalUnitNotFoundException
    if _siblings_named(backend, ou.parent_id, name, other_than=ou.id):
        return _DUPLICATE_OU
    if any(o.name == name for o in backend.ou):  # moto would refuse; AWS allows
        ou.name = name
        return ServiceReply(parsed=ou.describe())
    return None


def attach_policy(call: LabCall, backend) -> ServiceError | None:
    """Type enabled on the root; not already attached; at most ``scps_per_target`` SCPs.

    Sources: AttachPolicy (PolicyTypeNotEnabledException, DuplicatePolicyAttachmentException)
    and the quotas page (five SCPs per root, OU or account; ``lab.quotas``).
    """
    policy = find_policy(backend, call.params.get("PolicyId", ""))
    target = _node(call, backend, call.params.get("TargetId", ""))
    if policy is None or target is None:
        return None  # moto answers PolicyNotFound / TargetNotFound
    if not _type_enabled(call, backend, policy.type):
        return _policy_type_not_enabled()
    if policy in target.attached_policies:
        return ServiceError(code="DuplicatePolicyAttachmentException",
                            message="The selected policy is already attached to the specified target.")
    same_type = [p for p in target.attached_policies if p.type == policy.type]
    if policy.type == SCP and len(same_type) >= call.lab.quotas.scps_per_target:
        return constraint(
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to exceed the number of policies of a certain type that can be "
            "attached to an entity at one time.")
    return None


def _policy_type_not_enabled() -> ServiceError:
    return ServiceError(
        code="PolicyTypeNotEnabledException",
        message="The specified policy type isn't currently enabled in this root. You can't "
                "attach policies of the specified type to entities in a root until you "
                "enable that type in the root.")


def detach_policy(call: LabCall, backend) -> ServiceError | None:
    """Attached; type enabled; never the last SCP; never ``RCPFullAWSAccess``.

    Sources: DetachPolicy ("Every root, OU, and account must have at least one SCP
    attached"); the RCP page (RCPFullAWSAccess "can't be detached").
    """
    policy = find_policy(backend, call.params.get("PolicyId", ""))
    target = _node(call, backend, call.params.get("TargetId", ""))
    if policy is None or target is None:
        return None
    if not _type_enabled(call, backend, policy.type):
        return _policy_type_not_enabled()
    if policy not in target.attached_policies:
        return ServiceError(code="PolicyNotAttachedException",
                            message="The policy isn't attached to the specified target in the specified root.")
    if policy.type == "RESOURCE_CONTROL_POLICY" and policy.aws_managed:
        return ServiceError(code="InvalidInputException",
                            message="You can't detach this Amazon Web Services Managed Policy.",
                            fields={"Reason": "NON_DETACHABLE_POLICY"})
    if policy.type == SCP and sum(p.type == SCP for p in target.attached_policies) <= 1:
        return constraint(
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to detach a policy from an entity that would cause the entity to "
            "have fewer than the minimum number of policies of a certain type required.")
    return None


_MASTER_CANNOT_LEAVE = ServiceError(
    code="MasterCannotLeaveOrganizationException",
    message="You can't remove a management account from an organization. If you want the "
            "management account to become a member account in another organization, you "
            "must first delete the current organization of the management account.")


def remove_account_from_organization(call: LabCall, backend) -> ServiceError | None:
    """The management account cannot be removed (RemoveAccountFromOrganization)."""
    if call.params.get("AccountId") == backend.org.master_account_id:
        return _MASTER_CANNOT_LEAVE
    return None


def leave_organization(call: LabCall, backend) -> ServiceError | None:
    """The management account cannot leave its organization (LeaveOrganization)."""
    if call.account_id == backend.org.master_account_id:
        return _MASTER_CANNOT_LEAVE
    return None


def close_account(call: LabCall, backend) -> ServiceError | None:
    """The management account cannot be closed with CloseAccount."""
    if call.params.get("AccountId") == backend.org.master_account_id:
        return constraint(
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
            "You attempted to close the management account. To close the management account "
            "for the organization, you must first either remove or close all member accounts "
            "in the organization.")
    return None


_RULES: dict[str, Callable[[LabCall, Any], ServiceError | ServiceReply | None]] = {
    "CreateOrganizationalUnit": create_organizational_unit,
    "UpdateOrganizationalUnit": update_organizational_unit,
    "AttachPolicy": attach_policy,
    "DetachPolicy": detach_policy,
    "CreatePolicy": create_policy,
    "UpdatePolicy": update_policy,
    "DeletePolicy": delete_policy,
    "EnablePolicyType": enable_policy_type,
    "DisablePolicyType": disable_policy_type,
    "RemoveAccountFromOrganization": remove_account_from_organization,
    "LeaveOrganization": leave_organization,
    "CloseAccount": close_account,
    **org_accounts.RULES,
}


def check_call(call: LabCall) -> ServiceError | ServiceReply | None:
    """The lab guard: AWS's answer to an Organizations call when moto's would differ."""
    if call.service != "organizations":
        return None
    rule = _RULES.get(call.operation)
    if rule is None:
        return None
    backend = _backend(call)
    if backend is None:
        # moto answers some of these without an organization, or fails inside.
        return ServiceError(code="AWSOrganizationsNotInUseException",
                            message="Your account is not a member of an organization.")
    return rule(call, backend)
