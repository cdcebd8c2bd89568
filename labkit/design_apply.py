"""Build a :class:`~labkit.design.Design` with real boto3 AWS Organizations calls.

Introduced in ``notebooks/01-organizations``, where the same calls are made by hand. The
design is validated first (:func:`labkit.design.load_design`), and checked again against
the lab's own Organizations quotas (``lab.quotas``: a design loaded with
``quotas="may-2026"`` may hold 6 SCPs on one node, a default ``Lab()`` refuses them), so
bad input is refused before the first call and nothing is half applied
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html). Then, from the management account:

1. ``CreateOrganization(FeatureSet="ALL")`` unless the account already has one (policies
   need all features:
   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_org_support-all-features.html);
2. ``EnablePolicyType`` for each type the design enables
   (https://docs.aws.amazon.com/organizations/latest/APIReference/API_EnablePolicyType.html);
3. ``CreatePolicy`` with the compact JSON document (whitespace counts toward the 5,120
   characters: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html);
4. ``CreateOrganizationalUnit`` top-down; ``CreateAccount`` (waiting on
   ``DescribeCreateAccountStatus``) and ``MoveAccount`` into place;
5. ``AttachPolicy`` / ``DetachPolicy`` until each node has exactly its design's policies,
   detaching first to stay under five per node but never a node's last SCP
   (https://docs.aws.amazon.com/organizations/latest/APIReference/API_DetachPolicy.html);
6. account tags (``TagResource`` / ``UntagResource``).

Existing OUs and policies are found by name, existing accounts by email, so applying the
same design twice changes nothing. Nothing is deleted: OUs, accounts and policies that the
design does not mention are left alone.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

from labkit.design import (POLICY_TYPE_NAMES, PURPOSE_TAG, Account, Design, DesignError,
                           PolicyRef, Problem, load_design)

__all__ = ["Applied", "apply_design", "quota_problems"]


@dataclass(frozen=True, kw_only=True, repr=False)
class Applied:
    """What :func:`apply_design` built: ids by design name, and the number of API calls.

    It shows itself briefly (a notebook cell ending in ``lab.apply(...)`` prints one line,
    or a small table in Jupyter); the ids are in its fields.
    """

    design: Design
    root_id: str
    management_account_id: str
    ou_ids: Mapping[str, str]        # "Root/Workloads/Prod" -> ou-...
    account_ids: Mapping[str, str]   # "prod-app" -> 123456789012 (management included)
    policy_ids: Mapping[str, str]    # "deny-root-user" -> p-...
    calls: int

    def counts(self) -> dict[str, int]:
        """How many OUs (root not counted), accounts (management included), policies
        (AWS managed included) and API calls."""
        return {"OUs": len(self.ou_ids) - 1, "accounts": len(self.account_ids),
                "policies": len(self.policy_ids), "calls": self.calls}

    def __repr__(self) -> str:
        counts = ", ".join(f"{k.lower()}={v}" for k, v in self.counts().items())
        return f"Applied(design={self.design.name!r}, {counts})"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                       for k, v in self.counts().items())
        return (f"<table><caption>Applied design {html.escape(self.design.name)} "
                f"(root {html.escape(self.root_id)})</caption>{rows}</table>")


class _Org:
    """An Organizations client that counts its calls and pages through lists."""

    def __init__(self, session):
        self.client = session.client("organizations", region_name="us-east-1")
        self.calls = 0

    def __call__(self, op: str, **kwargs):
        self.calls += 1
        return getattr(self.client, op)(**kwargs)

    def pages(self, op: str, key: str, **kwargs) -> list:
        out, token = [], None
        while True:
            page = self(op, **kwargs, **({"NextToken": token} if token else {}))
            out += page[key]
            token = page.get("NextToken")
            if not token:
                return out


def apply_design(lab, design) -> Applied:
    """Validate ``design`` (a Design, bundled name, path or dict), then build it in ``lab``."""
    from botocore.exceptions import ClientError

    quotas = getattr(lab, "quotas", None)
    design = load_design(design, quotas=quotas)
    problems = quota_problems(design, quotas)
    if problems:
        raise DesignError(problems)
    org = _Org(lab.session("management"))
    try:
        org("describe_organization")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        org("create_organization", FeatureSet="ALL")
    management_id = org("describe_organization")["Organization"]["MasterAccountId"]
    root = org("list_roots")["Roots"][0]
    enabled = {t["Type"] for t in root.get("PolicyTypes", []) if t["Status"] == "ENABLED"}
    for kind in design.policy_types:
        if POLICY_TYPE_NAMES[kind] not in enabled:
            org("enable_policy_type", RootId=root["Id"], PolicyType=POLICY_TYPE_NAMES[kind])
    policy_ids = _policies(org, design)

    ou_ids: dict[str, str] = {"Root": root["Id"]}
    fresh: set[str] = set()  # targets created now: they carry AWS's default policies
    existing = {a["Email"].lower(): a["Id"] for a in org.pages("list_accounts", "Accounts")}
    account_ids: dict[str, str] = {design.management.name: management_id}
    placements: list[tuple[str, str, Account]] = []
    for path, ou in design.walk():
        parent_id = ou_ids[path]
        children = {o["Name"]: o["Id"] for o in org.pages(
            "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id)
        } if path not in fresh else {}
        for child in ou.ous:
            child_path = f"{path}/{child.name}"
            if child.name in children:
                ou_ids[child_path] = children[child.name]
            else:
                ou_ids[child_path] = org("create_organizational_unit", ParentId=parent_id,
                                         Name=child.name)["OrganizationalUnit"]["Id"]
                fresh.add(child_path)
        for account in ou.accounts:
            placements.append((path, parent_id, account))

    for path, parent_id, account in placements:
        account_id = existing.get((account.email or "").lower())
        if account_id is None:
            account_id = _create_account(org, account)
            fresh.add(account_id)
            current_parent = root["Id"]
        else:
            current_parent = org("list_parents", ChildId=account_id)["Parents"][0]["Id"]
            _retag(org, account_id, account)
        if current_parent != parent_id:
            org("move_account", AccountId=account_id, SourceParentId=current_parent,
                DestinationParentId=parent_id)
        account_ids[account.name] = account_id
    _retag(org, management_id, design.management)

    targets = [(ou_ids[p], p, ou.policies) for p, ou in design.walk()]
    targets += [(account_ids[a.name], account_ids[a.name], a.policies)
                for a in design.accounts + (design.management,)]
    for target_id, key, wanted in targets:
        _attach_exactly(org, target_id, wanted, policy_ids, design, fresh=key in fresh)
    return Applied(design=design, root_id=root["Id"], management_account_id=management_id,
                   ou_ids=ou_ids, account_ids=account_ids, policy_ids=policy_ids,
                   calls=org.calls)


def quota_problems(design: Design, quotas=None) -> tuple[Problem, ...]:
    """Where ``design`` breaks the Organizations ``quotas`` (a set or its name; default the
    documented one): OU depth, SCPs/RCPs per root, OU or account, characters per policy.

    Each problem names the node (``recommended:Root/Workloads``, ``recommended:account
    'prod-app'``) or the policy; the quota set is named in the message.
    """
    from labkit.quotas import quotas_named

    q = quotas_named(quotas)
    where = design.name
    problems = []
    nodes = [(f"{where}:{path}", path.count("/"), ou.policies) for path, ou in design.walk()]
    nodes += [(f"{where}:account {a.name!r}", 0, a.policies)
              for a in (design.management,) + design.accounts]
    for place, depth, policies in nodes:
        if depth > q.ou_depth:
            problems.append(Problem(where=place, message=(
                f"OU is {depth} levels below the root; the lab's quota set {q.name!r} "
                f"allows {q.ou_depth}")))
        for kind in ("SCP", "RCP"):
            count = sum(1 for p in policies if p.type == kind)
            if count > q.max_per_target(kind):
                problems.append(Problem(where=place, message=(
                    f"{count} {kind}s attached; the lab's quota set {q.name!r} allows "
                    f"{q.max_per_target(kind)} per root, OU or account "
                    "(attach fewer, or build it in a Lab(quotas=...) that allows more)")))
    for ref in design.policies:
        limit = q.max_characters(ref.type)
        if ref.content and limit is not None and len(ref.content) > limit:
            problems.append(Problem(where=f"{where}:policy {ref.name!r}", message=(
                f"{len(ref.content)} characters; the lab's quota set {q.name!r} allows "
                f"{limit} for an {ref.type}")))
    return tuple(problems)


def _policies(org: _Org, design: Design) -> dict[str, str]:
    ids: dict[str, str] = {}
    for kind in design.policy_types:
        for p in org.pages("list_policies", "Policies", Filter=POLICY_TYPE_NAMES[kind]):
            ids[p["Name"]] = p["Id"]
    for ref in design.policies:
        if ref.source == "aws-managed":
            continue
        if ref.name in ids:
            current = org("describe_policy", PolicyId=ids[ref.name])["Policy"]["Content"]
            if current != ref.content:
                org("update_policy", PolicyId=ids[ref.name], Content=ref.content,
                    Description=ref.description)
            continue
        ids[ref.name] = org("create_policy", Name=ref.name, Type=POLICY_TYPE_NAMES[ref.type],
                            Description=ref.description, Content=ref.content,
                            )["Policy"]["PolicySummary"]["Id"]
    return ids


def _tags_of(account: Account) -> dict[str, str]:
    tags = dict(account.tags)
    if account.purpose:
        tags[PURPOSE_TAG] = account.purpose
    return tags


def _create_account(org: _Org, account: Account) -> str:
    tags = [{"Key": k, "Value": v} for k, v in sorted(_tags_of(account).items())]
    status = org("create_account", AccountName=account.name, Email=account.email,
                 **({"Tags": tags} if tags else {}))["CreateAccountStatus"]
    delay = 0.05
    while status["State"] == "IN_PROGRESS":
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
        status = org("describe_create_account_status",
                     CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(f"creating account {account.name!r} failed: "
                           f"{status.get('FailureReason', status['State'])}")
    return status["AccountId"]


def _retag(org: _Org, resource_id: str, account: Account) -> None:
    wanted = _tags_of(account)
    have = {t["Key"]: t["Value"] for t in org.pages("list_tags_for_resource", "Tags",
                                                     ResourceId=resource_id)}
    extra = sorted(set(have) - set(wanted))
    if extra:
        org("untag_resource", ResourceId=resource_id, TagKeys=extra)
    changed = [{"Key": k, "Value": v} for k, v in sorted(wanted.items()) if have.get(k) != v]
    if changed:
        org("tag_resource", ResourceId=resource_id, Tags=changed)


def _attach_exactly(org: _Org, target_id: str, wanted: tuple[PolicyRef, ...],
                    policy_ids: dict[str, str], design: Design, *, fresh: bool) -> None:
    for kind in design.policy_types:
        want = {policy_ids[p.name] for p in wanted if p.type == kind}
        if fresh:  # AWS attached the managed default to the new OU or account
            have = {policy_ids["FullAWSAccess" if kind == "SCP" else "RCPFullAWSAccess"]}
        else:
            have = {p["Id"] for p in org.pages("list_policies_for_target", "Policies",
                                                TargetId=target_id,
                                                Filter=POLICY_TYPE_NAMES[kind])}
        to_attach, to_detach = sorted(want - have), sorted(have - want)
        # Detach first (room under the limit of 5), but never the last policy of the type.
        early = to_detach[:-1] if len(to_detach) == len(have) else to_detach
        for pid in early:
            org("detach_policy", PolicyId=pid, TargetId=target_id)
        for pid in to_attach:
            org("attach_policy", PolicyId=pid, TargetId=target_id)
        for pid in to_detach[len(early):]:
            org("detach_policy", PolicyId=pid, TargetId=target_id)
