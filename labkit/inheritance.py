"""SCP inheritance, drawn: which level of the organization allowed or blocked a request.

Introduced in ``notebooks/02-guardrails.ipynb``. AWS evaluates service control policies
level by level along the account's path -- the root, each OU, the account itself -- and
"to allow a permission ... there must be an explicit Allow statement at every level";
a Deny at any level wins
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
RCPs follow the same shape for the *resource's* account
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html).

- :func:`inheritance_diagram` draws one decision's path: a box per level listing the
  policies attached there, each level marked ALLOWS / DENIES / DOES NOT ALLOW in words
  and colour, with the deciding statement quoted;
- :func:`scp_inheritance` makes that decision for an account and a request in a lab;
- :func:`guardrail_tree` draws the whole OU tree with each node's attached and inherited
  guardrails.

>>> from labkit.policy import parse_policy, PolicySet, Request, evaluate, Level
>>> full = parse_policy('{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
...                     name="FullAWSAccess", kind="scp")
>>> leave = parse_policy('{"Statement": {"Sid": "NoLeaving", "Effect": "Deny", '
...                      '"Action": "organizations:LeaveOrganization", "Resource": "*"}}',
...                      name="deny-leave", kind="scp")
>>> request = Request(principal="arn:aws:iam::222222222222:role/Dev",
...                   action="organizations:LeaveOrganization")
>>> decision = evaluate(request, PolicySet(identity=[full], scps=[
...     Level(label="Root", policies=(full, leave)), Level(label="Account dev", policies=(full,))]))
>>> [(row.label, row.verdict) for row in level_rows(decision)]
[('Root', 'DENIES'), ('Account dev', 'ALLOWS')]
>>> "NoLeaving" in inheritance_dot(decision).source
True
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LevelRow",
    "guardrail_tree",
    "inheritance_diagram",
    "inheritance_dot",
    "level_rows",
    "quote_statement",
    "scp_inheritance",
    "tree_dot",
]

SCP_EVALUATION = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"
_FONT = "Helvetica"
#: Level verdict -> (fill, border, border style); the verdict is always written as well.
_LOOK = {
    "ALLOWS": ("#d1f5d3", "#1a7f37", "solid"),
    "DENIES": ("#ffd6d6", "#cf222e", "bold"),
    "DOES NOT ALLOW": ("#fff1c2", "#9a6700", "dashed"),
    "NOT APPLIED": ("#eeeeee", "#666666", "dotted"),
}
_VERDICT = {"allows": "ALLOWS", "denies": "DENIES", "no-allow": "DOES NOT ALLOW"}
_MARK = {"denies": "DENIES", "allows": "allows", "silent": "does not apply"}


@dataclass(frozen=True, kw_only=True)
class LevelRow:
    """One level of a path as drawn: its verdict, its policies and the deciding statement.

    ``policies`` holds ``(policy name, "denies" | "allows" | "silent")`` for every policy
    attached at the level; ``quote`` is the deciding statement's JSON (abbreviated).
    """

    label: str
    verdict: str
    policies: tuple[tuple[str, str], ...]
    policy: str | None = None
    statement: str | None = None
    quote: str | None = None


def quote_statement(policy, label: str, *, max_items: int = 4) -> str:
    """The statement ``label`` of ``policy`` as compact JSON, long lists abbreviated.

    >>> from labkit.policy import parse_policy
    >>> p = parse_policy('{"Statement": [{"Sid": "S", "Effect": "Deny", "NotAction": '
    ...                  '["a:*", "b:*", "c:*", "d:*", "e:*", "f:*"], "Resource": "*"}]}', kind="scp")
    >>> quote_statement(p, "S")
    '{"Sid":"S","Effect":"Deny","NotAction":["a:*","b:*","c:*","d:*","... 2 more"],"Resource":"*"}'
    """
    statement = next((s for s in policy.statements if s.label == label), None)
    if statement is None:
        return ""
    raw: Any = None
    if policy.source_text:
        try:
            body = json.loads(policy.source_text).get("Statement")
            body = body if isinstance(body, list) else [body]
            raw = body[statement.index]
        except (ValueError, AttributeError, IndexError, TypeError):
            raw = None
    if raw is None:  # rebuild from the parsed statement
        raw = {"Sid": statement.sid, "Effect": statement.effect}
        for key, value in (("Action", statement.actions), ("NotAction", statement.not_actions),
                           ("Resource", statement.resources), ("NotResource", statement.not_resources)):
            if value is not None:
                raw[key] = list(value)
        if statement.conditions:
            raw["Condition"] = {c.operator: {c.key: list(c.values)} for c in statement.conditions}
        raw = {k: v for k, v in raw.items() if v is not None}
    return json.dumps(_abbreviate(raw, max_items), separators=(",", ":"))


def _abbreviate(value: Any, max_items: int) -> Any:
    if isinstance(value, list):
        items = [_abbreviate(v, max_items) for v in value[:max_items]]
        if len(value) > max_items:
            items.append(f"... {len(value) - max_items} more")
        return items
    if isinstance(value, dict):
        return {k: _abbreviate(v, max_items) for k, v in value.items()}
    return value


def level_rows(decision, kind: str = "scp") -> tuple[LevelRow, ...]:
    """Per level of the decision's SCP (or RCP) path, what to draw; () when none applies."""
    from labkit.policy.evaluate import scan_policy

    levels = decision.policies.scps if kind == "scp" else decision.policies.rcps
    outcomes = decision.scp_levels if kind == "scp" else decision.rcp_levels
    if levels is None:
        return ()
    rows = []
    for level, outcome in zip(levels, outcomes):
        marks = []
        for policy in level.policies:
            deny, allows = scan_policy(policy, decision.request)
            marks.append((policy.name, "denies" if deny else "allows" if allows else "silent"))
        quote = None
        if outcome.policy is not None:
            policy = next(p for p in level.policies if p.name == outcome.policy)
            quote = quote_statement(policy, outcome.statement)
        rows.append(LevelRow(label=level.label, verdict=_VERDICT[outcome.status],
                             policies=tuple(marks), policy=outcome.policy,
                             statement=outcome.statement, quote=quote))
    return tuple(rows)


def _wrap(text: str, width: int = 64) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def _html_label(row: LevelRow, kind: str) -> str:
    fill, border, _ = _LOOK[row.verdict]
    e = html.escape
    title = f"{e(row.label)}"
    cells = [f'<tr><td align="left" bgcolor="{border}"><font color="white"><b>{title}: '
             f'{e(row.verdict)}</b></font></td></tr>']
    for name, mark in row.policies:
        weight = ("<b>", "</b>") if name == row.policy else ("", "")
        cells.append(f'<tr><td align="left">{weight[0]}{e(kind.upper())} {e(name)}: '
                     f'{e(_MARK[mark])}{weight[1]}</td></tr>')
    if not row.policies:
        cells.append('<tr><td align="left">(nothing attached)</td></tr>')
    if row.verdict == "DOES NOT ALLOW":
        cells.append(f'<tr><td align="left"><i>no {e(kind.upper())} attached here allows the '
                     "request, so nothing below can do it</i></td></tr>")
    if row.quote:
        lines = "<br align=\"left\"/>".join(e(part) for part in _wrap(row.quote))
        cells.append(f'<tr><td align="left"><font face="Courier" point-size="9">deciding statement '
                     f"({e(str(row.statement))}):<br align=\"left\"/>{lines}<br align=\"left\"/></font></td></tr>")
    return (f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="3" bgcolor="{fill}">'
            + "".join(cells) + "</table>>")


def _summary(decision, rows: tuple[LevelRow, ...], kind: str) -> str:
    name = "SCP" if kind == "scp" else "RCP"
    if not rows:
        who = "principals" if kind == "scp" else "resources"
        return (f"No {name}s apply: the management account's {who} (or an account outside the "
                "organization, or a service-linked role) are never restricted by them")
    denied = next((r for r in rows if r.verdict == "DENIES"), None)
    if denied:
        return f"{name}s DENY: explicit deny at {denied.label} ({denied.policy}, {denied.statement})"
    missing = next((r for r in rows if r.verdict == "DOES NOT ALLOW"), None)
    if missing:
        return f"{name}s DO NOT ALLOW: nothing attached at {missing.label} allows it"
    return f"{name}s ALLOW at every level: the {'IAM' if kind == 'scp' else 'resource'} policies decide"


def inheritance_dot(decision, *, kind: str = "scp", title: str | None = None):
    """The ``graphviz.Digraph`` of :func:`inheritance_diagram`, without touching the renderer."""
    import graphviz

    if kind not in ("scp", "rcp"):
        raise ValueError(f"kind must be 'scp' or 'rcp', got {kind!r}")
    request = decision.request
    rows = level_rows(decision, kind)
    region = request.context_values.get("aws:requestedregion", ("",))[0]
    heading = title or (f"{request.action} on {request.resource}"
                        + (f" in {region}" if region else "") + f"\nby {request.principal}")
    g = graphviz.Digraph("inheritance", graph_attr={
        "rankdir": "TB", "fontname": _FONT, "labelloc": "t", "label": heading, "fontsize": "11"},
        node_attr={"fontname": _FONT, "fontsize": "10", "shape": "box", "style": "rounded,filled"},
        edge_attr={"color": "#666666", "fontname": _FONT, "fontsize": "9"})
    previous = None
    for position, row in enumerate(rows):
        fill, border, style = _LOOK[row.verdict]
        node = f"level{position}"
        g.node(node, _html_label(row, kind), shape="box", style=f"rounded,filled,{style}",
               fillcolor=fill, color=border, penwidth="2.5" if row.verdict != "ALLOWS" else "1.2")
        if previous is not None:
            g.edge(previous, node, label="inherits")
        previous = node
    verdict = _summary(decision, rows, kind)
    overall = f"Decision: {decision.result}" + (
        f" (blocked by {', '.join(decision.blocked_by)})" if decision.blocked_by else "")
    look = "DENIES" if "DENY" in verdict else "DOES NOT ALLOW" if "NOT ALLOW" in verdict else (
        "ALLOWS" if rows else "NOT APPLIED")
    fill, border, style = _LOOK[look]
    g.node("verdict", f"{verdict}\n{overall}", shape="note", style=f"filled,{style}",
           fillcolor=fill, color=border)
    if previous is not None:
        g.edge(previous, "verdict", style="dotted", arrowhead="none")
    return g


def inheritance_diagram(decision, *, kind: str = "scp", title: str | None = None):
    """Draw a decision's SCP path (``kind="rcp"``: its RCP path) as a ``graphviz.Digraph``.

    Root at the top, the account at the bottom; each level says in words whether it
    ALLOWS, DENIES or DOES NOT ALLOW the request (and is coloured green, red or amber),
    lists the policies attached there, and quotes the statement that decided.
    """
    from labkit.render import ensure_renderer

    g = inheritance_dot(decision, kind=kind, title=title)
    ensure_renderer()
    return g


def scp_inheritance(lab, account: str, action: str, *, region: str | None = None,
                    resource: str = "*", role: str | None = None, kind: str = "scp",
                    context: dict | None = None):
    """Decide ``action`` for a session of ``role`` in ``account`` and draw its SCP path.

    Uses the same request and policies as the lab's enforcement
    (:func:`labkit.enforcement.request_for`). ``kind="rcp"`` draws the RCP path of the
    resource's account instead.
    """
    from labkit.enforcement import decide

    decision = decide(lab, account=account, role=role, action=action, resource=resource,
                      region=region, context=context)
    return inheritance_diagram(decision, kind=kind)


# -- the whole organization -------------------------------------------------------------------
_DEFAULTS = {"SCP": "FullAWSAccess", "RCP": "RCPFullAWSAccess"}


def _names(policies, kind: str) -> list[str]:
    return [p.name for p in policies if p.type == kind]


def _node_label(title: str, own: list[str], inherited: list[str], kind: str,
                note: str | None = None) -> str:
    e = html.escape
    default = _DEFAULTS[kind]
    rows = [f'<tr><td align="left"><b>{e(title)}</b></td></tr>']
    extra = [n for n in own if n != default]
    if own and default not in own and kind == "SCP":
        rows.append('<tr><td align="left"><font color="#9a6700">allow list: no FullAWSAccess '
                    "here</font></td></tr>")
    for name in extra:
        rows.append(f'<tr><td align="left">attached: <b>{e(name)}</b></td></tr>')
    for name in inherited:
        rows.append(f'<tr><td align="left"><font color="#555555"><i>inherited: {e(name)}</i>'
                    "</font></td></tr>")
    if note:
        rows.append(f'<tr><td align="left"><font color="#cf222e">{e(note)}</font></td></tr>')
    return '<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">' + "".join(rows) + "</table>>"


def tree_dot(design, *, kind: str = "SCP", max_accounts: int = 4):
    """The ``graphviz.Digraph`` of :func:`guardrail_tree` for a :class:`~labkit.design.Design`."""
    import graphviz

    if kind not in _DEFAULTS:
        raise ValueError(f"kind must be 'SCP' or 'RCP', got {kind!r}")
    g = graphviz.Digraph("guardrails", graph_attr={
        "rankdir": "LR", "fontname": _FONT, "labelloc": "t", "nodesep": "0.15",
        "label": f"{kind}s attached (bold) and inherited (grey) at each node"},
        node_attr={"fontname": _FONT, "fontsize": "10", "shape": "box", "style": "rounded,filled",
                   "fillcolor": "#ffffff"},
        edge_attr={"arrowhead": "none", "color": "#888888"})
    default = _DEFAULTS[kind]

    def guards(policies) -> list[str]:
        return [n for n in _names(policies, kind) if n != default]

    g.node("root", _node_label("Root", _names(design.root.policies, kind), [], kind), fillcolor="#dbe9f6")
    m = design.management
    g.node("management", _node_label(f"{m.name} (management account)", [], [], kind,
                                     note=f"{kind}s never restrict it"),
           fillcolor="#fde2e2", style="rounded,filled,dashed")
    g.edge("root", "management", style="dashed")

    def walk(ou, node_id: str, above: list[str]) -> None:
        here = above + [n for n in guards(ou.policies) if n not in above]
        for child in ou.ous:
            child_id = f"{node_id}/{child.name}"
            g.node(child_id, _node_label(f"OU {child.name}", _names(child.policies, kind), here, kind),
                   shape="folder", fillcolor="#eef4e8")
            g.edge(node_id, child_id)
            walk(child, child_id, here)
        for account in ou.accounts[:max_accounts]:
            acct_id = f"acct/{account.name}"
            g.node(acct_id, _node_label(account.name, _names(account.policies, kind), here, kind))
            g.edge(node_id, acct_id)
        hidden = ou.accounts[max_accounts:]
        if hidden:
            more = f"+ {len(hidden)} more account{'s' if len(hidden) != 1 else ''}"
            g.node(f"{node_id}/more", f"{more}\n(inherit{'s' if len(hidden) == 1 else ''} the same)",
                   style="rounded,filled,dashed", fillcolor="#f2f2f2")
            g.edge(node_id, f"{node_id}/more", style="dashed")

    walk(design.root, "root", [])
    return g


def guardrail_tree(source, *, kind: str = "SCP", max_accounts: int = 4):
    """Draw the OU tree with each node's attached and inherited SCPs (or RCPs).

    ``source`` is a Lab (read live), a boto3 session of the management account, a
    :class:`~labkit.design.Design`, or a bundled design's name.
    """
    from labkit.design import Design, load_design, snapshot
    from labkit.render import ensure_renderer

    if isinstance(source, Design):
        design = source
    elif hasattr(source, "management_account_id") and hasattr(source, "session"):
        design = snapshot(source.session("management"))
    elif hasattr(source, "client"):
        design = snapshot(source)
    else:
        design = load_design(source)
    g = tree_dot(design, kind=kind, max_accounts=max_accounts)
    ensure_renderer()
    return g
