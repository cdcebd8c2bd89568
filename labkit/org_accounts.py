"""The organization's accounts: AWS's rules for creating accounts and deleting the organization
that moto does not keep (``notebooks/01-organizations.ipynb``).

:func:`labkit.organizations.check_call` runs these rules as part of the lab's
Organizations guard; :func:`after_create_organization`, a lab observer, calls
:func:`name_management_account` after ``CreateOrganization``.

- **The management account is called "management".** moto names it ``master`` with the
  email ``master@example.com``; the lab, its designs and its glossary call it
  ``management`` (AWS's own term since 2020:
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_getting-started_concepts.html),
  so the lab renames it in moto's store, and ``ListAccounts``, ``lab.account_id`` and the
  notebooks agree.
- **CreateAccount with an email another account already has fails.** CreateAccount is
  asynchronous: it answers with a ``CreateAccountStatus`` and the account is made later;
  when another AWS account has that email the request's ``State`` becomes ``FAILED`` with
  ``FailureReason`` ``EMAIL_ALREADY_EXISTS`` (:data:`CREATE_ACCOUNT_PAGE`,
  :data:`CREATE_ACCOUNT_STATUS_PAGE`). moto creates a second account; the lab creates
  nothing and answers with the failed status at once (the lab has no delay), which
  ``DescribeCreateAccountStatus`` and ``ListCreateAccountStatus`` then report too. The lab
  knows only the accounts of its own world, and compares emails ignoring case (as the
  design checker does; AWS does not say how it compares them).
- **DeleteOrganization needs an organization empty of member accounts**
  (``OrganizationNotEmptyException``, :data:`DELETE_ORGANIZATION_PAGE`); moto finds the
  management account by its name ``master``, so the lab answers this call itself.
"""
from __future__ import annotations

import weakref
from datetime import datetime, timezone
from typing import Any

from labkit.sessions import LabCall, ServiceError, ServiceReply

__all__ = [
    "CREATE_ACCOUNT_PAGE", "CREATE_ACCOUNT_STATUS_PAGE", "DELETE_ORGANIZATION_PAGE",
    "MANAGEMENT_EMAIL", "MANAGEMENT_NAME", "create_account", "delete_organization",
    "RULES", "after_create_organization", "describe_create_account_status",
    "list_create_account_status",
    "name_management_account",
]

CREATE_ACCOUNT_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html"
CREATE_ACCOUNT_STATUS_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccountStatus.html"
DESCRIBE_STATUS_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeCreateAccountStatus.html"
DELETE_ORGANIZATION_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_DeleteOrganization.html"

#: The management account's name in the lab (moto says ``master``).
MANAGEMENT_NAME = "management"
#: Its email, unless moto was given another one.
MANAGEMENT_EMAIL = "management@example.com"
_MOTO_NAME, _MOTO_EMAIL = "master", "master@example.com"

# Failed CreateAccount requests of each organization (moto's organization object), by id;
# they go when the organization does.
_failed: weakref.WeakKeyDictionary[Any, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()


def name_management_account(backend, parsed: dict[str, Any] | None = None) -> None:
    """Rename moto's ``master`` account (and its email, if moto's default) to ``management``,
    in moto's store and in ``parsed``, the CreateOrganization response."""
    org = backend.org
    if org is None:
        return
    described = (parsed or {}).get("Organization", {})
    if described.get("MasterAccountEmail") == _MOTO_EMAIL:
        described["MasterAccountEmail"] = MANAGEMENT_EMAIL
    for account in backend.accounts:
        if account.id == org.master_account_id:
            if account.name == _MOTO_NAME:
                account.name = MANAGEMENT_NAME
            if account.email == _MOTO_EMAIL:
                account.email = MANAGEMENT_EMAIL
    if org.master_account_email == _MOTO_EMAIL:
        org.master_account_email = MANAGEMENT_EMAIL


def after_create_organization(call: LabCall, parsed: dict[str, Any]) -> None:
    """A lab observer: name the new organization's management account ``management``."""
    if call.service == "organizations" and call.operation == "CreateOrganization":
        from labkit.backends import organizations_backend

        name_management_account(organizations_backend(call.lab.management_account_id), parsed)


def create_account(call: LabCall, backend) -> ServiceReply | None:
    """An email another account of the world has: a ``FAILED`` status, no account.

    Source: :data:`CREATE_ACCOUNT_STATUS_PAGE` (``EMAIL_ALREADY_EXISTS``: "another Amazon Web
    Services account with that email address already exists").
    """
    email = str(call.params.get("Email", "")).lower()
    if not any(str(a.email).lower() == email for a in backend.accounts):
        return None
    from moto.organizations.utils import make_random_create_account_status_id

    now = datetime.now(timezone.utc)
    status = {
        "Id": make_random_create_account_status_id(),
        "AccountName": call.params.get("AccountName", ""),
        "State": "FAILED",
        "RequestedTimestamp": now,
        "CompletedTimestamp": now,
        "FailureReason": "EMAIL_ALREADY_EXISTS",
    }
    _failed.setdefault(backend.org, {})[status["Id"]] = status
    return ServiceReply(parsed={"CreateAccountStatus": dict(status)})


def describe_create_account_status(call: LabCall, backend) -> ServiceError | ServiceReply | None:
    """A failed request's status, as recorded (moto knows only the accounts it made); an
    unknown request id is ``CreateAccountStatusNotFoundException``.

    Source: :data:`DESCRIBE_STATUS_PAGE`.
    """
    request_id = call.params.get("CreateAccountRequestId", "")
    status = _failed.get(backend.org, {}).get(request_id)
    if status is not None:
        return ServiceReply(parsed={"CreateAccountStatus": dict(status)})
    if not any(a.create_account_status_id == request_id for a in backend.accounts):
        return ServiceError(  # moto answers AccountNotFoundException
            code="CreateAccountStatusNotFoundException",
            message="We can't find an create account request with the CreateAccountRequestId "
                    "that you specified.")
    return None


def _as_datetime(value: Any) -> Any:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return value


def list_create_account_status(call: LabCall, backend) -> ServiceReply:
    """The statuses of accounts made with CreateAccount and the failed requests, filtered by
    ``States``, one page at a time (moto also lists the management account, never created
    with CreateAccount).

    Source: https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListCreateAccountStatus.html
    (``MaxResults`` at most 20; ``NextToken`` while there is more).
    """
    failed = list(_failed.get(backend.org, {}).values())
    states = call.params.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    statuses = [
        {k: _as_datetime(v) for k, v in account.create_account_status["CreateAccountStatus"].items()}
        for account in backend.accounts if account.id != backend.org.master_account_id]
    statuses = sorted((s for s in statuses + failed if s["State"] in states),
                      key=lambda s: s["RequestedTimestamp"])
    start = int(call.params.get("NextToken") or 0)
    size = int(call.params.get("MaxResults") or 20)
    page = statuses[start:start + size]
    reply: dict[str, Any] = {"CreateAccountStatuses": [dict(s) for s in page]}
    if start + size < len(statuses):
        reply["NextToken"] = str(start + size)
    return ServiceReply(parsed=reply)


def delete_organization(call: LabCall, backend) -> ServiceError | ServiceReply:
    """Only an organization without member accounts is deleted (:data:`DELETE_ORGANIZATION_PAGE`)."""
    management = backend.org.master_account_id
    if any(a.id != management for a in backend.accounts):
        return ServiceError(
            code="OrganizationNotEmptyException",
            message="The organization isn't empty. To delete an organization, you must first "
                    "remove all accounts except the management account.")
    for account in backend.accounts:
        account.name = _MOTO_NAME  # how moto tells the management account apart
    backend.delete_organization()
    return ServiceReply(parsed={})


RULES = {
    "CreateAccount": create_account,
    "DescribeCreateAccountStatus": describe_create_account_status,
    "ListCreateAccountStatus": list_create_account_status,
    "DeleteOrganization": delete_organization,
}
