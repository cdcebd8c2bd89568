"""Why a decision came out as it did: per policy, per statement, per organization level.

Introduced in ``notebooks/02-guardrails.ipynb``. Sentences follow the wording of AWS's
``AccessDenied`` messages ("... with an explicit deny in a service control policy",
"... because no identity-based policy allows the s3:GetObject action"):
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html

Detail is computed only when asked for (``decision.details``, ``str(decision)``,
``decision.to_frame()``), so bulk evaluation stays fast.

>>> from labkit.policy import parse_policy, PolicySet, Request, evaluate
>>> deny = parse_policy({"Statement": [{"Sid": "DenyRegions", "Effect": "Deny", "Action": "*", "Resource": "*",
...     "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}, name="deny-regions", kind="scp")
>>> full = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
...                     name="FullAWSAccess", kind="scp")
>>> request = Request(principal="arn:aws:iam::222222222222:role/Dev", action="ec2:RunInstances",
...                   context={"aws:RequestedRegion": "ap-south-1"})
>>> decision = evaluate(request, PolicySet(identity=[full], scps=[[full, deny]]))
>>> print(decision)  # doctest: +NORMALIZE_WHITESPACE
arn:aws:iam::222222222222:role/Dev is not authorized to perform: ec2:RunInstances on resource: *
with an explicit deny in a service control policy (SCP 'deny-regions' attached at Root, statement 'DenyRegions')
>>> [(o.label, o.status, o.statement) for o in decision.scp_levels]
[('Root', 'denies', 'DenyRegions')]
"""
from __future__ import annotations

from dataclasses import dataclass

from .conditions import explain_condition
from .model import Decision, Level, Policy, PolicySet, Request, Statement

__all__ = ["StatementReport", "PolicyReport", "LevelOutcome", "explain_statement",
           "explain_policies", "level_outcomes", "sentence", "to_frame", "PHRASES"]

PHRASES = {
    "scp": "service control policy",
    "rcp": "resource control policy",
    "identity": "identity-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "resource": "resource-based policy",
    "trust": "role trust policy",
    "kms": "key policy",
}


@dataclass(frozen=True, kw_only=True)
class StatementReport:
    """One statement: does it apply to the request, and the reason (the deciding part)."""

    statement: str
    effect: str
    applies: bool
    reason: str


@dataclass(frozen=True, kw_only=True)
class PolicyReport:
    """One policy and what each of its statements did."""

    kind: str
    policy: str
    level: str | None
    statements: tuple[StatementReport, ...]

    @property
    def denies(self) -> bool:
        return any(s.applies and s.effect == "Deny" for s in self.statements)

    @property
    def allows(self) -> bool:
        return any(s.applies and s.effect == "Allow" for s in self.statements)


@dataclass(frozen=True, kw_only=True)
class LevelOutcome:
    """One organization level: ``allows``, ``denies`` or ``no-allow``, and the deciding statement."""

    label: str
    status: str
    policy: str | None = None
    statement: str | None = None


def explain_statement(statement: Statement, request: Request, bounded: bool = False) -> StatementReport:
    """Check one statement part by part and say which part decided (``bounded``: the
    requester has a permissions boundary, which a resource policy's Deny with
    ``NotPrincipal`` always denies)."""
    def report(applies: bool, reason: str) -> StatementReport:
        return StatementReport(statement=statement.label, effect=statement.effect, applies=applies, reason=reason)

    if not statement.matches_action(request):
        field = "Action" if statement.actions is not None else "NotAction"
        verb = "is not matched by" if statement.actions is not None else "is excluded by"
        return report(False, f"action {request.action} {verb} {field}")
    if not statement.matches_resource(request):
        field = "Resource" if statement.resources is not None else "NotResource"
        verb = "is not matched by" if statement.resources is not None else "is excluded by"
        return report(False, f"resource {request.resource} {verb} {field}")
    how = statement.principal_match(request.who, bounded)
    if how is None:
        field = "Principal" if statement.principals is not None else "NotPrincipal"
        return report(False, f"principal {request.principal} is not named by {field}")
    notes = []
    for condition in statement.conditions:
        passed, text = explain_condition(condition.operator, condition.key, condition.values,
                                         request.context_values, condition.variables)
        if not passed:
            return report(False, f"condition fails: {text}")
        notes.append(text)
    reason = "action and resource match"
    if bounded and statement.not_principals is not None and statement.effect == "Deny":
        reason += ("; NotPrincipal with Deny denies every principal that has a permissions "
                   "boundary, whatever it names")
    elif statement.principals is not None:
        reason += {"any": "; Principal names everyone", "account": "; Principal names the account",
                   "specific": "; Principal names this principal",
                   "role": "; Principal names the role behind this session"}[how]
    if notes:
        reason += "; conditions hold: " + "; ".join(notes)
    return report(True, reason)


def _report(kind: str, policy: Policy, request: Request, level: str | None = None,
            bounded: bool = False) -> PolicyReport:
    return PolicyReport(kind=kind, policy=policy.name, level=level,
                        statements=tuple(explain_statement(s, request, bounded) for s in policy.statements))


def explain_policies(request: Request, policies: PolicySet) -> tuple[PolicyReport, ...]:
    """A report for every policy in ``policies`` that applies to ``request``, in AWS's order
    of evaluation: SCPs and RCPs only where they apply (``evaluate.organization_paths``),
    identity-based policies, boundary and session policies only for a requester that can
    have them, not a service principal or an anonymous caller
    (``evaluate.has_identity_policies``)."""
    from .evaluate import has_identity_policies, organization_paths, resource_kind
    out = []
    scps, rcps = organization_paths(request, policies)
    for kind, levels in (("rcp", rcps), ("scp", scps)):
        for level in levels or ():
            out.extend(_report(kind, p, request, level.label) for p in level.policies)
    identity = has_identity_policies(request)
    if policies.resource_policy is not None:
        out.append(_report(resource_kind(request, policies), policies.resource_policy, request,
                           bounded=identity and policies.boundary is not None))
    if not identity:
        return tuple(out)
    out.extend(_report("identity", p, request) for p in policies.identity)
    if policies.boundary is not None:
        out.append(_report("boundary", policies.boundary, request))
    out.extend(_report("session", p, request) for p in policies.session_policies or ())
    return tuple(out)


def level_outcomes(request: Request, levels: tuple[Level, ...] | None) -> tuple[LevelOutcome, ...] | None:
    """Per level of an SCP or RCP path: does it allow, deny, or lack an Allow?"""
    if levels is None:
        return None
    from .evaluate import level_allows
    out = []
    for level in levels:
        deny, allow, policy = level_allows(level, request)
        if deny is not None:
            out.append(LevelOutcome(label=level.label, status="denies", policy=policy.name, statement=deny.label))
        elif allow is not None:
            out.append(LevelOutcome(label=level.label, status="allows", policy=policy.name, statement=allow.label))
        else:
            out.append(LevelOutcome(label=level.label, status="no-allow"))
    return tuple(out)


def _where(report: PolicyReport, statement: str) -> str:
    kind = {"scp": "SCP", "rcp": "RCP"}.get(report.kind)
    if kind and report.level and f" at {report.level}" not in report.policy:
        return f"{kind} {report.policy!r} attached at {report.level}, statement {statement!r}"
    return f"{report.policy}, statement {statement!r}"


def sentence(decision: Decision) -> str:
    """One sentence in the style of AWS's access-denied messages."""
    request = decision.request
    who = "An anonymous caller (*)" if request.who.kind == "anonymous" else request.principal
    subject = f"{who} {{}} {request.action} on resource: {request.resource}"
    if decision.result == "Allowed":
        granted = next(((r, s) for r in decision.details if r.kind not in ("scp", "rcp", "boundary", "session")
                        for s in r.statements if s.applies and s.effect == "Allow"), None)
        by = f" (allowed by {_where(*granted[:1], granted[1].statement)})" if granted else ""
        return subject.format("is allowed to perform:") + by
    denied = subject.format("is not authorized to perform:")
    if decision.result == "ExplicitlyDenied":
        blocker = decision.blocked_by[0]
        where = ""
        for report in decision.details:
            if _blocker(report.kind) == blocker:
                hit = next((s for s in report.statements if s.applies and s.effect == "Deny"), None)
                if hit:
                    where = f" ({_where(report, hit.statement)})"
                    break
        return f"{denied} with an explicit deny in {_article(PHRASES[blocker])}{where}"
    from .evaluate import caller_refused
    refused = caller_refused(request)
    if refused is not None:  # evaluate() never allows these, whatever the policies say
        return f"{denied} because {refused}"
    reasons = []
    for blocker in decision.blocked_by:
        if blocker == "trust":
            reasons.append(f"the role's trust policy does not allow the {request.action} action")
        else:
            text = f"no {PHRASES[blocker]} allows the {request.action} action"
            if blocker in ("scp", "rcp"):
                levels = decision.scp_levels if blocker == "scp" else decision.rcp_levels
                missing = [o.label for o in levels or () if o.status == "no-allow"]
                if missing:
                    text += f" (nothing attached at {missing[0]} allows it)"
            reasons.append(text)
    return f"{denied} because " + " and ".join(reasons)


def _blocker(kind: str) -> str:
    return "resource" if kind == "kms" else kind


def _article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def to_frame(decision: Decision):
    """One row per statement: policy kind, level, policy, statement, effect, applies, reason."""
    import pandas as pd
    rows = [
        {"kind": report.kind, "level": report.level or "", "policy": report.policy,
         "statement": s.statement, "effect": s.effect, "applies": s.applies, "reason": s.reason}
        for report in decision.details for s in report.statements
    ]
    return pd.DataFrame(rows, columns=["kind", "level", "policy", "statement", "effect", "applies", "reason"])
