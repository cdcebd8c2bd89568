"""Step 2, guardrails: the policy library and effective permissions.

Introduced in ``notebooks/02-guardrails.ipynb``. Two things live here:

- the **guardrail library** (``labkit/data/policies/*.json``): :func:`guardrail` reads one
  file, :func:`guardrail_library` lists them all as a table (name, type, description,
  threat, sources);
- **effective permissions**: :func:`effective_permissions` answers, for many accounts at
  once, "what is the most a principal in this account could ever do?" -- the guardrail
  ceiling set by the **service control policies (SCPs)** on the account's path (root, each
  OU, the account). It evaluates SCPs only, with an identity policy that allows everything:
  a real principal also needs its own IAM permissions (the door lock); the SCPs are the
  walls around every door (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
  Each level of the path must allow and an explicit deny anywhere wins
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html);
  the management account is never restricted by SCPs (same page as above).

Effective permissions scale: accounts with the same SCPs on their path share one
evaluation (see :func:`effective_permissions`), so 1,000 accounts in 50 OUs cost about as
much as 50. ``benchmarks/effective_permissions.py`` measures it.

>>> guardrail("deny-leave-organization").type
'SCP'
>>> cell_kind("ExplicitlyDenied @ Root: deny-leave-organization")
'ExplicitlyDenied'
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from labkit.operations import GLOBAL_ENDPOINTS, requested_region

__all__ = [
    "COLOURS",
    "DEFAULT_ACTIONS",
    "DEFAULT_REGIONS",
    "Guardrail",
    "GuardrailError",
    "account_sensitive",
    "cell_kind",
    "check_guardrails_intact",
    "check_region_deny",
    "effective_permissions",
    "error_text",
    "guardrail",
    "guardrail_library",
    "guardrail_names",
    "outsider_role",
    "styled",
]

LIBRARY_DIR = Path(__file__).parent / "data" / "policies"
SCP_EVALUATION = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"
SCPS = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html"

#: Actions shown by default: one or two per guardrail in the library, plus everyday calls.
DEFAULT_ACTIONS = (
    "ec2:DescribeInstances",
    "ec2:RunInstances",
    "s3:CreateBucket",
    "s3:ListAllMyBuckets",
    "iam:ListRoles",
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "organizations:LeaveOrganization",
    "cloudtrail:StopLogging",
    "guardduty:DeleteDetector",
    "securityhub:DisableSecurityHub",
    "rds:CreateDBInstance",
)
#: The two Regions the library approves, and one it does not.
DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")

#: Cell colours of :func:`styled`; the words in the cell carry the meaning too.
COLOURS = {
    "Allowed": "background-color: #d1f5d3; color: #0b3d0b",
    "ExplicitlyDenied": "background-color: #ffd6d6; color: #5c0000",
    "ImplicitlyDenied": "background-color: #fff1c2; color: #4d3800",
}


class GuardrailError(LookupError):
    """A guardrail that does not exist, or a library file that cannot be read."""


@dataclass(frozen=True, kw_only=True)
class Guardrail:
    """One file of the guardrail library: an SCP or RCP with what it guards against."""

    name: str
    type: str
    description: str
    threat: str
    sources: tuple[str, ...]
    document: Mapping[str, Any]
    path: str

    @property
    def text(self) -> str:
        """The policy document as compact JSON, as sent to ``organizations:CreatePolicy``."""
        return json.dumps(self.document, separators=(",", ":"))

    def policy(self):
        """The parsed document (:class:`labkit.policy.Policy`), kind ``scp`` or ``rcp``."""
        from labkit.policy import parse_policy

        return parse_policy(self.text, name=self.name, kind=self.type.lower())


def guardrail_names() -> list[str]:
    """The names of the library's guardrails, sorted."""
    return sorted(p.stem for p in LIBRARY_DIR.glob("*.json"))


@lru_cache(maxsize=64)
def guardrail(name: str) -> Guardrail:
    """The library guardrail ``name`` (``labkit/data/policies/NAME.json``)."""
    path = LIBRARY_DIR / f"{name}.json"
    if not path.is_file():
        from labkit.suggest import did_you_mean

        raise GuardrailError(
            f"no guardrail named {name!r} in {LIBRARY_DIR}; the library has: "
            + ", ".join(guardrail_names()) + did_you_mean(name, guardrail_names()))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GuardrailError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
    missing = [k for k in ("type", "description", "threat", "document") if k not in data]
    if missing:
        raise GuardrailError(f"{path}: missing key(s) {', '.join(missing)}")
    return Guardrail(name=path.stem, type=data["type"], description=data["description"],
                     threat=data["threat"], sources=tuple(data.get("sources", ())),
                     document=data["document"], path=str(path))


def guardrail_library():
    """The library as a DataFrame: name, type, description, threat, first AWS source."""
    import pandas as pd

    rows = []
    for name in guardrail_names():
        g = guardrail(name)
        rows.append({"name": g.name, "type": g.type, "description": g.description,
                     "threat": g.threat, "source": g.sources[0] if g.sources else ""})
    return pd.DataFrame(rows, columns=["name", "type", "description", "threat", "source"])


# -- effective permissions -------------------------------------------------------------------

#: Condition keys whose value differs from one account to the next.
_ACCOUNT_KEYS = frozenset({
    "aws:principalaccount", "aws:resourceaccount", "aws:principalorgpaths",
    "aws:resourceorgpaths", "aws:userid", "aws:sourceaccount", "aws:sourceowner",
})
#: ARN-valued keys that carry the principal's account in their account field.
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn", "aws:sourceidentity"})


def account_sensitive(path) -> bool:
    """Could two accounts with these same SCPs get different answers for the same action?

    Yes when a condition tests an account-specific key (``aws:PrincipalAccount``,
    ``aws:PrincipalOrgPaths``, ...), tests ``aws:PrincipalArn`` against an ARN that names an
    account (not ``*``), or uses a policy variable. Otherwise the decision depends only on
    the policies, the action, the Region and the role name, so it is computed once.

    >>> from labkit.policy import parse_policy, Level
    >>> glass = parse_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
    ...     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}]}, kind="scp")
    >>> account_sensitive([Level(label="Root", policies=(glass,))])
    False
    >>> mine = parse_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
    ...     "Condition": {"StringEquals": {"aws:PrincipalAccount": "222222222222"}}}]}, kind="scp")
    >>> account_sensitive([Level(label="Root", policies=(mine,))])
    True
    """
    for level in path:
        for policy in level.policies:
            for statement in policy.statements:
                for condition in statement.conditions:
                    key = condition.key.lower()
                    if key in _ACCOUNT_KEYS:
                        return True
                    if any("${" in v for v in condition.values):
                        return True
                    if key in _ARN_KEYS and any(_arn_account_field(v) not in ("*", "") for v in condition.values):
                        return True
    return False


def _arn_account_field(value: str) -> str:
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 else value


def _path_key(path) -> tuple:
    return tuple(tuple((p.name, p.source_text or id(p)) for p in level.policies) for level in path)


def _short_level(label: str) -> str:
    """``Account prod-app (222222222222)`` -> ``Account prod-app``; others unchanged."""
    return re.sub(r" \(\d{12}\)$", "", label)


def _outcome(decision) -> tuple[str, int | None, str]:
    """(result, position of the deciding level or None, what decided it there)."""
    if decision.result == "Allowed":
        return ("Allowed", None, "")
    for position, outcome in enumerate(decision.scp_levels or ()):
        if decision.result == "ExplicitlyDenied" and outcome.status == "denies":
            return ("ExplicitlyDenied", position, outcome.policy or "")
        if decision.result == "ImplicitlyDenied" and outcome.status == "no-allow":
            return ("ImplicitlyDenied", position, "no SCP allows")
    return (decision.result, None, "")


def _cell(outcome: tuple[str, int | None, str], labels: Sequence[str]) -> str:
    result, position, what = outcome
    if position is None:
        return result
    return f"{result} @ {labels[position]}: {what}"


def cell_kind(cell: str) -> str:
    """The decision a cell of :func:`effective_permissions` states (its first word)."""
    return cell.split(" ", 1)[0]


def _admin_identity():
    from labkit.policy import parse_policy

    return parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="(any identity permission)")


def _accounts(lab, view, accounts: Iterable[str] | None) -> list[tuple[str, str]]:
    """(row name, account id) for the accounts asked for, management account first."""
    management = view.management_account_id
    by_name: dict[str, list[str]] = {}
    for account_id, place in view.places.items():
        by_name.setdefault(place.name, []).append(account_id)
    name_of = {aid: ("management" if aid == management else place.name)
               for aid, place in view.places.items()}
    if accounts is None:
        order = sorted(view.places.values(),
                       key=lambda p: (p.account_id != management, [n for _, n in p.parents], p.name))
        return [(name_of[p.account_id], p.account_id) for p in order]
    out = []
    for account in accounts:
        if account == "management":
            account_id = management
        elif re.fullmatch(r"\d{12}", account):
            account_id = account
        else:
            found = by_name.get(account, [])
            if len(found) != 1:
                problem = "no account" if not found else f"{len(found)} accounts"
                raise GuardrailError(f"effective_permissions: {problem} named {account!r} in the "
                                     "organization; pass an account id or one of its account names")
            account_id = found[0]
        if account_id not in view.places:
            raise GuardrailError(f"effective_permissions: account {account_id} is not in the organization")
        out.append((name_of[account_id], account_id))
    return out


def effective_permissions(lab, accounts: str | Iterable[str] | None = None,
                          actions: str | Sequence[str] = DEFAULT_ACTIONS,
                          regions: str | Sequence[str] = DEFAULT_REGIONS, *,
                          role: str | None = None, resource: str = "*"):
    """The SCP ceiling for each account: may a principal there do ``action`` in ``region``?

    Returns a ``pandas.DataFrame``: one row per account (by name; the management account is
    ``management``), columns a ``(action, region)`` MultiIndex, each cell the decision and,
    for a denial, the level that decided it, e.g. ``"ExplicitlyDenied @ OU Workloads:
    deny-regions-outside-approved"`` or ``"ImplicitlyDenied @ OU Sandbox: no SCP allows"``.

    **Only SCPs are evaluated** (with an identity policy that allows everything): the table
    shows the most any principal in the account could be allowed, not what a given role
    may do. A global service (IAM, Organizations, ...) is served from us-east-1, so its
    ``aws:RequestedRegion`` is us-east-1 in every column, as in AWS. The principal is a
    session of ``role`` (default: the lab's role for the account,
    ``OrganizationAccountAccessRole`` in members) so that role-name exemptions such as a
    BreakGlass role show up; ``resource`` is the request's resource (default ``*``), taken
    to be in the account itself (so ``aws:ResourceAccount`` is the account).
    The management account shows ``Allowed`` throughout: SCPs never restrict it
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).

    ``accounts``, ``actions`` and ``regions`` each take one string or a list of them.
    Each distinct SCP path is evaluated once per (action, region); accounts share results
    unless :func:`account_sensitive` says their policies could tell them apart.
    """
    import pandas as pd

    from labkit.applicable_policies import org_view, scp_path
    from labkit.enforcement import global_context
    from labkit.lab import ADMIN_ROLE, MEMBER_ROLE, SESSION_NAME
    from labkit.policy import PolicySet, Request, evaluate

    # one name may be given as a string, not only as a list of them
    accounts = [accounts] if isinstance(accounts, str) else accounts
    actions = [actions] if isinstance(actions, str) else list(actions)
    regions = [regions] if isinstance(regions, str) else list(regions)
    for action in actions:
        if not isinstance(action, str) or ":" not in action:
            raise GuardrailError(f"effective_permissions: action {action!r} must look like 'service:Action'")
    view = org_view(lab)
    if view is None:
        raise GuardrailError("effective_permissions: this lab has no organization yet, so no SCPs apply; "
                             "create one (or lab.apply(load_design('recommended'))) first")
    rows = _accounts(lab, view, accounts)
    identity = (_admin_identity(),)
    columns = pd.MultiIndex.from_tuples([(a, r) for a in actions for r in regions],
                                        names=["action", "region"])
    cache: dict[tuple, list] = {}
    sensitive: dict[tuple, bool] = {}
    data = []
    for _name, account_id in rows:
        path = scp_path(lab, account_id)
        if path is None:
            data.append(["Allowed"] * len(columns))
            continue
        who = role or (ADMIN_ROLE if account_id == view.management_account_id else MEMBER_ROLE)
        path_key = _path_key(path)
        if path_key not in sensitive:
            sensitive[path_key] = account_sensitive(path)
        key = (path_key, who, account_id if sensitive[path_key] else None)
        outcomes = cache.get(key)
        if outcomes is None:
            policies = PolicySet(identity=identity, scps=path)
            principal = f"arn:aws:sts::{account_id}:assumed-role/{who}/{SESSION_NAME}"
            contexts = {r: global_context(lab, principal, principal_account=account_id,
                                          resource_account=account_id, region=r, now=0)
                        for r in {*regions, *GLOBAL_ENDPOINTS.values()}}
            outcomes = [
                _outcome(evaluate(Request(principal=principal, action=a, resource=resource,
                                          resource_account=account_id,
                                          context=contexts[requested_region(a, r)]), policies))
                for a in actions for r in regions]
            cache[key] = outcomes
        labels = [_short_level(level.label) for level in path]
        data.append([_cell(o, labels) for o in outcomes])
    frame = pd.DataFrame(data, index=pd.Index([n for n, _ in rows], name="account"), columns=columns)
    frame.attrs["distinct_paths"] = len(cache)
    frame.attrs["source"] = SCP_EVALUATION
    return frame


def styled(frame):
    """The table coloured by decision: green Allowed, red ExplicitlyDenied, amber
    ImplicitlyDenied. The words stay in each cell, so colour is never the only signal."""
    def colour(cell):
        return COLOURS.get(cell_kind(cell), "") if isinstance(cell, str) else ""

    return frame.style.map(colour).set_caption(
        "SCP ceiling per account (service control policies only; IAM permissions not included)")


# The notebook's exercise checks and helpers live next door (kept apart to keep this module
# short); they are part of this module's API.
from labkit.guardrail_checks import (  # noqa: E402
    check_guardrails_intact, check_region_deny, error_text, outsider_role)
