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

__all__ = ["diagrams_command", "no_organization_dot", "org_tree", "tree_dot"]

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


def no_organization_dot(account_id: str | None = None):
    """The picture of a lab before its organization exists: the management account alone,
    with how to create the organization (:data:`labkit.snapshot.NO_ORGANIZATION`)."""
    import graphviz

    from labkit.snapshot import NO_ORGANIZATION

    g = graphviz.Digraph("organization", graph_attr={
        "fontname": _FONT, "labelloc": "t", "label": "No organization yet"},
        node_attr={"fontname": _FONT, "fontsize": "10", "shape": "box", "style": "rounded,filled"})
    title = "management" + (f" ({account_id})" if account_id else "")
    g.node("acct/management", _label(title, "the account that will create the organization",
                                     [NO_ORGANIZATION.split(": ", 1)[1]]),
           fillcolor=_COLOURS["management"], color="#c0392b", penwidth="2")
    return g


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
        g.node(more_id, _label(f"+ {len(hidden)} more account{'s' if len(hidden) != 1 else ''}",
                               note, []),
               fillcolor=_COLOURS["more"], style="filled,dashed")
        g.edge(node_id, more_id, style="dashed")


def _count(ou: OU) -> int:
    return len(ou.accounts) + sum(_count(c) for c in ou.ous)


def org_tree(source, *, max_accounts: int = 8, show_policies: bool = True):
    """Draw an organization: ``source`` is a Design, a Lab, a boto3 Session, or a design name/path.

    Returns a ``graphviz.Digraph``, which displays itself in Jupyter. A lab (or session)
    with no organization yet is drawn as its management account alone, with how to create
    the organization.
    """
    from labkit.render import ensure_renderer

    from labkit.snapshot import NoOrganizationError

    try:
        g = tree_dot(_design_of(source), max_accounts=max_accounts, show_policies=show_policies)
    except NoOrganizationError:
        if not (hasattr(source, "session") or hasattr(source, "client")):
            raise
        g = no_organization_dot(getattr(source, "management_account_id", None))
    ensure_renderer()
    return g


def _default_out(own_designs: bool = False) -> Path:
    """``diagrams/`` of the repository for the bundled designs; ``./diagrams`` for yours."""
    repo = Path(__file__).resolve().parents[1]
    if own_designs or not (repo / "pyproject.toml").exists():
        return Path("diagrams")
    return repo / "diagrams"


def _design_graphs(designs) -> dict:
    """Every picture ``labkit diagrams`` writes: per design, its OU tree (NAME) and its SCP
    guardrails attached and inherited at each node (NAME-guardrails)."""
    from labkit.inheritance import tree_dot as guardrail_dot

    graphs = {}
    for design in designs:
        graphs[design.name] = tree_dot(design)
        graphs[f"{design.name}-guardrails"] = guardrail_dot(design, kind="SCP", max_accounts=4)
    return graphs


def _bundled_graphs() -> dict:
    """The pictures of every bundled design (see :func:`_design_graphs`)."""
    return _design_graphs(load_design(name) for name in bundled_designs())


def _load_all(sources: list[str]) -> list[Design]:
    """Each design file named, validated; DesignError listing every problem in all of them."""
    from labkit.design import DesignError

    designs, problems, seen = [], [], {}
    for source in sources:
        try:
            design = load_design(source)
        except DesignError as exc:
            problems += exc.problems
            continue
        if design.name in seen:
            from labkit.design import Problem

            problems.append(Problem(where=source, message=(
                f"draws to {design.name}.svg, as {seen[design.name]} does; rename one")))
            continue
        seen[design.name] = source
        designs.append(design)
    if problems:
        raise DesignError(problems)
    return designs


def _stale(out: Path, graphs: dict, *, extra: bool) -> list[str]:
    """Files in ``out`` to regenerate, one per picture: its DOT file if missing or different,
    else its SVG if missing; and (``extra``) DOT files of no design."""
    stale = []
    for name, g in graphs.items():
        dot, svg = out / f"{name}.dot", out / f"{name}.svg"
        if not dot.exists() or dot.read_text(encoding="utf-8") != g.source:
            stale.append(dot)
        elif not svg.exists():
            stale.append(svg)
    if extra:
        stale += [p for p in sorted(out.glob("*.dot")) if p.stem not in graphs]
    return [f"stale: {p}" for p in stale]


def diagrams_command(argv: list[str]) -> int:
    """``labkit diagrams [DESIGN ...] [--check] [--out DIR]``: designs -> DIR/NAME.dot and
    NAME.svg, with DIR/NAME-guardrails.* showing each node's attached and inherited SCPs.

    With no DESIGN, the bundled designs into the repository's ``diagrams/``; with design
    files (or bundled names), those designs into ``./diagrams``. With ``--check`` nothing is
    written: it exits 1 and lists every stale or missing DOT file and every missing SVG
    (SVG bytes differ between renderers, so only DOT source is compared).
    """
    import argparse

    from labkit.design import DesignError
    from labkit.suggest import plural

    parser = argparse.ArgumentParser(
        prog="labkit diagrams",
        description="Draw designs (OU tree and SCP guardrails): the bundled ones into the "
                    "repository's diagrams/, or the design files given into ./diagrams.")
    parser.add_argument("designs", nargs="*", metavar="DESIGN",
                        help="design files (.yaml) or bundled design names; default: every "
                             "bundled design")
    parser.add_argument("--check", action="store_true", help="only report stale or missing files")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    args = parser.parse_args(argv)
    out: Path = args.out or _default_out(bool(args.designs))
    try:
        graphs = _design_graphs(_load_all(args.designs)) if args.designs else _bundled_graphs()
    except DesignError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    designs = plural(len(graphs) // 2, "design")
    if args.check:
        stale = _stale(out, graphs, extra=not args.designs)
        for line in stale:
            print(line)
        if stale:
            print("run `labkit diagrams"
                  + "".join(f" {d}" for d in args.designs) + "` to regenerate", file=sys.stderr)
            return 1
        print(f"diagrams up to date in {out} ({designs}, {plural(len(graphs), 'diagram')})")
        return 0
    from labkit.render import ensure_renderer

    ensure_renderer()
    out.mkdir(parents=True, exist_ok=True)
    for name, g in graphs.items():
        (out / f"{name}.dot").write_text(g.source, encoding="utf-8")
        (out / f"{name}.svg").write_bytes(g.pipe(format="svg"))
        print(f"wrote {out / name}.dot and .svg")
    print(f"{designs}, {plural(len(graphs), 'diagram')} in {out}")
    return 0
