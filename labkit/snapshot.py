"""Read an organization back into a :class:`~labkit.design.Design`, read-only.

Introduced in ``notebooks/01-organizations``. Works on any boto3 session that can see an
organization (the management account, or a delegated administrator): the lab's, or a real
one. It makes only ``Describe*`` and ``List*`` calls:
``DescribeOrganization``, ``ListRoots``, ``ListPolicies``, ``DescribePolicy``,
``ListTargetsForPolicy``, ``ListOrganizationalUnitsForParent``, ``ListAccountsForParent``,
``ListTagsForResource`` (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Operations.html).

How the reading maps back to the design format:

- only the policy types enabled at the root are read (a disabled type's policies do not
  apply: https://docs.aws.amazon.com/organizations/latest/userguide/disable-policy-type.html);
- an AWS-managed policy is named as AWS names it; a customer policy whose document equals
  a library policy's (``labkit/data/policies/``) is that library policy; any other is an
  inline policy under its own name;
- the management account becomes ``design.management`` named ``management``; the tag
  ``labkit:purpose`` becomes an account's ``purpose``.

An account that is in no organization gets ``AWSOrganizationsNotInUseException`` from
``DescribeOrganization``
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html);
:func:`snapshot` turns it into a :class:`NoOrganizationError` that says how to make one.
"""
from __future__ import annotations

import json

from labkit.design import (AWS_MANAGED, POLICY_TYPE_NAMES, PURPOSE_TAG, OU, Account, Design,
                           PolicyRef)

__all__ = ["NO_ORGANIZATION", "NoOrganizationError", "snapshot"]

#: What to do when there is no organization to read or draw.
NO_ORGANIZATION = ("no organization yet: create one with "
                   "organizations.create_organization(FeatureSet='ALL') or lab.apply(design)")


class NoOrganizationError(LookupError):
    """The session's account is in no organization, so there is nothing to read.

    >>> str(NoOrganizationError())
    "no organization yet: create one with organizations.create_organization(FeatureSet='ALL') or lab.apply(design)"
    """

    def __init__(self, message: str = NO_ORGANIZATION):
        super().__init__(message)


def describe_organization(org) -> dict:
    """``DescribeOrganization``'s organization, or :class:`NoOrganizationError`."""
    from botocore.exceptions import ClientError

    try:
        return org("describe_organization")["Organization"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        raise NoOrganizationError() from None


def snapshot(session) -> Design:
    """Return the organization visible to ``session`` as a :class:`Design`."""
    from labkit.design_apply import _Org
    from labkit.design_check import library_documents

    org = _Org(session)
    library = library_documents()
    management_id = describe_organization(org)["MasterAccountId"]
    root = org("list_roots")["Roots"][0]
    enabled = {t["Type"] for t in root.get("PolicyTypes", []) if t["Status"] == "ENABLED"}
    types = tuple(k for k, v in POLICY_TYPE_NAMES.items() if v in enabled)
    attached: dict[str, list[PolicyRef]] = {}
    for kind in types:
        for summary in org.pages("list_policies", "Policies", Filter=POLICY_TYPE_NAMES[kind]):
            ref = _policy_ref(org, summary, kind, library)
            for target in org.pages("list_targets_for_policy", "Targets",
                                    PolicyId=summary["Id"]):
                attached.setdefault(target["TargetId"], []).append(ref)

    def policies(target_id: str) -> tuple[PolicyRef, ...]:
        return tuple(sorted(set(attached.get(target_id, [])), key=lambda p: (p.type, p.name)))

    def account(summary: dict, name: str | None = None) -> Account:
        tags = {t["Key"]: t["Value"] for t in org.pages(
            "list_tags_for_resource", "Tags", ResourceId=summary["Id"])}
        purpose = tags.pop(PURPOSE_TAG, "")
        return Account(name=name or summary["Name"],
                       email=None if name else summary["Email"], purpose=purpose,
                       tags=tuple(sorted(tags.items())), policies=policies(summary["Id"]))

    management: Account | None = None

    def read(parent_id: str, name: str) -> OU:
        nonlocal management
        accounts = []
        for summary in org.pages("list_accounts_for_parent", "Accounts", ParentId=parent_id):
            if summary["Id"] == management_id:
                management = account(summary, name="management")
            else:
                accounts.append(account(summary))
        children = [read(o["Id"], o["Name"]) for o in org.pages(
            "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id)]
        return OU(name=name, ous=tuple(sorted(children, key=lambda o: o.name)),
                  accounts=tuple(sorted(accounts, key=lambda a: a.name)),
                  policies=policies(parent_id))

    tree = read(root["Id"], "Root")
    if management is None:  # pragma: no cover - an organization always has its management account
        management = Account(name="management", policies=policies(management_id))
    return Design(policy_types=types, management=management, root=tree, name="snapshot")


def _policy_ref(org, summary: dict, kind: str, library) -> PolicyRef:
    from labkit.design_check import compact

    if summary.get("AwsManaged") and summary["Name"] in AWS_MANAGED:
        return PolicyRef(name=summary["Name"], type=kind, source="aws-managed")
    content = org("describe_policy", PolicyId=summary["Id"])["Policy"]["Content"]
    try:
        document = json.loads(content)
    except json.JSONDecodeError:  # AWS validates policy JSON, so only a broken fake gets here
        return PolicyRef(name=summary["Name"], type=kind, source="inline",
                         description=summary.get("Description", ""), content=content)
    for ref, library_document in library:
        if ref.type == kind and library_document == document:
            return ref
    return PolicyRef(name=summary["Name"], type=kind, source="inline",
                     description=summary.get("Description", ""), content=compact(document))
