"""The lab's administrator roles: ``LabAdmin`` in the management account and
``OrganizationAccountAccessRole`` in member accounts, each carrying ``AdministratorAccess``.

Introduced in ``notebooks/00-start-here.ipynb`` (through :class:`labkit.lab.Lab`, which
uses these helpers when a session first asks for a role).

- ``OrganizationAccountAccessRole`` (:data:`MEMBER_ROLE`): AWS creates it in every account
  made with ``CreateAccount``, with administrator permissions (the AWS managed policy
  ``AdministratorAccess``), trusted by the management account; moto creates the role with
  no policy, so the lab attaches it:
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html
- ``LabAdmin`` (:data:`ADMIN_ROLE`): the lab's own stand-in for the administrator who set
  up the organization, created on first use, trusted by the management account.

``AdministratorAccess`` is AWS's document, as moto keeps it:
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html

Importing this module loads nothing from moto or boto3; the helpers do, when called, and
need an open lab (moto's backends).

>>> ADMIN_ROLE, MEMBER_ROLE
('LabAdmin', 'OrganizationAccountAccessRole')
>>> admin_trust_policy("111111111111")["Statement"][0]["Principal"]
{'AWS': 'arn:aws:iam::111111111111:root'}
"""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from labkit.backends import iam_backend

__all__ = [
    "ADMIN_ROLE", "ADMINISTRATOR_ACCESS_ARN", "MEMBER_ROLE", "admin_trust_policy",
    "after_create_account",
    "create_admin_role", "ensure_administrator_access", "missing_role_message",
    "role_names",
]

#: The administrator role the lab creates in the management account.
ADMIN_ROLE = "LabAdmin"
#: The role AWS creates in each account made with CreateAccount.
MEMBER_ROLE = "OrganizationAccountAccessRole"
ADMINISTRATOR_ACCESS_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


@cache
def _administrator_access_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)["AdministratorAccess"]


def role_names(account_id: str) -> list[str]:
    """The names of the account's IAM roles (in the open lab's moto), sorted."""
    return sorted(r.name for r in iam_backend(account_id).roles.values())


def missing_role_message(account_id: str, role: str, *, account_name: str | None,
                         management: bool) -> str:
    """Why ``role`` cannot be assumed: the account by name and id, and the roles it has.

    ``account_name`` is the account's name in the organization (None: not in it).
    """
    where = f"{account_name} ({account_id})" if account_name else account_id
    roles = role_names(account_id)
    there = (f"roles there: {', '.join(roles[:10])}{' ...' if len(roles) > 10 else ''}"
             if roles else "it has no roles")
    if management:
        hint = "create it first, or use the default role"
    elif account_name is None:
        hint = (f"is {account_id} an account of the organization? "
                f"{MEMBER_ROLE} exists in accounts made with CreateAccount")
    else:
        hint = "create it first, or use one of those"
    return f"no role {role!r} in account {where}; {there}; {hint}"


def ensure_administrator_access(account_id: str, role_name: str) -> None:
    """Attach AWS's ``AdministratorAccess`` to a role, loading just that managed policy.

    moto can load all ~1,600 AWS managed policies into every account; the lab loads only
    this one, from moto's own copy of AWS's document, into the accounts that need it.
    """
    from moto.iam.models import AWSManagedPolicy

    iam = iam_backend(account_id)
    policy = iam.managed_policies.get(ADMINISTRATOR_ACCESS_ARN)
    if policy is None:
        policy = AWSManagedPolicy.from_data(
            "AdministratorAccess", account_id, iam.region_name, _administrator_access_data()
        )
        iam.managed_policies[policy.arn] = policy
        iam.aws_managed_policies.append(policy)
    role = iam.get_role(role_name)
    if ADMINISTRATOR_ACCESS_ARN not in role.managed_policies:
        policy.attach_to(role)


def after_create_account(call, parsed: dict[str, Any]) -> None:
    """A lab observer: after a CreateAccount that made an account, give its member role
    (``RoleName``, by default ``OrganizationAccountAccessRole``) ``AdministratorAccess``, as
    AWS does
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html)."""
    if call.service == "organizations" and call.operation == "CreateAccount":
        account_id = parsed.get("CreateAccountStatus", {}).get("AccountId")
        if account_id:
            ensure_administrator_access(account_id, call.params.get("RoleName") or MEMBER_ROLE)


def admin_trust_policy(management_account_id: str) -> dict[str, Any]:
    """``LabAdmin``'s trust policy: principals of the management account may assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"AWS": f"arn:aws:iam::{management_account_id}:root"}}],
    }


def create_admin_role(iam, management_account_id: str) -> None:
    """Create ``LabAdmin`` with ``iam`` (a client of the management account's own
    credentials) and give it ``AdministratorAccess``."""
    iam.create_role(
        RoleName=ADMIN_ROLE,
        Description="labkit: the administrator who runs the management account",
        AssumeRolePolicyDocument=json.dumps(admin_trust_policy(management_account_id)))
    ensure_administrator_access(management_account_id, ADMIN_ROLE)
