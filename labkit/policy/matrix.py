"""Effective permissions at scale: which SCP guardrails let each account do what, where.

Introduced in ``notebooks/02-guardrails.ipynb``. Same rules as :func:`~labkit.policy.evaluate`
for the SCP step (every level of the path must allow, a Deny anywhere wins, SCPs never
grant; accounts with no path, like the management account, are not restricted):
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html

Work is shared, not repeated per account. Each statement's actions are matched once; its
conditions once per region (once per account and region only when they read a key that
differs between accounts, such as ``aws:PrincipalArn``); each distinct level, and each
distinct path of levels, is combined once. Outcomes are kept as bitsets over every
(action, region) pair, so 1,000 accounts x 200 actions x 4 regions costs milliseconds.

>>> from labkit.policy import parse_policy, Level
>>> full = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="FullAWSAccess", kind="scp")
>>> no_eu = parse_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
...     "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}, name="no-eu", kind="scp")
>>> root, ou = Level(label="Root", policies=(full,)), Level(label="OU Workloads", policies=(full, no_eu))
>>> m = effective_permissions({"222222222222": [root, ou]}, ["s3:GetObject"], ["us-east-1", "eu-west-1"])
>>> m.cell("222222222222", "s3:GetObject", "eu-west-1")
MatrixCell(result='ExplicitlyDenied', level='OU Workloads', policy='no-eu')
>>> m.counts()
{'Allowed': 1, 'ExplicitlyDenied': 1, 'ImplicitlyDenied': 0}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .model import Level, Policy, Request, Statement
from .variables import has_variables

__all__ = ["MatrixCell", "PermissionMatrix", "effective_permissions"]

# keys whose value differs from one account to the next for the same role name
_PER_ACCOUNT_KEYS = frozenset({"aws:principalarn", "aws:principalaccount", "aws:username", "aws:userid"})


@dataclass(frozen=True, kw_only=True)
class MatrixCell:
    """One (account, action, region) outcome and the level (and policy) that decided it."""

    result: str
    level: str | None = None
    policy: str | None = None


@dataclass(frozen=True, kw_only=True)
class _LevelBits:
    label: str
    deny: int
    allow: int
    policies: tuple[tuple[Policy, int, int], ...]  # per policy: (policy, deny bits, allow bits)


@dataclass(frozen=True, kw_only=True)
class PermissionMatrix:
    """Per account, action and region: Allowed / ExplicitlyDenied / ImplicitlyDenied by SCPs."""

    accounts: tuple[str, ...]
    actions: tuple[str, ...]
    regions: tuple[str, ...]
    paths: Mapping[str, tuple[_LevelBits, ...] | None] = field(repr=False)
    outcome: Mapping[str, tuple[int, int]] = field(repr=False)  # account -> (explicit, implicit) bits

    def _bit(self, action: str, region: str) -> int:
        return 1 << (self.actions.index(action) * len(self.regions) + self.regions.index(region))

    def cell(self, account: str, action: str, region: str) -> MatrixCell:
        """The outcome for one account, action and region, with the deciding level."""
        bit = self._bit(action, region)
        explicit, implicit = self.outcome[account]
        path = self.paths[account] or ()
        if explicit & bit:
            level = next(level for level in path if level.deny & bit)
            policy = next(p.name for p, deny, _ in level.policies if deny & bit)
            return MatrixCell(result="ExplicitlyDenied", level=level.label, policy=policy)
        if implicit & bit:
            level = next(level for level in path if not level.allow & bit)
            return MatrixCell(result="ImplicitlyDenied", level=level.label)
        return MatrixCell(result="Allowed")

    def counts(self) -> dict[str, int]:
        """How many cells have each result."""
        size = len(self.actions) * len(self.regions)
        explicit = sum(e.bit_count() for e, _ in self.outcome.values())
        implicit = sum(i.bit_count() for _, i in self.outcome.values())
        return {"Allowed": size * len(self.accounts) - explicit - implicit,
                "ExplicitlyDenied": explicit, "ImplicitlyDenied": implicit}

    def __len__(self) -> int:
        return len(self.accounts) * len(self.actions) * len(self.regions)

    def to_frame(self, accounts: Sequence[str] | None = None):
        """Long-form pandas DataFrame: account, action, region, result, level, policy."""
        import pandas as pd
        rows = []
        for account in accounts or self.accounts:
            for action in self.actions:
                for region in self.regions:
                    c = self.cell(account, action, region)
                    rows.append((account, action, region, c.result, c.level, c.policy))
        return pd.DataFrame(rows, columns=["account", "action", "region", "result", "level", "policy"])


class _Builder:
    def __init__(self, actions, regions, principal, resource, context, account_context):
        self.actions = tuple(actions)
        self.regions = tuple(regions)
        self.principal, self.resource = principal, resource
        self.context, self.account_context = dict(context or {}), account_context or {}
        width = len(self.regions)
        self.full = (1 << (len(self.actions) * width)) - 1
        self.region_mask = [sum(1 << (a * width + r) for a in range(len(self.actions))) for r in range(width)]
        self.action_keys = [a.lower() for a in self.actions]
        self.action_block = [((1 << width) - 1) << (a * width) for a in range(len(self.actions))]
        self.probes: dict[tuple[str, int], Request] = {}
        self.statement_memo: dict[tuple[int, str | None], int] = {}
        self.level_memo: dict[tuple, _LevelBits] = {}
        self.action_memo: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps memo keys (object ids) alive

    def probe(self, account: str, region: int) -> Request:
        key = (account, region)
        request = self.probes.get(key)
        if request is None:
            context = {**self.context, **self.account_context.get(account, {}),
                       "aws:RequestedRegion": self.regions[region]}
            request = Request(principal=self.principal.format(account=account), action="matrix:Probe",
                              resource=self.resource.format(account=account, region=self.regions[region]),
                              context=context)
            self.probes[key] = request
        return request

    def per_account(self, statement: Statement) -> bool:
        keys = {c.key.lower() for c in statement.conditions}
        dynamic = any(has_variables(v) for c in statement.conditions for v in c.values) or any(
            has_variables(p) for p in (statement.resources or statement.not_resources or ()))
        return dynamic or bool(keys & _PER_ACCOUNT_KEYS) or "{account}" in self.resource or any(
            keys & {k.lower() for k in ctx} for ctx in self.account_context.values())

    def statement_bits(self, statement: Statement, account: str) -> int:
        owner = account if self.per_account(statement) else None
        key = (id(statement), owner)
        bits = self.statement_memo.get(key)
        if bits is not None:
            return bits
        actions = self.action_memo.get(id(statement))
        if actions is None:
            match = statement._action
            positive = statement.actions is not None
            actions = 0
            for a, name in enumerate(self.action_keys):
                if match(name) == positive:
                    actions |= self.action_block[a]
            self.action_memo[id(statement)] = actions
        bits = 0
        if actions:
            for r in range(len(self.regions)):
                probe = self.probe(account, r)
                if statement.matches_resource(probe) and statement.principal_match(probe.who) \
                        and statement.matches_conditions(probe):
                    bits |= self.region_mask[r]
            bits &= actions
        self.statement_memo[key] = bits
        self.keep.append(statement)
        return bits

    def level_bits(self, level: Level, account: str) -> _LevelBits:
        dependent = any(self.per_account(s) for p in level.policies for s in p.statements)
        key = (level.label, tuple(id(p) for p in level.policies), account if dependent else None)
        found = self.level_memo.get(key)
        if found is not None:
            return found
        per_policy = []
        deny = allow = 0
        for policy in level.policies:
            p_deny = p_allow = 0
            for statement in policy.statements:
                bits = self.statement_bits(statement, account)
                if statement.effect == "Deny":
                    p_deny |= bits
                else:
                    p_allow |= bits
            per_policy.append((policy, p_deny, p_allow))
            deny, allow = deny | p_deny, allow | p_allow
        found = _LevelBits(label=level.label, deny=deny, allow=allow, policies=tuple(per_policy))
        self.level_memo[key] = found
        self.keep.append(level)
        return found


def effective_permissions(
    paths: Mapping[str, Sequence[Level | Sequence[Policy]] | None],
    actions: Sequence[str],
    regions: Sequence[str],
    *,
    principal: str = "arn:aws:iam::{account}:role/Developer",
    resource: str = "*",
    context: Mapping[str, Any] | None = None,
    account_context: Mapping[str, Mapping[str, Any]] | None = None,
) -> PermissionMatrix:
    """What the SCPs on each account's path allow, for every action in every region.

    ``paths`` maps an account ID to its SCP path (root first, the account last), each level a
    :class:`Level` or a list of policies; None means no SCPs apply (the management account).
    ``principal`` and ``resource`` may contain ``{account}`` (and ``resource`` ``{region}``);
    ``context`` adds condition keys to every request, ``account_context`` per account.
    """
    builder = _Builder(actions, regions, principal, resource, context, account_context)
    level_paths: dict[str, tuple[_LevelBits, ...] | None] = {}
    outcome: dict[str, tuple[int, int]] = {}
    path_memo: dict[tuple, tuple[int, int]] = {}
    for account, path in paths.items():
        if path is None:
            level_paths[account], outcome[account] = None, (0, 0)
            continue
        levels = tuple(level if isinstance(level, Level) else
                       Level(label="Root" if i == 0 else f"level {i}", policies=tuple(level))
                       for i, level in enumerate(path))
        bits = tuple(builder.level_bits(level, account) for level in levels)
        key = tuple(id(b) for b in bits)
        result = path_memo.get(key)
        if result is None:
            explicit = missing = 0
            for level in bits:
                explicit |= level.deny
                missing |= builder.full & ~level.allow
            result = (explicit, missing & ~explicit)
            path_memo[key] = result
        level_paths[account], outcome[account] = bits, result
    return PermissionMatrix(accounts=tuple(paths), actions=builder.actions, regions=builder.regions,
                            paths=level_paths, outcome=outcome)
