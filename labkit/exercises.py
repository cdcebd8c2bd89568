"""Checks for the notebooks' exercises: each says what is wrong, not just ``False``.

A check reads the live organization through boto3 (the lab's management session, or any
``boto3.Session`` that can read the organization) and returns a :class:`Check`, a value that
displays itself in a notebook: a green tick when the state is right, otherwise the list of
problems, each saying what is wrong, where, and the call that would fix it.

Introduced in ``notebooks/01-organizations.ipynb`` (step 1). The structure being checked is
the one AWS recommends in "Organizing Your AWS Environment Using Multiple Accounts":
https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/recommended-ous-and-accounts.html

>>> Check(exercise="demo", problems=(), source="https://example.com").passed
True
>>> print(Check(exercise="demo", problems=("no OU named 'Sandbox'",), source=""))
demo: 1 problem
  - no OU named 'Sandbox'
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Check",
    "OrgView",
    "check_foundational_ous",
    "check_organization",
    "check_sandbox_ou",
    "check_suspended_ou",
    "read_org",
]

RECOMMENDED_OUS = (
    "https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/"
    "recommended-ous-and-accounts.html"
)
PROCEDURAL_OUS = (
    "https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/"
    "procedural-ous.html"
)
CREATE_ORGANIZATION = (
    "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganization.html"
)


@dataclass(frozen=True, kw_only=True)
class Check:
    """The result of checking one exercise: what is wrong (nothing, when it passed).

    ``problems`` holds one sentence per thing that is wrong, each naming where it is and
    how to fix it; ``source`` is the AWS page that defines the structure being checked.
    """

    exercise: str
    problems: tuple[str, ...]
    source: str

    @property
    def passed(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.passed:
            return f"{self.exercise}: passed"
        count = len(self.problems)
        lines = [f"{self.exercise}: {count} problem{'s' if count != 1 else ''}"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        title = html.escape(self.exercise)
        if self.passed:
            head = f'<p style="color:#1a7f37"><b>&#10004; {title}</b>: passed.</p>'
            items = ""
        else:
            head = (
                f'<p style="color:#cf222e"><b>&#10008; {title}</b>: '
                f"{len(self.problems)} thing(s) to fix.</p>"
            )
            items = "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in self.problems) + "</ul>"
        source = (
            f'<p><small>AWS: <a href="{html.escape(self.source)}">{html.escape(self.source)}</a>'
            "</small></p>"
            if self.source
            else ""
        )
        return head + items + source


@dataclass(frozen=True, kw_only=True)
class OrgView:
    """What a check needs to know about an organization, read once with boto3.

    ``ous`` maps OU id to ``(name, parent_id)``; ``accounts`` maps account id to
    ``(name, parent_id)``. ``organization`` is ``None`` when the caller's account is not in an
    organization yet.
    """

    organization: dict[str, Any] | None
    root_id: str | None = None
    ous: dict[str, tuple[str, str]] = field(default_factory=dict)
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)

    def name_of(self, parent_id: str) -> str:
        """A parent's name as a person would say it: 'the root' or 'OU Workloads'."""
        if parent_id == self.root_id:
            return "the root"
        return f"OU {self.ous[parent_id][0]!r}" if parent_id in self.ous else parent_id

    def ous_named(self, name: str) -> list[str]:
        return [ou_id for ou_id, (ou_name, _) in self.ous.items() if ou_name == name]

    def ous_named_like(self, name: str) -> list[str]:
        """OUs whose name differs from ``name`` only in case or spacing (a near miss)."""
        key = _loose(name)
        return [i for i, (n, _) in self.ous.items() if n != name and _loose(n) == key]

    def accounts_named(self, name: str) -> list[str]:
        return [acc_id for acc_id, (acc_name, _) in self.accounts.items() if acc_name == name]


def _loose(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _organizations_client(lab_or_session):
    """An Organizations client for the management account of a Lab, or for a boto3 Session."""
    if hasattr(lab_or_session, "client"):
        return lab_or_session.client("organizations")
    if hasattr(lab_or_session, "session"):
        return lab_or_session.session("management").client("organizations")
    raise TypeError(
        f"expected a labkit Lab or a boto3 Session, got {type(lab_or_session).__name__}"
    )


def read_org(lab_or_session) -> OrgView:
    """Read the organization's root, OUs and accounts with the Organizations API."""
    org = _organizations_client(lab_or_session)
    try:
        organization = org.describe_organization()["Organization"]
    except org.exceptions.AWSOrganizationsNotInUseException:
        return OrgView(organization=None)
    root_id = org.list_roots()["Roots"][0]["Id"]
    ous: dict[str, tuple[str, str]] = {}
    accounts: dict[str, tuple[str, str]] = {}
    pending = [root_id]
    ou_pages = org.get_paginator("list_organizational_units_for_parent")
    account_pages = org.get_paginator("list_accounts_for_parent")
    while pending:
        parent = pending.pop()
        for page in ou_pages.paginate(ParentId=parent):
            for ou in page["OrganizationalUnits"]:
                ous[ou["Id"]] = (ou["Name"], parent)
                pending.append(ou["Id"])
        for page in account_pages.paginate(ParentId=parent):
            for account in page["Accounts"]:
                accounts[account["Id"]] = (account["Name"], parent)
    return OrgView(organization=organization, root_id=root_id, ous=ous, accounts=accounts)


_NO_ORG = (
    "There is no organization yet: run "
    "org.create_organization(FeatureSet=\"ALL\") in the management account first."
)


def _top_level_ou(view: OrgView, name: str) -> tuple[str | None, list[str]]:
    """Find OU ``name`` directly under the root; return its id and what is wrong."""
    found = view.ous_named(name)
    at_top = [ou_id for ou_id in found if view.ous[ou_id][1] == view.root_id]
    if len(at_top) == 1:
        return at_top[0], []
    if len(at_top) > 1:
        return at_top[0], [f"There are {len(at_top)} OUs named {name!r} under the root; keep one."]
    if found:
        where = ", ".join(view.name_of(view.ous[ou_id][1]) for ou_id in found)
        return None, [
            f"OU {name!r} is under {where}, not directly under the root ({view.root_id}). "
            "AWS has no call to move an OU: create one with "
            f"org.create_organizational_unit(ParentId=root_id, Name={name!r}) and delete the "
            "misplaced one with org.delete_organizational_unit once it is empty."
        ]
    near = view.ous_named_like(name)
    if near:
        spelled = ", ".join(repr(view.ous[ou_id][0]) for ou_id in near)
        return None, [
            f"No OU named {name!r}, but there is {spelled}: this exercise expects the name "
            f"exactly as the whitepaper spells it, {name!r}."
        ]
    return None, [
        f"No OU named {name!r} under the root ({view.root_id}): create it with "
        f"org.create_organizational_unit(ParentId=root_id, Name={name!r})."
    ]


def _child_ou(view: OrgView, parent_id: str, name: str) -> tuple[str | None, list[str]]:
    """Find OU ``name`` directly under ``parent_id``; return its id and what is wrong."""
    parent = view.name_of(parent_id)
    for ou_id, (ou_name, ou_parent) in view.ous.items():
        if ou_name == name and ou_parent == parent_id:
            return ou_id, []
    elsewhere = [view.name_of(view.ous[i][1]) for i in view.ous_named(name)]
    if elsewhere:
        return None, [f"OU {name!r} is under {', '.join(elsewhere)}, not under {parent}."]
    return None, [
        f"No OU named {name!r} under {parent}: create it with "
        f"org.create_organizational_unit(ParentId=<{parent} id>, Name={name!r})."
    ]


def check_organization(lab_or_session) -> Check:
    """Is there an organization, with all features enabled?

    All features (not only consolidated billing) are needed for service control policies:
    https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganization.html
    """
    view = read_org(lab_or_session)
    problems: list[str] = []
    if view.organization is None:
        problems.append(_NO_ORG)
    elif view.organization.get("FeatureSet") != "ALL":
        problems.append(
            f"The organization has FeatureSet {view.organization.get('FeatureSet')!r}; "
            "service control policies need \"ALL\" (enable all features)."
        )
    return Check(exercise="Create the organization", problems=tuple(problems), source=CREATE_ORGANIZATION)


def check_foundational_ous(lab_or_session) -> Check:
    """Are Security, Infrastructure and Workloads under the root, with Prod and NonProd
    under Workloads?  (The whitepaper's foundational and workload OUs.)"""
    view = read_org(lab_or_session)
    if view.organization is None:
        return Check(exercise="Foundational OUs", problems=(_NO_ORG,), source=RECOMMENDED_OUS)
    problems: list[str] = []
    workloads = None
    for name in ("Security", "Infrastructure", "Workloads"):
        ou_id, wrong = _top_level_ou(view, name)
        problems += wrong
        if name == "Workloads":
            workloads = ou_id
    if workloads is not None:
        for name in ("Prod", "NonProd"):
            problems += _child_ou(view, workloads, name)[1]
    return Check(exercise="Foundational OUs", problems=tuple(problems), source=RECOMMENDED_OUS)


def check_sandbox_ou(lab_or_session, *, account: str = "sandbox") -> Check:
    """Exercise: a Sandbox OU directly under the root, holding the account named ``account``.

    Sandbox accounts are for experiments, kept apart from workloads and their data:
    https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/recommended-ous-and-accounts.html
    """
    exercise = f"Sandbox OU holding account {account!r}"
    view = read_org(lab_or_session)
    if view.organization is None:
        return Check(exercise=exercise, problems=(_NO_ORG,), source=RECOMMENDED_OUS)
    sandbox, problems = _top_level_ou(view, "Sandbox")
    matches = view.accounts_named(account)
    if not matches:
        problems.append(
            f"No account named {account!r} in the organization: vend it with "
            f"org.create_account(AccountName={account!r}, Email=...)."
        )
    elif len(matches) > 1:
        problems.append(
            f"{len(matches)} accounts are named {account!r} ({', '.join(matches)}); "
            "AWS allows that, but this exercise expects one."
        )
    elif sandbox is not None and view.accounts[matches[0]][1] != sandbox:
        account_id = matches[0]
        problems.append(
            f"Account {account!r} ({account_id}) is in "
            f"{view.name_of(view.accounts[account_id][1])}, not in OU 'Sandbox': move it with "
            "org.move_account(AccountId=..., SourceParentId=..., DestinationParentId=...)."
        )
    return Check(exercise=exercise, problems=tuple(problems), source=RECOMMENDED_OUS)


def check_suspended_ou(lab_or_session) -> Check:
    """Exercise: a Suspended OU directly under the root, for accounts on their way out.

    Accounts that are closed or being closed are parked there under a restrictive policy:
    https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/procedural-ous.html
    """
    exercise = "Suspended OU"
    view = read_org(lab_or_session)
    if view.organization is None:
        return Check(exercise=exercise, problems=(_NO_ORG,), source=PROCEDURAL_OUS)
    suspended, problems = _top_level_ou(view, "Suspended")
    if suspended is not None:
        nested = [view.ous[i][0] for i, (_, parent) in view.ous.items() if parent == suspended]
        if nested:
            problems.append(
                f"OU 'Suspended' has child OUs {nested}; keep it flat, one place for "
                "accounts on their way out."
            )
    return Check(exercise=exercise, problems=tuple(problems), source=PROCEDURAL_OUS)
