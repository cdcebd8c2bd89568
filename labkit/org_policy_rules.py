"""The Organizations rules about policies themselves, part of :mod:`labkit.organizations`.

Introduced in ``notebooks/02-guardrails.ipynb``. On CreatePolicy and UpdatePolicy:

- an SCP or RCP is at most ``scp_characters`` / ``rcp_characters`` long
  (``ConstraintViolationException``, ``POLICY_CONTENT_LIMIT_EXCEEDED``) -- :data:`QUOTAS_PAGE`;
- it is a JSON object that meets its policy type's syntax, else
  ``MalformedPolicyDocumentException``: an SCP has no ``Principal`` (:data:`SCP_SYNTAX_PAGE`),
  a customer RCP has only ``Deny`` statements and names a principal ("Allow is only
  supported for RCPFullAWSAccess", :data:`RCP_SYNTAX_PAGE`). The check is
  :func:`labkit.policy.validate.validate_policy`: its *errors* refuse the policy, naming the
  statement, line and column; its *warnings* (an action the catalogue does not know, say)
  do not, as AWS accepts such policies;
- an organization holds at most ``scps_per_organization`` SCPs and
  ``rcps_per_organization`` RCPs created by its users (``POLICY_NUMBER_LIMIT_EXCEEDED``)
  -- :data:`QUOTAS_PAGE`. AWS managed policies (``FullAWSAccess``, ``RCPFullAWSAccess``)
  are not counted.

The numbers are the lab's quota set, ``lab.quotas`` (:mod:`labkit.quotas`; by default
:data:`~labkit.quotas.DOCUMENTED`: 5,120 characters, 10,000 SCPs, 1,000 RCPs).

DeletePolicy refuses a policy still attached anywhere (``PolicyInUseException``,
:data:`DELETE_POLICY_PAGE`). DisablePolicyType detaches every policy of that type from
every root, OU and account (they are not deleted), and enabling SCPs or RCPs again starts
every entity with only the AWS managed ``FullAWSAccess`` / ``RCPFullAWSAccess``
(:data:`DISABLE_TYPE_PAGE`, :data:`RCP_PAGE`); moto only flips the root's type status,
so the lab answers these two calls itself, all checks first, so a refused call changes
nothing.
"""
from __future__ import annotations

import json
from typing import Any

from labkit.quotas import DOCUMENTED, RCP_TYPE, SCP_TYPE, OrganizationsQuotas
from labkit.sessions import LabCall, ServiceError, ServiceReply

__all__ = [
    "DEFAULT_POLICY_IDS",
    "check_policy_content",
    "create_policy",
    "delete_policy",
    "disable_policy_type",
    "enable_policy_type",
    "type_enabled",
    "update_policy",
]

QUOTAS_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html"
SCP_SYNTAX_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html"
RCP_SYNTAX_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html"
RCP_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
DELETE_POLICY_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DeletePolicy.html"
DISABLE_TYPE_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/disable-policy-type.html"

SCP = SCP_TYPE
RCP = RCP_TYPE
_KINDS = {SCP: "scp", RCP: "rcp"}
#: The AWS managed policy every entity starts with when the type is enabled.
DEFAULT_POLICY_IDS = {SCP: "p-FullAWSAccess", RCP: "p-RCPFullAWSAccess"}


def constraint(reason: str, message: str) -> ServiceError:
    """A ``ConstraintViolationException`` with its ``Reason``."""
    return ServiceError(code="ConstraintViolationException", message=message,
                        fields={"Reason": reason})


def find_policy(backend, policy_id: str):
    """moto's policy with this id, or None."""
    return next((p for p in backend.policies if p.id == policy_id), None)


def _malformed(detail: str) -> ServiceError:
    return ServiceError(
        code="MalformedPolicyDocumentException",
        message="The provided policy document doesn't meet the requirements of the specified "
                f"policy type: {detail}.")


def check_policy_content(policy_type: str, content: str | None, *,
                         quotas: OrganizationsQuotas = DOCUMENTED) -> ServiceError | None:
    """Size, JSON and the policy type's syntax of an SCP or RCP (see the module doc).

    ``quotas`` gives the size limit (:mod:`labkit.quotas`; the default is the documented set).

    >>> check_policy_content(SCP, '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny",'
    ...                      ' "Action": "s3:DeleteBucket", "Resource": "*"}]}') is None
    True
    >>> check_policy_content(SCP, "{").code
    'MalformedPolicyDocumentException'
    >>> check_policy_content(SCP, " " * 5121).fields["Reason"]
    'POLICY_CONTENT_LIMIT_EXCEEDED'
    >>> from labkit.quotas import MAY_2026
    >>> check_policy_content(SCP, " " * 5121, quotas=MAY_2026).code  # size passes; JSON does not
    'MalformedPolicyDocumentException'
    >>> print(check_policy_content(RCP, '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",'
    ...       ' "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}').message)
    ... # doctest: +ELLIPSIS
    The provided policy document doesn't meet the requirements of the specified policy type: Content:1:...: error: Statement[0] Effect: ...
    """
    limit = quotas.max_characters(policy_type)
    if policy_type not in _KINDS or limit is None or content is None:
        return None
    if len(content) > limit:
        return constraint("POLICY_CONTENT_LIMIT_EXCEEDED",
                          "You attempted to create a policy that is larger than the maximum size.")
    try:
        document = json.loads(content)
    except ValueError as error:
        return _malformed(f"the document is not valid JSON ({error})")
    if not isinstance(document, dict):
        return _malformed("the document is not a JSON object")
    from labkit.policy.validate import validate_policy

    errors = [p for p in validate_policy(content, _KINDS[policy_type], source="Content",
                                         quotas=quotas)
              if p.severity == "error"]
    if errors:
        return _malformed("; ".join(str(p) for p in errors))
    return None


def create_policy(call: LabCall, backend) -> ServiceError | None:
    """CreatePolicy: the organization's policy count, then the document."""
    policy_type = call.params.get("Type", "")
    quotas = call.lab.quotas
    limit = quotas.max_per_organization(policy_type) if policy_type in _KINDS else None
    if limit is not None:
        count = sum(p.type == policy_type and not p.aws_managed for p in backend.policies)
        if count >= limit:
            return constraint(
                "POLICY_NUMBER_LIMIT_EXCEEDED",
                "You attempted to exceed the number of policies that you can have in an organization.")
    return check_policy_content(policy_type, call.params.get("Content"), quotas=quotas)


def update_policy(call: LabCall, backend) -> ServiceError | None:
    """UpdatePolicy: the new document, checked against the stored policy's type."""
    policy = find_policy(backend, call.params.get("PolicyId", ""))
    if policy is None:
        return None
    return check_policy_content(policy.type, call.params.get("Content"),
                                quotas=call.lab.quotas)


def delete_policy(call: LabCall, backend) -> ServiceError | None:
    """DeletePolicy: detach the policy from every root, OU and account first."""
    policy = find_policy(backend, call.params.get("PolicyId", ""))
    if policy is None or not policy.attachments:
        return None  # moto answers PolicyNotFoundException, or deletes it
    return ServiceError(
        code="PolicyInUseException",
        message="The policy is attached to one or more entities. You must detach it from all "
                "roots, OUs, and accounts before performing this operation.")


def _root(call: LabCall, backend) -> Any:
    from labkit.applicable_policies import org_index

    root = org_index(call.lab).ou(backend, call.params.get("RootId", ""))
    return root if root is not None and root.type == "ROOT" else None


def type_enabled(root, policy_type: str) -> bool:
    """Whether ``policy_type`` is enabled on moto's ``root`` (its PolicyTypes list says
    ENABLED; https://docs.aws.amazon.com/organizations/latest/userguide/enable-policy-type.html)."""
    return {"Type": policy_type, "Status": "ENABLED"} in root.policy_types


def _entities(backend) -> list:
    return [*backend.ou, *backend.accounts]


def disable_policy_type(call: LabCall, backend) -> ServiceReply | None:
    """DisablePolicyType: every policy of the type is detached from every entity."""
    root, policy_type = _root(call, backend), call.params.get("PolicyType", "")
    if root is None or not type_enabled(root, policy_type):
        return None  # moto answers RootNotFound / PolicyTypeNotEnabled / InvalidInput
    for entity in _entities(backend):
        for policy in [p for p in entity.attached_policies if p.type == policy_type]:
            entity.attached_policies.remove(policy)
            if entity in policy.attachments:
                policy.attachments.remove(entity)
    root.remove_policy_type(policy_type)
    return ServiceReply(parsed={"Root": root.describe()})


def enable_policy_type(call: LabCall, backend) -> ServiceReply | None:
    """EnablePolicyType (SCP, RCP): an entity with no policy of the type gets the default."""
    root, policy_type = _root(call, backend), call.params.get("PolicyType", "")
    default = find_policy(backend, DEFAULT_POLICY_IDS.get(policy_type, ""))
    if root is None or default is None or type_enabled(root, policy_type):
        return None  # moto answers, including PolicyTypeAlreadyEnabledException
    root.add_policy_type(policy_type)
    for entity in _entities(backend):
        if not any(p.type == policy_type for p in entity.attached_policies):
            entity.attached_policies.append(default)
            default.attachments.append(entity)
    return ServiceReply(parsed={"Root": root.describe()})
