"""The organization tree, drawn: root, OUs, accounts, and the policies attached at each node.

Introduced in ``notebooks/01-organizations``: a cell ending in ``org_tree(lab)`` shows the
tree. The management account is drawn apart and marked: it should run no workloads, and
SCPs never restrict it
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_best-practices_mgmt-acct.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).

Policies are shown compactly: ``FullAWSAccess`` and ``RCPFullAWSAccess`` are everywhere by
default, so a node lists only its other policies, and says so when an allow list has
replaced ``FullAWSAccess``. An OU with more than ``max_accounts`` accounts shows the first
ones by name and one summary node ("+ 992 more accounts"), so 1,000 accounts stay readable.
The DOT text is deterministic (sorted, ids made from paths), so ``diagrams/`` can be
checked for staleness by comparing DOT source.

>>> from labkit.design import load_design
>>> dot = org_tree(load_design("flat"), max_accounts=2).source
>>> "runs no workloads" in dot, "+ 2 more accounts" in dot
(True, True)
"""
from __future__ import annotations

import sys
from pathlib import Path

from labkit.design import OU, Account, Design, PolicyRef, bundled_designs, load_design

__all__ = ["diagrams_command", "org_tree", "tree_dot"]

_FONT = "Helvetica"
_COLOURS = {"root": "#dbe9f6", "ou": "#eef4e8", "account": "#ffffff", "management": "#fde2e2",
            "more": "#f2f2f2"}


def _design_of(source) -> Design:
    if isinstance(source, Design):
        return source
    from labkit.design import snapshot

    if hasattr(source, "management_account_id") and hasattr(source, "session"):
        return snapshot(source.session("management"))  # a Lab
    if hasattr(source, "client"):
        return snapshot(source)  # a boto3 Session
    return load_design(source)


def _policy_lines(policies: tuple[PolicyRef, ...], types: tuple[str, ...]) -> list[str]:
    lines = []
    for kind, default in (("SCP", "FullAWSAccess"), ("RCP", "RCPFullAWSAccess")):
        if kind not in types:
            continue
        names = [p.name for p in policies if p.type == kind]
        extra = [n for n in names if n != default]
        if kind == "SCP" and default not in names:
            lines.append(f"SCP: {', '.join(extra)} (no FullAWSAccess)")
        elif extra:
            lines.append(f"{kind}: {', '.join(extra)}")
    return lines


def _label(title: str, subtitle: str | None, lines: list[str]) -> str:
    parts = [title] + ([subtitle] if subtitle else []) + lines
    return "\\n".join(p.replace("\\", "\\\\").replace('"', '\\"') for p in parts)


def tree_dot(design: Design, *, max_accounts: int = 8, show_policies: bool = True,
             title: str | None = None):
    """Build the ``graphviz.Digraph`` for ``design`` without touching the renderer."""
    import graphviz

    types = design.policy_types
    pol = (lambda ps: _policy_lines(ps, types)) if show_policies else (lambda ps: [])
    g = graphviz.Digraph("organization", graph_attr={
        "rankdir": "LR", "fontname": _FONT, "labelloc": "t", "nodesep": "0.15",
        "ranksep": "0.5", "label": title or f"Organization: {design.name}"},
        node_attr={"fontname": _FONT, "fontsize": "10", "shape": "box", "style": "rounded,filled"},
        edge_attr={"arrowhead": "none", "color": "#888888"})
    legend = ", ".join(t for t in types) or "none"
    g.node("root", _label("Root", f"policy types: {legend}", pol(design.root.policies)),
           fillcolor=_COLOURS["root"], style="filled")
    with g.subgraph(name="cluster_management") as sub:
        sub.attr(label="management account", style="dashed", color="#c0392b",
                 fontname=_FONT, fontcolor="#c0392b")
        m = design.management
        sub.node("acct/" + m.name, _label(m.name, "MANAGEMENT ACCOUNT: runs no workloads",
                                          pol(m.policies)),
                 fillcolor=_COLOURS["management"], color="#c0392b", penwidth="2",
                 peripheries="2")
    g.edge("root", "acct/" + design.management.name, style="dashed", label="manages",
           fontname=_FONT, fontsize="9")
    _draw_ou(g, design.root, "Root", "root", max_accounts, pol)
    return g


def _draw_ou(g, ou: OU, path: str, node_id: str, max_accounts: int, pol) -> None:
    for child in ou.ous:
        child_path = f"{path}/{child.name}"
        child_id = "ou/" + child_path
        total = _count(child)
        sub = f"OU, {total} account{'s' if total != 1 else ''}"
        g.node(child_id, _label(child.name, sub, pol(child.policies)), shape="folder",
               fillcolor=_COLOURS["ou"])
        g.edge(node_id, child_id)
        _draw_ou(g, child, child_path, child_id, max_accounts, pol)
    shown: tuple[Account, ...] = ou.accounts[:max_accounts]
    for account in shown:
        acct_id = "acct/" + account.name
        g.node(acct_id, _label(account.name, None, pol(account.policies)),
               fillcolor=_COLOURS["account"])
        g.edge(node_id, acct_id)
    hidden = ou.accounts[max_accounts:]
    if hidden:
        own = sum(1 for a in hidden if pol(a.policies))
        note = f"{own} with their own policies" if own else None
        more_id = f"more/{path}"
        g.node(more_id, _label(f"+ {len(hidden)} more accounts", note, []),
               fillcolor=_COLOURS["more"], style="filled,dashed")
        g.edge(node_id, more_id, style="dashed")


def _count(ou: OU) -> int:
    return len(ou.accounts) + sum(_count(c) for c in ou.ous)


def org_tree(source, *, max_accounts: int = 8, show_policies: bool = True):
    """Draw an organization: ``source`` is a Design, a Lab, a boto3 Session, or a design name/path.

    Returns a ``graphviz.Digraph``, which displays itself in Jupyter.
    """
    from labkit.render import ensure_renderer

    g = tree_dot(_design_of(source), max_accounts=max_accounts, show_policies=show_policies)
    ensure_renderer()
    return g


def _default_out() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return repo / "diagrams" if (repo / "pyproject.toml").exists() else Path("diagrams")


def _bundled_graphs() -> dict:
    """Every picture ``labkit diagrams`` writes: per bundled design, its OU tree (NAME) and
    its SCP guardrails attached and inherited at each node (NAME-guardrails)."""
    from labkit.inheritance import tree_dot as guardrail_dot

    graphs = {}
    for name in bundled_designs():
        design = load_design(name)
        graphs[name] = tree_dot(design)
        graphs[f"{name}-guardrails"] = guardrail_dot(design, kind="SCP", max_accounts=4)
    return graphs


def diagrams_command(argv: list[str]) -> int:
    """``labkit diagrams [--check] [--out DIR]``: bundled designs -> DIR/NAME.dot and NAME.svg,
    with DIR/NAME-guardrails.* showing each node's attached and inherited SCPs.

    With ``--check`` nothing is written: it exits 1 and lists every stale or missing DOT
    file (SVG bytes differ between renderers, so only DOT source is compared).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="labkit diagrams",
                                     description="Render every bundled design into diagrams/.")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    args = parser.parse_args(argv)
    out: Path = args.out or _default_out()
    graphs = _bundled_graphs()
    if args.check:
        stale = [str(out / f"{n}.dot") for n, g in graphs.items()
                 if not (out / f"{n}.dot").exists()
                 or (out / f"{n}.dot").read_text(encoding="utf-8") != g.source]
        stale += [str(p) for p in sorted(out.glob("*.dot")) if p.stem not in graphs]
        for path in stale:
            print(f"stale: {path}")
        if stale:
            print("run `labkit diagrams` to regenerate", file=sys.stderr)
            return 1
        print(f"diagrams up to date in {out} ({len(graphs)} designs)")
        return 0
    from labkit.render import ensure_renderer

    ensure_renderer()
    out.mkdir(parents=True, exist_ok=True)
    for name, g in graphs.items():
        (out / f"{name}.dot").write_text(g.source, encoding="utf-8")
        (out / f"{name}.svg").write_bytes(g.pipe(format="svg"))
        print(f"wrote {out / name}.dot and .svg")
    return 0
